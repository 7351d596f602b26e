/* K-quant quantizers (Q2_K .. Q6_K).
 *
 * Two levels of scale: each sub-block (16 or 32 values) first gets its own best scale (and
 * min) from the searches in src/quant/quantize_search.c; the super-block's fp16 d (and dmin) is then
 * chosen so the largest sub-block scale fills the integer scale range, every sub-block scale
 * is rounded to that grid, and each rounded scale is tried one step either way against the
 * decoded values (the re-fit), keeping the lowest weighted error. */
#include <float.h>

#include "quant/quantize_internal.h"

/* ---- scale + min types (Q2_K, Q4_K, Q5_K): y = (d * sc) * q - dmin * m, q in [0, qmax] ---- */

typedef struct kq_min_geom {
    int nsub, sub, qmax, scmax; /* sub-blocks, their size, quant max, scale/min max */
} kq_min_geom;

/* Quants of one sub-block for decoded (d * sc, dmin * m), their weighted error. */
static float requant_min(const float *x, const float *w, int n, float d1, float m1, int qmax, uint8_t *q)
{
    const float id = d1 != 0.0f ? 1.0f / d1 : 0.0f;
    float e = 0.0f;
    for (int j = 0; j < n; j++) {
        q[j] = (uint8_t)vkq_round_clamp((x[j] + m1) * id, 0, qmax);
        const float t = x[j] - (d1 * (float)q[j] - m1);
        e += w[j] * t * t;
    }
    return e;
}

/* For decoded d, dmin: each sub-block's codes rounded from its searched (s, m) and tried one
 * step either way; fills sc, mn, q and returns the total weighted error. */
static float fit_codes_min(const kq_min_geom *g, const float *x, const float *w, const float *s,
                           const float *m, float d, float dmin, uint8_t *sc, uint8_t *mn, uint8_t *q)
{
    float total = 0.0f;
    for (int b = 0; b < g->nsub; b++) {
        const float *xb = x + g->sub * b, *wb = w + g->sub * b;
        const int s0 = d > 0.0f ? vkq_round_clamp(s[b] / d, 0, g->scmax) : 0;
        const int m0 = dmin > 0.0f ? vkq_round_clamp(m[b] / dmin, 0, g->scmax) : 0;
        float best = FLT_MAX;
        uint8_t cur[32];
        for (int si = s0 - 1; si <= s0 + 1; si++) {
            for (int mi = m0 - 1; mi <= m0 + 1; mi++) {
                if (si < 0 || si > g->scmax || mi < 0 || mi > g->scmax) continue;
                const float e = requant_min(xb, wb, g->sub, d * (float)si, dmin * (float)mi, g->qmax, cur);
                if (e < best) {
                    best = e;
                    sc[b] = (uint8_t)si;
                    mn[b] = (uint8_t)mi;
                    for (int j = 0; j < g->sub; j++)
                        q[g->sub * b + j] = cur[j];
                }
            }
        }
        total += best;
    }
    return total;
}

/* Fills d, dmin (fp16 bits), sc[], mn[] and q[256]. */
static void quant_min_block(const kq_min_geom *g, const float *x, const float *w, uint16_t *dh, uint16_t *mh,
                            uint8_t *sc, uint8_t *mn, uint8_t *q)
{
    float s[16], m[16], smax = 0.0f, mmax = 0.0f;
    for (int b = 0; b < g->nsub; b++) {
        s[b] = vkq_search_scale_min(x + g->sub * b, w + g->sub * b, g->sub, g->qmax, 15, 0, &m[b],
                                    q + g->sub * b);
        smax = fmaxf(smax, s[b]);
        mmax = fmaxf(mmax, m[b]);
    }
    *dh = vkq_scale_fp16(smax / (float)g->scmax);
    *mh = vkq_scale_fp16(mmax / (float)g->scmax);
    const float e0 = fit_codes_min(g, x, w, s, m, vkq_fp16_to_f32(*dh), vkq_fp16_to_f32(*mh), sc, mn, q);

    /* Re-fit: with the integer codes fixed, y = d * (sc q) - dmin * mn is linear in (d, dmin);
     * solve the 2x2 weighted least squares, round, re-fit the codes, keep it if better. */
    double A = 0, B = 0, C = 0, P = 0, Q = 0;
    for (int i = 0; i < 256; i++) {
        const int b = i / g->sub;
        const double a = (double)sc[b] * q[i], c = mn[b], wi = w[i];
        A += wi * a * a;
        B += wi * a * c;
        C += wi * c * c;
        P += wi * x[i] * a;
        Q += wi * x[i] * c;
    }
    const double det = A * C - B * B;
    if (!(det > 1e-30 * A * C)) return;
    const uint16_t dh2 = vkq_scale_fp16((float)((P * C - Q * B) / det));
    const uint16_t mh2 = vkq_scale_fp16((float)((P * B - Q * A) / det));
    uint8_t sc2[16], mn2[16], q2[256];
    const float e1 = fit_codes_min(g, x, w, s, m, vkq_fp16_to_f32(dh2), vkq_fp16_to_f32(mh2), sc2, mn2, q2);
    if (e1 < e0) {
        *dh = dh2;
        *mh = mh2;
        for (int b = 0; b < g->nsub; b++) {
            sc[b] = sc2[b];
            mn[b] = mn2[b];
        }
        for (int i = 0; i < 256; i++)
            q[i] = q2[i];
    }
}

