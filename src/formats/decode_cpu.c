/* CPU reference decoders, written from docs/FORMATS.md (section numbers below refer to it).
 *
 * Each decoder handles one block and loops over the output index i in output order, computing
 * exactly the spec's formula in the spec's parenthesisation (§1.4), with binary32 arithmetic.
 * Multi-byte fields are assembled from bytes (little-endian, any alignment). Integer quants are
 * converted to float before they meet a scale (fl(n) of §1.1, always exact). */
#include "formats/decode_cpu.h"

#include "core/fp_convert.h"
#include "formats/tables_gen.h"

/* ---- field readers --------------------------------------------------------------------- */

static inline uint32_t rd_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* H(o): IEEE binary16 at p, exactly converted (§1.3.1). */
static inline float rd_h(const uint8_t *p)
{
    return vkq_fp16_to_f32((uint16_t)rd_u16(p));
}

/* F32(o). */
static inline float rd_f32(const uint8_t *p)
{
    return vkq_f32_from_bits(rd_u32(p));
}

/* S8: a byte as two's-complement int8 (no implementation-defined conversion). */
static inline int s8(uint8_t b)
{
    return b < 128 ? (int)b : (int)b - 256;
}

/* The §4 nibble layout over 2*half elements: element i < half is the low nibble of qs[i],
 * element i >= half the high nibble of qs[i - half]. */
static inline int nibble(const uint8_t *qs, int i, int half)
{
    return i < half ? (qs[i] & 0xF) : (qs[i - half] >> 4);
}

/* Byte j of a grid row (its little-endian image, §1.1). */
static inline int grid_byte(uint64_t row, int j)
{
    return (int)((row >> (8 * j)) & 0xFF);
}

/* Sign factor of element j from a sign byte (§1.5: applied as a multiplication by -1.0f). */
static inline float sign_of(unsigned signs, int j)
{
    return ((signs >> j) & 1u) ? -1.0f : 1.0f;
}

/* ---- §3: non-block types (QK = 1) ------------------------------------------------------- */

/* F32: y = the binary32 itself (bit copy); 32 bpw. */
void vkq_decode_block_f32(const uint8_t *blk, float *out)
{
    out[0] = rd_f32(blk);
}

/* F16: y = exact binary16 -> binary32 (§1.3.1); 16 bpw. */
void vkq_decode_block_f16(const uint8_t *blk, float *out)
{
    out[0] = rd_h(blk);
}

/* BF16: y = bits << 16 (§1.3.2); 16 bpw. */
void vkq_decode_block_bf16(const uint8_t *blk, float *out)
{
    out[0] = vkq_bf16_to_f32((uint16_t)rd_u16(blk));
}

/* ---- §4: 32-element legacy quants and IQ4_NL ------------------------------------------- */

/* Q4_0 (§4.1): y = fl(q - 8) * d; d fp16 @0, 32 x u4 @2; 4.5 bpw. */
void vkq_decode_block_q4_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int i = 0; i < 32; i++) {
        out[i] = (float)(nibble(blk + 2, i, 16) - 8) * d;
    }
}

/* Q4_1 (§4.2): y = (fl(q) * d) + m; d fp16 @0, m fp16 @2, 32 x u4 @4; 5.0 bpw. */
void vkq_decode_block_q4_1(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    const float m = rd_h(blk + 2);
    for (int i = 0; i < 32; i++) {
        out[i] = (float)nibble(blk + 4, i, 16) * d + m;
    }
}

/* Q5_0 (§4.3): y = fl(q - 16) * d, q = lo | qh bit i << 4; d @0, qh u32 @2, qs @6; 5.5 bpw. */
void vkq_decode_block_q5_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    const uint32_t qh = rd_u32(blk + 2);
    for (int i = 0; i < 32; i++) {
        const int q = nibble(blk + 6, i, 16) | (int)((qh >> i) & 1u) << 4;
        out[i] = (float)(q - 16) * d;
    }
}

