/* AVX2 int8 kernels of vkq_cpu_matmul for the types with blocks of 32, 64 or 128 elements,
 * against X quantized per 32 elements (vkq_xq_block), and the variant's table
 * (vkq_cpu_int8_isa, cpu_kernels.h). Built once per int8 variant (AVX2, the VNNI ones:
 * cpu_avx2_util.h) with -mavx2 -mfma -mf16c and the variant's flags (meson.build);
 * cpu_matmul.c calls a variant only after the run-time CPU check. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "cpu/x86/cpu_avx2_util.h"
#include "cpu/cpu_kernels.h"
#include "core/fp_convert.h"
#include "formats/tables_gen.h"

typedef vkq_xq_block xq_block;

/* One column of X (k a multiple of 32) to k / 32 blocks. */
static void quantize_x(const float *x, uint64_t k, void *out)
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

/* q8_0: y = q d, signed codes against signed X through the sign trick. nr <= 8 rows at once
 * (X's block loaded once per group, nr weight streams from DRAM in flight); groups of 4: with
 * two accumulators per row (even / odd blocks) 8 rows spill them to the stack, and on Zen 1
 * 4 rows beat 8 by ~8 % at 4096 x 14336 (bench/RESULTS.md). Every row does the same
 * operations in the same order whatever nr is. */
static VKQ_ALWAYS_INLINE void q8_0_rows(const uint8_t *w, size_t ws, uint64_t nb, const xq_block *xq,
                                        int unused, int nr, float *out)
{
    (void)unused; /* the template serves one type */
    __m256 acc[2][8];
    for (int i = 0; i < nr; ++i) acc[0][i] = acc[1][i] = _mm256_setzero_ps();
    uint64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        VKQ_UNROLL
        for (int u = 0; u < 2; ++u) {
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b + u].q);
            const float dx = xq[b + u].d;
            VKQ_UNROLL
            for (int i = 0; i < nr; ++i) {
                const uint8_t *blk = w + i * ws + (b + u) * 34;
                const __m256i qw = _mm256_loadu_si256((const __m256i *)(blk + 2));
                const __m256 p = dot4_ps(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
                acc[u][i] = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * dx), p, acc[u][i]);
            }
        }
    }
    for (int i = 0; i < nr; ++i) {
        if (b < nb) { /* odd block count */
            const uint8_t *blk = w + i * ws + b * 34;
            const __m256i qw = _mm256_loadu_si256((const __m256i *)(blk + 2));
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
            const __m256 p = dot4_ps(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
            acc[0][i] = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * xq[b].d), p, acc[0][i]);
        }
        out[i] = hsum256(_mm256_add_ps(acc[0][i], acc[1][i]));
    }
}

VKQ_ROW_KERNELS(q8_0, q8_0_rows, 0, 4)

