/* Test helpers: seeded RNG and valid random blocks. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fp_convert.h"
#include "core/types.h"

int vkq_test_skip(const char *name, const char *why)
{
    const char *strict = getenv("VKQ_TEST_NO_SKIP");
    if (strict && *strict && strcmp(strict, "0") != 0) {
        printf("%s: FAIL: would skip (%s), but VKQ_TEST_NO_SKIP is set\n", name, why);
        return 1;
    }
    printf("%s: SKIP: %s\n", name, why);
    return 77;
}

uint64_t vkq_test_seed(void)
{
    const char *env = getenv("VKQ_SEED");
    if (env != NULL && *env != '\0') {
        char *end = NULL;
        const unsigned long long v = strtoull(env, &end, 0);
        if (end != env && *end == '\0') {
            return (uint64_t)v;
        }
    }
    struct timespec ts;
    uint64_t s = (uint64_t)time(NULL);
    if (timespec_get(&ts, TIME_UTC) == TIME_UTC) {
        s = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    return s ^ ((uint64_t)clock() << 40);
}

uint64_t vkq_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t vkq_test_rand_below(uint64_t *state, uint32_t n)
{
    /* 64-bit value times n, high 32 bits: bias below 2^-32, fine for tests. */
    return (uint32_t)(((vkq_test_rand(state) >> 32) * (uint64_t)n) >> 32);
}

uint16_t vkq_test_random_fp16_scale(uint64_t *state)
{
    const uint32_t sign = (uint32_t)(vkq_test_rand(state) & 1u) << 15;
    if (vkq_test_rand_below(state, 100) < 15) {
        switch (vkq_test_rand_below(state, 4)) {
        case 0:
            return (uint16_t)sign; /* +-0 */
        case 1:
            return (uint16_t)(sign | 0x7BFFu); /* +-65504 */
        default: /* subnormal: e = 0, m != 0 */
            return (uint16_t)(sign | (1u + vkq_test_rand_below(state, 1023)));
        }
    }
    /* exponent field 1..16: |d| in [2^-14, 2^2), the mantissa uniform within each octave */
    const uint32_t e = 1u + vkq_test_rand_below(state, 16);
    const uint32_t m = vkq_test_rand_below(state, 1024);
    return (uint16_t)(sign | e << 10 | m);
}

uint32_t vkq_test_random_f32_scale(uint64_t *state)
{
    const uint32_t sign = (uint32_t)(vkq_test_rand(state) & 1u) << 31;
    const uint32_t m = (uint32_t)(vkq_test_rand(state) & 0x7FFFFFu);
    if (vkq_test_rand_below(state, 100) < 15) {
        switch (vkq_test_rand_below(state, 4)) {
        case 0:
            return sign; /* +-0 */
        case 1:
            return sign | (m ? m : 1u); /* subnormal */
        case 2:
            return sign | (1u + vkq_test_rand_below(state, 8)) << 23 | m; /* tiny normal */
        default:
            return sign | (128u + vkq_test_rand_below(state, 100)) << 23 | m; /* up to 2^100 */
        }
    }
    const uint32_t e = 127u - 20u + vkq_test_rand_below(state, 25); /* [2^-20, 2^5) */
    return sign | e << 23 | m;
}

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)((v >> 8) & 0xFF);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        p[k] = (uint8_t)((v >> (8 * k)) & 0xFF);
    }
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A finite binary32 element for F32 data: the whole range, with extra zeros and subnormals. */
static uint32_t random_f32_element(uint64_t *state, uint32_t bits)
{
    const uint32_t r = vkq_test_rand_below(state, 100);
    const uint32_t sign = bits & 0x80000000u;
    if (r < 4) {
        return sign; /* +-0 */
    }
    if (r < 12) {
        return sign | ((bits & 0x7FFFFFu) ? (bits & 0x7FFFFFu) : 1u); /* subnormal */
    }
    if (r < 14) {
        return sign | 0x7F7FFFFFu; /* +-FLT_MAX */
    }
    if (((bits >> 23) & 0xFF) == 0xFF) { /* Inf/NaN: random finite exponent instead */
        bits = (bits & 0x807FFFFFu) | vkq_test_rand_below(state, 255) << 23;
    }
    return bits;
}

/* A finite binary16 element for F16 data. */
static uint32_t random_f16_element(uint64_t *state, uint32_t h)
{
    if (vkq_test_rand_below(state, 100) < 10) {
        return h & 0x83FFu; /* zero or subnormal */
    }
    if (((h >> 10) & 0x1F) == 0x1F) {
        h = (h & 0x83FFu) | vkq_test_rand_below(state, 31) << 10;
    }
    return h;
}

/* A finite bfloat16 element for BF16 data. */
static uint32_t random_bf16_element(uint64_t *state, uint32_t h)
{
    if (vkq_test_rand_below(state, 100) < 10) {
        return h & 0x807Fu; /* zero or subnormal */
    }
    if ((h & 0x7FFFu) >= 0x7F80u) {
        h = (h & 0x807Fu) | vkq_test_rand_below(state, 255) << 7;
    }
    return h;
}

