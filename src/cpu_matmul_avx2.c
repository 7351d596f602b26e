/* AVX2 + FMA + F16C kernels of vkq_cpu_matmul (src/cpu_matmul.c). This file alone is built
 * with -mavx2 -mfma -mf16c (a separate static library in meson.build); cpu_matmul.c calls it
 * only after checking that the CPU has all three (prototypes in cpu_kernels.h). */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu_kernels.h"
#include "fp_convert.h"
#include "tables_gen.h"

#define CH 1024 /* floats decoded at a time: 4 KiB, stays in L1 */

typedef vkq_xq_block xq_block;

/* ---- exact f32 path ------------------------------------------------------------------------ */

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* acc[c] (NC columns, U independent chains each) += buf[0..len) . x_c[0..len). */
#define DEFINE_DOT(NC, U)                                                                      \
    static inline void dot_##NC(const float *buf, size_t len, const float *x, size_t ldx,      \
                                __m256 *acc, float *tail)                                      \
    {                                                                                          \
        size_t e = 0;                                                                          \
        for (; e + 8 * (U) <= len; e += 8 * (U)) {                                             \
            for (int u = 0; u < (U); ++u) {                                                    \
                const __m256 w = _mm256_loadu_ps(buf + e + 8 * u);                             \
                for (int c = 0; c < (NC); ++c)                                                 \
                    acc[c * (U) + u] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + c * ldx + e + 8 * u), \
                                                       acc[c * (U) + u]);                      \
            }                                                                                  \
        }                                                                                      \
        for (; e + 8 <= len; e += 8) {                                                         \
            const __m256 w = _mm256_loadu_ps(buf + e);                                         \
            for (int c = 0; c < (NC); ++c)                                                     \
                acc[c * (U)] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + c * ldx + e), acc[c * (U)]); \
        }                                                                                      \
        for (; e < len; ++e)                                                                   \
            for (int c = 0; c < (NC); ++c) tail[c] = fmaf(buf[e], x[c * ldx + e], tail[c]);    \
    }
#define UNROLL(NC) ((NC) <= 2 ? 4 : (NC) <= 4 ? 2 : 1)
DEFINE_DOT(1, 4)
DEFINE_DOT(2, 4)
DEFINE_DOT(3, 2)
DEFINE_DOT(4, 2)
DEFINE_DOT(5, 1)
DEFINE_DOT(6, 1)
DEFINE_DOT(7, 1)
DEFINE_DOT(8, 1)

/* Decodes elements [e0, e0 + len) of a row into buf, or returns the row itself for F32. */
static inline const float *decode_chunk(vkq_type type, vkq_decode_block_fn dec, uint32_t qk,
                                        uint32_t bb, const uint8_t *row, uint64_t e0, size_t len,
                                        float *buf)
{
    switch (type) {
    case VKQ_TYPE_F32:
        if (((uintptr_t)row & 3) == 0) return (const float *)(const void *)(row + 4 * e0);
        memcpy(buf, row + 4 * e0, len * 4);
        return buf;
    case VKQ_TYPE_F16: {
        const uint8_t *p = row + 2 * e0;
        size_t e = 0;
        for (; e + 8 <= len; e += 8)
            _mm256_storeu_ps(buf + e, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * e))));
        for (; e < len; ++e) dec(p + 2 * e, buf + e);
        return buf;
    }
    case VKQ_TYPE_BF16: {
        const uint8_t *p = row + 2 * e0;
        size_t e = 0;
        for (; e + 8 <= len; e += 8) {
            __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * e)));
            _mm256_storeu_si256((__m256i *)(buf + e), _mm256_slli_epi32(v, 16));
        }
        for (; e < len; ++e) dec(p + 2 * e, buf + e);
        return buf;
    }
    default: {
        const uint8_t *p = row + e0 / qk * bb;
        for (size_t b = 0; b < len / qk; ++b) dec(p + b * bb, buf + b * qk);
        return buf;
    }
    }
}