static inline __m256i nibbles32(const uint8_t *qs)
{
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/* 32 bits (bit i = element i) to 32 bytes of 0x10 / 0x00. */
static inline __m256i bits_to_0x10(uint32_t qh)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

static inline uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The legacy 4- and 5-bit types (8-row groups: for q5_0 / q5_1 also ~5 % faster than 4 from
 * DRAM and from L3). q is unsigned (q4: the nibble, 0..15; q5: nibble | qh bit << 4, 0..31);
 * y = d (q - o) for q4_0 (o = 8) and q5_0 (o = 16), y = d q + m for q4_1 and q5_1. Unsigned
 * codes against X's signed bytes need no sign trick, so X's loads and per-block terms serve nr
 * <= 8 rows at once (8 row streams in flight from DRAM measured ~15 % faster than 4 for q4_0).
 * Pairs <= 2 * 31 * 127, two of them added in int16 by dot4x2: < 2^14. Two blocks per step
 * share one 256-bit vector of codes (lanes 0-3 block b, 4-7 block b + 1), the int conversion
 * and the FMA.
 * - q4_0, q5_0: a block's sum is d dx (sum q qx - o sum qx), the bracket exact in int32: the
 *   dot products start from -o sum qx (lane 0 of each block), so the offset costs nothing per
 *   row, and one FMA by d dx adds the block.
 * - q4_1, q5_1: d dx (sum q qx) + m dx (sum qx); the second terms add up in corr.
 * Every row does the same operations in the same order whatever nr is, so results do not
 * depend on the row grouping (thread count). */
enum legacy_kind { L_Q4_0, L_Q4_1, L_Q5_0, L_Q5_1 };

/* Blocks b0 and b1 = b0 + bb of a row, decoded: lo holds elements 0-15 of both blocks, hi
 * elements 16-31 (unsigned codes); sc = [d0 x4, d1 x4] for q4_0 / q5_0, [d0, d1, m0, m1, 0 x4]
 * for q4_1 / q5_1. */
static VKQ_ALWAYS_INLINE void legacy_decode2(const uint8_t *b0, size_t bb, enum legacy_kind kind, __m256i *lo,
                                             __m256i *hi, __m256 *sc)
{
    const int five = kind == L_Q5_0 || kind == L_Q5_1, has_m = kind == L_Q4_1 || kind == L_Q5_1;
    const size_t qh_off = has_m ? 4 : 2, qs_off = qh_off + (five ? 4 : 0);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const uint8_t *b1 = b0 + bb;
    const __m256i raw = _mm256_loadu2_m128i((const __m128i *)(b1 + qs_off), (const __m128i *)(b0 + qs_off));
    *lo = _mm256_and_si256(raw, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    if (five) {
        const uint32_t h0 = load_u32(b0 + qh_off), h1 = load_u32(b1 + qh_off);
        *lo = _mm256_or_si256(*lo, bits_to_0x10((h0 & 0xFFFFu) | h1 << 16));
        *hi = _mm256_or_si256(*hi, bits_to_0x10(h0 >> 16 | (h1 & 0xFFFF0000u)));
    }
    if (has_m) {
        const __m128 v = _mm_cvtph_ps(_mm_setr_epi32((int)load_u32(b0), (int)load_u32(b1), 0, 0));
        *sc = _mm256_castps128_ps256(_mm_shuffle_ps(v, v, _MM_SHUFFLE(3, 1, 2, 0)));
        *sc = _mm256_insertf128_ps(*sc, _mm_setzero_ps(), 1);
    } else {
        uint16_t h0, h1;
        memcpy(&h0, b0, 2);
        memcpy(&h1, b1, 2);
        const __m128 d2 = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | (uint32_t)h1 << 16)));
        *sc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d2), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
    }
}

/* A decoded block pair in the GEMM path's scratch (legacy_decode_rows): 96 bytes, 32-aligned. */
typedef struct legacy_pair {
    __m256i lo, hi;
    __m256 sc;
} legacy_pair;

/* nr rows against nc <= 2 columns (xq, xq + xcb bytes; out[c * ldo + i]). pre NULL: the rows
 * are decoded here (the mat-vec path, nc = 1); else pre holds them decoded, nb / 2 pairs per
 * row (the GEMM path: decoded once, used by every column, two columns per pass so each decoded
 * pair is loaded once for both), and the odd tail block still comes from w. Each (row, column)
 * gets the same operations in the same order whichever path and nc, so all give the same bits. */
