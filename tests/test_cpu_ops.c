/* src/cpu/ops.h against f64 references written here, on fresh random data (VKQ_SEED replays):
 * rmsnorm, rope (normal and NeoX, partial rotation, scaled frequencies), glu (finite for any
 * finite gate), add and scale (bit-exact: one fp32 rounding), kv_store for every cache type
 * (round trip through vkq_decode_cpu within the type's bound, the rounding rule checked on the
 * stored codes), attention (GQA shapes, batches at pos0 0 and 100, window, softcap, every K and
 * V cache type; the reference decodes the cache with vkq_decode_cpu, so only the arithmetic
 * differs), the MoE router (ties, norm_topk), each with a pool of 2 and without one; and the
 * rejected arguments. VKQ_OPS_BENCH=1 also times attention of the gemma-like shapes. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/fp_convert.h"
#include "cpu/ops.h"
#include "formats/tables_gen.h"
#include "test_util.h"
#include "vkquant/cpu.h"

static uint64_t g_rng;

/* Uniform in [-1, 1). */
static float urand(void)
{
    return (float)((double)(vkq_test_rand(&g_rng) >> 40) / (double)(1u << 23) - 1.0);
}

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = urand() * scale;
    }
}

static vkq_cpu_pool g_pools[2]; /* none, and 2 threads */
#define N_POOLS 2

/* ---- rmsnorm -------------------------------------------------------------------------------- */

static void test_rmsnorm(void)
{
    const uint32_t ns[] = {640, 256, 4096};
    for (int pi = 0; pi < N_POOLS; pi++) {
        for (int ni = 0; ni < 3; ni++) {
            for (int with_w = 0; with_w < 2; with_w++) {
                for (int in_place = 0; in_place < 2; in_place++) {
                    const uint32_t n = ns[ni], rows = ni == 2 ? 70 : 9;
                    const float eps = 1e-6f;
                    float *x = xmalloc((size_t)n * rows * 4), *w = xmalloc((size_t)n * 4);
                    float *out = xmalloc((size_t)n * rows * 4);
                    for (uint32_t r = 0; r < rows; r++) {
                        fill(x + (size_t)r * n, n, (float)(r + 1) * 0.37f);
                    }
                    fill(w, n, 2.0f);
                    float *dst = in_place ? x : out;
                    double *ref = xmalloc((size_t)n * rows * sizeof(double));
                    for (uint32_t r = 0; r < rows; r++) {
                        double ss = 0;
                        for (uint32_t i = 0; i < n; i++) {
                            ss += (double)x[r * n + i] * x[r * n + i];
                        }
                        const double s = 1.0 / sqrt(ss / n + eps);
                        for (uint32_t i = 0; i < n; i++) {
                            ref[r * n + i] = x[r * n + i] * s * (with_w ? w[i] : 1.0);
                        }
                    }
                    CHECK_OK(vkq_cpu_rmsnorm(g_pools[pi], x, with_w ? w : NULL, dst, n, rows, eps));
                    double worst = 0;
                    for (size_t i = 0; i < (size_t)n * rows; i++) {
                        const double e = fabs(dst[i] - ref[i]) / (fabs(ref[i]) + 1e-30);
                        worst = e > worst ? e : worst;
                    }
                    CHECK(worst <= 1e-6, "rmsnorm n %u rows %u w %d in place %d pool %d: relative error %.3g", n,
                          rows, with_w, in_place, pi, worst);
                    free(x);
                    free(w);
                    free(out);
                    free(ref);
                }
            }
        }
    }
}

/* ---- rope ----------------------------------------------------------------------------------- */

