/* KV-cache writers: rows of f32 to the cache types by the plain round-to-nearest rule of each
 * format (/work/shared/formats/FORMATS.md §3, §4), the arithmetic ggml's *_ref quantizers use:
 * the scale from the block's extremes, its reciprocal in fp32 (from the unrounded scale), the
 * scale stored as fp16. The GPU writer repeats these steps, so both store the same bits. */
#include "cpu/ops.h"
#include "core/error.h"
#include "core/fp_convert.h"
#include "formats/tables_gen.h"

#include <math.h>
#include <string.h>

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* binary32 -> bfloat16, round to nearest even; NaN stays a quiet NaN. */
static uint16_t f32_to_bf16(float f)
{
    const uint32_t u = vkq_f32_to_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* The largest |x| of a block and the signed value that has it (the first such one). */
static void block_signed_max(const float *x, int n, float *amax, float *max)
{
    float a = 0.0f, m = 0.0f;
    for (int i = 0; i < n; i++) {
        const float v = fabsf(x[i]);
        if (v > a) {
            a = v;
            m = x[i];
        }
    }
    *amax = a;
    *max = m;
}

static void block_min_max(const float *x, int n, float *mn, float *mx)
{
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    *mn = lo;
    *mx = hi;
}

static void store_q8_0(const float *x, uint8_t *b)
{
    float amax, max;
    block_signed_max(x, 32, &amax, &max);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_u16(b, vkq_f32_to_fp16(d));
    for (int i = 0; i < 32; i++) {
        b[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

/* Q4_0 and Q5_0: d = max / -half (the extreme value gets the lowest level), q = trunc(x / d +
 * half + 0.5) capped at the top level (x / d >= -half, so the sum is never negative). */
static void quant_sym(const float *x, int half, uint8_t *q, float *d_out)
{
    float amax, max;
    block_signed_max(x, 32, &amax, &max);
    const float d = max / (float)-half;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const int top = 2 * half - 1;
    for (int i = 0; i < 32; i++) {
        const int v = (int)(x[i] * id + ((float)half + 0.5f));
        q[i] = (uint8_t)(v > top ? top : v);
    }
    *d_out = d;
}

/* Q4_1 and Q5_1: d = (max - min) / top, m = min, q = trunc((x - min) / d + 0.5) capped. */
static void quant_asym(const float *x, int top, uint8_t *q, float *d_out, float *m_out)
{
    float mn, mx;
    block_min_max(x, 32, &mn, &mx);
    const float d = (mx - mn) / (float)top;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < 32; i++) {
        const int v = (int)((x[i] - mn) * id + 0.5f);
        q[i] = (uint8_t)(v > top ? top : v < 0 ? 0 : v);
    }
    *d_out = d;
    *m_out = mn;
}

/* The §4 nibble layout: element i < 16 in the low nibble of qs[i], element i + 16 in the high. */
static void pack_nibbles(const uint8_t *q, uint8_t *qs)
{
    for (int i = 0; i < 16; i++) {
        qs[i] = (uint8_t)((q[i] & 0xF) | (q[i + 16] & 0xF) << 4);
    }
}

static uint32_t high_bits(const uint8_t *q)
{
    uint32_t qh = 0;
    for (int i = 0; i < 32; i++) {
        qh |= (uint32_t)((q[i] >> 4) & 1u) << i;
    }
    return qh;
}

static void store_q4_0(const float *x, uint8_t *b)
{
    uint8_t q[32];
    float d;
    quant_sym(x, 8, q, &d);
    put_u16(b, vkq_f32_to_fp16(d));
    pack_nibbles(q, b + 2);
}

static void store_q5_0(const float *x, uint8_t *b)
{
    uint8_t q[32];
    float d;
    quant_sym(x, 16, q, &d);
    put_u16(b, vkq_f32_to_fp16(d));
    put_u32(b + 2, high_bits(q));
    pack_nibbles(q, b + 6);
}

static void store_q4_1(const float *x, uint8_t *b)
{
    uint8_t q[32];
    float d, m;
    quant_asym(x, 15, q, &d, &m);
    put_u16(b, vkq_f32_to_fp16(d));
    put_u16(b + 2, vkq_f32_to_fp16(m));
    pack_nibbles(q, b + 4);
}

static void store_q5_1(const float *x, uint8_t *b)
{
    uint8_t q[32];
    float d, m;
    quant_asym(x, 31, q, &d, &m);
    put_u16(b, vkq_f32_to_fp16(d));
    put_u16(b + 2, vkq_f32_to_fp16(m));
    put_u32(b + 4, high_bits(q));
    pack_nibbles(q, b + 8);
}

/* IQ4_NL without ggml's scale search: d = max / kvalues[0] (the extreme value gets the code
 * -127), each element the nearest code of x / d (the lower one on a tie). */
static void store_iq4_nl(const float *x, uint8_t *b)
{
    float amax, max;
    block_signed_max(x, 32, &amax, &max);
    const float d = max / (float)vkq_kvalues_iq4nl[0];
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t q[32];
    for (int i = 0; i < 32; i++) {
        const float v = x[i] * id;
        int best = 0;
        float err = fabsf(v - (float)vkq_kvalues_iq4nl[0]);
        for (int c = 1; c < 16; c++) {
            const float e = fabsf(v - (float)vkq_kvalues_iq4nl[c]);
            if (e < err) {
                err = e;
                best = c;
            }
        }
        q[i] = (uint8_t)best;
    }
    put_u16(b, vkq_f32_to_fp16(d));
    pack_nibbles(q, b + 2);
}

typedef void (*store_block_fn)(const float *x, uint8_t *b);

int vkq_kv_type_supported(vkq_type type)
{
    switch (type) {
    case VKQ_TYPE_F32: case VKQ_TYPE_F16: case VKQ_TYPE_BF16: case VKQ_TYPE_Q8_0: case VKQ_TYPE_Q4_0:
    case VKQ_TYPE_Q4_1: case VKQ_TYPE_Q5_0: case VKQ_TYPE_Q5_1: case VKQ_TYPE_IQ4_NL:
        return 1;
    default:
        return 0;
    }
}

vkq_status vkq_cpu_kv_store(vkq_type type, const float *src, uint32_t n_rows, uint32_t row_elems, void *dst,
                            size_t dst_row_bytes)
{
    if (!src || !dst || !n_rows || !row_elems)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_kv_store: src, dst, n_rows and row_elems must be set");
    if (!vkq_kv_type_supported(type)) {
        const vkq_type_info *ti = vkq_type_get(type);
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "vkq_cpu_kv_store: %s (id %d) is not a KV cache type",
                        ti ? ti->name : "an unknown type", (int)type);
    }
    const vkq_type_info *ti = vkq_type_get(type);
    if (row_elems % ti->block_elems)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "vkq_cpu_kv_store: row_elems %u is not a multiple of %s's block of %u",
                        row_elems, ti->name, ti->block_elems);
    const size_t row_bytes = (size_t)(row_elems / ti->block_elems) * ti->block_bytes;
    if (n_rows > 1 && dst_row_bytes < row_bytes)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "vkq_cpu_kv_store: dst_row_bytes %zu is less than a row of %u %s elements (%zu bytes)",
                        dst_row_bytes, row_elems, ti->name, row_bytes);

    store_block_fn fn = NULL;
    switch (type) {
    case VKQ_TYPE_Q8_0: fn = store_q8_0; break;
    case VKQ_TYPE_Q4_0: fn = store_q4_0; break;
    case VKQ_TYPE_Q4_1: fn = store_q4_1; break;
    case VKQ_TYPE_Q5_0: fn = store_q5_0; break;
    case VKQ_TYPE_Q5_1: fn = store_q5_1; break;
    case VKQ_TYPE_IQ4_NL: fn = store_iq4_nl; break;
    default: break;
    }
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *x = src + (size_t)r * row_elems;
        uint8_t *out = (uint8_t *)dst + (size_t)r * dst_row_bytes;
        if (type == VKQ_TYPE_F32) {
            memcpy(out, x, (size_t)row_elems * 4);
        } else if (type == VKQ_TYPE_F16) {
            for (uint32_t i = 0; i < row_elems; i++) {
                put_u16(out + 2 * (size_t)i, vkq_f32_to_fp16(x[i]));
            }
        } else if (type == VKQ_TYPE_BF16) {
            for (uint32_t i = 0; i < row_elems; i++) {
                put_u16(out + 2 * (size_t)i, f32_to_bf16(x[i]));
            }
        } else {
            for (uint32_t blk = 0; blk < row_elems / 32; blk++) {
                fn(x + 32 * (size_t)blk, out + (size_t)blk * ti->block_bytes);
            }
        }
    }
    return VKQ_SUCCESS;
}
