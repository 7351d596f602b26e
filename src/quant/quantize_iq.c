/* I-quant quantizers: IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S (grid magnitudes + sign bits) and
 * IQ1_S, IQ1_M (signed ternary grid + a +-1/8 shift).
 *
 * Nearest grid point: each value divided by the scale is rounded to the nearest coordinate
 * level (the grids use 3 or 8 distinct values per coordinate). If that tuple is a grid point
 * it is the exact optimum, since the error separates by coordinate. If not, the answer is among
 * its NB grid neighbours, precomputed once per grid (pthread_once) for every tuple, and those
 * are compared with the real weights. That keeps the search at NB candidates instead of the
 * whole grid (2048 for IQ1_S).
 *
 * Scales: each sub-block (16 or 32 values) tries a fan of scales around absmax / top level,
 * assigns grid points, refits the scale by weighted least squares to that assignment and keeps
 * the best. The super-block d then puts the largest sub-block scale on the top of the 3- or
 * 4-bit scale range (two candidate d), each sub-block's scale code is rounded and tried one
 * step either way against the decoded values, and the lowest total error wins. */
#include <float.h>
#include <pthread.h>

#include "quant/quantize_internal.h"
#include "formats/tables_gen.h"

/* Neighbours kept per off-grid tuple: 16 costs ~0.1% NMSE against 32 and is 1.5x faster. */
#define NB         16
#define MAX_TUPLES 6561 /* 3^8 (IQ2, IQ1); IQ3 needs 8^4 = 4096 */
#define MAX_POINTS 2048

typedef struct iq_grid {
    int dim, nlev, n, ntup;
    float lev[8], mid[7];
    float pts[MAX_POINTS * 8];    /* coordinate values of each grid point */
    uint16_t nb[MAX_TUPLES * NB]; /* nearest grid points of each tuple, nearest first */
    uint8_t exact[MAX_TUPLES];    /* the tuple itself is a grid point (nb[0]) */
} iq_grid;

enum { G_IQ2XXS, G_IQ2XS, G_IQ2S, G_IQ3XXS, G_IQ3S, G_IQ1S, G_COUNT };
static iq_grid g_grids[G_COUNT];
static uint8_t g_sign_index[256]; /* even-parity sign byte -> its 7-bit ksigns index */
static pthread_once_t g_once[G_COUNT] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
                                         PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT};

/* Coordinate j of grid point i (grid bytes are unsigned for IQ2/IQ3, int8 for IQ1). */
static float grid_coord(int which, int i, int j)
{
    switch (which) {
    case G_IQ2XXS:
        return (float)((vkq_iq2xxs_grid[i] >> (8 * j)) & 0xFF);
    case G_IQ2XS:
        return (float)((vkq_iq2xs_grid[i] >> (8 * j)) & 0xFF);
    case G_IQ2S:
        return (float)((vkq_iq2s_grid[i] >> (8 * j)) & 0xFF);
    case G_IQ3XXS:
        return (float)((vkq_iq3xxs_grid[i] >> (8 * j)) & 0xFF);
    case G_IQ3S:
        return (float)((vkq_iq3s_grid[i] >> (8 * j)) & 0xFF);
    default:
        return (float)(int8_t)(uint8_t)((vkq_iq1s_grid[i] >> (8 * j)) & 0xFF);
    }
}

static int tuple_code(const iq_grid *g, const float *t)
{
    int code = 0;
    for (int k = 0; k < g->dim; k++)
        code = code * g->nlev + vkq_nearest_level(g->mid, g->nlev, t[k]);
    return code;
}

