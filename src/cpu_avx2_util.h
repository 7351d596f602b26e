/* Small inline helpers shared by the AVX2 kernel files (src/cpu_*_avx2.c); only those files,
 * built with -mavx2 -mfma -mf16c, may include this header. */
#ifndef VKQ_CPU_AVX2_UTIL_H
#define VKQ_CPU_AVX2_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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