/* The shared 2-bit layout of Q2_K/Q3_K: value i in qs[32 * (i / 128) + i % 32], bits
 * 2 * ((i % 128) / 32). */
static void put_q2(uint8_t *qs, const uint8_t *q)
{
    for (int b = 0; b < 64; b++)
        qs[b] = 0;
    for (int i = 0; i < 256; i++) {
        qs[32 * (i / 128) + i % 32] |= (uint8_t)((q[i] & 3) << (2 * ((i % 128) / 32)));
    }
}

void vkq_quantize_block_q2_k(const float *x, const float *w, uint8_t *blk)
{
    static const kq_min_geom g = {16, 16, 3, 15};
    uint8_t q[256], sc[16], mn[16];
    uint16_t dh, mh;
    quant_min_block(&g, x, w, &dh, &mh, sc, mn, q);
    for (int b = 0; b < 16; b++)
        blk[b] = (uint8_t)(sc[b] | mn[b] << 4);
    put_q2(blk + 16, q);
    vkq_put_u16(blk + 80, dh);
    vkq_put_u16(blk + 82, mh);
}

/* get_scale_min_k4's packing of 8 x (6-bit sc, 6-bit m) into 12 bytes. */
static void put_scale_min_k4(uint8_t *S, const uint8_t *sc, const uint8_t *mn)
{
    for (int j = 0; j < 4; j++) {
        S[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
        S[j + 4] = (uint8_t)((mn[j] & 63) | (mn[j + 4] >> 4) << 6);
        S[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
    }
}

/* Value i of a Q4_K/Q5_K block: nibble of qs[32 * (i / 64) + i % 32], low for i % 64 < 32. */
static void put_q4k_nibbles(uint8_t *qs, const uint8_t *q)
{
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            qs[32 * c + l] = (uint8_t)((q[64 * c + l] & 0xF) | (q[64 * c + 32 + l] & 0xF) << 4);
        }
    }
}

void vkq_quantize_block_q4_k(const float *x, const float *w, uint8_t *blk)
{
    static const kq_min_geom g = {8, 32, 15, 63};
    uint8_t q[256], sc[8], mn[8];
    uint16_t dh, mh;
    quant_min_block(&g, x, w, &dh, &mh, sc, mn, q);
    vkq_put_u16(blk, dh);
    vkq_put_u16(blk + 2, mh);
    put_scale_min_k4(blk + 4, sc, mn);
    put_q4k_nibbles(blk + 16, q);
}

void vkq_quantize_block_q5_k(const float *x, const float *w, uint8_t *blk)
{
    static const kq_min_geom g = {8, 32, 31, 63};
    uint8_t q[256], sc[8], mn[8];
    uint16_t dh, mh;
    quant_min_block(&g, x, w, &dh, &mh, sc, mn, q);
    vkq_put_u16(blk, dh);
    vkq_put_u16(blk + 2, mh);
    put_scale_min_k4(blk + 4, sc, mn);
    for (int b = 0; b < 32; b++)
        blk[16 + b] = 0;
    for (int i = 0; i < 256; i++)
        blk[16 + i % 32] |= (uint8_t)((q[i] >> 4) << (i / 32));
    put_q4k_nibbles(blk + 48, q);
}

/* ---- symmetric types (Q3_K, Q6_K): y = (d * sc) * q, 16 sub-blocks of 16 ---------------- */

/* Signed sc in [scmin, scmax], q in [qmin, qmax]; d from the largest |sub-block scale| mapped
 * to scmin or to scmax (both tried, better kept). Fills sc[16], q[256] (signed). */