static void row_group(vkq_type type, vkq_decode_block_fn dec, uint32_t qk, uint32_t bb,
                      const uint8_t *row, uint64_t k, const float *x, size_t ldx, uint32_t nc,
                      float *out, const float *full, float *buf)
{
    __m256 acc[8 * 4];
    float tail[8] = {0};
    for (int i = 0; i < 8 * 4; ++i) acc[i] = _mm256_setzero_ps();
    const size_t chunk = full ? (size_t)k : (size_t)(CH / qk * qk);
    for (uint64_t e0 = 0; e0 < k; e0 += chunk) {
        const size_t len = (size_t)(k - e0 < chunk ? k - e0 : chunk);
        const float *w = full ? full : decode_chunk(type, dec, qk, bb, row, e0, len, buf);
        const float *xc = x + e0;
        switch (nc) {
        case 1: dot_1(w, len, xc, ldx, acc, tail); break;
        case 2: dot_2(w, len, xc, ldx, acc, tail); break;
        case 3: dot_3(w, len, xc, ldx, acc, tail); break;
        case 4: dot_4(w, len, xc, ldx, acc, tail); break;
        case 5: dot_5(w, len, xc, ldx, acc, tail); break;
        case 6: dot_6(w, len, xc, ldx, acc, tail); break;
        case 7: dot_7(w, len, xc, ldx, acc, tail); break;
        default: dot_8(w, len, xc, ldx, acc, tail); break;
        }
    }
    const int u = UNROLL(nc);
    for (uint32_t c = 0; c < nc; ++c) {
        __m256 s = acc[c * u];
        for (int i = 1; i < u; ++i) s = _mm256_add_ps(s, acc[c * u + i]);
        out[c] = hsum256(s) + tail[c];
    }
}

/* Rows [r0, r1) of Y = W X, exact decode + fp32 FMA. scratch: CH + k floats. */
void vkq_cpu_avx2_rows_f32(vkq_type type, vkq_decode_block_fn dec, uint32_t qk, uint32_t bb,
                           const uint8_t *w, size_t w_stride, uint64_t r0, uint64_t r1,
                           uint64_t k, const float *x, size_t ldx, uint64_t n, float *y,
                           size_t ldy, float *scratch)
{
    float out[8];
    for (uint64_t r = r0; r < r1; ++r) {
        const uint8_t *row = w + r * w_stride;
        const float *full = NULL;
        if (n > 8) /* decode the row once, then 8-column passes over it */
            full = decode_chunk(type, dec, qk, bb, row, 0, (size_t)k, scratch + CH);
        for (uint64_t c0 = 0; c0 < n; c0 += 8) {
            const uint32_t nc = (uint32_t)(n - c0 < 8 ? n - c0 : 8);
            row_group(type, dec, qk, bb, row, k, x + c0 * ldx, ldx, nc, out, full, scratch);
            for (uint32_t c = 0; c < nc; ++c) y[(c0 + c) * ldy + r] = out[c];
        }
    }
}

/* ---- int8 path ----------------------------------------------------------------------------- */

/* One column of X (k a multiple of 32) to k / 32 blocks. */
void vkq_cpu_avx2_quantize_x(const float *x, uint64_t k, void *out)
{
    xq_block *q = (xq_block *)out;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (uint64_t b = 0; b < k / 32; ++b, x += 32) {
        __m256 v[4], mx = _mm256_setzero_ps();
        for (int i = 0; i < 4; ++i) {
            v[i] = _mm256_loadu_ps(x + 8 * i);
            mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[i]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f;
        const __m256 id = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
        __m256i iv[4];
        for (int i = 0; i < 4; ++i)
            iv[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], id),
                                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        /* pack 32 x i32 -> 32 x i8 in order */
        __m256i p01 = _mm256_packs_epi32(iv[0], iv[1]); /* lanes interleaved per 128 */
        __m256i p23 = _mm256_packs_epi32(iv[2], iv[3]);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        q[b].d = d;
        _mm256_storeu_si256((__m256i *)q[b].q, p);
        int slo = 0, shi = 0;
        for (int i = 0; i < 16; ++i) {
            slo += q[b].q[i];
            shi += q[b].q[i + 16];
        }
        q[b].sum_lo = (int16_t)slo;
        q[b].sum_hi = (int16_t)shi;
    }
}

static inline float half_to_f32(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline __m256 isum_ps(__m256i p16)
{
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

static float dot_q8_0(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    uint64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        for (int u = 0; u < 2; ++u) {
            const uint8_t *blk = w + (b + u) * 34;
            const __m256i qw = _mm256_loadu_si256((const __m256i *)(blk + 2));
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b + u].q);
            const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
            const __m256 s = _mm256_set1_ps(half_to_f32(blk) * xq[b + u].d);
            if (u == 0) acc0 = _mm256_fmadd_ps(s, isum_ps(p), acc0);
            else acc1 = _mm256_fmadd_ps(s, isum_ps(p), acc1);
        }
    }
    for (; b < nb; ++b) {
        const uint8_t *blk = w + b * 34;
        const __m256i qw = _mm256_loadu_si256((const __m256i *)(blk + 2));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * xq[b].d), isum_ps(p), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