static void init_grid(int which)
{
    static const int sizes[G_COUNT][2] = {{256, 8}, {512, 8}, {1024, 8}, {256, 4}, {512, 4}, {2048, 8}};
    iq_grid *g = &g_grids[which];
    g->n = sizes[which][0];
    g->dim = sizes[which][1];
    g->nlev = 0;
    for (int i = 0; i < g->n; i++) {
        for (int j = 0; j < g->dim; j++) {
            const float v = grid_coord(which, i, j);
            g->pts[i * g->dim + j] = v;
            int k = 0;
            while (k < g->nlev && g->lev[k] != v)
                k++;
            if (k == g->nlev && g->nlev < 8) g->lev[g->nlev++] = v;
        }
    }
    for (int a = 1; a < g->nlev; a++) { /* sort the few levels */
        for (int b = a; b > 0 && g->lev[b - 1] > g->lev[b]; b--) {
            const float t = g->lev[b];
            g->lev[b] = g->lev[b - 1];
            g->lev[b - 1] = t;
        }
    }
    for (int k = 0; k + 1 < g->nlev; k++)
        g->mid[k] = 0.5f * (g->lev[k] + g->lev[k + 1]);
    g->ntup = 1;
    for (int k = 0; k < g->dim; k++)
        g->ntup *= g->nlev;

    for (int c = 0; c < g->ntup; c++) {
        float t[8];
        for (int k = g->dim - 1, r = c; k >= 0; k--, r /= g->nlev)
            t[k] = g->lev[r % g->nlev];
        float bd[NB];
        uint16_t *nb = g->nb + c * NB;
        int have = 0;
        for (int i = 0; i < g->n; i++) {
            float dist = 0.0f;
            for (int k = 0; k < g->dim; k++) {
                const float e = t[k] - g->pts[i * g->dim + k];
                dist += e * e;
            }
            if (have == NB && dist >= bd[NB - 1]) continue;
            int p = have < NB ? have++ : NB - 1;
            while (p > 0 && bd[p - 1] > dist) {
                bd[p] = bd[p - 1];
                nb[p] = nb[p - 1];
                p--;
            }
            bd[p] = dist;
            nb[p] = (uint16_t)i;
        }
        g->exact[c] = bd[0] == 0.0f;
    }
    for (int k = 0; k < 128; k++)
        g_sign_index[vkq_ksigns_iq2xs[k]] = (uint8_t)k;
}

static void init_iq2xxs(void)
{
    init_grid(G_IQ2XXS);
}
static void init_iq2xs(void)
{
    init_grid(G_IQ2XS);
}
static void init_iq2s(void)
{
    init_grid(G_IQ2S);
}
static void init_iq3xxs(void)
{
    init_grid(G_IQ3XXS);
}
static void init_iq3s(void)
{
    init_grid(G_IQ3S);
}
static void init_iq1s(void)
{
    init_grid(G_IQ1S);
}
static void (*const k_init[G_COUNT])(void) = {init_iq2xxs, init_iq2xs, init_iq2s,
                                              init_iq3xxs, init_iq3s,  init_iq1s};

static const iq_grid *get_grid(int which)
{
    pthread_once(&g_once[which], k_init[which]);
    return &g_grids[which];
}

/* Grid point nearest to t (dim values, in grid units) under weights w. */
static int grid_best(const iq_grid *g, const float *t, const float *w)
{
    const int c = tuple_code(g, t);
    const uint16_t *nb = g->nb + c * NB;
    if (g->exact[c]) return nb[0];
    int best = nb[0];
    float be = FLT_MAX;
    for (int k = 0; k < NB; k++) {
        const float *p = g->pts + nb[k] * g->dim;
        float e = 0.0f;
        for (int j = 0; j < g->dim; j++) {
            const float d = t[j] - p[j];
            e += w[j] * d * d;
        }
        if (e < be) {
            be = e;
            best = nb[k];
        }
    }
    return best;
}

static int odd_parity(unsigned v)
{
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return (int)(v & 1u);
}

/* ---- one type's description --------------------------------------------------------------- */

typedef struct iq_kind {
    int grid;       /* G_* */
    int parity;     /* signs must have an even number of -1 (7 sign bits stored per 8) */
    int ternary;    /* IQ1: signed grid, no sign bits, y = dl * (grid + delta) */
    int delta_each; /* IQ1_M: delta per 8 values (else per sub-block) */
    int sub;        /* values per sub-block scale */
    int smax;       /* largest sub-block scale code */
    float fmin, fmax;
    float (*db)(float d, int s); /* the decoder's sub-block scale, same operation order */
} iq_kind;