static void test_rope(void)
{
    struct { uint32_t n_tokens, n_heads, head_dim, n_rot, pos0; } cases[] = {
        {5, 3, 64, 64, 0}, {7, 2, 128, 32, 100}, {300, 4, 256, 256, 17}, {3, 8, 80, 40, 100000},
    };
    for (int pi = 0; pi < N_POOLS; pi++) {
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            for (int neox = 0; neox < 2; neox++) {
                const uint32_t T = cases[ci].n_tokens, H = cases[ci].n_heads, D = cases[ci].head_dim;
                const uint32_t R = cases[ci].n_rot, pos0 = cases[ci].pos0;
                const size_t n = (size_t)T * H * D;
                float *x = xmalloc(n * 4), *x0 = xmalloc(n * 4), *inv = xmalloc(R / 2 * 4);
                fill(x, n, 3.0f);
                memcpy(x0, x, n * 4);
                /* freq_scale * base^(-2i/n_rot) / factor_i, factors as a long-context table. */
                const double base = 10000.0 * (1 + ci), fs = ci == 1 ? 0.25 : 1.0;
                for (uint32_t i = 0; i < R / 2; i++) {
                    const double factor = ci == 2 ? 1.0 + 7.0 * i / (R / 2) : 1.0;
                    inv[i] = (float)(fs * pow(base, -2.0 * i / R) / factor);
                }
                CHECK_OK(vkq_cpu_rope(g_pools[pi], x, T, H, D, R, pos0, inv, neox));
                double worst = 0;
                int same_tail = 1;
                for (uint32_t t = 0; t < T; t++) {
                    for (uint32_t h = 0; h < H; h++) {
                        const float *a = x0 + ((size_t)t * H + h) * D;
                        const float *o = x + ((size_t)t * H + h) * D;
                        for (uint32_t i = 0; i < R / 2; i++) {
                            const double th = (double)(pos0 + t) * (double)inv[i];
                            const uint32_t i0 = neox ? i : 2 * i, i1 = neox ? i + R / 2 : 2 * i + 1;
                            const double r0 = a[i0] * cos(th) - a[i1] * sin(th);
                            const double r1 = a[i0] * sin(th) + a[i1] * cos(th);
                            const double mag = fabs(a[i0]) + fabs(a[i1]);
                            const double e = fmax(fabs(o[i0] - r0), fabs(o[i1] - r1)) / mag;
                            worst = e > worst ? e : worst;
                        }
                        for (uint32_t i = R; i < D; i++) {
                            same_tail &= memcmp(&a[i], &o[i], 4) == 0;
                        }
                    }
                }
                CHECK(worst <= 1e-6, "rope case %zu neox %d pool %d: error %.3g of |a|+|b|", ci, neox, pi, worst);
                CHECK(same_tail, "rope case %zu neox %d: elements from n_rot on changed", ci, neox);
                free(x);
                free(x0);
                free(inv);
            }
        }
    }
}

/* ---- glu, add, scale ------------------------------------------------------------------------ */

static void test_glu(void)
{
    const uint64_t sizes[] = {37, 200003};
    const float specials[] = {100.0f, -100.0f, 1e4f, -1e4f, 1e20f, -1e20f, 88.5f, -88.5f, 0.0f, -0.0f};
    const int n_spec = (int)(sizeof specials / sizeof specials[0]);
    for (int pi = 0; pi < N_POOLS; pi++) {
        for (int si = 0; si < 2; si++) {
            for (int kind = 0; kind < 2; kind++) {
                for (int alias = 0; alias < 3; alias++) { /* out apart, out = gate, out = up */
                    const uint64_t n = sizes[si];
                    float *g = xmalloc(n * 4), *u = xmalloc(n * 4), *o = xmalloc(n * 4);
                    double *ref = xmalloc(n * sizeof(double));
                    fill(g, n, 8.0f);
                    fill(u, n, 2.0f);
                    for (int k = 0; k < n_spec && (uint64_t)k < n; k++) {
                        g[k] = specials[k];
                    }
                    for (uint64_t i = 0; i < n; i++) {
                        const double x = g[i];
                        const double a = kind == VKQ_GLU_SILU
                                             ? x / (1.0 + exp(-x))
                                             : 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
                        ref[i] = a * u[i];
                    }
                    float *dst = alias == 0 ? o : alias == 1 ? g : u;
                    const float *gin = g, *uin = u;
                    float *keep_g = NULL, *keep_u = NULL;
                    if (alias) { /* the bound below reads the inputs */
                        keep_g = xmalloc(n * 4);
                        keep_u = xmalloc(n * 4);
                        memcpy(keep_g, g, n * 4);
                        memcpy(keep_u, u, n * 4);
                    }
                    CHECK_OK(vkq_cpu_glu(g_pools[pi], (vkq_glu_kind)kind, gin, uin, dst, n));
                    const float *G = alias ? keep_g : g, *U = alias ? keep_u : u;
                    uint64_t bad = 0, nonfinite = 0;
                    double worst = 0;
                    for (uint64_t i = 0; i < n; i++) {
                        if (!isfinite(dst[i])) {
                            nonfinite++;
                            continue;
                        }
                        /* GELU's 1 + tanh cancels for negative gates: its bound is absolute,
                         * a few ulps of |gate * up|. */
                        const double tol = 1e-6 * fabs(ref[i]) +
                                           (kind == VKQ_GLU_GELU_TANH ? 3e-7 * fabs((double)G[i] * U[i]) : 0) +
                                           1e-37;
                        const double e = fabs(dst[i] - ref[i]);
                        if (e > tol) bad++;
                        const double r = e / (fabs(ref[i]) + 1e-30);
                        if (e > tol && r > worst) worst = r;
                    }
                    CHECK(nonfinite == 0, "glu kind %d n %" PRIu64 ": %" PRIu64 " non-finite outputs", kind, n,
                          nonfinite);
                    CHECK(bad == 0, "glu kind %d n %" PRIu64 " alias %d pool %d: %" PRIu64 " outside bound (worst rel %.3g)",
                          kind, n, alias, pi, bad, worst);
                    free(g);
                    free(u);
                    free(o);
                    free(ref);
                    free(keep_g);
                    free(keep_u);
                }
            }
        }
    }
}