static VKQ_ALWAYS_INLINE void legacy_rows_any(const uint8_t *w, size_t ws, const legacy_pair *pre, uint64_t nb,
                                              const xq_block *xq0, size_t xcb, int nc, enum legacy_kind kind,
                                              int nr, float *out, size_t ldo)
{
    const int five = kind == L_Q5_0 || kind == L_Q5_1, has_m = kind == L_Q4_1 || kind == L_Q5_1;
    const size_t bb = kind == L_Q4_0 ? 18 : kind == L_Q4_1 ? 20 : kind == L_Q5_0 ? 22 : 24;
    const size_t qh_off = has_m ? 4 : 2, qs_off = qh_off + (five ? 4 : 0);
    const int ioff = kind == L_Q4_0 ? -8 : kind == L_Q5_0 ? -16 : 0;
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const uint64_t np = nb / 2;
    const xq_block *xqc[2] = {xq0, (const xq_block *)((const uint8_t *)xq0 + xcb)};
    __m256 acc[2][8];
    __m128 corr[2][8];
    for (int c = 0; c < nc; ++c)
        for (int i = 0; i < nr; ++i) {
            acc[c][i] = _mm256_setzero_ps();
            corr[c][i] = _mm_setzero_ps();
        }
    uint64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m256i xlo[2], xhi[2], init[2];
        __m256 dx8[2];
        __m128 dxc[2];
        VKQ_UNROLL
        for (int c = 0; c < nc; ++c) {
            const xq_block *xq = xqc[c];
            xlo[c] = _mm256_loadu2_m128i((const __m128i *)xq[b + 1].q, (const __m128i *)xq[b].q);
            xhi[c] = _mm256_loadu2_m128i((const __m128i *)(xq[b + 1].q + 16), (const __m128i *)(xq[b].q + 16));
            const int s0 = xq[b].sum_lo + xq[b].sum_hi, s1 = xq[b + 1].sum_lo + xq[b + 1].sum_hi;
            /* q4_0 / q5_0: the offset's int term and dx per lane; q4_1 / q5_1: dx, dx sum qx */
            init[c] = _mm256_setr_epi32(ioff * s0, 0, 0, 0, ioff * s1, 0, 0, 0);
            dx8[c] = _mm256_setr_m128(_mm_set1_ps(xq[b].d), _mm_set1_ps(xq[b + 1].d));
            dxc[c] = _mm_setr_ps(xq[b].d, xq[b + 1].d, xq[b].d * (float)s0, xq[b + 1].d * (float)s1);
        }
        VKQ_UNROLL
        for (int i = 0; i < nr; ++i) {
            __m256i lo, hi;
            __m256 sc;
            if (pre) {
                const legacy_pair *q = pre + i * np + b / 2;
                lo = _mm256_load_si256(&q->lo);
                hi = _mm256_load_si256(&q->hi);
                sc = _mm256_load_ps((const float *)&q->sc);
            } else {
                const uint8_t *b0 = w + i * ws + b * bb;
                legacy_decode2(b0, bb, kind, &lo, &hi, &sc);
            }
            VKQ_UNROLL
            for (int c = 0; c < nc; ++c) {
                if (!has_m) {
                    const __m256i p = dot4x2_acc(init[c], lo, xlo[c], hi, xhi[c]);
                    acc[c][i] = _mm256_fmadd_ps(_mm256_mul_ps(sc, dx8[c]), _mm256_cvtepi32_ps(p), acc[c][i]);
                } else {
                    const __m256i p = dot4x2(lo, xlo[c], hi, xhi[c]);
                    /* d dx of both blocks, then m dx sum qx of both */
                    const __m128 s = _mm_mul_ps(_mm256_castps256_ps128(sc), dxc[c]);
                    acc[c][i] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(_mm256_castps128_ps256(s), spread),
                                                _mm256_cvtepi32_ps(p), acc[c][i]);
                    corr[c][i] = _mm_add_ps(corr[c][i], s);
                }
            }
        }
    }
    for (int c = 0; c < nc; ++c) {
        const xq_block *xq = xqc[c];
        for (int i = 0; i < nr; ++i) {
            float tail = 0.0f;
            if (b < nb) { /* odd block count */
                const uint8_t *blk = w + i * ws + b * bb;
                __m256i q = nibbles32(blk + qs_off);
                if (five) q = _mm256_or_si256(q, bits_to_0x10(load_u32(blk + qh_off)));
                const float d = half_to_f32(blk);
                const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
                const int sx = xq[b].sum_lo + xq[b].sum_hi;
                if (!has_m)
                    tail = d * xq[b].d * (hsum256(dot4_ps(q, qx)) + (float)(ioff * sx));
                else
                    tail = d * xq[b].d * hsum256(dot4_ps(q, qx)) + half_to_f32(blk + 2) * xq[b].d * (float)sx;
            }
            if (!has_m) {
                out[c * ldo + i] = hsum256(acc[c][i]) + tail;
            } else {
                const __m128 cs = _mm_add_ss(_mm_movehl_ps(corr[c][i], corr[c][i]),
                                             _mm_shuffle_ps(corr[c][i], corr[c][i], _MM_SHUFFLE(3, 3, 3, 3)));
                out[c * ldo + i] = hsum256(acc[c][i]) + _mm_cvtss_f32(cs) + tail;
            }
        }
    }
}