/* Q5_1 (§4.4): y = (fl(q) * d) + m, q 5-bit; d @0, m @2, qh u32 @4, qs @8; 6.0 bpw. */
void vkq_decode_block_q5_1(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    const float m = rd_h(blk + 2);
    const uint32_t qh = rd_u32(blk + 4);
    for (int i = 0; i < 32; i++) {
        const int q = nibble(blk + 8, i, 16) | (int)((qh >> i) & 1u) << 4;
        out[i] = (float)q * d + m;
    }
}

/* Q8_0 (§4.5): y = fl(int8 q) * d; d fp16 @0, 32 x int8 @2; 8.5 bpw. */
void vkq_decode_block_q8_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int i = 0; i < 32; i++) {
        out[i] = (float)s8(blk[2 + i]) * d;
    }
}

/* Q8_1 (§4.6): y = fl(int8 q) * d, s ignored; d fp16 @0, s fp16 @2, 32 x int8 @4; 9.0 bpw. */
void vkq_decode_block_q8_1(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int i = 0; i < 32; i++) {
        out[i] = (float)s8(blk[4 + i]) * d;
    }
}

/* IQ4_NL (§4.7): y = d * fl(kvalues_iq4nl[q]); d fp16 @0, 32 x u4 @2; 4.5 bpw. */
void vkq_decode_block_iq4_nl(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int i = 0; i < 32; i++) {
        out[i] = d * (float)vkq_kvalues_iq4nl[nibble(blk + 2, i, 16)];
    }
}

/* ---- §5: FP4 microscaling --------------------------------------------------------------- */

/* MXFP4 (§5.1): y = fl(kvalues_mxfp4[c]) * 2^(e-128); e E8M0 @0, 32 x E2M1 @1; 4.25 bpw. */
void vkq_decode_block_mxfp4(const uint8_t *blk, float *out)
{
    const float d = vkq_e8m0_half_to_f32(blk[0]);
    for (int i = 0; i < 32; i++) {
        out[i] = (float)vkq_kvalues_mxfp4[nibble(blk + 1, i, 16)] * d;
    }
}

/* NVFP4 (§5.2): y = fl(kvalues_mxfp4[c]) * UE4M3_HALF(d[i/16]); d[4] @0, 64 x E2M1 @4
 * (8 bytes per 16-element sub-block); 4.5 bpw. */
void vkq_decode_block_nvfp4(const uint8_t *blk, float *out)
{
    for (int i = 0; i < 64; i++) {
        const int s = i / 16;
        const int c = nibble(blk + 4 + 8 * s, i % 16, 8);
        out[i] = (float)vkq_kvalues_mxfp4[c] * vkq_ue4m3_half_to_f32(blk[s]);
    }
}

/* ---- §6: 1-bit, 2-bit and ternary ------------------------------------------------------- */

/* Q1_0 (§6.1): y = bit ? d : -d (a sign flip); d fp16 @0, 128 bits @2; 1.125 bpw. */
void vkq_decode_block_q1_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int i = 0; i < 128; i++) {
        out[i] = ((blk[2 + i / 8] >> (i % 8)) & 1) ? d : -d;
    }
}

/* Q2_0 (§6.2): y = fl(q - 1) * d; d fp16 @0, 64 x u2 @2 (LSB first); 2.25 bpw. */
void vkq_decode_block_q2_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int i = 0; i < 64; i++) {
        const int q = (blk[2 + i / 4] >> (2 * (i % 4))) & 3;
        out[i] = (float)(q - 1) * d;
    }
}

/* TQ2_0 (§6.3): y = fl(q - 1) * d; 256 x u2 @0 (two 32-byte chunks), d fp16 @64; 2.0625 bpw. */
void vkq_decode_block_tq2_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk + 64);
    for (int i = 0; i < 256; i++) {
        const int c = i / 128, l = (i % 128) / 32, m = i % 32;
        const int q = (blk[32 * c + m] >> (2 * l)) & 3;
        out[i] = (float)(q - 1) * d;
    }
}