static void test_add_scale(void)
{
    struct { uint32_t n, rows, b_rows; } cases[] = {{640, 9, 9}, {640, 9, 1}, {640, 512, 512}, {2048, 300, 1}, {5, 3, 3}};
    for (int pi = 0; pi < N_POOLS; pi++) {
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            for (int in_place = 0; in_place < 2; in_place++) {
                const uint32_t n = cases[ci].n, rows = cases[ci].rows, br = cases[ci].b_rows;
                const size_t na = (size_t)n * rows;
                float *a = xmalloc(na * 4), *b = xmalloc((size_t)n * br * 4), *o = xmalloc(na * 4);
                float *want = xmalloc(na * 4);
                fill(a, na, 5.0f);
                fill(b, (size_t)n * br, 0.01f);
                for (size_t i = 0; i < na; i++) {
                    want[i] = (float)((double)a[i] + (double)b[(i / n % br) * n + i % n]);
                }
                float *dst = in_place ? a : o;
                CHECK_OK(vkq_cpu_add(g_pools[pi], a, b, dst, n, rows, br));
                CHECK(memcmp(dst, want, na * 4) == 0, "add n %u rows %u b_rows %u in place %d pool %d: not the "
                      "correctly rounded sums", n, rows, br, in_place, pi);
                const float s = 0.0625f * (1.0f + urand());
                for (size_t i = 0; i < na; i++) {
                    want[i] = (float)((double)dst[i] * (double)s);
                }
                CHECK_OK(vkq_cpu_scale(g_pools[pi], dst, s, na));
                CHECK(memcmp(dst, want, na * 4) == 0, "scale n %zu pool %d: not the correctly rounded products", na,
                      pi);
                free(a);
                free(b);
                free(o);
                free(want);
            }
        }
    }
}

/* ---- kv_store ------------------------------------------------------------------------------- */

static const vkq_type kv_types[] = {VKQ_TYPE_F32,  VKQ_TYPE_F16,  VKQ_TYPE_BF16, VKQ_TYPE_Q8_0,  VKQ_TYPE_Q4_0,
                                    VKQ_TYPE_Q4_1, VKQ_TYPE_Q5_0, VKQ_TYPE_Q5_1, VKQ_TYPE_IQ4_NL};
#define N_KV_TYPES (sizeof kv_types / sizeof kv_types[0])

static size_t row_bytes_of(vkq_type t, uint32_t elems)
{
    const vkq_type_info *ti = vkq_type_get(t);
    return (size_t)elems / ti->block_elems * ti->block_bytes;
}

/* Error of storing d as fp16: half an ulp, at least half the smallest subnormal. */
static double herr(double d)
{
    return fmax(fabs(d) / 2048, ldexp(1.0, -25));
}

/* The worst error the plain rule may leave in a block of 32 with extreme values amax (largest
 * |x|), mn and range (max - min): half a step, or a whole one on the side the signed scale
 * cannot reach, plus the fp16 rounding of the scale times the largest level (and of the
 * minimum). */
static double block_bound(vkq_type t, double amax, double mn, double range)
{
    switch (t) {
    case VKQ_TYPE_Q8_0: return amax * 0.5 / 127 + 127 * herr(amax / 127);
    case VKQ_TYPE_Q4_0: return amax / 8 + 8 * herr(amax / 8);
    case VKQ_TYPE_Q5_0: return amax / 16 + 16 * herr(amax / 16);
    case VKQ_TYPE_Q4_1: return range / 30 + 15 * herr(range / 15) + herr(mn);
    case VKQ_TYPE_Q5_1: return range / 62 + 31 * herr(range / 31) + herr(mn);
    case VKQ_TYPE_IQ4_NL: return amax * 14 / 127 + 127 * herr(amax / 127); /* codes end at 113, not 127 */
    default: return 0;
    }
}