static VKQ_ALWAYS_INLINE void legacy_rows(const uint8_t *w, size_t ws, uint64_t nb, const xq_block *xq,
                                          enum legacy_kind kind, int nr, float *out)
{
    legacy_rows_any(w, ws, NULL, nb, xq, 0, 1, kind, nr, out, 0);
}

/* The GEMM path's decoder: nr rows' whole block pairs into pre (nb / 2 pairs per row). */
static VKQ_ALWAYS_INLINE void legacy_decode_rows(const uint8_t *w, size_t ws, uint64_t nb, enum legacy_kind kind,
                                                 int nr, legacy_pair *pre)
{
    const size_t bb = kind == L_Q4_0 ? 18 : kind == L_Q4_1 ? 20 : kind == L_Q5_0 ? 22 : 24;
    for (int i = 0; i < nr; ++i)
        for (uint64_t b = 0; b + 2 <= nb; b += 2) {
            legacy_pair *q = pre + i * (nb / 2) + b / 2;
            const uint8_t *b0 = w + i * ws + b * bb;
            legacy_decode2(b0, bb, kind, &q->lo, &q->hi, &q->sc);
        }
}

/* Group kernels of 8 rows with the GEMM path (the decode-once entry points of vkq_int8_group). */
#define LEGACY_KERNELS(name, kind)                                                                  \
    VKQ_ROW_KERNELS_FNS(static, dot_##name, name, legacy_rows, kind, 8)                            \
    static void decode_##name##_fn(const uint8_t *w, size_t ws, uint64_t nb, void *pre)          \
    {                                                                                            \
        legacy_decode_rows(w, ws, nb, kind, 8, (legacy_pair *)pre);                              \
    }                                                                                            \
    static void pre_##name##_fn(const void *pre, const uint8_t *w, size_t ws, uint64_t nb, const void *x, \
                                size_t xcb, uint64_t n, float *y, size_t ldy)                    \
    {                                                                                            \
        uint64_t c = 0;                                                                          \
        for (; c + 2 <= n; c += 2)                                                               \
            legacy_rows_any(w, ws, (const legacy_pair *)pre, nb, (const xq_block *)((const uint8_t *)x + c * xcb), \
                            xcb, 2, kind, 8, y + c * ldy, ldy);                                  \
        if (c < n)                                                                               \
            legacy_rows_any(w, ws, (const legacy_pair *)pre, nb, (const xq_block *)((const uint8_t *)x + c * xcb), \
                            xcb, 1, kind, 8, y + c * ldy, ldy);                                  \
    }                                                                                            \
    static const vkq_int8_group group_##name = {group_##name##_fn, 8, decode_##name##_fn, pre_##name##_fn, \
                                                sizeof(legacy_pair) / 2, 1};

LEGACY_KERNELS(q4_0, L_Q4_0)
LEGACY_KERNELS(q4_1, L_Q4_1)
LEGACY_KERNELS(q5_0, L_Q5_0)
LEGACY_KERNELS(q5_1, L_Q5_1)

/* iq4_nl (y = d kvalues[q], fp16 d, 18-byte blocks) and mxfp4 (y = kvalues_mxfp4[q] 2^(e -
 * 128), E8M0 e, 17-byte blocks): 16 signed int8 code values looked up with pshufb, signed X
 * through the sign trick (|code| <= 127: pairs <= 2 * 127 * 127 < 2^15, so each half takes its
 * own dot4). nr <= 8 rows at once share X's loads (8 rows beat 4 when cold; bench/RESULTS.md,
 * "Figures behind code choices"); every row does the same operations in the same order whatever
 * nr is. */