/* TQ1_0 (§6.4): y = fl(trit - 1) * d, trit = ((byte * 3^n mod 256) * 3) >> 8; qs 48 B @0,
 * qh 4 B @48, d fp16 @52; 1.6875 bpw. */
void vkq_decode_block_tq1_0(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk + 52);
    for (int i = 0; i < 256; i++) {
        int n, b;
        if (i < 160) {
            n = i / 32;
            b = i % 32;
        } else if (i < 240) {
            n = (i - 160) / 16;
            b = 32 + (i - 160) % 16;
        } else {
            n = (i - 240) / 4;
            b = 48 + (i - 240) % 4;
        }
        const unsigned wrapped = (unsigned)(blk[b] * vkq_pow3_tq1_0[n]) & 0xFFu; /* uint8 wrap */
        const int trit = (int)((wrapped * 3u) >> 8);
        out[i] = (float)(trit - 1) * d;
    }
}

/* ---- §7: K-quants ----------------------------------------------------------------------- */

/* The shared 2-bit addressing of Q2_K/Q3_K (§7): qs is 64 bytes. */
static inline int q2_of(const uint8_t *qs, int i)
{
    return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
}

/* Q2_K (§7.1): y = ((d * fl(sc)) * fl(q)) - (dmin * fl(mn)); scales @0, qs @16, d @80,
 * dmin @82; 2.625 bpw. */
void vkq_decode_block_q2_k(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk + 80);
    const float dmin = rd_h(blk + 82);
    for (int i = 0; i < 256; i++) {
        const int j = i / 16;
        const float dl = d * (float)(blk[j] & 0xF);
        const float ml = dmin * (float)(blk[j] >> 4);
        out[i] = dl * (float)q2_of(blk + 16, i) - ml;
    }
}

/* Q3_K (§7.2): y = (d * fl(sc - 32)) * fl(q2 - (hbit ? 0 : 4)); hmask @0, qs @32,
 * scales (16 x 6 bit) @96, d @108; 3.4375 bpw. */
void vkq_decode_block_q3_k(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk + 108);
    const uint8_t *S = blk + 96;
    for (int i = 0; i < 256; i++) {
        const int j = i / 16;
        const int lo = j < 8 ? (S[j] & 0xF) : (S[j - 8] >> 4);
        const int hi = (S[8 + j % 4] >> (2 * (j / 4))) & 3;
        const int sc = (lo | hi << 4) - 32;
        const int hb = (blk[i % 32] >> (i / 32)) & 1;
        const int q = q2_of(blk + 32, i) - (hb ? 0 : 4);
        out[i] = (d * (float)sc) * (float)q;
    }
}

/* get_scale_min_k4 (§7.3): 6-bit scale and min of sub-block j from the 12 bytes S. */
static inline void scale_min_k4(const uint8_t *S, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = S[j] & 63;
        *m = S[j + 4] & 63;
    } else {
        *sc = (S[j + 4] & 0xF) | ((S[j - 4] >> 6) << 4);
        *m = (S[j + 4] >> 4) | ((S[j] >> 6) << 4);
    }
}

/* Q4_K (§7.4): y = ((d * fl(sc)) * fl(q)) - (dmin * fl(m)); d @0, dmin @2, scales @4,
 * qs @16; 4.5 bpw. */
void vkq_decode_block_q4_k(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    const float dmin = rd_h(blk + 2);
    for (int i = 0; i < 256; i++) {
        int sc, m;
        scale_min_k4(blk + 4, i / 32, &sc, &m);
        const int q = nibble(blk + 16 + 32 * (i / 64), i % 64, 32);
        const float d1 = d * (float)sc;
        const float m1 = dmin * (float)m;
        out[i] = d1 * (float)q - m1;
    }
}

/* Q5_K (§7.5): as Q4_K with q = lo + 16 * hbit; d @0, dmin @2, scales @4, qh @16, qs @48;
 * 5.5 bpw. */