static float fp16_at(const uint8_t *p)
{
    return vkq_fp16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static void test_kv_store(void)
{
    const uint32_t elems_list[] = {256, 64};
    for (size_t ti = 0; ti < N_KV_TYPES; ti++) {
        const vkq_type t = kv_types[ti];
        CHECK(vkq_kv_type_supported(t), "%s is not supported", vkq_type_get(t)->name);
        for (int ei = 0; ei < 2; ei++) {
            const uint32_t E = elems_list[ei], rows = 5;
            const size_t rb = row_bytes_of(t, E), stride = rb + 13;
            float *x = xmalloc((size_t)E * rows * 4), *y = xmalloc((size_t)E * 4);
            for (uint32_t r = 0; r < rows; r++) {
                fill(x + (size_t)r * E, E, ldexpf(1.0f, (int)vkq_test_rand_below(&g_rng, 20) - 10));
            }
            /* A zero block, a constant block, one outlier. */
            memset(x, 0, 32 * 4);
            for (int i = 32; i < 64; i++) {
                x[i] = -0.75f;
            }
            x[E + 5] = 40.0f;
            uint8_t *dst = xmalloc(stride * rows);
            memset(dst, 0xA5, stride * rows);
            CHECK_OK(vkq_cpu_kv_store(t, x, rows, E, dst, stride));
            int pad_ok = 1;
            uint64_t bad = 0, rule_bad = 0;
            double worst = 0;
            for (uint32_t r = 0; r < rows; r++) {
                const uint8_t *row = dst + r * stride;
                for (size_t b = rb; b < stride; b++) {
                    pad_ok &= row[b] == 0xA5;
                }
                CHECK_OK(vkq_decode_cpu(t, row, rb, y, E));
                const float *xr = x + (size_t)r * E;
                for (uint32_t b0 = 0; b0 < E; b0 += 32) {
                    double amax = 0, mn = xr[b0], mx = xr[b0];
                    for (int i = 0; i < 32; i++) {
                        amax = fmax(amax, fabs(xr[b0 + i]));
                        mn = fmin(mn, xr[b0 + i]);
                        mx = fmax(mx, xr[b0 + i]);
                    }
                    for (int i = 0; i < 32; i++) {
                        const double xv = xr[b0 + i], e = fabs(y[b0 + i] - xv);
                        double tol;
                        if (t == VKQ_TYPE_F32) tol = 0;
                        else if (t == VKQ_TYPE_F16) tol = fabs(xv) / 2048 + ldexp(1.0, -25); /* subnormal halves */
                        else if (t == VKQ_TYPE_BF16) tol = fabs(xv) / 256 + 1e-30;
                        else tol = block_bound(t, amax, mn, mx - mn) * 1.0001 + 1e-30;
                        if (e > tol) bad++;
                        const double rel = e / (tol > 0 ? tol : 1);
                        worst = rel > worst ? rel : worst;
                    }
                    /* The codes follow the rule given the stored scale's unrounded value. */
                    const vkq_type_info *inf = vkq_type_get(t);
                    const uint8_t *blk = row + (size_t)b0 / 32 * inf->block_bytes;
                    if (t == VKQ_TYPE_Q8_0) {
                        const float d = (float)(amax / 127), id = d != 0 ? 1 / d : 0;
                        for (int i = 0; i < 32; i++) {
                            rule_bad += (int8_t)blk[2 + i] != (int)roundf(xr[b0 + i] * id);
                        }
                        rule_bad += memcmp(blk, (uint16_t[]){vkq_f32_to_fp16(d)}, 2) != 0;
                    } else if (t == VKQ_TYPE_Q4_0) {
                        float m = 0;
                        for (int i = 0; i < 32; i++) {
                            if (fabsf(xr[b0 + i]) > fabsf(m)) m = xr[b0 + i];
                        }
                        const float d = m / -8, id = d != 0 ? 1 / d : 0;
                        for (int i = 0; i < 32; i++) {
                            const int q = (blk[2 + i % 16] >> (i < 16 ? 0 : 4)) & 15;
                            const int want = (int)floorf(xr[b0 + i] * id + 8.5f);
                            rule_bad += q != (want > 15 ? 15 : want);
                        }
                    } else if (t == VKQ_TYPE_IQ4_NL) {
                        const float d = fp16_at(blk);
                        float m = 0;
                        for (int i = 0; i < 32; i++) {
                            if (fabsf(xr[b0 + i]) > fabsf(m)) m = xr[b0 + i];
                        }
                        const float du = m / -127.0f, id = du != 0 ? 1 / du : 0;
                        (void)d;
                        for (int i = 0; i < 32; i++) {
                            const int q = (blk[2 + i % 16] >> (i < 16 ? 0 : 4)) & 15;
                            const float v = xr[b0 + i] * id;
                            for (int c = 0; c < 16; c++) {
                                rule_bad += fabsf(v - vkq_kvalues_iq4nl[c]) < fabsf(v - vkq_kvalues_iq4nl[q]);
                            }
                        }
                    }
                }
            }
            CHECK(pad_ok, "kv_store %s: wrote past the row into the stride's padding", vkq_type_get(t)->name);
            CHECK(bad == 0, "kv_store %s row of %u: %" PRIu64 " elements outside the round-trip bound (worst %.3g of it)",
                  vkq_type_get(t)->name, E, bad, worst);
            CHECK(rule_bad == 0, "kv_store %s: %" PRIu64 " codes or scales not by the format's rounding rule",
                  vkq_type_get(t)->name, rule_bad);
            free(x);
            free(y);
            free(dst);
        }
    }
    /* F16 and BF16: round to nearest even on the exact ties. */
    const float ties[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256};
    uint8_t h[8];
    CHECK_OK(vkq_cpu_kv_store(VKQ_TYPE_F16, ties, 1, 2, h, 0));
    CHECK(fp16_at(h) == 1.0f && fp16_at(h + 2) == 1.0f + 4.0f / 2048, "F16 ties not to even: %.9g %.9g",
          fp16_at(h), fp16_at(h + 2));
    CHECK_OK(vkq_cpu_kv_store(VKQ_TYPE_BF16, ties + 2, 1, 2, h, 0));
    CHECK(vkq_bf16_to_f32((uint16_t)(h[0] | h[1] << 8)) == 1.0f &&
              vkq_bf16_to_f32((uint16_t)(h[2] | h[3] << 8)) == 1.0f + 4.0f / 256,
          "BF16 ties not to even");
}

/* ---- attention ------------------------------------------------------------------------------ */

typedef struct attn_case {
    uint32_t n_head, n_head_kv, head_dim, n_tokens, pos0, window;
    float softcap;
    vkq_type kt, vt;
} attn_case;

/* Cache of n_keys rows for both K and V, random values in [-1, 1), stored as the case's types
 * with a stride longer than the row. */
static double run_attn_case(const attn_case *c, vkq_cpu_pool pool, int *ok)
{
    const uint32_t D = c->head_dim, n_keys = c->pos0 + c->n_tokens, HKV = c->n_head_kv, H = c->n_head;
    const uint32_t row = HKV * D;
    const size_t krb = row_bytes_of(c->kt, row) + 32, vrb = row_bytes_of(c->vt, row) + 2;
    float *kf = xmalloc((size_t)n_keys * row * 4), *vf = xmalloc((size_t)n_keys * row * 4);
    float *q = xmalloc((size_t)c->n_tokens * H * D * 4), *out = xmalloc((size_t)c->n_tokens * H * D * 4);
    uint8_t *k = xmalloc(krb * n_keys), *v = xmalloc(vrb * n_keys);
    fill(kf, (size_t)n_keys * row, 1.0f);
    fill(vf, (size_t)n_keys * row, 1.0f);
    fill(q, (size_t)c->n_tokens * H * D, c->softcap != 0 ? 4.0f : 1.0f);
    CHECK_OK(vkq_cpu_kv_store(c->kt, kf, n_keys, row, k, krb));
    CHECK_OK(vkq_cpu_kv_store(c->vt, vf, n_keys, row, v, vrb));
    for (uint32_t p = 0; p < n_keys; p++) { /* what the reference reads */
        CHECK_OK(vkq_decode_cpu(c->kt, k + p * krb, krb, kf + (size_t)p * row, row));
        CHECK_OK(vkq_decode_cpu(c->vt, v + p * vrb, vrb, vf + (size_t)p * row, row));
    }
    const vkq_attn_desc d = {
        .n_tokens = c->n_tokens, .pos0 = c->pos0, .n_head = H, .n_head_kv = HKV, .head_dim_k = D, .head_dim_v = D,
        .q = q, .k = k, .k_type = c->kt, .k_row_bytes = krb, .v = v, .v_type = c->vt, .v_row_bytes = vrb,
        .scale = (float)(1.0 / sqrt((double)D)), .softcap = c->softcap, .window = c->window, .out = out};
    const vkq_status st = vkq_cpu_attention(pool, &d);
    CHECK(st == VKQ_SUCCESS, "attention: %s (%s)", vkq_status_string(st), vkq_last_error());
    double worst = 0;
    double *s = xmalloc((size_t)n_keys * sizeof(double)), *o = xmalloc((size_t)D * sizeof(double));
    for (uint32_t t = 0; t < c->n_tokens; t++) {
        const uint32_t qp = c->pos0 + t, lo = c->window && qp + 1 > c->window ? qp + 1 - c->window : 0;
        for (uint32_t h = 0; h < H; h++) {
            const uint32_t g = h / (H / HKV);
            const float *qv = q + ((size_t)t * H + h) * D;
            double mx = -INFINITY, vmax = 0;
            for (uint32_t p = lo; p <= qp; p++) {
                const float *kr = kf + (size_t)p * row + (size_t)g * D;
                double acc = 0;
                for (uint32_t e = 0; e < D; e++) {
                    acc += (double)qv[e] * kr[e];
                }
                acc *= (double)d.scale;
                if (c->softcap != 0) acc = c->softcap * tanh(acc / c->softcap);
                s[p] = acc;
                mx = acc > mx ? acc : mx;
            }
            double l = 0;
            memset(o, 0, (size_t)D * sizeof(double));
            for (uint32_t p = lo; p <= qp; p++) {
                const double w = exp(s[p] - mx);
                const float *vr = vf + (size_t)p * row + (size_t)g * D;
                l += w;
                for (uint32_t e = 0; e < D; e++) {
                    o[e] += w * vr[e];
                    vmax = fmax(vmax, fabs(vr[e]));
                }
            }
            const float *got = out + ((size_t)t * H + h) * D;
            for (uint32_t e = 0; e < D; e++) {
                const double err = fabs(got[e] - o[e] / l) / (vmax > 0 ? vmax : 1);
                if (!(err <= worst)) worst = isnan(err) ? INFINITY : err;
            }
        }
    }
    *ok = st == VKQ_SUCCESS;
    free(kf);
    free(vf);
    free(q);
    free(out);
    free(k);
    free(v);
    free(s);
    free(o);
    return worst;
}

static void test_attention(void)
{
    const double tol = 1e-5; /* of the largest |V| the query sees */
    struct { uint32_t h, hkv, d; } shapes[] = {{4, 1, 256}, {8, 2, 64}, {4, 1, 128}, {8, 2, 128}};
    struct { uint32_t n_tokens, pos0, window; float softcap; } runs[] = {
        {1, 0, 0, 0}, {1, 100, 0, 0}, {37, 0, 0, 0}, {37, 100, 0, 0}, {37, 100, 16, 0}, {37, 100, 0, 30.0f},
        {1, 511, 0, 0}, {1, 600, 200, 50.0f}, {130, 3, 70, 0},
    };
    for (int pi = 0; pi < N_POOLS; pi++) {
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            for (size_t ri = 0; ri < sizeof runs / sizeof runs[0]; ri++) {
                const vkq_type kt = ri % 3 == 1 ? VKQ_TYPE_Q8_0 : VKQ_TYPE_F16;
                const attn_case c = {shapes[si].h, shapes[si].hkv, shapes[si].d, runs[ri].n_tokens, runs[ri].pos0,
                                     runs[ri].window, runs[ri].softcap, kt, VKQ_TYPE_F16};
                int ok;
                const double e = run_attn_case(&c, g_pools[pi], &ok);
                CHECK(ok && e <= tol,
                      "attention H %u/%u D %u tokens %u pos0 %u window %u softcap %g K %s pool %d: error %.3g of max|V|",
                      c.n_head, c.n_head_kv, c.head_dim, c.n_tokens, c.pos0, c.window, c.softcap,
                      vkq_type_get(kt)->name, pi, e);
            }
        }
    }
    /* Every K type with every V type. */
    for (size_t a = 0; a < N_KV_TYPES; a++) {
        for (size_t b = 0; b < N_KV_TYPES; b++) {
            const attn_case c = {8, 2, 64, 37, 100, a % 2 ? 20 : 0, b % 3 == 0 ? 25.0f : 0, kv_types[a], kv_types[b]};
            int ok;
            const double e = run_attn_case(&c, g_pools[(a + b) % N_POOLS], &ok);
            CHECK(ok && e <= tol, "attention K %s V %s: error %.3g of max|V|", vkq_type_get(kv_types[a])->name,
                  vkq_type_get(kv_types[b])->name, e);
        }
    }
}