static inline __m256i nibbles32(const uint8_t *qs)
{
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/* q4_0: y = (q - 8) d; signed products via the sign trick, as for q8_0. */
static float dot_q4_0(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const __m256i eight = _mm256_set1_epi8(8);
    for (uint64_t b = 0; b < nb; ++b) {
        const uint8_t *blk = w + b * 18;
        const __m256i q = _mm256_sub_epi8(nibbles32(blk + 2), eight);
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
        const __m256 s = _mm256_set1_ps(half_to_f32(blk) * xq[b].d);
        if (b & 1) acc1 = _mm256_fmadd_ps(s, p, acc1);
        else acc0 = _mm256_fmadd_ps(s, p, acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* q4_1: y = q d + m; sum y qx dx = d dx sum q qx + m dx sum qx. */
static float dot_q4_1(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b) {
        const uint8_t *blk = w + b * 20;
        const __m256i q = nibbles32(blk + 4);
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256 p = isum_ps(_mm256_maddubs_epi16(q, qx));
        const __m256 s = _mm256_set1_ps(half_to_f32(blk) * xq[b].d);
        if (b & 1) acc1 = _mm256_fmadd_ps(s, p, acc1);
        else acc0 = _mm256_fmadd_ps(s, p, acc0);
        corr += half_to_f32(blk + 2) * xq[b].d * (float)(xq[b].sum_lo + xq[b].sum_hi);
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) + corr;
}

/* 32 bits (bit i = element i) to 32 bytes of 0x10 / 0x00. */
static inline __m256i bits_to_0x10(const uint8_t *p)
{
    uint32_t qh;
    memcpy(&qh, p, 4);
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* q5_0: y = (q - 16) d, q = nibble | qh bit << 4. */
static float dot_q5_0(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const __m256i sixteen = _mm256_set1_epi8(16);
    for (uint64_t b = 0; b < nb; ++b) {
        const uint8_t *blk = w + b * 22;
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(blk + 6), bits_to_0x10(blk + 2)), sixteen);
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
        const __m256 s = _mm256_set1_ps(half_to_f32(blk) * xq[b].d);
        if (b & 1) acc1 = _mm256_fmadd_ps(s, p, acc1);
        else acc0 = _mm256_fmadd_ps(s, p, acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* q5_1: y = q d + m, q = nibble | qh bit << 4. */
static float dot_q5_1(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b) {
        const uint8_t *blk = w + b * 24;
        const __m256i q = _mm256_or_si256(nibbles32(blk + 8), bits_to_0x10(blk + 4));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256 p = isum_ps(_mm256_maddubs_epi16(q, qx));
        const __m256 s = _mm256_set1_ps(half_to_f32(blk) * xq[b].d);
        if (b & 1) acc1 = _mm256_fmadd_ps(s, p, acc1);
        else acc0 = _mm256_fmadd_ps(s, p, acc0);
        corr += half_to_f32(blk + 2) * xq[b].d * (float)(xq[b].sum_lo + xq[b].sum_hi);
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) + corr;
}

/* iq4_nl: y = d kvalues[q] (16 int8 code values), looked up with pshufb. */
static float dot_iq4_nl(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)vkq_kvalues_iq4nl));
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b) {
        const uint8_t *blk = w + b * 18;
        const __m256i q = _mm256_shuffle_epi8(table, nibbles32(blk + 2));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
        const __m256 s = _mm256_set1_ps(half_to_f32(blk) * xq[b].d);
        if (b & 1) acc1 = _mm256_fmadd_ps(s, p, acc1);
        else acc0 = _mm256_fmadd_ps(s, p, acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* q4_k (144-byte blocks) and q5_k (qh bit j of byte i%32 adds 16; 176 bytes):
 * y = d sc q - dmin m over 8 sub-blocks of 32 (one X block each). The 6-bit scales and mins
 * are unpacked for the whole superblock at once and multiply in the integer domain; per
 * superblock two float accumulators get d and dmin. */
static inline float dot_qk_k(const uint8_t *w, uint64_t nb, const xq_block *xq, int five)
{
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F), x10 = _mm256_set1_epi8(0x10), ones = _mm256_set1_epi8(1);
    const uint32_t bb = five ? 176 : 144, qs_off = five ? 48 : 16;
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * bb;
        uint32_t a0, a1, a2;
        memcpy(&a0, blk + 4, 4);
        memcpy(&a1, blk + 8, 4);
        memcpy(&a2, blk + 12, 4);
        const uint32_t sc_lo = a0 & 0x3F3F3F3Fu, mn_lo = a1 & 0x3F3F3F3Fu;
        const uint32_t sc_hi = (a2 & 0x0F0F0F0Fu) | ((a0 >> 6) & 0x03030303u) << 4;
        const uint32_t mn_hi = ((a2 >> 4) & 0x0F0F0F0Fu) | ((a1 >> 6) & 0x03030303u) << 4;
        const uint64_t sc = (uint64_t)sc_hi << 32 | sc_lo, mn = (uint64_t)mn_hi << 32 | mn_lo;
        const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
        __m256 sd = _mm256_setzero_ps(), sm = _mm256_setzero_ps();
        for (int c = 0; c < 4; ++c) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + qs_off + 32 * c));
            __m256i q[2];
            q[0] = _mm256_and_si256(raw, m4);
            q[1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (five) {
                const __m256i b0 = _mm256_set1_epi8((char)(1 << (2 * c))), b1 = _mm256_set1_epi8((char)(2 << (2 * c)));
                q[0] = _mm256_or_si256(q[0], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), x10));
                q[1] = _mm256_or_si256(q[1], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), x10));
            }
            for (int h = 0; h < 2; ++h) {
                const int t = 2 * c + h;
                const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[t].q);
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[h], qx),
                                                    _mm256_set1_epi16((short)((sc >> (8 * t)) & 0xFF)));
                const __m256i pm = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, qx),
                                                     _mm256_set1_epi16((short)((mn >> (8 * t)) & 0xFF)));
                const __m256 dx = _mm256_set1_ps(xq[t].d);
                sd = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(p), sd);
                sm = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(pm), sm);
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk)), sd, acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 2)), sm, accm);
    }
    return hsum256(_mm256_sub_ps(acc, accm));
}