void vkq_test_random_blocks(vkq_type t, uint64_t n_blocks, uint64_t *rng_state, uint8_t *out)
{
    const vkq_type_traits *tr = vkq_traits(t);
    if (tr == NULL) {
        return;
    }
    const uint32_t bb = tr->info.block_bytes;
    const uint64_t total = n_blocks * bb;
    for (uint64_t k = 0; k < total; k += 8) {
        uint64_t r = vkq_test_rand(rng_state);
        for (uint64_t q = k; q < k + 8 && q < total; q++, r >>= 8) {
            out[q] = (uint8_t)(r & 0xFF);
        }
    }

    for (uint64_t b = 0; b < n_blocks; b++) {
        uint8_t *blk = out + b * bb;
        switch (t) {
        case VKQ_TYPE_F32:
            put_u32(blk, random_f32_element(rng_state, get_u32(blk)));
            continue;
        case VKQ_TYPE_F16:
            put_u16(blk, random_f16_element(rng_state, (uint32_t)blk[0] | (uint32_t)blk[1] << 8));
            continue;
        case VKQ_TYPE_BF16:
            put_u16(blk, random_bf16_element(rng_state, (uint32_t)blk[0] | (uint32_t)blk[1] << 8));
            continue;
        default:
            break;
        }
        for (int s = 0; s < VKQ_MAX_SCALES; s++) {
            uint8_t *p = blk + tr->scales[s].offset;
            switch (tr->scales[s].kind) {
            case VKQ_SCALE_NONE:
                break;
            case VKQ_SCALE_F16:
                put_u16(p, vkq_test_random_fp16_scale(rng_state));
                break;
            case VKQ_SCALE_F32: {
                uint32_t v = vkq_test_random_f32_scale(rng_state);
                if (t == VKQ_TYPE_NF4) { /* absmax: finite and positive */
                    v &= 0x7FFFFFFFu;
                    if (v == 0) {
                        v = 0x3F800000u;
                    }
                }
                put_u32(p, v);
                break;
            }
            case VKQ_SCALE_E8M0: {
                const uint32_t r = vkq_test_rand_below(rng_state, 100);
                if (r < 5) {
                    p[0] = (uint8_t)(r & 1u); /* e = 0 or 1: subnormal scales */
                } else if (r < 8) {
                    p[0] = 0xFE;
                } else if (p[0] == 0xFF) {
                    p[0] = (uint8_t)vkq_test_rand_below(rng_state, 255);
                }
                break;
            }
            case VKQ_SCALE_IQ1M: {
                /* fp16 bits 4k..4k+3 go to bits 12..15 of the u16 at offset + 2k */
                const uint32_t h = vkq_test_random_fp16_scale(rng_state);
                for (int k = 0; k < 4; k++) {
                    p[2 * k + 1] = (uint8_t)((p[2 * k + 1] & 0x0F) | ((h >> (4 * k)) & 0xF) << 4);
                }
                break;
            }
            }
        }
    }
}

/* A moderate fp16 scale: |d| log-uniform in [2^-8, 2^-3), random sign. */
static uint32_t moderate_fp16(uint64_t *state)
{
    uint32_t e = 15u - 8u + vkq_test_rand_below(state, 5);
    return (uint32_t)(vkq_test_rand(state) & 1u) << 15 | e << 10 | vkq_test_rand_below(state, 1024);
}

void vkq_test_random_weights(vkq_type t, uint64_t n_blocks, uint64_t *rng_state, uint8_t *out)
{
    const vkq_type_traits *tr = vkq_traits(t);
    if (tr == NULL) {
        return;
    }
    vkq_test_random_blocks(t, n_blocks, rng_state, out);
    const uint32_t bb = tr->info.block_bytes;
    for (uint64_t b = 0; b < n_blocks; b++) {
        uint8_t *blk = out + b * bb;
        const uint32_t h = moderate_fp16(rng_state);
        switch (t) {
        case VKQ_TYPE_F32:
            put_u32(blk, vkq_fp16_to_f32_bits((uint16_t)h));
            continue;
        case VKQ_TYPE_F16:
            put_u16(blk, h);
            continue;
        case VKQ_TYPE_BF16:
            put_u16(blk, vkq_fp16_to_f32_bits((uint16_t)h) >> 16);
            continue;
        default:
            break;
        }
        for (int s = 0; s < VKQ_MAX_SCALES; s++) {
            uint8_t *p = blk + tr->scales[s].offset;
            const uint32_t d = moderate_fp16(rng_state);
            switch (tr->scales[s].kind) {
            case VKQ_SCALE_NONE:
                break;
            case VKQ_SCALE_F16:
                put_u16(p, d);
                break;
            case VKQ_SCALE_F32:
                put_u32(p, vkq_fp16_to_f32_bits((uint16_t)(t == VKQ_TYPE_NF4 ? d & 0x7FFFu : d)));
                break;
            case VKQ_SCALE_E8M0:
                p[0] = (uint8_t)(120u + vkq_test_rand_below(rng_state, 8));
                break;
            case VKQ_SCALE_IQ1M:
                for (int k = 0; k < 4; k++) {
                    p[2 * k + 1] = (uint8_t)((p[2 * k + 1] & 0x0F) | ((d >> (4 * k)) & 0xF) << 4);
                }
                break;
            }
        }
    }
}

/* Uniform in (0, 1): 53 random bits, never 0 (the log below). */
static double uniform01(uint64_t *state)
{
    return ((double)(vkq_test_rand(state) >> 11) + 0.5) / 9007199254740992.0;
}

void vkq_test_llm_weights(uint64_t *rng_state, float *out, uint64_t rows, uint64_t k)
{
    for (uint64_t r = 0; r < rows; r++) {
        const double row_scale = exp2(-8.0 + 5.0 * uniform01(rng_state));
        for (uint64_t i = 0; i < k; i++) {
            /* Box-Muller, one of the pair. */
            const double g = sqrt(-2.0 * log(uniform01(rng_state))) *
                             cos(6.283185307179586 * uniform01(rng_state));
            const double outlier = vkq_test_rand_below(rng_state, 100) == 0 ? 8.0 : 1.0;
            out[r * k + i] = (float)(g * outlier * row_scale);
        }
    }
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}
