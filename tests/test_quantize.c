/* vkq_quantize for every type: decode_cpu(quantize(W)) within the type's NMSE bound
 * (types.c nmse_quant), error ranking by bits per weight, the searches beat absmax
 * round-to-nearest computed here, importance weighting helps the weighted error, results do
 * not depend on threads, bad input is rejected with dst untouched. Prints the NMSE and
 * single-thread weights/s of every type. Fresh data each run; VKQ_SEED replays. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/decode_cpu.h"
#include "core/fp_convert.h"
#include "formats/tables_gen.h"
#include "check.h"
#include "test_util.h"
#include "core/types.h"
#include "vkquant/quant.h"

#define ROWS      64
#define K         4096
#define N         (ROWS * K)
#define BASE_ROWS 8 /* rows used for the (slow, brute-force) baselines */

static double now_s(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t bytes_of(vkq_type t, uint64_t rows, uint64_t k)
{
    uint64_t b = 0;
    if (vkq_type_bytes(t, k, &b) != VKQ_SUCCESS) return 0;
    return (size_t)(b * rows);
}

/* Quantizes rows x k with `threads` and decodes into y (if y); returns the bytes (caller
 * frees), NULL on a failed status (reported). */
static uint8_t *quantize(vkq_type t, const float *x, const float *imp, uint64_t rows, uint64_t k,
                         uint32_t threads, float *y)
{
    const size_t nb = bytes_of(t, rows, k);
    uint8_t *q = xmalloc(nb);
    const vkq_quantize_desc d = {.type = t,
                                 .rows = rows,
                                 .k = k,
                                 .src = x,
                                 .importance = imp,
                                 .dst = q,
                                 .dst_size = nb,
                                 .n_threads = threads};
    const vkq_status st = vkq_quantize(&d);
    CHECK(st == VKQ_SUCCESS, "%s: vkq_quantize -> %s", vkq_type_get(t)->name, vkq_status_string(st));
    if (st != VKQ_SUCCESS) {
        free(q);
        return NULL;
    }
    if (y) CHECK(vkq_decode_cpu(t, q, nb, y, rows * k) == VKQ_SUCCESS, "decode");
    return q;
}

/* sum imp_col (x - y)^2 / sum imp_col x^2 over n values of rows of length k, in f64. */
static double wnmse(const float *x, const float *y, const float *imp, size_t n, size_t k)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        const double w = imp ? imp[i % k] : 1.0, e = (double)x[i] - y[i];
        num += w * e * e;
        den += w * (double)x[i] * x[i];
    }
    return den > 0 ? num / den : 0;
}

/* ---- absmax round-to-nearest baselines (f64, unquantized scales: generous to them) ------- */

static void rtn_sym(const float *x, int n, int qmin, int qmax, double *y)
{
    double amax = 0, m = 0;
    for (int j = 0; j < n; j++)
        if (fabs(x[j]) > amax) amax = fabs(x[j]), m = x[j];
    const double d = m / (m > 0 ? qmax : qmin);
    for (int j = 0; j < n; j++) {
        double q = d != 0 ? nearbyint(x[j] / d) : 0;
        q = fmin(fmax(q, qmin), qmax);
        y[j] = q * d;
    }
}

static void rtn_minmax(const float *x, int n, int qmax, double *y)
{
    double lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++)
        lo = fmin(lo, x[j]), hi = fmax(hi, x[j]);
    lo = fmin(lo, 0);
    const double d = (hi - lo) / qmax;
    for (int j = 0; j < n; j++)
        y[j] = d > 0 ? fmin(fmax(nearbyint((x[j] - lo) / d), 0), qmax) * d + lo : lo;
}

static void rtn_codebook(const float *x, int n, const double *lev, int nlev, double *y)
{
    double amax = 0, m = 0, lmax = 0;
    for (int k = 0; k < nlev; k++)
        lmax = fmax(lmax, fabs(lev[k]));
    for (int j = 0; j < n; j++)
        if (fabs(x[j]) > amax) amax = fabs(x[j]), m = x[j];
    double top = 0; /* the level of largest magnitude with m's sign, as ggml's absmax maps it */
    for (int k = 0; k < nlev; k++)
        if (fabs(lev[k]) > fabs(top) && (lev[k] > 0) == (m > 0)) top = lev[k];
    const double d = top != 0 ? m / top : 0;
    for (int j = 0; j < n; j++) {
        int best = 0;
        for (int k = 1; k < nlev; k++)
            if (fabs(x[j] - lev[k] * d) < fabs(x[j] - lev[best] * d)) best = k;
        y[j] = lev[best] * d;
    }
}