static float dot_q4_k(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    return dot_qk_k(w, nb, xq, 0);
}

static float dot_q5_k(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    return dot_qk_k(w, nb, xq, 1);
}

/* iq4_xs: y = d (ls - 32) kvalues[q], 8 sub-blocks of 32 with 6-bit ls. */
static float dot_iq4_xs(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)vkq_kvalues_iq4nl));
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 136;
        const float d = half_to_f32(blk);
        const uint32_t sh = (uint32_t)blk[2] | (uint32_t)blk[3] << 8;
        for (int ib = 0; ib < 8; ++ib) {
            const int ls = ((blk[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (int)((sh >> (2 * ib)) & 3) << 4;
            const __m256i q = _mm256_shuffle_epi8(table, nibbles32(blk + 8 + 16 * ib));
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[ib].q);
            const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)(ls - 32) * xq[ib].d), p, acc);
        }
    }
    return hsum256(acc);
}

/* q6_k: y = d sc[i/16] (q - 32), q = 4 low bits (ql) | 2 high bits (qh) << 4. The int8 scales
 * multiply the 16-bit pair sums in the integer domain (madd), one float scale per X block. */
static float dot_q6_k(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 210;
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)(blk + 192));
        const float d = half_to_f32(blk + 208);
        for (int n = 0; n < 2; ++n) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(blk + 64 * n));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(blk + 64 * n + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * n));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            for (int t = 0; t < 4; ++t) {
                const xq_block *xb = &xq[4 * n + t];
                const int j = 8 * n + 2 * t;
                const __m128i idx = _mm_unpacklo_epi64(_mm_set1_epi8((char)j), _mm_set1_epi8((char)(j + 1)));
                const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
                const __m256i qs = _mm256_sub_epi8(q[t], k32);
                const __m256i qx = _mm256_loadu_si256((const __m256i *)xb->q);
                const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qs, qs), _mm256_sign_epi8(qx, qs));
                const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, sc16));
                if (t & 1) acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), p, acc1);
                else acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), p, acc0);
            }
        }
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* mxfp4: y = kvalues_mxfp4[c] * 2^(e-128) (E8M0 scale, 17-byte blocks of 32). */
static float dot_mxfp4(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)vkq_kvalues_mxfp4));
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b) {
        const uint8_t *blk = w + b * 17;
        const __m256i q = _mm256_shuffle_epi8(table, nibbles32(blk + 1));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
        const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
        const __m256 s = _mm256_set1_ps(vkq_e8m0_half_to_f32(blk[0]) * xq[b].d);
        if (b & 1) acc1 = _mm256_fmadd_ps(s, p, acc1);
        else acc0 = _mm256_fmadd_ps(s, p, acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* nvfp4: 64-element blocks of 4 sub-blocks of 16 (UE4M3 scale each; 8 bytes: low nibbles are
 * elements 0..7, high 8..15); one X block covers two sub-blocks. */
static float dot_nvfp4(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m128i table = _mm_loadu_si128((const __m128i *)vkq_kvalues_mxfp4);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 2) {
        const uint8_t *blk = w + b * 36;
        for (int t = 0; t < 2; ++t) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(blk + 4 + 16 * t));
            const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(v, m4));
            const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(v, 4), m4));
            const __m256i q = _mm256_set_m128i(_mm_unpackhi_epi64(lo, hi), _mm_unpacklo_epi64(lo, hi));
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[t].q);
            const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
            const float dx = xq[t].d;
            const __m256 sv = _mm256_set_m128(_mm_set1_ps(vkq_ue4m3_half_to_f32(blk[2 * t + 1]) * dx),
                                              _mm_set1_ps(vkq_ue4m3_half_to_f32(blk[2 * t]) * dx));
            acc = _mm256_fmadd_ps(sv, p, acc);
        }
    }
    return hsum256(acc);
}