static VKQ_ALWAYS_INLINE void lut4_rows(const uint8_t *w, size_t ws, uint64_t nb, const xq_block *xq, int mx,
                                        int nr, float *out)
{
    const __m256i table = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(mx ? vkq_kvalues_mxfp4 : vkq_kvalues_iq4nl)));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const size_t bb = mx ? 17 : 18, qs_off = mx ? 1 : 2;
    __m256 acc[8];
    for (int i = 0; i < nr; ++i) acc[i] = _mm256_setzero_ps();
    uint64_t b = 0;
    /* Two blocks per step: lo holds elements 0-15 of blocks b and b + 1, hi elements 16-31, so
     * one load, shift and two masks serve both, and one conversion and FMA (lanes 0-3 block b,
     * 4-7 block b + 1) add them up. */
    for (; b + 2 <= nb; b += 2) {
        const __m256i xlo = _mm256_loadu2_m128i((const __m128i *)xq[b + 1].q, (const __m128i *)xq[b].q);
        const __m256i xhi = _mm256_loadu2_m128i((const __m128i *)(xq[b + 1].q + 16), (const __m128i *)(xq[b].q + 16));
        const __m128 dx = _mm_setr_ps(xq[b].d, xq[b + 1].d, 0.0f, 0.0f);
        VKQ_UNROLL
        for (int i = 0; i < nr; ++i) {
            const uint8_t *b0 = w + i * ws + b * bb, *b1 = b0 + bb;
            const __m256i raw = _mm256_loadu2_m128i((const __m128i *)(b1 + qs_off), (const __m128i *)(b0 + qs_off));
            const __m256i lo = _mm256_shuffle_epi8(table, _mm256_and_si256(raw, m4));
            const __m256i hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
            const __m256i p = _mm256_add_epi32(dot4(_mm256_sign_epi8(lo, lo), _mm256_sign_epi8(xlo, lo)),
                                               dot4(_mm256_sign_epi8(hi, hi), _mm256_sign_epi8(xhi, hi)));
            __m128 d;
            if (mx) {
                d = _mm_setr_ps(vkq_e8m0_half_to_f32(b0[0]), vkq_e8m0_half_to_f32(b1[0]), 0.0f, 0.0f);
            } else {
                uint16_t h0, h1;
                memcpy(&h0, b0, 2);
                memcpy(&h1, b1, 2);
                d = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | (uint32_t)h1 << 16)));
            }
            const __m256 sc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_mul_ps(d, dx)), spread);
            acc[i] = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(p), acc[i]);
        }
    }
    for (int i = 0; i < nr; ++i) {
        float tail = 0.0f;
        if (b < nb) { /* odd block count */
            const uint8_t *blk = w + i * ws + b * bb;
            const __m256i q = _mm256_shuffle_epi8(table, nibbles32(blk + qs_off));
            const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[b].q);
            const float d = mx ? vkq_e8m0_half_to_f32(blk[0]) : half_to_f32(blk);
            tail = d * xq[b].d * hsum256(dot4_ps(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q)));
        }
        out[i] = hsum256(acc[i]) + tail;
    }
}

VKQ_ROW_KERNELS(iq4_nl, lut4_rows, 0, 8)
VKQ_ROW_KERNELS(mxfp4, lut4_rows, 1, 8)

/* The 4 UE4M3 "half" scales of an nvfp4 block (docs/FORMATS.md §1.3.4) as floats, bit-exact with
 * vkq_ue4m3_half_to_f32 without its branches: bit 7 ignored; E > 0: (1 + M/8) 2^(E-8) built
 * from bits; E = 0: M 2^-10 (exact); 0x7F (but not 0xFF) gives 0. Exercised through the NVFP4
 * products of tests/test_cpu_matmul.c (random scale bytes, all 256 values at m = 257). */
static inline __m128 ue4m3_half_x4(const uint8_t *p)
{
    uint32_t u;
    memcpy(&u, p, 4);
    const __m128i raw = _mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)u));
    const __m128i x = _mm_and_si128(raw, _mm_set1_epi32(0x7F));
    const __m128i E = _mm_srli_epi32(x, 3), M = _mm_and_si128(x, _mm_set1_epi32(7));
    const __m128 normal = _mm_castsi128_ps(_mm_or_si128(_mm_slli_epi32(_mm_add_epi32(E, _mm_set1_epi32(119)), 23),
                                                        _mm_slli_epi32(M, 20)));
    const __m128 sub = _mm_mul_ps(_mm_cvtepi32_ps(M), _mm_set1_ps(1.0f / 1024.0f));
    const __m128 v = _mm_blendv_ps(normal, sub, _mm_castsi128_ps(_mm_cmpeq_epi32(E, _mm_setzero_si128())));
    return _mm_andnot_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(raw, _mm_set1_epi32(0x7F))), v);
}