void vkq_decode_block_q5_k(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    const float dmin = rd_h(blk + 2);
    for (int i = 0; i < 256; i++) {
        const int j = i / 32;
        int sc, m;
        scale_min_k4(blk + 4, j, &sc, &m);
        const int lo = nibble(blk + 48 + 32 * (i / 64), i % 64, 32);
        const int hb = (blk[16 + i % 32] >> j) & 1;
        const float d1 = d * (float)sc;
        const float m1 = dmin * (float)m;
        out[i] = d1 * (float)(lo + 16 * hb) - m1;
    }
}

/* Q6_K (§7.6): y = (d * fl(int8 sc[i/16])) * fl(q - 32); ql @0, qh @128, scales @192,
 * d @208; 6.5625 bpw. */
void vkq_decode_block_q6_k(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk + 208);
    for (int i = 0; i < 256; i++) {
        const int h = i / 128, g = (i % 128) / 32, l = i % 32;
        const int b = blk[64 * h + 32 * (g & 1) + l];
        const int lo = g < 2 ? (b & 0xF) : (b >> 4);
        const int hi = (blk[128 + 32 * h + l] >> (2 * g)) & 3;
        const int q = (lo | hi << 4) - 32;
        out[i] = (d * (float)s8(blk[192 + i / 16])) * (float)q;
    }
}

/* Q8_K (§7.7): y = d * fl(int8 q), one binary32 rounding; d f32 @0, qs @4, bsums @260 (unused);
 * 9.125 bpw. */
void vkq_decode_block_q8_k(const uint8_t *blk, float *out)
{
    const float d = rd_f32(blk);
    for (int i = 0; i < 256; i++) {
        out[i] = d * (float)s8(blk[4 + i]);
    }
}

/* ---- §8: I-quants (i = 32 ib + 8 l + j) ------------------------------------------------- */

/* IQ2_XXS (§8.1): y = ((d * (0.5 + s)) * 0.25) * grid * sign; d @0, 8 records of 8 bytes
 * (4 grid indices, u32 with 4 x 7-bit sign indices + 4-bit s) @2; 2.0625 bpw. */
void vkq_decode_block_iq2_xxs(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int ib = 0; ib < 8; ib++) {
        const uint8_t *R = blk + 2 + 8 * ib;
        const uint32_t W = rd_u32(R + 4);
        const float db = (d * (0.5f + (float)(W >> 28))) * 0.25f;
        for (int l = 0; l < 4; l++) {
            const uint64_t row = vkq_iq2xxs_grid[R[l]];
            const unsigned signs = vkq_ksigns_iq2xs[(W >> (7 * l)) & 127];
            for (int j = 0; j < 8; j++) {
                out[32 * ib + 8 * l + j] = (db * (float)grid_byte(row, j)) * sign_of(signs, j);
            }
        }
    }
}

/* IQ2_XS (§8.2): y = ((d * (0.5 + s)) * 0.25) * grid * sign; d @0, 32 x u16 (9-bit index,
 * 7-bit sign index) @2, scales 8 x (u4, u4) @66; 2.3125 bpw. */
void vkq_decode_block_iq2_xs(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int ib = 0; ib < 8; ib++) {
        for (int l = 0; l < 4; l++) {
            const uint32_t w = rd_u16(blk + 2 + 2 * (4 * ib + l));
            const uint64_t row = vkq_iq2xs_grid[w & 511];
            const unsigned signs = vkq_ksigns_iq2xs[w >> 9];
            const int s = l < 2 ? (blk[66 + ib] & 0xF) : (blk[66 + ib] >> 4);
            const float db = (d * (0.5f + (float)s)) * 0.25f;
            for (int j = 0; j < 8; j++) {
                out[32 * ib + 8 * l + j] = (db * (float)grid_byte(row, j)) * sign_of(signs, j);
            }
        }
    }
}

/* IQ2_S (§8.3): y = ((d * (0.5 + s)) * 0.25) * grid * sign; d @0, index low bits @2, sign bytes
 * @34, index bits 8-9 @66, scales @74; 2.5625 bpw. */