/* Q2_K and TQ2_0 share the 2-bit layout: element 128 c + 32 l + i is bits 2l of qs[32 c + i],
 * so X block t = 4 c + l takes (qs[32 c ..] >> 2 l) & 3. */
static inline __m256i q2_block(const uint8_t *qs, int t)
{
    const __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * (t / 4)));
    return _mm256_and_si256(_mm256_srl_epi16(raw, _mm_cvtsi32_si128(2 * (t % 4))), _mm256_set1_epi8(3));
}

/* [b[j] x 8, b[j+1] x 8] as 16 x i16 (unsigned bytes). */
static inline __m256i pair16_u8(__m128i b, int j)
{
    return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(b, _mm_unpacklo_epi64(_mm_set1_epi8((char)j), _mm_set1_epi8((char)(j + 1)))));
}

/* q2_k: y = d (sc & 15) q - dmin (sc >> 4), one scale byte per 16 elements. Scales and mins
 * multiply in the integer domain; per superblock two float accumulators get d and dmin. */
static float dot_q2_k(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi8(1);
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 84;
        const __m128i raw = _mm_loadu_si128((const __m128i *)blk);
        const __m128i sc = _mm_and_si128(raw, m4), mn = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        __m256 sd = _mm256_setzero_ps(), sm = _mm256_setzero_ps();
        for (int t = 0; t < 8; ++t) {
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[t].q);
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q2_block(blk + 16, t), qx), pair16_u8(sc, 2 * t));
            const __m256i pm = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, qx), pair16_u8(mn, 2 * t));
            const __m256 dx = _mm256_set1_ps(xq[t].d);
            sd = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(p), sd);
            sm = _mm256_fmadd_ps(dx, _mm256_cvtepi32_ps(pm), sm);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 80)), sd, acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 82)), sm, accm);
    }
    return hsum256(_mm256_sub_ps(acc, accm));
}

/* q3_k: y = d (sc - 32) (q2 + 4 hbit - 4); hbit of element 32 t + i is bit t of hmask[i].
 * Signed q via the sign trick; the 6-bit scales multiply in the integer domain. */
static float dot_q3_k(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc = _mm256_setzero_ps();
    const __m256i four = _mm256_set1_epi8(4);
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 110;
        const uint8_t *S = blk + 96;
        const __m256i hm = _mm256_loadu_si256((const __m256i *)blk);
        /* sc[j] = (lo nibble j | 2 bits of S[8 + j % 4] at 2 (j / 4)) << 4) - 32 */
        const __m128i s8 = _mm_loadl_epi64((const __m128i *)S), m4 = _mm_set1_epi8(0x0F);
        const __m128i lo = _mm_unpacklo_epi64(_mm_and_si128(s8, m4), _mm_and_si128(_mm_srli_epi16(s8, 4), m4));
        uint32_t h32;
        memcpy(&h32, S + 8, 4);
        const __m128i hv = _mm_srlv_epi32(_mm_set1_epi32((int)h32), _mm_setr_epi32(0, 2, 4, 6));
        const __m128i hi = _mm_slli_epi16(_mm_and_si128(hv, _mm_set1_epi8(3)), 4);
        const __m128i sc8 = _mm_sub_epi8(_mm_or_si128(lo, hi), _mm_set1_epi8(32));
        __m256 sd = _mm256_setzero_ps();
        for (int t = 0; t < 8; ++t) {
            const __m256i bt = _mm256_set1_epi8((char)(1 << t));
            const __m256i h = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bt), bt), four);
            const __m256i q = _mm256_sub_epi8(_mm256_or_si256(q2_block(blk + 32, t), h), four);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[t].q);
            const __m128i idx = _mm_unpacklo_epi64(_mm_set1_epi8((char)(2 * t)), _mm_set1_epi8((char)(2 * t + 1)));
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)), sc16);
            sd = _mm256_fmadd_ps(_mm256_set1_ps(xq[t].d), _mm256_cvtepi32_ps(p), sd);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 108)), sd, acc);
    }
    return hsum256(acc);
}

/* tq2_0: y = (q - 1) d. */
static float dot_tq2_0(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 66;
        const float d = half_to_f32(blk + 64);
        for (int t = 0; t < 8; ++t) {
            const __m256 p = isum_ps(_mm256_maddubs_epi16(q2_block(blk, t),
                                                          _mm256_loadu_si256((const __m256i *)xq[t].q)));
            const float f = d * xq[t].d;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f), p, acc);
            corr += f * (float)(xq[t].sum_lo + xq[t].sum_hi);
        }
    }
    return hsum256(acc) - corr;
}