typedef struct grid_ref {
    const void *rows;
    int n, dim, bytes; /* entries, values per entry, sizeof an entry (8 or 4) */
    int signed_grid;   /* IQ1 */
    int parity;
} grid_ref;

static double grid_val(const grid_ref *g, int i, int j)
{
    uint64_t r = g->bytes == 8 ? ((const uint64_t *)g->rows)[i] : ((const uint32_t *)g->rows)[i];
    const uint8_t b = (uint8_t)(r >> (8 * j));
    return g->signed_grid ? (double)(int8_t)b : (double)b;
}

/* Absmax RTN on a grid: scale = absmax / top grid value per sub-block of `sub`, each 8 values
 * to the exactly nearest grid point (brute force over the whole grid) with sign(x) signs (the
 * smallest |x| flipped where parity demands it); IQ1 uses the better of the two deltas. */
static void rtn_grid(const grid_ref *g, const float *x, int sub, double *y)
{
    double top = 0;
    for (int i = 0; i < g->n; i++)
        for (int j = 0; j < g->dim; j++)
            top = fmax(top, grid_val(g, i, j));
    if (g->signed_grid) top += 0.125;
    double amax = 0;
    for (int j = 0; j < sub; j++)
        amax = fmax(amax, fabs(x[j]));
    const double sc = amax / top;
    for (int g8 = 0; g8 < sub / 8; g8++) {
        const float *xg = x + 8 * g8;
        double t[8], sign[8];
        int neg = 0, jmin = 0;
        for (int j = 0; j < 8; j++) {
            sign[j] = g->signed_grid ? 1 : (xg[j] < 0 ? -1 : 1);
            t[j] = sc > 0 ? (g->signed_grid ? xg[j] : fabs(xg[j])) / sc : 0;
            neg += xg[j] < 0;
            if (fabs(xg[j]) < fabs(xg[jmin])) jmin = j;
        }
        if (g->parity && (neg & 1)) {
            sign[jmin] = -sign[jmin];
            t[jmin] = -t[jmin];
        }
        double best = INFINITY;
        for (int nd = 0; nd < (g->signed_grid ? 2 : 1); nd++) {
            const double delta = g->signed_grid ? (nd ? -0.125 : 0.125) : 0;
            for (int h = 0; h < 8 / g->dim; h++) {
                double be = INFINITY;
                int bi = 0;
                for (int i = 0; i < g->n; i++) {
                    double e = 0;
                    for (int j = 0; j < g->dim; j++) {
                        const double r = t[g->dim * h + j] - grid_val(g, i, j) - delta;
                        e += r * r;
                    }
                    if (e < be) be = e, bi = i;
                }
                if (g->dim == 8 && be < best) {
                    best = be;
                    for (int j = 0; j < 8; j++)
                        y[8 * g8 + j] = sc * sign[j] * (grid_val(g, bi, j) + delta);
                } else if (g->dim == 4) {
                    for (int j = 0; j < 4; j++)
                        y[8 * g8 + 4 * h + j] = sc * sign[4 * h + j] * grid_val(g, bi, j);
                }
            }
        }
    }
}

/* The baseline of each type: how it rounds each sub-block of `sub` values to the nearest
 * level. No entry (sub 0): no baseline for the type. */
typedef enum rtn_kind {
    RTN_SYM,     /* symmetric absmax scale, integer codes a..b */
    RTN_MINMAX,  /* min/max scale and offset, codes 0..a */
    RTN_IQ4,     /* codebook kvalues_iq4nl */
    RTN_NF4,     /* codebook nf4 */
    RTN_GRID     /* the grid g */
} rtn_kind;