/* nvfp4: 64-element blocks of 4 sub-blocks of 16 (UE4M3 scale each; 8 bytes: low nibbles are
 * elements 0..7, high 8..15); one X block covers two sub-blocks. The codes stay as one 32-byte
 * load gives them (per 128-bit lane: the low nibbles of two sub-blocks, then the high ones),
 * and X's two blocks are rearranged to match instead, once for all nr rows (nr <= 8): then
 * int32 lanes 2j, 2j + 1 of the dot products belong to sub-block j, and one conversion and FMA
 * per row apply the four scales. Codes <= 12: pairs, and two of them added in int16, are far
 * below 2^15. Every row does the same operations in the same order whatever nr is. */
static VKQ_ALWAYS_INLINE void nvfp4_rows(const uint8_t *w, size_t ws, uint64_t nb, const xq_block *xq,
                                         int unused, int nr, float *out)
{
    (void)unused; /* the template serves one type */
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)vkq_kvalues_mxfp4));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    __m256 acc[8];
    for (int i = 0; i < nr; ++i) acc[i] = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 2) {
        const __m256i xa = _mm256_loadu2_m128i((const __m128i *)xq[1].q, (const __m128i *)xq[0].q);
        const __m256i xb = _mm256_loadu2_m128i((const __m128i *)(xq[1].q + 16), (const __m128i *)(xq[0].q + 16));
        /* elements 0-7 and 8-15 of each sub-block, in the codes' order */
        const __m256i xl = _mm256_unpacklo_epi64(xa, xb), xh = _mm256_unpackhi_epi64(xa, xb);
        const __m256 dx = _mm256_setr_m128(_mm_set1_ps(xq[0].d), _mm_set1_ps(xq[1].d));
        VKQ_UNROLL
        for (int i = 0; i < nr; ++i) {
            const uint8_t *blk = w + i * ws + b * 36;
            const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 4));
            const __m256i lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, m4));
            const __m256i hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
            const __m256i p = dot4x2(_mm256_sign_epi8(lo, lo), _mm256_sign_epi8(xl, lo), _mm256_sign_epi8(hi, hi),
                                     _mm256_sign_epi8(xh, hi));
            const __m256 sc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(ue4m3_half_x4(blk)), pairs);
            acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(sc, dx), _mm256_cvtepi32_ps(p), acc[i]);
        }
    }
    for (int i = 0; i < nr; ++i) out[i] = hsum256(acc[i]);
}

VKQ_ROW_KERNELS(nvfp4, nvfp4_rows, 0, 8)

/* q2_0: y = (q - 1) d, 64 elements, element i = bits 2 (i % 4) of qs[i / 4]. */
static float dot_q2_0(const uint8_t *w, uint64_t nb, const void *xv)
{
    const xq_block *xq = (const xq_block *)xv;
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                          4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    const __m256i lo = _mm256_set1_epi32((int)0x40100401u), hi = _mm256_set1_epi32((int)0x80200802u);
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (uint64_t b = 0; b < nb; ++b, xq += 2) {
        const uint8_t *blk = w + b * 18;
        const float d = half_to_f32(blk);
        VKQ_UNROLL
        for (int t = 0; t < 2; ++t) {
            uint64_t bits;
            memcpy(&bits, blk + 2 + 8 * t, 8);
            const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)bits), shuf);
            const __m256i l = _mm256_cmpeq_epi8(_mm256_and_si256(v, lo), lo);
            const __m256i h = _mm256_cmpeq_epi8(_mm256_and_si256(v, hi), hi);
            const __m256i q = _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_add_epi8(l, _mm256_add_epi8(h, h)));
            const __m256 p = dot4_ps(q, _mm256_loadu_si256((const __m256i *)xq[t].q));
            const float f = d * xq[t].d;
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f), p, acc);
            corr += f * (float)(xq[t].sum_lo + xq[t].sum_hi);
        }
    }
    return hsum256(acc) - corr;
}