/* q2_0: y = (q - 1) d, 64 elements, element i = bits 2 (i % 4) of qs[i / 4]. */
static float dot_q2_0(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                          4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    const __m256i lo = _mm256_set1_epi32((int)0x40100401u), hi = _mm256_set1_epi32((int)0x80200802u);
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b, xq += 2) {
        const uint8_t *blk = w + b * 18;
        const float d = half_to_f32(blk);
        for (int t = 0; t < 2; ++t) {
            uint64_t bits;
            memcpy(&bits, blk + 2 + 8 * t, 8);
            const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)bits), shuf);
            const __m256i l = _mm256_cmpeq_epi8(_mm256_and_si256(v, lo), lo);
            const __m256i h = _mm256_cmpeq_epi8(_mm256_and_si256(v, hi), hi);
            const __m256i q = _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_add_epi8(l, _mm256_add_epi8(h, h)));
            const __m256 p = isum_ps(_mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)xq[t].q)));
            const float f = d * xq[t].d;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f), p, acc);
            corr += f * (float)(xq[t].sum_lo + xq[t].sum_hi);
        }
    }
    return hsum256(acc) - corr;
}

/* q1_0: y = bit ? d : -d over 128 elements; sum = d (2 sum_{bit set} qx - sum qx). */
static float dot_q1_0(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll), ones = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b, xq += 4) {
        const uint8_t *blk = w + b * 18;
        const float d = half_to_f32(blk);
        for (int t = 0; t < 4; ++t) {
            uint32_t bits;
            memcpy(&bits, blk + 2 + 4 * t, 4);
            const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
            const __m256i sel = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit),
                                                 _mm256_loadu_si256((const __m256i *)xq[t].q));
            const __m256 p = isum_ps(_mm256_maddubs_epi16(ones, sel));
            const float f = d * xq[t].d;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(2.0f * f), p, acc);
            corr += f * (float)(xq[t].sum_lo + xq[t].sum_hi);
        }
    }
    return hsum256(acc) - corr;
}

/* iq2_xxs: y = d (0.5 + s) / 4 * grid * sign; per 32 elements 4 grid indices (8 unsigned
 * bytes each) and 4 x 7-bit sign indices into ksigns. The signs are applied to X's bytes. */
static float dot_iq2_xxs(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 66;
        const float d = half_to_f32(blk);
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *R = blk + 2 + 8 * ib;
            uint32_t W;
            memcpy(&W, R + 4, 4);
            const __m256i q = _mm256_set_epi64x((long long)vkq_iq2xxs_grid[R[3]], (long long)vkq_iq2xxs_grid[R[2]],
                                                (long long)vkq_iq2xxs_grid[R[1]], (long long)vkq_iq2xxs_grid[R[0]]);
            const uint32_t sg = (uint32_t)vkq_ksigns_iq2xs[W & 127] | (uint32_t)vkq_ksigns_iq2xs[(W >> 7) & 127] << 8 |
                                (uint32_t)vkq_ksigns_iq2xs[(W >> 14) & 127] << 16 |
                                (uint32_t)vkq_ksigns_iq2xs[(W >> 21) & 127] << 24;
            const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sg), shuf);
            const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[ib].q);
            const __m256i sx = _mm256_sub_epi8(_mm256_xor_si256(qx, neg), neg);
            const __m256 p = isum_ps(_mm256_maddubs_epi16(q, sx));
            const float db = (d * (0.5f + (float)(W >> 28))) * 0.25f;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(db * xq[ib].d), p, acc);
        }
    }
    return hsum256(acc);
}

/* iq3_xxs: y = d (0.5 + s) / 2 * grid * sign; element e of a 32-block is byte e % 4 of
 * iq3xxs_grid[qs[8 ib + e / 4]]; signs as iq2_xxs from the block's u32 at 66 + 4 ib. */
static float dot_iq3_xxs(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 98;
        const float d = half_to_f32(blk);
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *g = blk + 2 + 8 * ib;
            uint32_t W;
            memcpy(&W, blk + 66 + 4 * ib, 4);
            const __m256i q = _mm256_setr_epi32((int)vkq_iq3xxs_grid[g[0]], (int)vkq_iq3xxs_grid[g[1]],
                                                (int)vkq_iq3xxs_grid[g[2]], (int)vkq_iq3xxs_grid[g[3]],
                                                (int)vkq_iq3xxs_grid[g[4]], (int)vkq_iq3xxs_grid[g[5]],
                                                (int)vkq_iq3xxs_grid[g[6]], (int)vkq_iq3xxs_grid[g[7]]);
            const uint32_t sg = (uint32_t)vkq_ksigns_iq2xs[W & 127] | (uint32_t)vkq_ksigns_iq2xs[(W >> 7) & 127] << 8 |
                                (uint32_t)vkq_ksigns_iq2xs[(W >> 14) & 127] << 16 |
                                (uint32_t)vkq_ksigns_iq2xs[(W >> 21) & 127] << 24;
            const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sg), shuf);
            const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[ib].q);
            const __m256i sx = _mm256_sub_epi8(_mm256_xor_si256(qx, neg), neg);
            const __m256 p = isum_ps(_mm256_maddubs_epi16(q, sx));
            const float db = (d * (0.5f + (float)(W >> 28))) * 0.5f;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(db * xq[ib].d), p, acc);
        }
    }
    return hsum256(acc);
}