/* Baseline reconstruction of the first n values of x for `type`, 0 if none is defined. */
static int baseline(vkq_type type, const float *x, size_t n, double *y)
{
    static const grid_ref g2xxs = {vkq_iq2xxs_grid, 256, 8, 8, 0, 1},
                          g2xs = {vkq_iq2xs_grid, 512, 8, 8, 0, 1}, g2s = {vkq_iq2s_grid, 1024, 8, 8, 0, 0},
                          g3xxs = {vkq_iq3xxs_grid, 256, 4, 4, 0, 1}, g3s = {vkq_iq3s_grid, 512, 4, 4, 0, 0},
                          g1s = {vkq_iq1s_grid, 2048, 8, 8, 1, 0};
    static const struct {
        rtn_kind kind;
        int sub, a, b;
        const grid_ref *g;
    } k[VKQ_TYPE_MAX_ID + 1] = {
        [VKQ_TYPE_Q4_0] = {RTN_SYM, 32, -8, 7, NULL},       [VKQ_TYPE_Q5_0] = {RTN_SYM, 32, -16, 15, NULL},
        [VKQ_TYPE_Q8_0] = {RTN_SYM, 32, -127, 127, NULL},   [VKQ_TYPE_Q4_1] = {RTN_MINMAX, 32, 15, 0, NULL},
        [VKQ_TYPE_Q5_1] = {RTN_MINMAX, 32, 31, 0, NULL},    [VKQ_TYPE_Q2_K] = {RTN_MINMAX, 16, 3, 0, NULL},
        [VKQ_TYPE_Q3_K] = {RTN_SYM, 16, -4, 3, NULL},       [VKQ_TYPE_Q4_K] = {RTN_MINMAX, 32, 15, 0, NULL},
        [VKQ_TYPE_Q5_K] = {RTN_MINMAX, 32, 31, 0, NULL},    [VKQ_TYPE_Q6_K] = {RTN_SYM, 16, -32, 31, NULL},
        [VKQ_TYPE_Q2_0] = {RTN_SYM, 64, -1, 2, NULL},       [VKQ_TYPE_TQ1_0] = {RTN_SYM, 256, -1, 1, NULL},
        [VKQ_TYPE_TQ2_0] = {RTN_SYM, 256, -1, 1, NULL},     [VKQ_TYPE_IQ4_NL] = {RTN_IQ4, 32, 0, 0, NULL},
        [VKQ_TYPE_IQ4_XS] = {RTN_IQ4, 32, 0, 0, NULL},      [VKQ_TYPE_NF4] = {RTN_NF4, 64, 0, 0, NULL},
        [VKQ_TYPE_IQ2_XXS] = {RTN_GRID, 32, 0, 0, &g2xxs},  [VKQ_TYPE_IQ2_XS] = {RTN_GRID, 16, 0, 0, &g2xs},
        [VKQ_TYPE_IQ2_S] = {RTN_GRID, 16, 0, 0, &g2s},      [VKQ_TYPE_IQ3_XXS] = {RTN_GRID, 32, 0, 0, &g3xxs},
        [VKQ_TYPE_IQ3_S] = {RTN_GRID, 32, 0, 0, &g3s},      [VKQ_TYPE_IQ1_S] = {RTN_GRID, 32, 0, 0, &g1s},
        [VKQ_TYPE_IQ1_M] = {RTN_GRID, 16, 0, 0, &g1s},
    };
    if ((unsigned)type > VKQ_TYPE_MAX_ID || k[type].sub == 0) return 0;
    double iq4[16], nf4[16];
    for (int c = 0; c < 16; c++) {
        iq4[c] = vkq_kvalues_iq4nl[c];
        nf4[c] = vkq_f32_from_bits(vkq_nf4_bits[c]);
    }
    const int sub = k[type].sub;
    for (size_t off = 0; off < n; off += (size_t)sub) {
        const float *xs = x + off;
        double *ys = y + off;
        switch (k[type].kind) {
        case RTN_SYM:
            rtn_sym(xs, sub, k[type].a, k[type].b, ys);
            break;
        case RTN_MINMAX:
            rtn_minmax(xs, sub, k[type].a, ys);
            break;
        case RTN_IQ4:
            rtn_codebook(xs, sub, iq4, 16, ys);
            break;
        case RTN_NF4:
            rtn_codebook(xs, sub, nf4, 16, ys);
            break;
        case RTN_GRID:
            rtn_grid(k[type].g, xs, sub, ys);
            break;
        }
    }
    return 1;
}

/* ---- the tests ------------------------------------------------------------------------------ */

static double g_nmse[VKQ_TYPE_MAX_ID + 1];