/* q1_0: y = bit ? d : -d over 128 elements. X's bytes take the sign of their weight (+1 for a
 * set bit, -1 otherwise) and dot4 with ones sums them; the block's 16 bit bytes are loaded
 * once and each X block picks its 4 with one shuffle. */
static float dot_q1_0(const uint8_t *w, uint64_t nb, const void *xv)
{
    const xq_block *xq = (const xq_block *)xv;
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll), ones = _mm256_set1_epi8(1);
    const __m256i zero = _mm256_setzero_si256();
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 4) {
        const uint8_t *blk = w + b * 18;
        const float d = half_to_f32(blk);
        const __m256i bytes = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 2)));
        VKQ_UNROLL
        for (int t = 0; t < 4; ++t) {
            const char j = (char)(4 * t);
            const __m256i shuf = _mm256_setr_epi8(j, j, j, j, j, j, j, j, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1,
                                                  j + 2, j + 2, j + 2, j + 2, j + 2, j + 2, j + 2, j + 2,
                                                  j + 3, j + 3, j + 3, j + 3, j + 3, j + 3, j + 3, j + 3);
            const __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(bytes, shuf), bit);
            /* +1 where the bit is set, -1 (0xFF) where it is clear */
            const __m256i sgn = _mm256_or_si256(_mm256_cmpeq_epi8(v, zero), ones);
            const __m256i sx = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xq[t].q), sgn);
            const __m256 p = dot4_ps(ones, sx);
            const __m256 f = _mm256_set1_ps(d * xq[t].d);
            if (t & 1) acc1 = _mm256_fmadd_ps(f, p, acc1);
            else acc0 = _mm256_fmadd_ps(f, p, acc0);
        }
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* NF4 code values times 127, rounded: the int8 stand-in for the float codebook. NMSE of the
 * codebook itself 1.8e-5 over the 16 codes (uniform), about as large as that of rounding X to
 * 8 bits; the product's NMSE stays near 3e-5 (tests/test_cpu_matmul.c). */
static const int8_t k_nf4_i8[16] = {-127, -88, -67, -50, -36, -23, -12, 0, 10, 20, 31, 43, 56, 71, 92, 127};

/* nf4 (vkquant's own layout, docs/FORMATS.md §12): y = nf4[q] absmax, f32 absmax @0, 32 bytes @4
 * whose low nibbles are elements 0..31 and high nibbles 32..63: one X block each. */
static float dot_nf4(const uint8_t *w, uint64_t nb, const void *xv)
{
    const xq_block *xq = (const xq_block *)xv;
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)k_nf4_i8));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, xq += 2) {
        const uint8_t *blk = w + b * 36;
        float absmax;
        memcpy(&absmax, blk, 4);
        const __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + 4));
        const __m256i q0 = _mm256_shuffle_epi8(table, _mm256_and_si256(raw, m4));
        const __m256i q1 = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)xq[0].q);
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)xq[1].q);
        const __m256 p0 = dot4_ps(_mm256_sign_epi8(q0, q0), _mm256_sign_epi8(x0, q0));
        const __m256 p1 = dot4_ps(_mm256_sign_epi8(q1, q1), _mm256_sign_epi8(x1, q1));
        const float s = absmax * (1.0f / 127.0f);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(s * xq[0].d), p0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(s * xq[1].d), p1, acc1);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

