/* Quantizers without a scale search: F32/F16/BF16 (conversion, round to nearest even), Q8_K
 * (absmax), and the sign/ternary types Q1_0, Q2_0, TQ1_0, TQ2_0 whose best scale has a closed
 * form or a short exact search. */
#include <stdlib.h>

#include "quant/quantize_internal.h"
#include "formats/tables_gen.h"

void vkq_quantize_block_f32(const float *x, const float *w, uint8_t *blk)
{
    (void)w;
    vkq_put_u32(blk, vkq_f32_to_bits(x[0]));
}

/* Round to nearest even; |x| >= 65520 becomes +-Inf, as binary16 conversion defines. */
void vkq_quantize_block_f16(const float *x, const float *w, uint8_t *blk)
{
    (void)w;
    vkq_put_u16(blk, vkq_f32_to_fp16(x[0]));
}

/* Round to nearest even on the top 16 bits (inputs are finite, so no NaN case). */
void vkq_quantize_block_bf16(const float *x, const float *w, uint8_t *blk)
{
    (void)w;
    const uint32_t u = vkq_f32_to_bits(x[0]);
    vkq_put_u16(blk, (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* Q8_K: the intermediate format of ggml's K-quant dot products, so plain absmax like ggml:
 * d = max / -127 (f32, no rounding loss), q = round(x / d), bsums = sums of 16 q. */
void vkq_quantize_block_q8_k(const float *x, const float *w, uint8_t *blk)
{
    (void)w;
    const float m = vkq_signed_absmax(x, 256);
    /* x / d rather than x * (1 / d): a subnormal d's inverse would overflow. */
    const float d = m / -127.0f;
    vkq_put_u32(blk, vkq_f32_to_bits(d));
    for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int j = 16 * g; j < 16 * g + 16; j++) {
            const int q = d != 0.0f ? vkq_round_clamp(x[j] / d, -128, 127) : 0;
            blk[4 + j] = (uint8_t)(int8_t)q;
            sum += q;
        }
        vkq_put_u16(blk + 260 + 2 * g, (uint32_t)(uint16_t)(int16_t)sum);
    }
}

/* Q1_0: y = +-d. For fixed signs sign(x) the weighted error is minimal at
 * d = sum w|x| / sum w, the (importance-weighted) mean absolute value. */
void vkq_quantize_block_q1_0(const float *x, const float *w, uint8_t *blk)
{
    float swa = 0.0f, sw = 0.0f, sa = 0.0f;
    for (int j = 0; j < 128; j++) {
        swa += w[j] * fabsf(x[j]);
        sw += w[j];
        sa += fabsf(x[j]);
    }
    vkq_put_u16(blk, vkq_scale_fp16(sw > 0.0f ? swa / sw : sa / 128.0f));
    for (int b = 0; b < 16; b++) {
        uint8_t byte = 0;
        for (int j = 0; j < 8; j++)
            byte |= (uint8_t)((x[8 * b + j] >= 0.0f) << j);
        blk[2 + b] = byte;
    }
}

/* Q2_0: levels {-1, 0, 1, 2} * d, d of either sign (so the long side goes where the block's
 * largest value is): integer scale search, then re-quantize with the fp16 d. */
void vkq_quantize_block_q2_0(const float *x, const float *w, uint8_t *blk)
{
    int8_t q[64];
    const uint16_t h = vkq_scale_fp16(vkq_search_scale_int(x, w, 64, -1, 2, 9, q));
    const float d = vkq_fp16_to_f32(h);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vkq_put_u16(blk, h);
    for (int b = 0; b < 16; b++)
        blk[2 + b] = 0;
    for (int i = 0; i < 64; i++) {
        const int v = vkq_round_clamp(x[i] * id, -1, 2) + 1;
        blk[2 + i / 4] |= (uint8_t)(v << (2 * (i % 4)));
    }
}

/* ---- ternary ------------------------------------------------------------------------------ */

typedef struct mag_idx {
    float a;
    int i;
} mag_idx;

static int by_magnitude_desc(const void *pa, const void *pb)
{
    const mag_idx *a = (const mag_idx *)pa, *b = (const mag_idx *)pb;
    if (a->a != b->a) return a->a < b->a ? 1 : -1;
    return a->i - b->i; /* ties by index: the order (and so the result) is deterministic */
}

/* Ternary y = t * d, t in {-1, 0, 1}, on 256 values. If the k largest |x| get t = sign(x),
 * the best d is S_k / W_k (S_k = sum of w|x|, W_k = sum of w over them) and the error drops by
 * S_k^2 / W_k; the threshold is the k maximising that, which is exact for uniform weights.
 * Writes the fp16 d and t + 1 (0..2) with t re-chosen for the rounded d. */
static uint16_t ternary(const float *x, const float *w, uint8_t *t)
{
    mag_idx v[256];
    for (int j = 0; j < 256; j++)
        v[j] = (mag_idx){fabsf(x[j]), j};
    qsort(v, 256, sizeof v[0], by_magnitude_desc);
    float S = 0.0f, W = 0.0f, best = 0.0f, d = 0.0f;
    for (int k = 0; k < 256; k++) {
        S += w[v[k].i] * v[k].a;
        W += w[v[k].i];
        if (W > 0.0f && S * S / W > best) {
            best = S * S / W;
            d = S / W;
        }
    }
    if (best == 0.0f) d = v[0].a; /* all weights zero: any scale; take the absmax */
    const uint16_t h = vkq_scale_fp16(d);
    const float dq = vkq_fp16_to_f32(h);
    const float id = dq != 0.0f ? 1.0f / dq : 0.0f;
    for (int j = 0; j < 256; j++)
        t[j] = (uint8_t)(vkq_round_clamp(x[j] * id, -1, 1) + 1);
    return h;
}

void vkq_quantize_block_tq2_0(const float *x, const float *w, uint8_t *blk)
{
    uint8_t t[256];
    vkq_put_u16(blk + 64, ternary(x, w, t));
    for (int b = 0; b < 64; b++)
        blk[b] = 0;
    for (int i = 0; i < 256; i++) {
        const int c = i / 128, l = (i % 128) / 32, m = i % 32;
        blk[32 * c + m] |= (uint8_t)(t[i] << (2 * l));
    }
}

/* TQ1_0 packs 5 trits per byte as a base-3 fraction: v = sum t_n 3^(4-n) (trit 0 most
 * significant), byte = ceil(v * 256 / 243), so that ((byte * 3^n mod 256) * 3) >> 8 = t_n. */
static uint8_t pack_trits(const uint8_t *t, int stride, int count)
{
    uint32_t v = 0;
    for (int n = 0; n < 5; n++)
        v = 3 * v + (n < count ? t[n * stride] : 0u);
    return (uint8_t)((v * 256u + 242u) / 243u);
}

void vkq_quantize_block_tq1_0(const float *x, const float *w, uint8_t *blk)
{
    uint8_t t[256];
    vkq_put_u16(blk + 52, ternary(x, w, t));
    for (int b = 0; b < 32; b++)
        blk[b] = pack_trits(t + b, 32, 5); /* i < 160 */
    for (int b = 0; b < 16; b++)
        blk[32 + b] = pack_trits(t + 160 + b, 16, 5); /* i < 240 */
    for (int b = 0; b < 4; b++)
        blk[48 + b] = pack_trits(t + 240 + b, 4, 4); /* the rest */
}