static void round_trip_every_type(const float *x, float *y)
{
    printf("%-8s %8s %12s %12s %10s  %s\n", "type", "bpw", "nmse", "bound", "Mw/s wall",
           "first 8 rows: nmse vs absmax rtn");
    double *yb = xmalloc(sizeof(double) * BASE_ROWS * K);
    float *yb32 = xmalloc(sizeof(float) * BASE_ROWS * K);
    for (uint32_t i = 0; i < vkq_type_count(); i++) {
        const vkq_type t = vkq_type_at(i);
        const vkq_type_traits *tr = vkq_traits(t);
        CHECK(vkq_quantize_supported(t), "%s: no quantizer", tr->info.name);
        const double t0 = now_s();
        uint8_t *q = quantize(t, x, NULL, ROWS, K, 1, y);
        const double dt = now_s() - t0;
        if (!q) continue;
        const double e = wnmse(x, y, NULL, N, K);
        g_nmse[t] = e;
        CHECK(e <= tr->nmse_quant, "%s: round-trip NMSE %.4g above its bound %.4g", tr->info.name, e,
              tr->nmse_quant);
        if (t == VKQ_TYPE_F32) CHECK(memcmp(x, y, sizeof(float) * N) == 0, "F32 not exact");
        /* The searches must beat absmax round-to-nearest (whose scales are not even rounded
         * to their storage format here) on the same rows. */
        char rtn[48] = "-";
        if (baseline(tr->info.type, x, (size_t)BASE_ROWS * K, yb)) {
            for (size_t j = 0; j < (size_t)BASE_ROWS * K; j++)
                yb32[j] = (float)yb[j];
            const double eb = wnmse(x, yb32, NULL, (size_t)BASE_ROWS * K, K);
            const double eq = wnmse(x, y, NULL, (size_t)BASE_ROWS * K, K);
            snprintf(rtn, sizeof rtn, "%.4g vs %.4g", eq, eb);
            CHECK(eq < eb, "%s: NMSE %.4g not below absmax RTN's %.4g", tr->info.name, eq, eb);
        }
        printf("%-8s %8.4f %12.4g %12.4g %10.2f  %s\n", tr->info.name, tr->info.bits_per_weight, e,
               tr->nmse_quant, N / dt * 1e-6, rtn);
        free(q);
    }
    free(yb);
    free(yb32);
}

/* More bits, less error, along each family. */
static void ranking_by_bits(void)
{
    /* Each chain ends at END (not a type id). */
    enum { END = -1 };
    static const int chains[][9] = {
        {VKQ_TYPE_Q4_0, VKQ_TYPE_Q5_0, VKQ_TYPE_Q8_0, END},
        {VKQ_TYPE_Q4_1, VKQ_TYPE_Q5_1, VKQ_TYPE_Q8_0, END},
        {VKQ_TYPE_Q2_K, VKQ_TYPE_Q3_K, VKQ_TYPE_Q4_K, VKQ_TYPE_Q5_K, VKQ_TYPE_Q6_K, VKQ_TYPE_Q8_K, END},
        {VKQ_TYPE_IQ1_S, VKQ_TYPE_IQ1_M, VKQ_TYPE_IQ2_XXS, VKQ_TYPE_IQ2_XS, VKQ_TYPE_IQ2_S, VKQ_TYPE_IQ3_XXS,
         VKQ_TYPE_IQ3_S, VKQ_TYPE_IQ4_XS, END},
        {VKQ_TYPE_Q1_0, VKQ_TYPE_Q2_0, VKQ_TYPE_Q4_0, END},
        {VKQ_TYPE_BF16, VKQ_TYPE_F16, VKQ_TYPE_F32, END},
        {VKQ_TYPE_MXFP4, VKQ_TYPE_Q4_0, END},
        {VKQ_TYPE_NVFP4, VKQ_TYPE_Q5_0, END},
    };
    for (size_t c = 0; c < sizeof chains / sizeof chains[0]; c++) {
        for (int i = 0; chains[c][i + 1] != END; i++) {
            const vkq_type_traits *a = vkq_traits((vkq_type)chains[c][i]);
            const vkq_type_traits *b = vkq_traits((vkq_type)chains[c][i + 1]);
            CHECK(a && b && g_nmse[a->info.type] > g_nmse[b->info.type],
                  "ranking: %s (%.4g) should have more error than %s (%.4g)", a ? a->info.name : "?",
                  a ? g_nmse[a->info.type] : 0, b ? b->info.name : "?", b ? g_nmse[b->info.type] : 0);
        }
    }
}

