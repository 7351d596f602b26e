/* Quantizers of the 32-element legacy quants (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1).
 *
 * Each block gets the scale search of src/quant/quantize_search.c; the winning scale is rounded to
 * fp16 and the quants are re-chosen for that rounded scale. The plain absmax scale (what
 * ggml's reference quantizer uses) is also rounded and re-quantized, and whichever of the two
 * gives the lower weighted error on the decoded values is stored. */
#include "quant/quantize_internal.h"

#include "formats/decode_cpu.h"

/* q = round(x / d) clamped, for the decoded scale d (0 gives all zero codes). */
static void requant_sym(const float *x, int n, float d, int qmin, int qmax, int8_t *q)
{
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < n; j++)
        q[j] = (int8_t)vkq_round_clamp(x[j] * id, qmin, qmax);
}

static float err_sym(const float *x, const float *w, int n, float d, const int8_t *q)
{
    float e = 0.0f;
    for (int j = 0; j < n; j++) {
        const float t = x[j] - (float)q[j] * d;
        e += w[j] * t * t;
    }
    return e;
}

/* Best fp16 scale for y = q * d, q in [qmin, qmax]; returns the fp16 bits and fills q. */
static uint16_t quant_sym(const float *x, const float *w, int n, int qmin, int qmax, int8_t *q)
{
    const float m = vkq_signed_absmax(x, n);
    const float cand[2] = {vkq_search_scale_int(x, w, n, qmin, qmax, 9, q),
                           m / (float)(qmin < -qmax ? qmin : qmax)};
    uint16_t best_h = 0;
    float best_e = -1.0f;
    int8_t cur[32];
    for (int c = 0; c < 2; c++) {
        const uint16_t h = vkq_scale_fp16(cand[c]);
        const float d = vkq_fp16_to_f32(h);
        requant_sym(x, n, d, qmin, qmax, cur);
        const float e = err_sym(x, w, n, d, cur);
        if (best_e < 0.0f || e < best_e) {
            best_e = e;
            best_h = h;
            for (int j = 0; j < n; j++)
                q[j] = cur[j];
        }
    }
    return best_h;
}

/* Best fp16 (d, m) for y = q * d + m, q in [0, qmax]; fills q. */
static void quant_asym(const float *x, const float *w, int qmax, uint16_t *dh, uint16_t *mh, uint8_t *q)
{
    float lo = x[0], hi = x[0];
    for (int j = 1; j < 32; j++) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    float mneg;
    const float s = vkq_search_scale_min(x, w, 32, qmax, 15, 1, &mneg, q);
    const float cand_d[2] = {s, (hi - lo) / (float)qmax};
    const float cand_m[2] = {-mneg, lo};
    float best_e = -1.0f;
    for (int c = 0; c < 2; c++) {
        const uint16_t hd = vkq_scale_fp16(cand_d[c]), hm = vkq_scale_fp16(cand_m[c]);
        const float d = vkq_fp16_to_f32(hd), m = vkq_fp16_to_f32(hm);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t cur[32];
        float e = 0.0f;
        for (int j = 0; j < 32; j++) {
            cur[j] = (uint8_t)vkq_round_clamp((x[j] - m) * id, 0, qmax);
            const float t = x[j] - ((float)cur[j] * d + m);
            e += w[j] * t * t;
        }
        if (best_e < 0.0f || e < best_e) {
            best_e = e;
            *dh = hd;
            *mh = hm;
            for (int j = 0; j < 32; j++)
                q[j] = cur[j];
        }
    }
}

/* The §4 nibble layout: element j < 16 in the low nibble of qs[j], j >= 16 in the high one. */
static void put_nibbles(uint8_t *qs, const uint8_t *q)
{
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)((q[j] & 0xF) | (q[j + 16] & 0xF) << 4);
}

static uint32_t high_bits(const uint8_t *q)
{
    uint32_t qh = 0;
    for (int j = 0; j < 32; j++)
        qh |= (uint32_t)((q[j] >> 4) & 1) << j;
    return qh;
}

void vkq_quantize_block_q4_0(const float *x, const float *w, uint8_t *blk)
{
    int8_t q[32];
    uint8_t u[32];
    vkq_put_u16(blk, quant_sym(x, w, 32, -8, 7, q));
    for (int j = 0; j < 32; j++)
        u[j] = (uint8_t)(q[j] + 8);
    put_nibbles(blk + 2, u);
}

void vkq_quantize_block_q5_0(const float *x, const float *w, uint8_t *blk)
{
    int8_t q[32];
    uint8_t u[32];
    vkq_put_u16(blk, quant_sym(x, w, 32, -16, 15, q));
    for (int j = 0; j < 32; j++)
        u[j] = (uint8_t)(q[j] + 16);
    vkq_put_u32(blk + 2, high_bits(u));
    put_nibbles(blk + 6, u);
}

void vkq_quantize_block_q4_1(const float *x, const float *w, uint8_t *blk)
{
    uint16_t dh, mh;
    uint8_t q[32];
    quant_asym(x, w, 15, &dh, &mh, q);
    vkq_put_u16(blk, dh);
    vkq_put_u16(blk + 2, mh);
    put_nibbles(blk + 4, q);
}

void vkq_quantize_block_q5_1(const float *x, const float *w, uint8_t *blk)
{
    uint16_t dh, mh;
    uint8_t q[32];
    quant_asym(x, w, 31, &dh, &mh, q);
    vkq_put_u16(blk, dh);
    vkq_put_u16(blk + 2, mh);
    vkq_put_u32(blk + 4, high_bits(q));
    put_nibbles(blk + 8, q);
}

void vkq_quantize_block_q8_0(const float *x, const float *w, uint8_t *blk)
{
    int8_t q[32];
    vkq_put_u16(blk, quant_sym(x, w, 32, -127, 127, q));
    for (int j = 0; j < 32; j++)
        blk[2 + j] = (uint8_t)q[j];
}

/* Q8_1's s = d * sum(q), what ggml's dot products use as the block's sum (decode ignores it). */
void vkq_quantize_block_q8_1(const float *x, const float *w, uint8_t *blk)
{
    int8_t q[32];
    const uint16_t dh = quant_sym(x, w, 32, -127, 127, q);
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        blk[4 + j] = (uint8_t)q[j];
        sum += q[j];
    }
    vkq_put_u16(blk, dh);
    vkq_put_u16(blk + 2, vkq_scale_fp16((float)sum * vkq_fp16_to_f32(dh)));
}
