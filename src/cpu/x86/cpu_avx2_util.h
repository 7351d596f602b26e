/* Small inline helpers shared by the AVX2 kernel files (src/cpu_*_avx2.c); only those files,
 * built with -mavx2 -mfma -mf16c (and a variant's extra flags, below), may include this header.
 *
 * The int8 files (cpu_int8_avx2.c, cpu_int8k_avx2.c, cpu_int8_isa.c) are compiled once per
 * int8 variant (meson.build), with -DVKQ_ISA_KIND=<one of these> -DVKQ_ISA_TAG=<its name>; the
 * variants differ only in dot4 / dot4x2 below and in the flags the compiler may use:
 *   VKQ_ISA_AVX2        maddubs + madd (every AVX2 CPU)
 *   VKQ_ISA_AVXVNNI     vpdpbusd, VEX form (-mavxvnni: Alder Lake and later, Zen 5)
 *   VKQ_ISA_AVX512VNNI  vpdpbusd, EVEX form on 256-bit vectors (AVX512-VNNI + VL: Ice Lake,
 *                       Sapphire Rapids, Zen 4, Zen 5); the compiler also gets 32 vector
 *                       registers and AVX-512 for its own code.
 *   VKQ_ISA_VNNIEMU     plain AVX2 computing exactly what vpdpbusd computes: runs the VNNI
 *                       code paths on CPUs without VNNI, so the tests check them anywhere.
 * 256-bit rather than 512-bit vectors: a block of X is 32 bytes, Zen 4 splits 512-bit
 * operations in two anyway, and a 2-thread mat-vec is bound by memory, not by the dot
 * products. */
#ifndef VKQ_CPU_AVX2_UTIL_H
#define VKQ_CPU_AVX2_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "cpu/cpu_kernels.h"

/* Full unrolling of the short constant loops over sub-blocks: at -O2 GCC keeps them rolled,
 * and then shift counts and shuffle indices become run-time values (extra uops per block). */
#if defined(__clang__)
#define VKQ_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define VKQ_UNROLL _Pragma("GCC unroll 8")
#else
#define VKQ_UNROLL
#endif

/* For the row-group templates: inlined into each wrapper so nr and the type flags become
 * constants (loops over rows unrolled, per-row accumulators kept in registers). */
#if defined(__GNUC__) || defined(__clang__)
#define VKQ_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define VKQ_ALWAYS_INLINE inline
#endif

#define VKQ_ISA_AVX2 1
#define VKQ_ISA_AVXVNNI 2
#define VKQ_ISA_AVX512VNNI 3
#define VKQ_ISA_VNNIEMU 4
#ifndef VKQ_ISA_KIND
#define VKQ_ISA_KIND VKQ_ISA_AVX2
#define VKQ_ISA_TAG avx2
#endif
#define VKQ_ISA_CAT_(a, b, c) a##b##c
#define VKQ_ISA_CAT(a, b, c) VKQ_ISA_CAT_(a, b, c)
/* The variant's name for an exported function: VKQ_ISA_FN(dot_x32) = vkq_cpu_<tag>_dot_x32. */
#define VKQ_ISA_FN(name) VKQ_ISA_CAT(vkq_cpu_, VKQ_ISA_TAG, _##name)

/* Defined in cpu_int8k_avx2.c (the kernels against vkq_xk_block), named in the variant's table
 * in cpu_int8_avx2.c. */
void VKQ_ISA_FN(quantize_xk)(const float *x, uint64_t k, void *out);
#define VKQ_XK_DOT(name) float VKQ_ISA_FN(dot_##name)(const uint8_t *w, uint64_t nb, const void *xv)
VKQ_XK_DOT(q2_k);
VKQ_XK_DOT(q3_k);
VKQ_XK_DOT(q4_k);
VKQ_XK_DOT(q5_k);
VKQ_XK_DOT(q6_k);
VKQ_XK_DOT(tq1_0);
VKQ_XK_DOT(tq2_0);
VKQ_XK_DOT(iq1_s);
VKQ_XK_DOT(iq1_m);
VKQ_XK_DOT(iq2_xxs);
VKQ_XK_DOT(iq2_xs);
VKQ_XK_DOT(iq2_s);
VKQ_XK_DOT(iq3_xxs);
VKQ_XK_DOT(iq3_s);
VKQ_XK_DOT(iq4_xs);
extern const vkq_int8_group VKQ_ISA_FN(group_q4_k), VKQ_ISA_FN(group_q5_k), VKQ_ISA_FN(group_q6_k);

/* The two entry points of a type whose kernel is a row-group template
 * rows(w, ws, nb, x, variant, nr, out) (nr rows w, w + ws, .. against one column x, the type's
 * constant `variant` selecting among the types one template serves): dot_<name> for one row
 * and group_<name>, a vkq_int8_group of NR rows. `linkage` is static where the variant's table
 * sits in the same file, and empty (named VKQ_ISA_FN(...), declared above) where it does not. */