/* ---- router --------------------------------------------------------------------------------- */

static void test_router(void)
{
    struct { uint32_t n_tokens, n_expert, n_used; } cases[] = {{5, 8, 2}, {9, 64, 8}, {3, 128, 8}, {2, 4, 4}, {1, 1, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        for (int norm = 0; norm < 2; norm++) {
            for (int tied = 0; tied < 2; tied++) {
                const uint32_t T = cases[ci].n_tokens, E = cases[ci].n_expert, K = cases[ci].n_used;
                float *lg = xmalloc((size_t)T * E * 4), *w = xmalloc((size_t)T * K * 4);
                int32_t *ids = xmalloc((size_t)T * K * 4);
                for (size_t i = 0; i < (size_t)T * E; i++) {
                    lg[i] = tied ? 0.5f * (float)vkq_test_rand_below(&g_rng, 4) : 6.0f * urand();
                }
                CHECK_OK(vkq_cpu_topk_router(lg, T, E, K, norm, ids, w));
                int ids_ok = 1;
                double worst = 0;
                for (uint32_t t = 0; t < T; t++) {
                    const float *x = lg + (size_t)t * E;
                    double mx = -INFINITY, sum = 0, sel = 0;
                    for (uint32_t e = 0; e < E; e++) {
                        mx = fmax(mx, x[e]);
                    }
                    for (uint32_t e = 0; e < E; e++) {
                        sum += exp(x[e] - mx);
                    }
                    /* Reference order: by value, then index; pick k is the k-th of that order. */
                    int32_t want[256];
                    uint8_t taken[256] = {0};
                    for (uint32_t k = 0; k < K; k++) {
                        int32_t best = -1;
                        for (uint32_t e = 0; e < E; e++) {
                            if (!taken[e] && (best < 0 || x[e] > x[best])) best = (int32_t)e;
                        }
                        taken[best] = 1;
                        want[k] = best;
                        sel += exp(x[best] - mx) / sum;
                    }
                    for (uint32_t k = 0; k < K; k++) {
                        ids_ok &= ids[t * K + k] == want[k];
                        const double r = exp(x[want[k]] - mx) / sum / (norm ? sel : 1.0);
                        worst = fmax(worst, fabs(w[t * K + k] - r) / r);
                    }
                }
                CHECK(ids_ok, "router E %u K %u tied %d: ids not the top K by value then index", E, K, tied);
                CHECK(worst <= 1e-5, "router E %u K %u norm %d: weight error %.3g", E, K, norm, worst);
                free(lg);
                free(w);
                free(ids);
            }
        }
    }
}

/* ---- rejected arguments --------------------------------------------------------------------- */

#define CHECK_ST(expr, want)                                                                                   \
    do {                                                                                                       \
        const vkq_status st_ = (expr);                                                                         \
        CHECK(st_ == (want), "%s returned %s, wanted %s", #expr, vkq_status_string(st_), vkq_status_string(want)); \
        CHECK(vkq_last_error()[0] != '\0', "%s left no message", #expr);                                     \
    } while (0)

static void test_errors(void)
{
    float x[64], y[64], w[64];
    int32_t ids[4];
    uint8_t blk[256];
    fill(x, 64, 1.0f);
    const vkq_status inv = VKQ_ERROR_INVALID_ARGUMENT;
    memset(y, 0x7F, sizeof y);
    CHECK_ST(vkq_cpu_rmsnorm(NULL, NULL, NULL, y, 64, 1, 1e-6f), inv);
    CHECK_ST(vkq_cpu_rmsnorm(NULL, x, NULL, NULL, 64, 1, 1e-6f), inv);
    CHECK_ST(vkq_cpu_rmsnorm(NULL, x, NULL, y, 0, 1, 1e-6f), inv);
    CHECK_ST(vkq_cpu_rmsnorm(NULL, x, NULL, y, 64, 0, 1e-6f), inv);
    CHECK_ST(vkq_cpu_rope(NULL, NULL, 1, 1, 64, 64, 0, w, 0), inv);
    CHECK_ST(vkq_cpu_rope(NULL, y, 1, 1, 64, 64, 0, NULL, 0), inv);
    CHECK_ST(vkq_cpu_rope(NULL, y, 0, 1, 64, 64, 0, w, 0), inv);
    CHECK_ST(vkq_cpu_rope(NULL, y, 1, 1, 64, 66, 0, w, 0), inv);
    CHECK_ST(vkq_cpu_rope(NULL, y, 1, 1, 64, 63, 0, w, 0), inv);
    CHECK_ST(vkq_cpu_glu(NULL, VKQ_GLU_SILU, NULL, x, y, 64), inv);
    CHECK_ST(vkq_cpu_glu(NULL, VKQ_GLU_SILU, x, x, y, 0), inv);
    CHECK_ST(vkq_cpu_glu(NULL, (vkq_glu_kind)7, x, x, y, 64), inv);
    CHECK_ST(vkq_cpu_add(NULL, x, NULL, y, 64, 1, 1), inv);
    CHECK_ST(vkq_cpu_add(NULL, x, x, y, 64, 1, 0), inv);
    CHECK_ST(vkq_cpu_scale(NULL, NULL, 2.0f, 64), inv);
    CHECK_ST(vkq_cpu_scale(NULL, y, 2.0f, 0), inv);
    uint32_t unchanged = 1;
    for (int i = 0; i < 64; i++) {
        unchanged &= vkq_f32_to_bits(y[i]) == 0x7F7F7F7Fu;
    }
    CHECK(unchanged, "a rejected call wrote its output");

    memset(blk, 0x5A, sizeof blk);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q8_0, NULL, 1, 32, blk, 34), inv);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q8_0, x, 1, 32, NULL, 34), inv);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q8_0, x, 0, 32, blk, 34), inv);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q8_0, x, 1, 0, blk, 34), inv);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q8_0, x, 1, 48, blk, 68), VKQ_ERROR_BAD_SHAPE);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q4_K, x, 1, 256, blk, 256), VKQ_ERROR_UNSUPPORTED);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_Q8_1, x, 1, 32, blk, 36), VKQ_ERROR_UNSUPPORTED);
    CHECK_ST(vkq_cpu_kv_store((vkq_type)200, x, 1, 32, blk, 36), VKQ_ERROR_UNSUPPORTED);
    CHECK_ST(vkq_cpu_kv_store(VKQ_TYPE_F16, x, 2, 32, blk, 10), inv); /* stride shorter than a row */
    CHECK(!vkq_kv_type_supported(VKQ_TYPE_Q4_K) && !vkq_kv_type_supported((vkq_type)999), "odd types supported");
    int untouched = 1;
    for (size_t i = 0; i < sizeof blk; i++) {
        untouched &= blk[i] == 0x5A;
    }
    CHECK(untouched, "a rejected kv_store wrote its output");

    uint8_t kc[4 * 64 * 2];
    float ao[128];
    memset(kc, 0, sizeof kc);
    const vkq_attn_desc good = {.n_tokens = 1, .pos0 = 0, .n_head = 2, .n_head_kv = 1, .head_dim_k = 64,
                                .head_dim_v = 64, .q = x, .k = kc, .k_type = VKQ_TYPE_F16, .k_row_bytes = 128,
                                .v = kc, .v_type = VKQ_TYPE_F16, .v_row_bytes = 128, .scale = 0.125f, .out = ao};
    float q2[128];
    fill(q2, 128, 1.0f);
    vkq_attn_desc d = good;
    d.q = q2;
    CHECK_OK(vkq_cpu_attention(NULL, &d));
    CHECK_ST(vkq_cpu_attention(NULL, NULL), inv);
    d = good, d.q = NULL;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.k = NULL;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.out = NULL;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.n_tokens = 0;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.head_dim_v = 0;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.n_head_kv = 0;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.n_head = 3, d.n_head_kv = 2;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.k_type = VKQ_TYPE_Q4_K;
    CHECK_ST(vkq_cpu_attention(NULL, &d), VKQ_ERROR_UNSUPPORTED);
    d = good, d.v_type = VKQ_TYPE_Q8_1;
    CHECK_ST(vkq_cpu_attention(NULL, &d), VKQ_ERROR_UNSUPPORTED);
    d = good, d.k_type = VKQ_TYPE_Q8_0, d.head_dim_k = 48, d.k_row_bytes = 128;
    CHECK_ST(vkq_cpu_attention(NULL, &d), VKQ_ERROR_BAD_SHAPE);
    d = good, d.v_row_bytes = 100;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);
    d = good, d.pos0 = UINT32_MAX;
    CHECK_ST(vkq_cpu_attention(NULL, &d), inv);

    float lg[8] = {1, 2, 3, 4, 5, 6, 7, 8}, rw[4];
    CHECK_ST(vkq_cpu_topk_router(NULL, 1, 8, 2, 0, ids, rw), inv);
    CHECK_ST(vkq_cpu_topk_router(lg, 1, 8, 2, 0, NULL, rw), inv);
    CHECK_ST(vkq_cpu_topk_router(lg, 1, 8, 0, 0, ids, rw), inv);
    CHECK_ST(vkq_cpu_topk_router(lg, 0, 8, 2, 0, ids, rw), inv);
    CHECK_ST(vkq_cpu_topk_router(lg, 1, 2, 4, 0, ids, rw), inv);
}