/* Shared by iq2_xs and iq2_s: 4 grid rows of 8 unsigned bytes, 32 sign bits (bit e negates
 * element e, applied to X's bytes), and one float scale per 16 elements (lo, hi). */
static inline __m256 iq2_pair(uint64_t g0, uint64_t g1, uint64_t g2, uint64_t g3, uint32_t sg,
                              const xq_block *xb, float slo, float shi, __m256 acc)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    const __m256i q = _mm256_set_epi64x((long long)g3, (long long)g2, (long long)g1, (long long)g0);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sg), shuf);
    const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    const __m256i qx = _mm256_loadu_si256((const __m256i *)xb->q);
    const __m256i sx = _mm256_sub_epi8(_mm256_xor_si256(qx, neg), neg);
    const __m256 p = isum_ps(_mm256_maddubs_epi16(q, sx));
    return _mm256_fmadd_ps(_mm256_set_m128(_mm_set1_ps(shi * xb->d), _mm_set1_ps(slo * xb->d)), p, acc);
}

/* iq2_xs: 32 x u16 (9-bit grid index, 7-bit ksigns index), scales (u4 lo, u4 hi) @66. */
static float dot_iq2_xs(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 74;
        const float d = half_to_f32(blk);
        for (int ib = 0; ib < 8; ++ib) {
            uint16_t u[4];
            memcpy(u, blk + 2 + 8 * ib, 8);
            const uint32_t sg = (uint32_t)vkq_ksigns_iq2xs[u[0] >> 9] | (uint32_t)vkq_ksigns_iq2xs[u[1] >> 9] << 8 |
                                (uint32_t)vkq_ksigns_iq2xs[u[2] >> 9] << 16 | (uint32_t)vkq_ksigns_iq2xs[u[3] >> 9] << 24;
            const float slo = (d * (0.5f + (float)(blk[66 + ib] & 0xF))) * 0.25f;
            const float shi = (d * (0.5f + (float)(blk[66 + ib] >> 4))) * 0.25f;
            acc = iq2_pair(vkq_iq2xs_grid[u[0] & 511], vkq_iq2xs_grid[u[1] & 511], vkq_iq2xs_grid[u[2] & 511],
                           vkq_iq2xs_grid[u[3] & 511], sg, &xq[ib], slo, shi, acc);
        }
    }
    return hsum256(acc);
}

/* iq2_s: index low bits @2, sign bytes @34, index bits 8-9 @66, scales @74. */
static float dot_iq2_s(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 82;
        const float d = half_to_f32(blk);
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *lo = blk + 2 + 4 * ib;
            const unsigned hb = blk[66 + ib];
            uint32_t sg;
            memcpy(&sg, blk + 34 + 4 * ib, 4);
            const float slo = (d * (0.5f + (float)(blk[74 + ib] & 0xF))) * 0.25f;
            const float shi = (d * (0.5f + (float)(blk[74 + ib] >> 4))) * 0.25f;
            acc = iq2_pair(vkq_iq2s_grid[lo[0] | (hb & 3) << 8], vkq_iq2s_grid[lo[1] | ((hb >> 2) & 3) << 8],
                           vkq_iq2s_grid[lo[2] | ((hb >> 4) & 3) << 8], vkq_iq2s_grid[lo[3] | ((hb >> 6) & 3) << 8],
                           sg, &xq[ib], slo, shi, acc);
        }
    }
    return hsum256(acc);
}

/* iq3_s: element e of a 32-block is byte e % 4 of iq3s_grid[qs[8 ib + e / 4] | bit e / 4 of
 * qh[ib] << 8], sign bit e of the 4 sign bytes, y = d (1 + 2 s) grid sign. */
static float dot_iq3_s(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 110;
        const float d = half_to_f32(blk);
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *g = blk + 2 + 8 * ib;
            const unsigned h = blk[66 + ib];
            const __m256i hi = _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)h), lane),
                                                                  _mm256_set1_epi32(1)), 8);
            const __m256i idx = _mm256_or_si256(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)g)), hi);
            const __m256i q = _mm256_i32gather_epi32((const int *)vkq_iq3s_grid, idx, 4);
            uint32_t sg;
            memcpy(&sg, blk + 74 + 4 * ib, 4);
            const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sg), shuf);
            const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[ib].q);
            const __m256i sx = _mm256_sub_epi8(_mm256_xor_si256(qx, neg), neg);
            const __m256 p = isum_ps(_mm256_maddubs_epi16(q, sx));
            const int sc = (ib % 2 == 0) ? (blk[106 + ib / 2] & 0xF) : (blk[106 + ib / 2] >> 4);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)(1 + 2 * sc) * xq[ib].d), p, acc);
        }
    }
    return hsum256(acc);
}