void vkq_decode_block_iq2_s(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int ib = 0; ib < 8; ib++) {
        for (int l = 0; l < 4; l++) {
            const int idx = blk[2 + 4 * ib + l] | ((blk[66 + ib] >> (2 * l)) & 3) << 8;
            const uint64_t row = vkq_iq2s_grid[idx];
            const unsigned signs = blk[34 + 4 * ib + l];
            const int s = l < 2 ? (blk[74 + ib] & 0xF) : (blk[74 + ib] >> 4);
            const float db = (d * (0.5f + (float)s)) * 0.25f;
            for (int j = 0; j < 8; j++) {
                out[32 * ib + 8 * l + j] = (db * (float)grid_byte(row, j)) * sign_of(signs, j);
            }
        }
    }
}

/* IQ3_XXS (§8.4): y = ((d * (0.5 + s)) * 0.5) * grid * sign; d @0, 64 grid indices @2,
 * 8 x u32 (4 x 7-bit sign index + 4-bit s) @66; 3.0625 bpw. */
void vkq_decode_block_iq3_xxs(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int ib = 0; ib < 8; ib++) {
        const uint32_t W = rd_u32(blk + 66 + 4 * ib);
        const float db = (d * (0.5f + (float)(W >> 28))) * 0.5f;
        for (int l = 0; l < 4; l++) {
            const unsigned signs = vkq_ksigns_iq2xs[(W >> (7 * l)) & 127];
            for (int j = 0; j < 8; j++) {
                const int k = 8 * ib + 2 * l + (j < 4 ? 0 : 1);
                const int g = grid_byte(vkq_iq3xxs_grid[blk[2 + k]], j % 4);
                out[32 * ib + 8 * l + j] = (db * (float)g) * sign_of(signs, j);
            }
        }
    }
}

/* IQ3_S (§8.5): y = (d * fl(1 + 2s)) * grid * sign; d @0, index low bits @2, index bit 8 @66,
 * sign bytes @74, scales 4 x (u4, u4) @106; 3.4375 bpw. */
void vkq_decode_block_iq3_s(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int ib = 0; ib < 8; ib++) {
        const int s = (ib % 2 == 0) ? (blk[106 + ib / 2] & 0xF) : (blk[106 + ib / 2] >> 4);
        const float db = d * (float)(1 + 2 * s);
        for (int l = 0; l < 4; l++) {
            const unsigned signs = blk[74 + 4 * ib + l];
            for (int j = 0; j < 8; j++) {
                const int h = j < 4 ? 0 : 1;
                const int idx = blk[2 + 8 * ib + 2 * l + h] | ((blk[66 + ib] >> (2 * l + h)) & 1) << 8;
                const int g = grid_byte(vkq_iq3s_grid[idx], j % 4);
                out[32 * ib + 8 * l + j] = (db * (float)g) * sign_of(signs, j);
            }
        }
    }
}

/* IQ1_S (§8.6): y = (d * fl(2s + 1)) * (fl(int8 grid) + +-0.125); d @0, index low bits @2,
 * 8 x u16 (index bits 8-10 x 4, s, delta sign) @34; 1.5625 bpw. */
void vkq_decode_block_iq1_s(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    for (int ib = 0; ib < 8; ib++) {
        const uint32_t w = rd_u16(blk + 34 + 2 * ib);
        const float dl = d * (float)(2 * (int)((w >> 12) & 7) + 1);
        const float delta = (w & 0x8000u) ? -VKQ_IQ1S_DELTA : VKQ_IQ1S_DELTA;
        for (int l = 0; l < 4; l++) {
            const int idx = blk[2 + 4 * ib + l] | (int)((w >> (3 * l)) & 7) << 8;
            const uint64_t row = vkq_iq1s_grid[idx];
            for (int j = 0; j < 8; j++) {
                out[32 * ib + 8 * l + j] = dl * ((float)s8((uint8_t)grid_byte(row, j)) + delta);
            }
        }
    }
}

