/* Exact scalar converters between the small float encodings of docs/FORMATS.md §1.3 and binary32.
 *
 * Everything here is integer bit manipulation: the results are exact and do not depend on the
 * FPU's flush-to-zero / denormals-are-zero modes or on FMA contraction. The *_bits functions
 * return binary32 bit patterns; the plain ones return the float (via memcpy, no arithmetic). */
#ifndef VKQ_FP_CONVERT_H
#define VKQ_FP_CONVERT_H

#include <stdint.h>
#include <string.h>

static inline float vkq_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t vkq_f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Index of the highest set bit of a nonzero value below 2^16. */
static inline uint32_t vkq_msb16(uint32_t x)
{
    uint32_t p = 0;
    while (x >>= 1) {
        p++;
    }
    return p;
}

/* IEEE binary16 -> binary32 (§1.3.1). Subnormal halves become normal floats; NaN keeps its
 * payload and is made quiet (s<<31 | 0x7FC00000 | m<<13), as ggml's portable converter does. */
static inline uint32_t vkq_fp16_to_f32_bits(uint16_t h)
{
    const uint32_t s = (uint32_t)(h >> 15) << 31;
    const uint32_t e = (h >> 10) & 0x1Fu;
    const uint32_t m = h & 0x3FFu;

    if (e == 0) {
        if (m == 0) {
            return s; /* +-0 */
        }
        /* m * 2^-24 with the top bit of m at position p: 2^(p-24) * (m / 2^p). */
        const uint32_t p = vkq_msb16(m);
        return s | ((p + 103u) << 23) | ((m << (23u - p)) & 0x7FFFFFu);
    }
    if (e == 31) {
        return m == 0 ? (s | 0x7F800000u) : (s | 0x7FC00000u | (m << 13));
    }
    return s | ((e + 112u) << 23) | (m << 13); /* rebias 15 -> 127 */
}

static inline float vkq_fp16_to_f32(uint16_t h)
{
    return vkq_f32_from_bits(vkq_fp16_to_f32_bits(h));
}

/* bfloat16 -> binary32 (§1.3.2): the top half of the bits, NaN payloads kept. */
static inline uint32_t vkq_bf16_to_f32_bits(uint16_t h)
{
    return (uint32_t)h << 16;
}

static inline float vkq_bf16_to_f32(uint16_t h)
{
    return vkq_f32_from_bits(vkq_bf16_to_f32_bits(h));
}

/* E8M0 "half" (§1.3.3): 2^(e-128). e = 0 and 1 are binary32 subnormals, e = 255 is 2^127. */
static inline uint32_t vkq_e8m0_half_to_f32_bits(uint8_t e)
{
    if (e == 0) {
        return 0x00200000u;
    }
    if (e == 1) {
        return 0x00400000u;
    }
    return (uint32_t)(e - 1u) << 23;
}

static inline float vkq_e8m0_half_to_f32(uint8_t e)
{
    return vkq_f32_from_bits(vkq_e8m0_half_to_f32_bits(e));
}

/* UE4M3 "half" (§1.3.4): unsigned E4M3 (bias 7) times 0.5; bit 7 ignored; 0x00 and 0x7F give
 * +0 (so 0x80 gives +0 too, and 0xFF gives 240). Never subnormal in binary32. */
static inline uint32_t vkq_ue4m3_half_to_f32_bits(uint8_t x)
{
    if (x == 0x00 || x == 0x7F) {
        return 0;
    }
    const uint32_t E = (x >> 3) & 0xFu;
    const uint32_t M = x & 7u;
    if (E == 0) {
        if (M == 0) {
            return 0;
        }
        /* M * 2^-9 * 0.5 = M * 2^-10, top bit of M at p: 2^(p-10) * (M / 2^p). */
        const uint32_t p = vkq_msb16(M);
        return ((p + 117u) << 23) | ((M << (23u - p)) & 0x7FFFFFu);
    }
    /* (1 + M/8) * 2^(E-7) * 0.5: binary32 exponent field E - 8 + 127. */
    return ((E + 119u) << 23) | (M << 20);
}

static inline float vkq_ue4m3_half_to_f32(uint8_t x)
{
    return vkq_f32_from_bits(vkq_ue4m3_half_to_f32_bits(x));
}

/* binary32 -> IEEE binary16, round to nearest, ties to even. Overflow gives +-Inf (|x| >= 65520),
 * results below half the smallest subnormal give +-0, NaN stays NaN (quiet, top payload bits). */
static inline uint16_t vkq_f32_bits_to_fp16(uint32_t x)
{
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7FFFFFFFu;

    if (ax >= 0x7F800000u) { /* Inf or NaN */
        if (ax == 0x7F800000u) {
            return (uint16_t)(sign | 0x7C00u);
        }
        return (uint16_t)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    }
    if (ax >= 0x477FF000u) { /* >= 65520 = halfway between 65504 and 65536: rounds to Inf */
        return (uint16_t)(sign | 0x7C00u);
    }
    if (ax >= 0x38800000u) { /* normal half, |x| >= 2^-14 */
        uint32_t h = (ax >> 13) - (112u << 10); /* rebias 127 -> 15, keep 10 mantissa bits */
        const uint32_t rest = ax & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) {
            h++; /* a mantissa carry moves into the exponent, which is the right result */
        }
        return (uint16_t)(sign | h);
    }
    if (ax <= 0x33000000u) { /* |x| <= 2^-25: rounds to zero (2^-25 itself is a tie to even 0) */
        return (uint16_t)sign;
    }
    /* Subnormal half: h = round(|x| / 2^-24) = round(m * 2^(e-126)), e in 102..112. */
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126u - e; /* 14..24 */
    uint32_t h = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u))) {
        h++; /* may become 0x400, the smallest normal half: still the right bits */
    }
    return (uint16_t)(sign | h);
}

static inline uint16_t vkq_f32_to_fp16(float f)
{
    return vkq_f32_bits_to_fp16(vkq_f32_to_bits(f));
}

#endif