typedef struct iq_code { /* one group of 8 values */
    uint16_t idx[2];     /* grid index (two for the 4-wide IQ3 grids) */
    uint8_t signs;       /* bit j: value j negative */
    uint8_t neg_delta;   /* IQ1: delta is -1/8 */
} iq_code;

/* One group of 8 with magnitudes t (in grid units; a negated entry takes the wrong sign) and
 * sign bits `signs`: grid search, fills code and m, returns the weighted error. */
static float signed_group(const iq_grid *g, const float *xg, const float *wg, const float *t, unsigned signs,
                          float sc, iq_code *code, float *m)
{
    code->signs = (uint8_t)signs;
    code->neg_delta = 0;
    for (int h = 0; h < 8 / g->dim; h++) {
        const int idx = grid_best(g, t + g->dim * h, wg + g->dim * h);
        code->idx[h] = (uint16_t)idx;
        for (int j = 0; j < g->dim; j++) {
            const int e = g->dim * h + j;
            m[e] = ((signs >> e) & 1) ? -g->pts[idx * g->dim + j] : g->pts[idx * g->dim + j];
        }
    }
    float err = 0.0f;
    for (int j = 0; j < 8; j++) {
        const float r = xg[j] - sc * m[j];
        err += wg[j] * r * r;
    }
    return err;
}

/* Quantizes the n values of one sub-block at scale sc: fills codes and m (the decoded value
 * divided by sc) and returns the weighted error. */
static float assign(const iq_kind *K, const iq_grid *g, const float *x, const float *w, int n, float sc,
                    iq_code *code, float *m)
{
    const float isc = sc != 0.0f ? 1.0f / sc : 0.0f;
    float total = 0.0f;
    if (K->ternary) {
        float best_sub = FLT_MAX;
        iq_code cs[2][4];
        float ms[2][32], es[2][4];
        for (int nd = 0; nd < 2; nd++) {
            const float delta = nd ? -0.125f : 0.125f;
            for (int gi = 0; gi < n / 8; gi++) {
                const float *xg = x + 8 * gi, *wg = w + 8 * gi;
                float t[8];
                for (int j = 0; j < 8; j++)
                    t[j] = xg[j] * isc - delta;
                const int idx = grid_best(g, t, wg);
                float e = 0.0f;
                for (int j = 0; j < 8; j++) {
                    const float mj = g->pts[idx * 8 + j] + delta;
                    ms[nd][8 * gi + j] = mj;
                    const float r = xg[j] - sc * mj;
                    e += wg[j] * r * r;
                }
                es[nd][gi] = e;
                cs[nd][gi] = (iq_code){{(uint16_t)idx, 0}, 0, (uint8_t)nd};
            }
        }
        if (K->delta_each) {
            for (int gi = 0; gi < n / 8; gi++) {
                const int nd = es[1][gi] < es[0][gi];
                code[gi] = cs[nd][gi];
                for (int j = 0; j < 8; j++)
                    m[8 * gi + j] = ms[nd][8 * gi + j];
                total += es[nd][gi];
            }
            return total;
        }
        int pick = 0;
        for (int nd = 0; nd < 2; nd++) {
            float e = 0.0f;
            for (int gi = 0; gi < n / 8; gi++)
                e += es[nd][gi];
            if (e < best_sub) {
                best_sub = e;
                pick = nd;
            }
        }
        for (int gi = 0; gi < n / 8; gi++)
            code[gi] = cs[pick][gi];
        for (int j = 0; j < n; j++)
            m[j] = ms[pick][j];
        return best_sub;
    }

    for (int gi = 0; gi < n / 8; gi++) {
        const float *xg = x + 8 * gi, *wg = w + 8 * gi;
        float t[8];
        unsigned signs = 0;
        for (int j = 0; j < 8; j++) {
            t[j] = fabsf(xg[j]) * isc;
            signs |= (unsigned)(xg[j] < 0.0f) << j;
        }
        if (!K->parity || !odd_parity(signs)) {
            total += signed_group(g, xg, wg, t, signs, sc, &code[gi], m + 8 * gi);
            continue;
        }
        /* One value must take the wrong sign: the one whose error grows least, from its
         * nearest level to (|x| + smallest level) on the wrong side. (Searching the best two
         * flips exactly lowered the error by < 0.4% at 30% more time.) */
        int jmin = 0;
        float cmin = FLT_MAX;
        for (int j = 0; j < 8; j++) {
            const float right = t[j] - g->lev[vkq_nearest_level(g->mid, g->nlev, t[j])];
            const float wrong = t[j] + g->lev[0];
            const float cost = wg[j] * (wrong * wrong - right * right);
            if (cost < cmin) {
                cmin = cost;
                jmin = j;
            }
        }
        t[jmin] = -t[jmin];
        total += signed_group(g, xg, wg, t, signs ^ (1u << jmin), sc, &code[gi], m + 8 * gi);
    }
    return total;
}