static void rows_int8(vkq_int8_dot_fn dot, vkq_int8_group grp, uint64_t nb, const uint8_t *w, size_t w_stride,
                      uint64_t r0, uint64_t r1, const void *xq, size_t x_col_bytes, uint64_t n, float *y,
                      size_t ldy, void *scratch)
{
    uint64_t r = r0;
    const int gemm = grp.decode && n >= VKQ_INT8_GEMM_MIN_N;
    /* Mat-vec over short rows: one row at a time. A group reads nr rows a few hundred bytes
     * apart at once, which the hardware prefetcher follows worse than one sequential stream:
     * on Zen 1, 2 threads, rows under 4 KiB ran 1.1-2x faster one by one (q8_0 at k = 640
     * 9.2 vs 6.1 GB/s, q4_k at k = 1024 7.9 vs 4.1; bench/RESULTS.md). Same bits either way. */
    if (n == 1 && w_stride < VKQ_INT8_GROUP_MIN_ROW_BYTES && !grp.short_rows) grp.fn = NULL;
    if (grp.fn)
        for (; r + grp.rows <= r1; r += grp.rows) {
            if (gemm) {
                grp.decode(w + r * w_stride, w_stride, nb, scratch);
                grp.pre_fn(scratch, w + r * w_stride, w_stride, nb, xq, x_col_bytes, n, y + r, ldy);
                continue;
            }
            for (uint64_t c = 0; c < n; ++c) {
                float out[VKQ_INT8_GROUP_MAX];
                const void *xc = (const uint8_t *)xq + c * x_col_bytes;
                grp.fn(w + r * w_stride, w_stride, nb, xc, out);
                for (uint32_t i = 0; i < grp.rows; ++i) y[c * ldy + r + i] = out[i];
            }
        }
    for (; r < r1; ++r) {
        const uint8_t *row = w + r * w_stride;
        for (uint64_t c = 0; c < n; ++c) y[c * ldy + r] = dot(row, nb, (const uint8_t *)xq + c * x_col_bytes);
    }
}

/* The variant's kernels by type: X quantized per 32 for the types with blocks of 32, 64 or 128
 * elements (this file), per 256 for the super-block types (cpu_int8k_avx2.c). */
#define X32(name) {dot_##name, NULL, 32}
#define X32_GROUP(name) {dot_##name, &group_##name, 32}
#define XK(name) {VKQ_ISA_FN(dot_##name), NULL, 256}
#define XK_GROUP(name) {VKQ_ISA_FN(dot_##name), &VKQ_ISA_FN(group_##name), 256}
const vkq_cpu_int8_isa VKQ_ISA_FN(int8) = {
    .quantize_x = quantize_x,
    .quantize_xk = VKQ_ISA_FN(quantize_xk),
    .kernels = {
        [VKQ_TYPE_Q4_0] = X32_GROUP(q4_0),
        [VKQ_TYPE_Q4_1] = X32_GROUP(q4_1),
        [VKQ_TYPE_Q5_0] = X32_GROUP(q5_0),
        [VKQ_TYPE_Q5_1] = X32_GROUP(q5_1),
        [VKQ_TYPE_Q8_0] = X32_GROUP(q8_0),
        [VKQ_TYPE_IQ4_NL] = X32_GROUP(iq4_nl),
        [VKQ_TYPE_MXFP4] = X32_GROUP(mxfp4),
        [VKQ_TYPE_NVFP4] = X32_GROUP(nvfp4),
        [VKQ_TYPE_Q1_0] = X32(q1_0),
        [VKQ_TYPE_Q2_0] = X32(q2_0),
        [VKQ_TYPE_NF4] = X32(nf4),
        [VKQ_TYPE_Q2_K] = XK(q2_k),
        [VKQ_TYPE_Q3_K] = XK(q3_k),
        [VKQ_TYPE_Q4_K] = XK_GROUP(q4_k),
        [VKQ_TYPE_Q5_K] = XK_GROUP(q5_k),
        [VKQ_TYPE_Q6_K] = XK_GROUP(q6_k),
        [VKQ_TYPE_TQ1_0] = XK(tq1_0),
        [VKQ_TYPE_TQ2_0] = XK(tq2_0),
        [VKQ_TYPE_IQ1_S] = XK(iq1_s),
        [VKQ_TYPE_IQ1_M] = XK(iq1_m),
        [VKQ_TYPE_IQ2_XXS] = XK(iq2_xxs),
        [VKQ_TYPE_IQ2_XS] = XK(iq2_xs),
        [VKQ_TYPE_IQ2_S] = XK(iq2_s),
        [VKQ_TYPE_IQ3_XXS] = XK(iq3_xxs),
        [VKQ_TYPE_IQ3_S] = XK(iq3_s),
        [VKQ_TYPE_IQ4_XS] = XK(iq4_xs),
    },
    .rows = rows_int8,
};
#undef X32
#undef X32_GROUP
#undef XK
#undef XK_GROUP