/* ---- timing (VKQ_OPS_BENCH=1) --------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench_attention(vkq_cpu_pool pool)
{
    const uint32_t H = 4, HKV = 1, D = 256, n_keys = 512;
    const size_t rb = (size_t)HKV * D * 2;
    float *kv = xmalloc((size_t)n_keys * HKV * D * 4), *q = xmalloc((size_t)512 * H * D * 4);
    float *out = xmalloc((size_t)512 * H * D * 4);
    uint8_t *k = xmalloc(rb * n_keys), *v = xmalloc(rb * n_keys);
    fill(kv, (size_t)n_keys * HKV * D, 1.0f);
    fill(q, (size_t)512 * H * D, 1.0f);
    CHECK_OK(vkq_cpu_kv_store(VKQ_TYPE_F16, kv, n_keys, HKV * D, k, rb));
    CHECK_OK(vkq_cpu_kv_store(VKQ_TYPE_F16, kv, n_keys, HKV * D, v, rb));
    for (int which = 0; which < 2; which++) {
        vkq_attn_desc d = {.n_tokens = which ? 1 : 512, .pos0 = which ? 511 : 0, .n_head = H, .n_head_kv = HKV,
                           .head_dim_k = D, .head_dim_v = D, .q = q, .k = k, .k_type = VKQ_TYPE_F16,
                           .k_row_bytes = rb, .v = v, .v_type = VKQ_TYPE_F16, .v_row_bytes = rb,
                           .scale = 0.0625f, .out = out};
        /* The fastest of several calls: the machine may be shared. */
        const int reps = which ? 200 : 10;
        double best = INFINITY, total = 0;
        for (int r = 0; r < reps; r++) {
            const double t0 = now_s();
            CHECK_OK(vkq_cpu_attention(pool, &d));
            const double dt = now_s() - t0;
            best = dt < best ? dt : best;
            total += dt;
        }
        printf("bench: attention %s, H 4/1, D 256, F16 cache, %u threads: %.3f ms (mean %.3f)\n",
               which ? "1 token over 512 keys" : "512 tokens x 512 keys", vkq_cpu_pool_threads(pool), best * 1e3,
               total / reps * 1e3);
    }
    free(kv);
    free(q);
    free(out);
    free(k);
    free(v);
}

int main(void)
{
    const uint64_t seed = vkq_test_seed();
    printf("test_cpu_ops: VKQ_SEED=0x%016" PRIx64 "\n", seed);
    g_rng = seed;
    g_pools[0] = NULL;
    CHECK_OK(vkq_cpu_pool_create(2, &g_pools[1]));
    if (getenv("VKQ_OPS_BENCH")) {
        bench_attention(g_pools[1]);
        vkq_cpu_pool_destroy(g_pools[1]);
        return test_summary("test_cpu_ops (bench)");
    }
    test_rmsnorm();
    test_rope();
    test_glu();
    test_add_scale();
    test_kv_store();
    test_attention();
    test_router();
    test_errors();
    vkq_cpu_pool_destroy(g_pools[1]);
    return test_summary("test_cpu_ops");
}