/* iq1_s: y = d (2 s + 1) (grid + delta), int8 grid rows of -1/0/1, delta = +-1/8 per 32
 * elements; the delta part is delta * sum qx. */
static float dot_iq1_s(const uint8_t *w, uint64_t nb, const xq_block *xq)
{
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b, xq += 8) {
        const uint8_t *blk = w + b * 50;
        const float d = half_to_f32(blk);
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *lo = blk + 2 + 4 * ib;
            const uint32_t hw = (uint32_t)blk[34 + 2 * ib] | (uint32_t)blk[35 + 2 * ib] << 8;
            const __m256i g = _mm256_set_epi64x((long long)vkq_iq1s_grid[lo[3] | ((hw >> 9) & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[2] | ((hw >> 6) & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[1] | ((hw >> 3) & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[0] | (hw & 7) << 8]);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[ib].q);
            const __m256 p = isum_ps(_mm256_maddubs_epi16(_mm256_sign_epi8(g, g), _mm256_sign_epi8(qx, g)));
            const float f = d * (float)(2 * (int)((hw >> 12) & 7) + 1) * xq[ib].d;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f), p, acc);
            const float delta = (hw & 0x8000u) ? -VKQ_IQ1S_DELTA : VKQ_IQ1S_DELTA;
            corr += f * delta * (float)(xq[ib].sum_lo + xq[ib].sum_hi);
        }
    }
    return hsum256(acc) + corr;
}

typedef float (*int8_dot_fn)(const uint8_t *, uint64_t, const xq_block *);

static int8_dot_fn int8_dot(vkq_type type)
{
    switch (type) {
    case VKQ_TYPE_Q8_0: return dot_q8_0;
    case VKQ_TYPE_Q4_0: return dot_q4_0;
    case VKQ_TYPE_Q4_1: return dot_q4_1;
    case VKQ_TYPE_Q5_0: return dot_q5_0;
    case VKQ_TYPE_Q5_1: return dot_q5_1;
    case VKQ_TYPE_IQ4_NL: return dot_iq4_nl;
    case VKQ_TYPE_Q4_K: return dot_q4_k;
    case VKQ_TYPE_Q5_K: return dot_q5_k;
    case VKQ_TYPE_IQ4_XS: return dot_iq4_xs;
    case VKQ_TYPE_MXFP4: return dot_mxfp4;
    case VKQ_TYPE_NVFP4: return dot_nvfp4;
    case VKQ_TYPE_Q2_K: return dot_q2_k;
    case VKQ_TYPE_Q3_K: return dot_q3_k;
    case VKQ_TYPE_TQ2_0: return dot_tq2_0;
    case VKQ_TYPE_Q2_0: return dot_q2_0;
    case VKQ_TYPE_Q1_0: return dot_q1_0;
    case VKQ_TYPE_IQ2_XXS: return dot_iq2_xxs;
    case VKQ_TYPE_IQ3_XXS: return dot_iq3_xxs;
    case VKQ_TYPE_IQ2_XS: return dot_iq2_xs;
    case VKQ_TYPE_IQ2_S: return dot_iq2_s;
    case VKQ_TYPE_IQ3_S: return dot_iq3_s;
    case VKQ_TYPE_IQ1_S: return dot_iq1_s;
    case VKQ_TYPE_Q6_K: return dot_q6_k;
    default: return NULL;
    }
}

/* 1 if the int8 path covers `type`. */
int vkq_cpu_avx2_has_int8(vkq_type type)
{
    return int8_dot(type) != NULL;
}

/* Rows [r0, r1) of Y against the quantized X (n columns of k / 32 blocks each, packed). */
void vkq_cpu_avx2_rows_int8(vkq_type type, uint32_t qk, uint32_t bb, const uint8_t *w,
                            size_t w_stride, uint64_t r0, uint64_t r1, uint64_t k, const void *xq,
                            uint64_t n, float *y, size_t ldy)
{
    const int8_dot_fn dot = int8_dot(type);
    (void)bb;
    const xq_block *xb = (const xq_block *)xq;
    const uint64_t nb = k / qk, nx = k / 32;
    for (uint64_t r = r0; r < r1; ++r) {
        const uint8_t *row = w + r * w_stride;
        for (uint64_t c = 0; c < n; ++c) y[c * ldy + r] = dot(row, nb, xb + c * nx);
    }
}
