/* Shared pieces of the quantizers (src/quantize*.c): the per-family entry points (of type
 * vkq_quantize_block_fn, types.h) that the type table points at, and small helpers.
 *
 * Every block quantizer gets the block's QK source values `x` and their importance `w` (QK
 * non-negative values; all 1 when the caller gave none) and writes block_bytes bytes at `blk`.
 * It minimises sum_j w[j] * (x[j] - decode(blk)[j])^2 as far as its search goes, and keeps no
 * state, so blocks can be done in any order and on any thread. */
#ifndef VKQ_QUANTIZE_INTERNAL_H
#define VKQ_QUANTIZE_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "core/fp_convert.h"
#include "core/types.h"

#define VKQ_QUANT_FAMILY(family)                                                                             \
    void vkq_quantize_block_##family(const float *x, const float *w, uint8_t *blk);
/* src/quant/quantize_simple.c */
VKQ_QUANT_FAMILY(f32)
VKQ_QUANT_FAMILY(f16)
VKQ_QUANT_FAMILY(bf16)
VKQ_QUANT_FAMILY(q8_k)
VKQ_QUANT_FAMILY(q1_0)
VKQ_QUANT_FAMILY(q2_0)
VKQ_QUANT_FAMILY(tq1_0)
VKQ_QUANT_FAMILY(tq2_0)
/* src/quant/quantize_legacy.c */
VKQ_QUANT_FAMILY(q4_0)
VKQ_QUANT_FAMILY(q4_1)
VKQ_QUANT_FAMILY(q5_0)
VKQ_QUANT_FAMILY(q5_1)
VKQ_QUANT_FAMILY(q8_0)
VKQ_QUANT_FAMILY(q8_1)
/* src/quant/quantize_codebook.c */
VKQ_QUANT_FAMILY(iq4_nl)
VKQ_QUANT_FAMILY(iq4_xs)
VKQ_QUANT_FAMILY(nf4)
VKQ_QUANT_FAMILY(mxfp4)
VKQ_QUANT_FAMILY(nvfp4)
/* src/quant/quantize_kquants.c */
VKQ_QUANT_FAMILY(q2_k)
VKQ_QUANT_FAMILY(q3_k)
VKQ_QUANT_FAMILY(q4_k)
VKQ_QUANT_FAMILY(q5_k)
VKQ_QUANT_FAMILY(q6_k)
/* src/quant/quantize_iq.c */
VKQ_QUANT_FAMILY(iq2_xxs)
VKQ_QUANT_FAMILY(iq2_xs)
VKQ_QUANT_FAMILY(iq2_s)
VKQ_QUANT_FAMILY(iq3_xxs)
VKQ_QUANT_FAMILY(iq3_s)
VKQ_QUANT_FAMILY(iq1_s)
VKQ_QUANT_FAMILY(iq1_m)
#undef VKQ_QUANT_FAMILY

/* ---- helpers ------------------------------------------------------------------------------ */

static inline void vkq_put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void vkq_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A scale as the decoder will see it: rounded through binary16, saturated at +-65504 so that a
 * large (but finite) input never produces an Inf scale. */
static inline uint16_t vkq_scale_fp16(float d)
{
    if (d > 65504.0f) d = 65504.0f;
    if (d < -65504.0f) d = -65504.0f;
    return vkq_f32_to_fp16(d);
}

static inline int vkq_clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Round half away from zero (as lroundf, without the libm call), clamped to [lo, hi]; NaN
 * gives lo. Without branches: the scale searches call this for every element of every
 * candidate, and with 4-bit ranges many clamp, which a branch mispredicts (Q4_0 took 2.7x
 * Q8_0's time with the same search). A clamped value is an integer, which the rounding keeps. */
static inline int vkq_round_clamp(float v, int lo, int hi)
{
    v = v > (float)lo ? v : (float)lo;
    v = v < (float)hi ? v : (float)hi;
    return (int)(v + (v >= 0.0f ? 0.5f : -0.5f));
}

/* Blocks whose largest |x| is below this are stored as zeros: no fp16 scale reaches that far
 * down (the smallest is 2^-24), and 1 / scale would overflow binary32. */
#define VKQ_TINY 1e-30f

/* The x of largest magnitude (first one on ties), with its sign; 0 for an all-zero block. */
static inline float vkq_signed_absmax(const float *x, int n)
{
    float amax = 0.0f, m = 0.0f;
    for (int j = 0; j < n; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            m = x[j];
        }
    }
    return m;
}

/* Symmetric integer search shared by the legacy and K-quants: q_j in [qmin, qmax] and one
 * scale d (either sign) minimising sum w (x - d q)^2. Tries scales that put the largest |x| on
 * qmin or qmax with fractional offsets, refits d by least squares for each assignment, and
 * returns the best d (unrounded) with its q in `q`. Returns 0 for an all-zero block. */
#define VKQ_SEARCH_MAX_STEP 16 /* nstep above this is taken as this */
float vkq_search_scale_int(const float *x, const float *w, int n, int qmin, int qmax, int nstep, int8_t *q);

/* Asymmetric search (y = s q - m, q in [0, qmax]): returns s and writes m and q; both are
 * least-squares refits of the best assignment. Unless free_offset, m >= 0 (the K-quants' range
 * starts at or below zero). */
float vkq_search_scale_min(const float *x, const float *w, int n, int qmax, int nstep, int free_offset,
                           float *m_out, uint8_t *q);

/* Index of the level nearest to v, given the nlev-1 midpoints between sorted levels. */
int vkq_nearest_level(const float *mid, int nlev, float v);

/* The same for 16 levels in 4 comparisons: mid16 holds the 15 midpoints and +Inf. */
static inline int vkq_nearest16(const float *mid16, float v)
{
    int i = 0;
    i += (v > mid16[i + 7]) << 3;
    i += (v > mid16[i + 3]) << 2;
    i += (v > mid16[i + 1]) << 1;
    i += v > mid16[i];
    return i;
}

/* Codebook search: idx_j indexes the sorted levels `lev` (midpoints `mid`); returns the best
 * scale d (either sign, unrounded) for y = d * lev[idx]. */
float vkq_search_scale_codebook(const float *x, const float *w, int n, const float *lev, const float *mid,
                                int nlev, int nstep, uint8_t *idx);

/* Sorted levels values[c] * scale, their midpoints (nlev of them: the last is +Inf, for
 * vkq_nearest16), and code_of[k] = the code of lev[k]. A
 * repeated value (MXFP4's +-0) keeps one code per copy; either decodes the same. */
void vkq_codebook_init(const int8_t *values, int nlev, float scale, float *lev, float *mid, uint8_t *code_of);

/* Weighted squared error of y against x. */
static inline float vkq_werr(const float *x, const float *w, const float *y, int n)
{
    float e = 0.0f;
    for (int j = 0; j < n; j++) {
        const float t = x[j] - y[j];
        e += w[j] * t * t;
    }
    return e;
}

#endif