static uint16_t quant_sym_block(const float *x, const float *w, int qmin, int qmax, int scmin, int scmax,
                                int8_t *sc, int8_t *q)
{
    float s[16], smax = 0.0f;
    int8_t qq[256];
    for (int b = 0; b < 16; b++) {
        s[b] = vkq_search_scale_int(x + 16 * b, w + 16 * b, 16, qmin, qmax, 9, qq + 16 * b);
        if (fabsf(s[b]) > fabsf(smax)) smax = s[b];
    }
    float best_total = FLT_MAX;
    uint16_t best_h = 0;
    /* Candidates: d putting the largest sub-block scale on scmin, on scmax, then the least
     * squares d for the best codes so far (the re-fit). */
    for (int c = 0; c < 3; c++) {
        float dc = smax / (float)(c == 0 ? scmin : scmax);
        if (c == 2) {
            double num = 0, den = 0;
            for (int i = 0; i < 256; i++) {
                const double a = (double)sc[i / 16] * q[i];
                num += w[i] * x[i] * a;
                den += w[i] * a * a;
            }
            if (!(den > 0)) break;
            dc = (float)(num / den);
        }
        const uint16_t h = vkq_scale_fp16(dc);
        const float d = vkq_fp16_to_f32(h);
        int8_t tsc[16], tq[256];
        float total = 0.0f;
        for (int b = 0; b < 16; b++) {
            const float *xb = x + 16 * b, *wb = w + 16 * b;
            const int s0 = d != 0.0f ? vkq_round_clamp(s[b] / d, scmin, scmax) : 0;
            float best = FLT_MAX;
            for (int si = s0 - 1; si <= s0 + 1; si++) {
                if (si < scmin || si > scmax) continue;
                const float d1 = d * (float)si;
                const float id = d1 != 0.0f ? 1.0f / d1 : 0.0f;
                int8_t cur[16];
                float e = 0.0f;
                for (int j = 0; j < 16; j++) {
                    cur[j] = (int8_t)vkq_round_clamp(xb[j] * id, qmin, qmax);
                    const float t = xb[j] - d1 * (float)cur[j];
                    e += wb[j] * t * t;
                }
                if (e < best) {
                    best = e;
                    tsc[b] = (int8_t)si;
                    for (int j = 0; j < 16; j++)
                        tq[16 * b + j] = cur[j];
                }
            }
            total += best;
        }
        if (c == 0 || total < best_total) {
            best_total = total;
            best_h = h;
            for (int b = 0; b < 16; b++)
                sc[b] = tsc[b];
            for (int i = 0; i < 256; i++)
                q[i] = tq[i];
        }
    }
    return best_h;
}

void vkq_quantize_block_q3_k(const float *x, const float *w, uint8_t *blk)
{
    int8_t sc[16], q[256];
    uint8_t u[256];
    const uint16_t h = quant_sym_block(x, w, -4, 3, -32, 31, sc, q);
    for (int b = 0; b < 32; b++)
        blk[b] = 0; /* hmask: set where q >= 0 (no -4 offset) */
    for (int i = 0; i < 256; i++) {
        u[i] = (uint8_t)(q[i] + 4);
        blk[i % 32] |= (uint8_t)((u[i] >> 2) << (i / 32));
    }
    put_q2(blk + 32, u);
    uint8_t *S = blk + 96;
    for (int b = 0; b < 12; b++)
        S[b] = 0;
    for (int j = 0; j < 16; j++) {
        const int v = sc[j] + 32;
        S[j % 8] |= (uint8_t)((v & 0xF) << (j < 8 ? 0 : 4));
        S[8 + j % 4] |= (uint8_t)((v >> 4) << (2 * (j / 4)));
    }
    vkq_put_u16(blk + 108, h);
}

void vkq_quantize_block_q6_k(const float *x, const float *w, uint8_t *blk)
{
    int8_t sc[16], q[256];
    const uint16_t h = quant_sym_block(x, w, -32, 31, -128, 127, sc, q);
    for (int b = 0; b < 192; b++)
        blk[b] = 0;
    for (int i = 0; i < 256; i++) {
        const int v = q[i] + 32;
        const int hh = i / 128, g = (i % 128) / 32, l = i % 32;
        blk[64 * hh + 32 * (g & 1) + l] |= (uint8_t)((v & 0xF) << (g < 2 ? 0 : 4));
        blk[128 + 32 * hh + l] |= (uint8_t)((v >> 4) << (2 * g));
    }
    for (int b = 0; b < 16; b++)
        blk[192 + b] = (uint8_t)sc[b];
    vkq_put_u16(blk + 208, h);
}