/* Best scale of one sub-block: the fan of scales, each refit by least squares. */
static float sub_scale(const iq_kind *K, const iq_grid *g, const float *x, const float *w, int n)
{
    float amax = 0.0f;
    for (int j = 0; j < n; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    if (amax < VKQ_TINY) return 0.0f;
    const float top = K->ternary ? 1.125f : g->lev[g->nlev - 1];
    float best_gain = 0.0f, best = amax / top;
    iq_code code[4];
    float m[32];
    const int steps = 5; /* more steps did not lower the error (the refit does the work) */
    for (int s = 0; s < steps; s++) {
        const float f = K->fmin * powf(K->fmax / K->fmin, (float)s / (float)(steps - 1));
        float sc = amax / (top * f);
        for (int it = 0; it < 2; it++) { /* assign, refit, and once more at the refit scale */
            assign(K, g, x, w, n, sc, code, m);
            float sxm = 0.0f, smm = 0.0f;
            for (int j = 0; j < n; j++) {
                sxm += w[j] * x[j] * m[j];
                smm += w[j] * m[j] * m[j];
            }
            if (!(smm > 0.0f) || sxm <= 0.0f) break;
            if (sxm * sxm / smm > best_gain) {
                best_gain = sxm * sxm / smm;
                best = sxm / smm;
            }
            sc = sxm / smm;
        }
    }
    return best;
}

/* The whole super-block: returns d's fp16 bits, fills scale codes (per sub-block) and group
 * codes. */
static uint16_t quant_super(const iq_kind *K, const float *x, const float *w, uint8_t *scode, iq_code *codes)
{
    const iq_grid *g = get_grid(K->grid);
    const int nsub = 256 / K->sub, gps = K->sub / 8;
    float sig[16], smax = 0.0f;
    for (int b = 0; b < nsub; b++) {
        sig[b] = sub_scale(K, g, x + K->sub * b, w + K->sub * b, K->sub);
        smax = fmaxf(smax, sig[b]);
    }
    const float d0 = smax / K->db(1.0f, K->smax);
    float best_total = FLT_MAX;
    uint16_t best_h = 0;
    float m[32];
    for (int c = 0; c < 2; c++) { /* d0, and 5% less: more sub-blocks get a finer code */
        const uint16_t h = vkq_scale_fp16(d0 * (1.0f - 0.05f * (float)c));
        const float d = vkq_fp16_to_f32(h);
        uint8_t ts[16];
        iq_code tc[32] = {{{0, 0}, 0, 0}};
        float total = 0.0f;
        for (int b = 0; b < nsub; b++) {
            const float *xb = x + K->sub * b, *wb = w + K->sub * b;
            int s0 = 0;
            for (int s = 1; s <= K->smax; s++) {
                if (fabsf(K->db(d, s) - sig[b]) < fabsf(K->db(d, s0) - sig[b])) s0 = s;
            }
            float be = FLT_MAX;
            for (int s = s0 - 1; s <= s0 + 1; s++) {
                if (s < 0 || s > K->smax) continue;
                iq_code cc[4];
                const float e = assign(K, g, xb, wb, K->sub, K->db(d, s), cc, m);
                if (e < be) {
                    be = e;
                    ts[b] = (uint8_t)s;
                    for (int k = 0; k < gps; k++)
                        tc[gps * b + k] = cc[k];
                }
            }
            total += be;
        }
        if (c == 0 || total < best_total) {
            best_total = total;
            best_h = h;
            for (int b = 0; b < nsub; b++)
                scode[b] = ts[b];
            for (int k = 0; k < 32; k++)
                codes[k] = tc[k];
        }
    }
    return best_h;
}

static float db_quarter(float d, int s)
{
    return (d * (0.5f + (float)s)) * 0.25f;
}
static float db_half(float d, int s)
{
    return (d * (0.5f + (float)s)) * 0.5f;
}
static float db_odd(float d, int s)
{
    return d * (float)(2 * s + 1);
}

static const iq_kind k_iq2xxs = {G_IQ2XXS, 1, 0, 0, 32, 15, 0.8f, 1.3f, db_quarter};
static const iq_kind k_iq2xs = {G_IQ2XS, 1, 0, 0, 16, 15, 0.8f, 1.3f, db_quarter};
static const iq_kind k_iq2s = {G_IQ2S, 0, 0, 0, 16, 15, 0.8f, 1.3f, db_quarter};
static const iq_kind k_iq3xxs = {G_IQ3XXS, 1, 0, 0, 32, 15, 0.8f, 1.3f, db_half};
static const iq_kind k_iq3s = {G_IQ3S, 0, 0, 0, 32, 15, 0.8f, 1.3f, db_odd};
static const iq_kind k_iq1s = {G_IQ1S, 0, 1, 0, 32, 7, 0.9f, 2.4f, db_odd};
static const iq_kind k_iq1m = {G_IQ1S, 0, 1, 1, 16, 7, 0.9f, 2.4f, db_odd};

/* ---- packing (docs/FORMATS.md §8; element i = 32 ib + 8 l + j) ------------------------------- */

void vkq_quantize_block_iq2_xxs(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[8];
    iq_code c[32];
    vkq_put_u16(blk, quant_super(&k_iq2xxs, x, w, sc, c));
    for (int ib = 0; ib < 8; ib++) {
        uint32_t W = (uint32_t)sc[ib] << 28;
        for (int l = 0; l < 4; l++) {
            blk[2 + 8 * ib + l] = (uint8_t)c[4 * ib + l].idx[0];
            W |= (uint32_t)g_sign_index[c[4 * ib + l].signs] << (7 * l);
        }
        vkq_put_u32(blk + 2 + 8 * ib + 4, W);
    }
}

void vkq_quantize_block_iq2_xs(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[16];
    iq_code c[32];
    vkq_put_u16(blk, quant_super(&k_iq2xs, x, w, sc, c));
    for (int k = 0; k < 32; k++) {
        vkq_put_u16(blk + 2 + 2 * k, c[k].idx[0] | (uint32_t)g_sign_index[c[k].signs] << 9);
    }
    for (int ib = 0; ib < 8; ib++)
        blk[66 + ib] = (uint8_t)(sc[2 * ib] | sc[2 * ib + 1] << 4);
}

void vkq_quantize_block_iq2_s(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[16];
    iq_code c[32];
    vkq_put_u16(blk, quant_super(&k_iq2s, x, w, sc, c));
    for (int ib = 0; ib < 8; ib++) {
        uint8_t qh = 0;
        for (int l = 0; l < 4; l++) {
            const iq_code *cc = &c[4 * ib + l];
            blk[2 + 4 * ib + l] = (uint8_t)cc->idx[0];
            blk[34 + 4 * ib + l] = cc->signs;
            qh |= (uint8_t)((cc->idx[0] >> 8) << (2 * l));
        }
        blk[66 + ib] = qh;
        blk[74 + ib] = (uint8_t)(sc[2 * ib] | sc[2 * ib + 1] << 4);
    }
}

void vkq_quantize_block_iq3_xxs(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[8];
    iq_code c[32];
    vkq_put_u16(blk, quant_super(&k_iq3xxs, x, w, sc, c));
    for (int ib = 0; ib < 8; ib++) {
        uint32_t W = (uint32_t)sc[ib] << 28;
        for (int l = 0; l < 4; l++) {
            const iq_code *cc = &c[4 * ib + l];
            blk[2 + 8 * ib + 2 * l] = (uint8_t)cc->idx[0];
            blk[2 + 8 * ib + 2 * l + 1] = (uint8_t)cc->idx[1];
            W |= (uint32_t)g_sign_index[cc->signs] << (7 * l);
        }
        vkq_put_u32(blk + 66 + 4 * ib, W);
    }
}

void vkq_quantize_block_iq3_s(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[8];
    iq_code c[32];
    vkq_put_u16(blk, quant_super(&k_iq3s, x, w, sc, c));
    for (int b = 106; b < 110; b++)
        blk[b] = 0;
    for (int ib = 0; ib < 8; ib++) {
        uint8_t qh = 0;
        for (int l = 0; l < 4; l++) {
            const iq_code *cc = &c[4 * ib + l];
            for (int h = 0; h < 2; h++) {
                blk[2 + 8 * ib + 2 * l + h] = (uint8_t)cc->idx[h];
                qh |= (uint8_t)((cc->idx[h] >> 8) << (2 * l + h));
            }
            blk[74 + 4 * ib + l] = cc->signs;
        }
        blk[66 + ib] = qh;
        blk[106 + ib / 2] |= (uint8_t)(sc[ib] << (4 * (ib % 2)));
    }
}

void vkq_quantize_block_iq1_s(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[8];
    iq_code c[32];
    vkq_put_u16(blk, quant_super(&k_iq1s, x, w, sc, c));
    for (int ib = 0; ib < 8; ib++) {
        uint32_t qh = (uint32_t)sc[ib] << 12 | (uint32_t)c[4 * ib].neg_delta << 15;
        for (int l = 0; l < 4; l++) {
            blk[2 + 4 * ib + l] = (uint8_t)c[4 * ib + l].idx[0];
            qh |= (uint32_t)(c[4 * ib + l].idx[0] >> 8) << (3 * l);
        }
        vkq_put_u16(blk + 34 + 2 * ib, qh);
    }
}

/* IQ1_M keeps d's 16 bits in the top nibbles of its four scale words. */
void vkq_quantize_block_iq1_m(const float *x, const float *w, uint8_t *blk)
{
    uint8_t sc[16];
    iq_code c[32];
    const uint16_t dbits = quant_super(&k_iq1m, x, w, sc, c);
    uint32_t sw[4] = {0, 0, 0, 0};
    for (int ib = 0; ib < 8; ib++) {
        for (int l = 0; l < 4; l++) {
            const iq_code *cc = &c[4 * ib + l];
            blk[4 * ib + l] = (uint8_t)cc->idx[0];
        }
        for (int h = 0; h < 2; h++) {
            const iq_code *a = &c[4 * ib + 2 * h], *b = &c[4 * ib + 2 * h + 1];
            blk[32 + 2 * ib + h] = (uint8_t)(((a->idx[0] >> 8) | a->neg_delta << 3) |
                                             ((b->idx[0] >> 8) | b->neg_delta << 3) << 4);
        }
        sw[ib / 2] |= (uint32_t)(sc[2 * ib] | sc[2 * ib + 1] << 3) << (6 * (ib % 2));
    }
    for (int k = 0; k < 4; k++) {
        sw[k] |= (uint32_t)((dbits >> (4 * k)) & 0xF) << 12;
        vkq_put_u16(blk + 48 + 2 * k, sw[k]);
    }
}
