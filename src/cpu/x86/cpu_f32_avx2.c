/* AVX2 + FMA + F16C exact f32 path of vkq_cpu_matmul: weights decoded bit-exactly, fp32 FMA
 * dot products. F32/F16/BF16 with one column of X stream the rows directly (fp_rows_*);
 * everything else decodes 4 KiB chunks (or whole rows for n > 8) and dots them against up to
 * 8 columns at once. Built with -mavx2 -mfma -mf16c (meson.build). */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu/x86/cpu_avx2_util.h"
#include "cpu/cpu_kernels.h"

#define CH 1024 /* floats decoded at a time: 4 KiB, stays in L1 */

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

/* 8 (or 1) weights of a F32 / F16 / BF16 row starting at element e, as floats. */
static inline __m256 ld8_f32(const uint8_t *row, uint64_t e)
{
    return _mm256_loadu_ps((const float *)(const void *)(row + 4 * e));
}
static inline __m256 ld8_f16(const uint8_t *row, uint64_t e)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * e)));
}
static inline __m256 ld8_bf16(const uint8_t *row, uint64_t e)
{
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * e)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
static inline float ld1_f32(const uint8_t *row, uint64_t e)
{
    float f;
    memcpy(&f, row + 4 * e, 4);
    return f;
}
static inline float ld1_f16(const uint8_t *row, uint64_t e)
{
    return half_to_f32(row + 2 * e);
}
static inline float ld1_bf16(const uint8_t *row, uint64_t e)
{
    const uint32_t u = ((uint32_t)row[2 * e] | (uint32_t)row[2 * e + 1] << 8) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* NR rows of a F32 / F16 / BF16 matrix against one column: each X load serves NR rows, and
 * NR x 2 FMA chains hide the FMA latency. 8 rows keep 8 weight streams in flight from DRAM and
 * beat 4 although two accumulators spill on AVX2 (bench/RESULTS.md, "Figures behind code
 * choices"). Every row does the same operations in the same order whatever NR is, so the
 * results do not depend on how rows are grouped (thread count). */
#define DEFINE_FP_ROWS(T, NR)                                                                  \
    static void fp_rows_##T##_##NR(const uint8_t *w, size_t ws, uint64_t k, const float *x,   \
                                   float *y)                                                   \
    {                                                                                          \
        __m256 a0[NR], a1[NR];                                                                 \
        float tail[NR];                                                                        \
        for (int i = 0; i < (NR); ++i) {                                                       \
            a0[i] = a1[i] = _mm256_setzero_ps();                                               \
            tail[i] = 0.0f;                                                                    \
        }                                                                                      \
        uint64_t e = 0;                                                                        \
        for (; e + 16 <= k; e += 16) {                                                         \
            const __m256 x0 = _mm256_loadu_ps(x + e), x1 = _mm256_loadu_ps(x + e + 8);       \
            for (int i = 0; i < (NR); ++i) {                                                   \
                a0[i] = _mm256_fmadd_ps(ld8_##T(w + i * ws, e), x0, a0[i]);                   \
                a1[i] = _mm256_fmadd_ps(ld8_##T(w + i * ws, e + 8), x1, a1[i]);               \
            }                                                                                  \
        }                                                                                      \
        for (; e < k; ++e)                                                                     \
            for (int i = 0; i < (NR); ++i) tail[i] = fmaf(ld1_##T(w + i * ws, e), x[e], tail[i]); \
        for (int i = 0; i < (NR); ++i) y[i] = hsum256(_mm256_add_ps(a0[i], a1[i])) + tail[i];  \
    }
/* All rows [r0, r1) of one type: groups of 8, then single rows. */
#define DEFINE_FP_TYPE(T)                                                                      \
    DEFINE_FP_ROWS(T, 1)                                                                       \
    DEFINE_FP_ROWS(T, 8)                                                                       \
    static void fp_rows_##T(const uint8_t *w, size_t ws, uint64_t r0, uint64_t r1, uint64_t k, \
                            const float *x, float *y)                                          \
    {                                                                                          \
        uint64_t r = r0;                                                                       \
        for (; r + 8 <= r1; r += 8) fp_rows_##T##_8(w + r * ws, ws, k, x, y + r);              \
        for (; r < r1; ++r) fp_rows_##T##_1(w + r * ws, ws, k, x, y + r);                     \
    }
DEFINE_FP_TYPE(f32)
DEFINE_FP_TYPE(f16)
DEFINE_FP_TYPE(bf16)

/* Rows [r0, r1) of Y = W X, exact decode + fp32 FMA. scratch: CH + k floats. */
void vkq_cpu_avx2_rows_f32(vkq_type type, vkq_decode_block_fn dec, uint32_t qk, uint32_t bb,
                           const uint8_t *w, size_t w_stride, uint64_t r0, uint64_t r1,
                           uint64_t k, const float *x, size_t ldx, uint64_t n, float *y,
                           size_t ldy, float *scratch)
{
    if (n == 1) {
        switch (type) {
        case VKQ_TYPE_F32: fp_rows_f32(w, w_stride, r0, r1, k, x, y); return;
        case VKQ_TYPE_F16: fp_rows_f16(w, w_stride, r0, r1, k, x, y); return;
        case VKQ_TYPE_BF16: fp_rows_bf16(w, w_stride, r0, r1, k, x, y); return;
        default: break;
        }
    }
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