/* TQ1_0 and TQ2_0 store the same ternary choice: the decoded values are identical. */
static void ternary_types_agree(const float *x)
{
    float *a = xmalloc(sizeof(float) * N), *b = xmalloc(sizeof(float) * N);
    free(quantize(VKQ_TYPE_TQ1_0, x, NULL, ROWS, K, 0, a));
    free(quantize(VKQ_TYPE_TQ2_0, x, NULL, ROWS, K, 0, b));
    CHECK(memcmp(a, b, sizeof(float) * N) == 0, "TQ1_0 and TQ2_0 decode differently");
    free(a);
    free(b);
}

/* With a non-uniform importance vector, the importance-weighted error of the weighted
 * quantization is at most that of the unweighted one; types without a choice to make ignore
 * the vector (identical bytes). Uses the first 16 rows. */
static void importance_helps(const float *x, uint64_t *rng)
{
    const uint64_t rows = 16;
    float *imp = xmalloc(sizeof(float) * K);
    for (int i = 0; i < K; i++) { /* log-normal-ish spread over ~3 decades, some exact zeros */
        imp[i] = vkq_test_rand_below(rng, 50) == 0
                     ? 0.0f
                     : (float)exp2(-5.0 + 10.0 * vkq_test_rand_below(rng, 1000) / 1000.0);
    }
    float *y0 = xmalloc(sizeof(float) * rows * K), *y1 = xmalloc(sizeof(float) * rows * K);
    for (uint32_t i = 0; i < vkq_type_count(); i++) {
        const vkq_type t = vkq_type_at(i);
        const char *name = vkq_type_get(t)->name;
        uint8_t *q0 = quantize(t, x, NULL, rows, K, 0, y0);
        uint8_t *q1 = quantize(t, x, imp, rows, K, 0, y1);
        if (q0 && q1) {
            const int no_choice =
                t == VKQ_TYPE_F32 || t == VKQ_TYPE_F16 || t == VKQ_TYPE_BF16 || t == VKQ_TYPE_Q8_K;
            if (no_choice) {
                CHECK(memcmp(q0, q1, bytes_of(t, rows, K)) == 0, "%s: importance changed bytes", name);
            } else {
                const double e0 = wnmse(x, y0, imp, rows * K, K), e1 = wnmse(x, y1, imp, rows * K, K);
                CHECK(e1 <= e0, "%s: weighted error with importance %.5g > without %.5g", name, e1, e0);
                printf("importance %-8s weighted nmse %.4g -> %.4g\n", name, e0, e1);
            }
        }
        free(q0);
        free(q1);
    }
    free(imp);
    free(y0);
    free(y1);
}

/* 1, 2 and 3 threads, and a repeat, give identical bytes. */
static void threads_and_repeats_identical(const float *x)
{
    const uint64_t rows = 7, k = 512;
    for (uint32_t i = 0; i < vkq_type_count(); i++) {
        const vkq_type t = vkq_type_at(i);
        const size_t nb = bytes_of(t, rows, k);
        uint8_t *a = quantize(t, x, NULL, rows, k, 1, NULL);
        uint8_t *b = quantize(t, x, NULL, rows, k, 2, NULL);
        uint8_t *c = quantize(t, x, NULL, rows, k, 3, NULL);
        uint8_t *d = quantize(t, x, NULL, rows, k, 2, NULL);
        if (a && b && c && d) {
            CHECK(memcmp(a, b, nb) == 0 && memcmp(a, c, nb) == 0, "%s: bytes depend on the thread count",
                  vkq_type_get(t)->name);
            CHECK(memcmp(b, d, nb) == 0, "%s: a repeat gave other bytes", vkq_type_get(t)->name);
        }
        free(a);
        free(b);
        free(c);
        free(d);
    }
}