#define VKQ_ROW_KERNELS_FNS(linkage, dot_name, name, rows, variant, NR)                         \
    linkage float dot_name(const uint8_t *w, uint64_t nb, const void *x)                         \
    {                                                                                            \
        float y;                                                                                 \
        rows(w, 0, nb, x, variant, 1, &y);                                                       \
        return y;                                                                                \
    }                                                                                            \
    static void group_##name##_fn(const uint8_t *w, size_t ws, uint64_t nb, const void *x, float *out) \
    {                                                                                            \
        rows(w, ws, nb, x, variant, NR, out);                                                    \
    }
#define VKQ_ROW_KERNELS_AS(linkage, dot_name, group_name, name, rows, variant, NR)               \
    VKQ_ROW_KERNELS_FNS(linkage, dot_name, name, rows, variant, NR)                              \
    linkage const vkq_int8_group group_name = {group_##name##_fn, NR, NULL, NULL, 0, 0};
#define VKQ_ROW_KERNELS(name, rows, variant, NR)                                                  \
    VKQ_ROW_KERNELS_AS(static, dot_##name, group_##name, name, rows, variant, NR)
#define VKQ_XK_ROW_KERNELS(name, rows, variant, NR)                                               \
    VKQ_ROW_KERNELS_AS(, VKQ_ISA_FN(dot_##name), VKQ_ISA_FN(group_##name), name, rows, variant, NR)
/* The same with the GEMM path: decode_<name>_fn and pre_<name>_fn defined before, pre_t the
 * decoded form of one weight block. */
#define VKQ_XK_GEMM_KERNELS(name, rows, variant, NR, pre_t)                                        \
    VKQ_ROW_KERNELS_FNS(, VKQ_ISA_FN(dot_##name), name, rows, variant, NR)                         \
    const vkq_int8_group VKQ_ISA_FN(group_##name) = {group_##name##_fn, NR, decode_##name##_fn,   \
                                                     pre_##name##_fn, sizeof(pre_t), 0};

/* dot4(a, b): int32 lane j = a[4j] b[4j] + .. + a[4j+3] b[4j+3], a unsigned and b signed
 * bytes (vpdpbusd's definition). maddubs saturates its int16 pair sums; every kernel keeps
 * |a[2i] b[2i] + a[2i+1] b[2i+1]| < 2^15 (each notes its bound), so all variants give the same
 * integers and results are bit-identical across variants. dot4x2(a0, b0, a1, b1) = dot4(a0,
 * b0) + dot4(a1, b1), dot4x2_acc(acc, ...) = acc + dot4x2(...); AVX2 adds the int16 pairs before its one madd (the caller keeps that sum
 * under 2^15 too). */
#if VKQ_ISA_KIND == VKQ_ISA_AVX2
static inline __m256i dot4(__m256i a, __m256i b)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
}

static inline __m256i dot4x2(__m256i a0, __m256i b0, __m256i a1, __m256i b1)
{
    return _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(a0, b0), _mm256_maddubs_epi16(a1, b1)),
                             _mm256_set1_epi16(1));
}

static inline __m256i dot4x2_acc(__m256i acc, __m256i a0, __m256i b0, __m256i a1, __m256i b1)
{
    return _mm256_add_epi32(acc, dot4x2(a0, b0, a1, b1));
}
#else
static inline __m256i dpbusd(__m256i acc, __m256i a, __m256i b)
{
#if VKQ_ISA_KIND == VKQ_ISA_AVX512VNNI
    return _mm256_dpbusd_epi32(acc, a, b);
#elif VKQ_ISA_KIND == VKQ_ISA_AVXVNNI
    return _mm256_dpbusd_avx_epi32(acc, a, b);
#else
    /* Even and odd bytes widened to int16 (a zero-, b sign-extended); madd's products and
     * pair sums fit int32 exactly, so nothing saturates, as in vpdpbusd. */
    const __m256i ae = _mm256_and_si256(a, _mm256_set1_epi16(0x00FF)), ao = _mm256_srli_epi16(a, 8);
    const __m256i be = _mm256_srai_epi16(_mm256_slli_epi16(b, 8), 8), bo = _mm256_srai_epi16(b, 8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(ae, be), _mm256_madd_epi16(ao, bo)));
#endif
}

static inline __m256i dot4(__m256i a, __m256i b)
{
    return dpbusd(_mm256_setzero_si256(), a, b);
}

static inline __m256i dot4x2(__m256i a0, __m256i b0, __m256i a1, __m256i b1)
{
    return dpbusd(dpbusd(_mm256_setzero_si256(), a0, b0), a1, b1);
}

static inline __m256i dot4x2_acc(__m256i acc, __m256i a0, __m256i b0, __m256i a1, __m256i b1)
{
    return dpbusd(dpbusd(acc, a0, b0), a1, b1);
}
#endif

/* dot4 as 8 floats (exact: |sums| < 2^24). */
static inline __m256 dot4_ps(__m256i a, __m256i b)
{
    return _mm256_cvtepi32_ps(dot4(a, b));
}

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* IEEE half at any alignment to float (F16C). */
static inline float half_to_f32(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

#endif