/* IQ1_M (§8.7): y = (d * fl(2s + 1)) * (fl(int8 grid) + +-0.125), d = fp16 assembled from the
 * top nibbles of the 4 scale words; qs @0, qh @32, scales 4 x u16 @48; 1.75 bpw. */
void vkq_decode_block_iq1_m(const uint8_t *blk, float *out)
{
    uint32_t w[4];
    for (int k = 0; k < 4; k++) {
        w[k] = rd_u16(blk + 48 + 2 * k);
    }
    const uint32_t dbits =
        (w[0] >> 12) | ((w[1] >> 8) & 0x00F0u) | ((w[2] >> 4) & 0x0F00u) | (w[3] & 0xF000u);
    const float d = vkq_fp16_to_f32((uint16_t)dbits);
    for (int ib = 0; ib < 8; ib++) {
        const uint32_t sw = w[ib / 2];
        const int b = 6 * (ib % 2);
        const int s1 = (int)((sw >> b) & 7), s2 = (int)((sw >> (b + 3)) & 7);
        for (int l = 0; l < 4; l++) {
            const int q = blk[32 + 2 * ib + (l >> 1)];
            const int t = (l % 2 == 0) ? (q & 0xF) : (q >> 4);
            const int idx = blk[4 * ib + l] | (t & 7) << 8;
            const float delta = (t & 8) ? -VKQ_IQ1M_DELTA : VKQ_IQ1M_DELTA;
            const float dl = d * (float)(2 * (l < 2 ? s1 : s2) + 1);
            const uint64_t row = vkq_iq1s_grid[idx];
            for (int j = 0; j < 8; j++) {
                out[32 * ib + 8 * l + j] = dl * ((float)s8((uint8_t)grid_byte(row, j)) + delta);
            }
        }
    }
}

/* IQ4_XS (§8.8): y = (d * fl(ls - 32)) * fl(kvalues_iq4nl[q]); d @0, scales_h u16 @2,
 * scales_l @4, 256 x u4 @8 (16 bytes per sub-block); 4.25 bpw. */
void vkq_decode_block_iq4_xs(const uint8_t *blk, float *out)
{
    const float d = rd_h(blk);
    const uint32_t scales_h = rd_u16(blk + 2);
    for (int ib = 0; ib < 8; ib++) {
        const int ls = ((blk[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) |
                       (int)((scales_h >> (2 * ib)) & 3) << 4;
        const float dl = d * (float)(ls - 32);
        for (int r = 0; r < 32; r++) {
            out[32 * ib + r] = dl * (float)vkq_kvalues_iq4nl[nibble(blk + 8 + 16 * ib, r, 16)];
        }
    }
}

/* ---- §12: NF4 (vkquant's own layout) ---------------------------------------------------- */

/* NF4 code values, binary32 bits copied from docs/FORMATS.md §12 (which read them from
 * bitsandbytes' nf4_dequantization_lut, csrc/kernels.cu). */
const uint32_t vkq_nf4_bits[16] = {
    0xBF800000u, 0xBF3239B1u, 0xBF066B30u, 0xBECA32A0u, 0xBE91A24Du, 0xBE3D353Fu,
    0xBDBA7871u, 0x00000000u, 0x3DA2FAFFu, 0x3E24CAE3u, 0x3E7C04DDu, 0x3EAD033Au,
    0x3EE1A4B8u, 0x3F1007ABu, 0x3F3913B3u, 0x3F800000u,
};

/* NF4: y = nf4[code] * absmax (one binary32 multiply); absmax f32 @0, 64 x u4 @4 (element
 * i < 32 low nibble of qs[i], else high nibble of qs[i-32]); 4.5 bpw. */
void vkq_decode_block_nf4(const uint8_t *blk, float *out)
{
    const float absmax = rd_f32(blk);
    for (int i = 0; i < 64; i++) {
        out[i] = vkq_f32_from_bits(vkq_nf4_bits[nibble(blk + 4, i, 32)]) * absmax;
    }
}