static void bad_input(void)
{
    enum { R = 2, KK = 256 };
    float x[R * KK], imp[KK];
    for (int i = 0; i < R * KK; i++)
        x[i] = (float)(i % 17) - 8.0f;
    for (int i = 0; i < KK; i++)
        imp[i] = 1.0f;
    uint8_t dst[R * 292 + 16];
    const vkq_quantize_desc ok = {.type = VKQ_TYPE_Q4_K,
                                  .rows = R,
                                  .k = KK,
                                  .src = x,
                                  .dst = dst,
                                  .dst_size = sizeof dst,
                                  .n_threads = 1};
    struct {
        const char *what;
        vkq_quantize_desc d;
        vkq_status want;
    } c[24];
    int n = 0;
#define CASE(W, FIELD, VALUE, ST)                                                                            \
    do {                                                                                                     \
        c[n].what = (W);                                                                                     \
        c[n].d = ok;                                                                                         \
        c[n].d.FIELD = (VALUE);                                                                              \
        c[n++].want = (ST);                                                                                  \
    } while (0)
    CASE("NULL src", src, NULL, VKQ_ERROR_INVALID_ARGUMENT);
    CASE("NULL dst", dst, NULL, VKQ_ERROR_INVALID_ARGUMENT);
    CASE("rows 0", rows, 0, VKQ_ERROR_INVALID_ARGUMENT);
    CASE("k 0", k, 0, VKQ_ERROR_INVALID_ARGUMENT);
    CASE("k not a multiple of 256", k, 128, VKQ_ERROR_BAD_SHAPE);
    CASE("dst_size one short", dst_size, 2 * 144 - 1, VKQ_ERROR_INVALID_ARGUMENT);
    CASE("unknown type 4", type, (vkq_type)4, VKQ_ERROR_UNKNOWN_TYPE);
    CASE("unknown type 999", type, (vkq_type)999, VKQ_ERROR_UNKNOWN_TYPE);
    CASE("unknown type -1", type, (vkq_type)-1, VKQ_ERROR_UNKNOWN_TYPE);
    CASE("rows * k overflows", rows, UINT64_MAX / 2, VKQ_ERROR_TOO_LARGE);
    for (int i = 0; i < n; i++) {
        memset(dst, 0xA5, sizeof dst);
        const vkq_status st = vkq_quantize(&c[i].d);
        CHECK(st == c[i].want, "%s: got %s", c[i].what, vkq_status_string(st));
        int untouched = 1;
        for (size_t b = 0; b < sizeof dst; b++)
            untouched &= dst[b] == 0xA5;
        CHECK(untouched, "%s: dst written", c[i].what);
    }
    CHECK(vkq_quantize(NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL desc");

    /* Non-finite source values (first and last element) and bad importance, every type. */
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (uint32_t ti = 0; ti < vkq_type_count(); ti++) {
        vkq_quantize_desc d = ok;
        d.type = vkq_type_at(ti);
        d.dst_size = bytes_of(d.type, R, KK);
        for (int pos = 0; pos < 2; pos++) {
            for (int b = 0; b < 3; b++) {
                const int at = pos ? R * KK - 1 : 0;
                const float keep = x[at];
                x[at] = bad[b];
                memset(dst, 0xA5, sizeof dst);
                const vkq_status st = vkq_quantize(&d);
                x[at] = keep;
                int untouched = 1;
                for (size_t k = 0; k < sizeof dst; k++)
                    untouched &= dst[k] == 0xA5;
                CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && untouched, "%s: non-finite src at %d -> %s%s",
                      vkq_type_get(d.type)->name, at, vkq_status_string(st),
                      untouched ? "" : ", dst written");
            }
        }
        const float bad_imp[] = {-1.0f, NAN, INFINITY};
        for (int b = 0; b < 3; b++) {
            imp[KK / 2] = bad_imp[b];
            d.importance = imp;
            memset(dst, 0xA5, sizeof dst);
            const vkq_status st = vkq_quantize(&d);
            int untouched = 1;
            for (size_t k = 0; k < sizeof dst; k++)
                untouched &= dst[k] == 0xA5;
            CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && untouched, "%s: importance %g -> %s",
                  vkq_type_get(d.type)->name, bad_imp[b], vkq_status_string(st));
        }
        imp[KK / 2] = 1.0f;
    }
    CHECK(!vkq_quantize_supported((vkq_type)4) && !vkq_quantize_supported((vkq_type)-1),
          "unknown types reported as supported");
}

/* The fields the decoders ignore: Q8_K's bsums are the sums of each 16 quants, Q8_1's s is
 * fp16(d * sum of the 32 quants). */
static void q8_auxiliary_fields(const float *x)
{
    const uint64_t rows = 4;
    uint8_t *k = quantize(VKQ_TYPE_Q8_K, x, NULL, rows, K, 1, NULL);
    for (uint64_t b = 0; k && b < rows * K / 256; b++) {
        const uint8_t *blk = k + 292 * b;
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++)
                sum += (int8_t)blk[4 + 16 * g + j];
            const int16_t bs = (int16_t)(uint16_t)(blk[260 + 2 * g] | blk[261 + 2 * g] << 8);
            CHECK(bs == sum, "Q8_K block %" PRIu64 " bsums[%d] = %d, quants sum to %d", b, g, bs, sum);
        }
    }
    uint8_t *one = quantize(VKQ_TYPE_Q8_1, x, NULL, rows, K, 1, NULL);
    for (uint64_t b = 0; one && b < rows * K / 32; b++) {
        const uint8_t *blk = one + 36 * b;
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += (int8_t)blk[4 + j];
        const float d = vkq_fp16_to_f32((uint16_t)(blk[0] | blk[1] << 8));
        const uint16_t s = (uint16_t)(blk[2] | blk[3] << 8);
        CHECK(s == vkq_f32_to_fp16((float)sum * d), "Q8_1 block %" PRIu64 ": s %04x, want %04x", b, s,
              vkq_f32_to_fp16((float)sum * d));
    }
    free(k);
    free(one);
}

/* All-zero input decodes to exact zeros (every type can represent 0). */
static void zero_and_constant_blocks(void)
{
    float x[256] = {0}, y[256];
    for (uint32_t i = 0; i < vkq_type_count(); i++) {
        const vkq_type t = vkq_type_at(i);
        free(quantize(t, x, NULL, 1, 256, 1, y));
        int zero = 1;
        for (int j = 0; j < 256; j++)
            zero &= y[j] == 0.0f;
        CHECK(zero, "%s: zeros do not round-trip", vkq_type_get(t)->name);
    }
}

/* Tiny (down to binary32 subnormals) and large finite values decode to finite numbers, and a
 * block of tiny values does not blow up: |y| stays within 2 * max|x| of its block. */
static void extreme_magnitudes_stay_finite(void)
{
    static const float mags[] = {1e-42f, 1e-36f, 1e-30f, 1e-20f, 3e4f};
    float x[256], y[256];
    for (uint32_t i = 0; i < vkq_type_count(); i++) {
        const vkq_type t = vkq_type_at(i);
        for (size_t m = 0; m < sizeof mags / sizeof mags[0]; m++) {
            for (int j = 0; j < 256; j++)
                x[j] = mags[m] * (float)((j * 37) % 19 - 9) / 9.0f;
            free(quantize(t, x, NULL, 1, 256, 1, y));
            int ok = 1;
            for (int j = 0; j < 256; j++)
                ok &= isfinite(y[j]) && fabsf(y[j]) <= 2.0f * mags[m];
            CHECK(ok, "%s: magnitude %g gives non-finite or oversized values", vkq_type_get(t)->name,
                  mags[m]);
        }
    }
}

/* An all-zero importance vector (nothing matters) still gives valid, finite blocks whose values
 * stay within the range of the input, for every type. */
static void zero_importance_is_valid(const float *x)
{
    float imp[K] = {0}, *y = xmalloc(sizeof(float) * 2 * K);
    float amax = 0;
    for (int i = 0; i < 2 * K; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    for (uint32_t i = 0; i < vkq_type_count(); i++) {
        const vkq_type t = vkq_type_at(i);
        free(quantize(t, x, imp, 2, K, 1, y));
        int ok = 1;
        for (int j = 0; j < 2 * K; j++)
            ok &= isfinite(y[j]) && fabsf(y[j]) <= 2.0f * amax;
        CHECK(ok, "%s: zero importance gives non-finite or oversized values", vkq_type_get(t)->name);
    }
    free(y);
}

int main(void)
{
    const uint64_t seed = vkq_test_seed();
    printf("seed %" PRIu64 " (VKQ_SEED to replay)\n", seed);
    uint64_t rng = seed;
    float *x = xmalloc(sizeof(float) * N), *y = xmalloc(sizeof(float) * N);
    vkq_test_llm_weights(&rng, x, ROWS, K);

    round_trip_every_type(x, y);
    ranking_by_bits();
    ternary_types_agree(x);
    q8_auxiliary_fields(x);
    importance_helps(x, &rng);
    threads_and_repeats_identical(x);
    bad_input();
    zero_and_constant_blocks();
    extreme_magnitudes_stay_finite();
    zero_importance_is_valid(x);

    free(x);
    free(y);
    if (g_failures) {
        fprintf(stderr, "%d failure(s); seed %" PRIu64 "\n", g_failures, seed);
        return 1;
    }
    printf("all quantizer checks passed\n");
    return 0;
}
