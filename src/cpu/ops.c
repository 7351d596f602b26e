/* The non-matmul operations of a transformer layer on the CPU (src/cpu/ops.h).
 *
 * The library is built at -O2, where GCC vectorises a loop only when the vector code replaces
 * the scalar loop entirely: the hot loops here therefore run over fixed widths (OPS_W floats,
 * attention chunks of ATT_C keys) on buffers padded with zeros, and sums that must vectorise
 * keep OPS_W partial sums. */
#include "cpu/ops.h"
#include "core/error.h"
#include "core/fp_convert.h"
#include "core/types.h"
#include "cpu/cpu_pool.h"
#include "cpu/ops_isa.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define OPS_W VKQ_OPS_W
#define ATT_C VKQ_ATT_C
#define ATT_Q 64  /* queries a task aims at (tokens x heads sharing a KV head) */

static const vkq_cpu_ops_isa *ops_isa(void);

/* ---- splitting work over the pool ---------------------------------------------------------- */

/* Shares worth running for `work` units (about one float operation each): one below the size
 * where waking threads costs more than it saves (threads started per call cost much more than
 * a pool's workers). */
static uint32_t shares_for(vkq_cpu_pool pool, uint64_t work)
{
    const uint32_t nt = pool ? vkq_cpu_pool_threads(pool) : vkq_cpu_default_threads();
    const uint64_t min_work = pool ? (1u << 15) : (1u << 19);
    if (nt <= 1 || work < 2 * min_work) return 1;
    const uint64_t s = work / min_work;
    return s < nt ? (uint32_t)s : nt;
}

typedef void (*range_fn)(const void *ctx, uint64_t i0, uint64_t i1);

typedef struct range_job {
    range_fn fn;
    const void *ctx;
    uint64_t n;
    uint32_t n_shares;
} range_job;

static void range_share(void *arg, uint32_t s)
{
    const range_job *j = arg;
    const uint64_t i0 = j->n * s / j->n_shares, i1 = j->n * (s + 1) / j->n_shares;
    if (i1 > i0) j->fn(j->ctx, i0, i1);
}

/* fn over items [0, n), each costing `cost` units, split in contiguous ranges. */
static void run_range(vkq_cpu_pool pool, uint64_t n, uint64_t cost, range_fn fn, const void *ctx)
{
    uint32_t ns = shares_for(pool, n * cost);
    if (ns > n) ns = (uint32_t)n;
    if (ns <= 1) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = {fn, ctx, n, ns};
    vkq_cpu_fork_join(pool, ns, range_share, &j);
}

/* ---- rmsnorm -------------------------------------------------------------------------------- */

typedef struct norm_ctx {
    const float *x, *w;
    float *out;
    uint32_t n;
    float eps;
} norm_ctx;

static void rmsnorm_rows(const void *vctx, uint64_t r0, uint64_t r1)
{
    const norm_ctx *c = vctx;
    const uint32_t n = c->n;
    for (uint64_t r = r0; r < r1; r++) {
        const float *x = c->x + r * n;
        float *o = c->out + r * n;
        double part[4] = {0, 0, 0, 0};
        uint32_t i = 0;
        for (; i + 4 <= n; i += 4) {
            for (int j = 0; j < 4; j++) {
                part[j] += (double)x[i + j] * (double)x[i + j];
            }
        }
        for (; i < n; i++) {
            part[0] += (double)x[i] * (double)x[i];
        }
        const double sum = (part[0] + part[1]) + (part[2] + part[3]);
        const float s = (float)(1.0 / sqrt(sum / n + (double)c->eps));
        if (c->w) {
            for (i = 0; i < n; i++) {
                o[i] = x[i] * s * c->w[i];
            }
        } else {
            for (i = 0; i < n; i++) {
                o[i] = x[i] * s;
            }
        }
    }
}

vkq_status vkq_cpu_rmsnorm(vkq_cpu_pool pool, const float *x, const float *w, float *out, uint32_t n,
                           uint32_t rows, float eps)
{
    if (!x || !out || !n || !rows)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_rmsnorm: x, out, n and rows must be set");
    if (!(eps >= 0.0f)) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_rmsnorm: eps %g is negative", eps);
    const norm_ctx c = {x, w, out, n, eps};
    run_range(pool, rows, 3ull * n, rmsnorm_rows, &c);
    return VKQ_SUCCESS;
}

/* ---- rope ----------------------------------------------------------------------------------- */

typedef struct rope_ctx {
    float *x;
    uint32_t n_heads, head_dim, n_rot, pos0;
    const float *inv_freq;
    int neox;
} rope_ctx;

static void rope_tokens(const void *vctx, uint64_t t0, uint64_t t1)
{
    const rope_ctx *c = vctx;
    const uint32_t half = c->n_rot / 2;
    float cs[2048], sn[2048]; /* half <= head_dim / 2, checked by the caller */
    for (uint64_t t = t0; t < t1; t++) {
        const double pos = (double)c->pos0 + (double)t;
        for (uint32_t i = 0; i < half; i++) {
            const double th = pos * (double)c->inv_freq[i];
            cs[i] = (float)cos(th);
            sn[i] = (float)sin(th);
        }
        for (uint32_t h = 0; h < c->n_heads; h++) {
            float *x = c->x + (t * c->n_heads + h) * c->head_dim;
            if (c->neox) {
                for (uint32_t i = 0; i < half; i++) {
                    const float a = x[i], b = x[i + half];
                    x[i] = a * cs[i] - b * sn[i];
                    x[i + half] = a * sn[i] + b * cs[i];
                }
            } else {
                for (uint32_t i = 0; i < half; i++) {
                    const float a = x[2 * i], b = x[2 * i + 1];
                    x[2 * i] = a * cs[i] - b * sn[i];
                    x[2 * i + 1] = a * sn[i] + b * cs[i];
                }
            }
        }
    }
}

vkq_status vkq_cpu_rope(vkq_cpu_pool pool, float *x, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim,
                        uint32_t n_rot, uint32_t pos0, const float *inv_freq, int neox)
{
    if (!x || !inv_freq || !n_tokens || !n_heads || !head_dim || !n_rot)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "vkq_cpu_rope: x, inv_freq, n_tokens, n_heads, head_dim and n_rot must be set");
    if (n_rot % 2 || n_rot > head_dim)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_rope: n_rot %u must be even and <= head_dim %u", n_rot,
                        head_dim);
    if (n_rot > 4096) return vkq_fail(VKQ_ERROR_UNSUPPORTED, "vkq_cpu_rope: n_rot %u is over 4096", n_rot);
    const rope_ctx c = {x, n_heads, head_dim, n_rot, pos0, inv_freq, neox};
    run_range(pool, n_tokens, (uint64_t)n_heads * n_rot * 3 + n_rot * 20ull, rope_tokens, &c);
    return VKQ_SUCCESS;
}

/* ---- glu, add, scale ------------------------------------------------------------------------ */

typedef struct glu_ctx {
    const vkq_cpu_ops_isa *isa;
    vkq_glu_kind kind;
    const float *gate, *up;
    float *out;
} glu_ctx;

/* Both forms stay finite for any finite gate: silu's exp(-g) overflows to inf for g < -88 and
 * g / inf is -0; gelu's cube overflows to inf, where tanh is +-1. */
static void glu_portable(int kind, const float *gate, const float *up, float *out, uint64_t n)
{
    if (kind == VKQ_GLU_SILU) {
        for (uint64_t i = 0; i < n; i++) {
            const float g = gate[i];
            out[i] = g / (1.0f + expf(-g)) * up[i];
        }
    } else {
        const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
        for (uint64_t i = 0; i < n; i++) {
            const float g = gate[i];
            out[i] = 0.5f * g * (1.0f + tanhf(k * (g + 0.044715f * g * g * g))) * up[i];
        }
    }
}

static void glu_range(const void *vctx, uint64_t i0, uint64_t i1)
{
    const glu_ctx *c = vctx;
    c->isa->glu((int)c->kind, c->gate + i0, c->up + i0, c->out + i0, i1 - i0);
}

vkq_status vkq_cpu_glu(vkq_cpu_pool pool, vkq_glu_kind kind, const float *gate, const float *up, float *out,
                       uint64_t n)
{
    if (!gate || !up || !out || !n)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_glu: gate, up, out and n must be set");
    if (kind != VKQ_GLU_SILU && kind != VKQ_GLU_GELU_TANH)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_glu: unknown kind %d", (int)kind);
    const glu_ctx c = {ops_isa(), kind, gate, up, out};
    run_range(pool, n, 20, glu_range, &c);
    return VKQ_SUCCESS;
}

typedef struct add_ctx {
    const float *a, *b;
    float *out;
    uint32_t n, b_rows;
} add_ctx;

static void add_rows(const void *vctx, uint64_t r0, uint64_t r1)
{
    const add_ctx *c = vctx;
    for (uint64_t r = r0; r < r1; r++) {
        const float *a = c->a + r * c->n;
        const float *b = c->b + (r % c->b_rows) * c->n;
        float *o = c->out + r * c->n;
        for (uint32_t i = 0; i < c->n; i++) {
            o[i] = a[i] + b[i];
        }
    }
}

vkq_status vkq_cpu_add(vkq_cpu_pool pool, const float *a, const float *b, float *out, uint32_t n, uint32_t rows,
                       uint32_t b_rows)
{
    if (!a || !b || !out || !n || !rows || !b_rows)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_add: a, b, out, n, rows and b_rows must be set");
    const add_ctx c = {a, b, out, n, b_rows};
    run_range(pool, rows, n, add_rows, &c);
    return VKQ_SUCCESS;
}

typedef struct scale_ctx {
    float *x;
    float s;
} scale_ctx;

static void scale_range(const void *vctx, uint64_t i0, uint64_t i1)
{
    const scale_ctx *c = vctx;
    for (uint64_t i = i0; i < i1; i++) {
        c->x[i] *= c->s;
    }
}

vkq_status vkq_cpu_scale(vkq_cpu_pool pool, float *x, float s, uint64_t n)
{
    if (!x || !n) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_scale: x and n must be set");
    const scale_ctx c = {x, s};
    run_range(pool, n, 1, scale_range, &c);
    return VKQ_SUCCESS;
}

/* ---- attention ------------------------------------------------------------------------------ */

/* A task is (block of tokens, KV head, slice of the keys): the query heads of that KV head for
 * those tokens, so each cache row is decoded once per task and serves all of them. Keys go by
 * in chunks of ATT_C, decoded to f32 rows: scores of every query against the chunk (the
 * table's attn_scores), then one online-softmax step per query and the weighted V rows
 * (attn_pv). With one slice the task writes the output; with several (few
 * tokens, too few tasks for the threads) each writes its running max, sum and unnormalised
 * accumulator, and the slices are merged at the end. */
typedef struct attn_job {
    const vkq_attn_desc *d;
    uint32_t grp;              /* query heads per KV head */
    uint32_t tb;               /* tokens per block */
    uint32_t n_blocks, n_split, n_tasks;
    uint32_t dkp, dvp, nqp;    /* head dims rounded up to OPS_W; queries per task rounded to 4 */
    const vkq_type_traits *kt, *vt;
    size_t k_head_bytes, v_head_bytes;
    float *scratch;            /* per share */
    size_t scratch_floats;
    float *part;               /* [split][token][head][dvp + 2]: m, l, acc */
    atomic_uint next;
} attn_job;

/* binary16 -> binary32 without branches, so the loop over a row vectorises: the exponent
 * rebiased for normal numbers (once more for Inf / NaN, NaN made quiet as vkq_fp16_to_f32
 * does), subnormals through an exact integer-to-float conversion. Same bits as
 * vkq_fp16_to_f32. */
static inline uint32_t fp16_bits_to_f32_bits(uint32_t h)
{
    const uint32_t em = h & 0x7FFFu;
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t special = 0u - (uint32_t)(em >= 0x7C00u), nan = 0u - (uint32_t)(em > 0x7C00u);
    const uint32_t norm = (((em << 13) + (112u << 23)) + (special & (112u << 23))) | (nan & 0x00400000u);
    const float sub_f = (float)(int32_t)em * 0x1p-24f;
    uint32_t sub;
    memcpy(&sub, &sub_f, 4);
    const uint32_t is_sub = 0u - (uint32_t)(em < 0x400u);
    return sign | (sub & is_sub) | (norm & ~is_sub);
}

static void f16_row_portable(const uint8_t *src, uint32_t n, float *dst)
{
    uint32_t i = 0;
    for (; i + OPS_W <= n; i += OPS_W) {
        uint16_t h[OPS_W];
        uint32_t o[OPS_W];
        memcpy(h, src + 2 * (size_t)i, sizeof h);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        for (int w = 0; w < OPS_W; w++) {
            h[w] = (uint16_t)(h[w] >> 8 | h[w] << 8);
        }
#endif
        for (int w = 0; w < OPS_W; w++) {
            o[w] = fp16_bits_to_f32_bits(h[w]);
        }
        memcpy(dst + i, o, sizeof o);
    }
    for (; i < n; i++) {
        const uint32_t b = fp16_bits_to_f32_bits((uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8);
        memcpy(dst + i, &b, 4);
    }
}

/* One cache row's head into dst[0 .. dim) (dst padded by the caller). */
static void decode_head(const vkq_cpu_ops_isa *isa, const vkq_type_traits *t, const uint8_t *src, uint32_t dim,
                        float *dst)
{
    if (t->info.type == VKQ_TYPE_F32) {
        memcpy(dst, src, (size_t)dim * 4);
    } else if (t->info.type == VKQ_TYPE_F16) {
        isa->f16_row(src, dim, dst);
    } else {
        const uint32_t qk = t->info.block_elems;
        for (uint32_t b = 0; b < dim / qk; b++) {
            t->decode_block(src + (size_t)b * t->info.block_bytes, dst + (size_t)b * qk);
        }
    }
}

/* The portable inner loops of attention (ops_isa.h): fixed widths that GCC vectorises at -O2. */
static void attn_scores_portable(const float *q, uint32_t nq, uint32_t dk, const float *k, size_t ldk, uint32_t nc,
                                 float *S)
{
    const uint32_t nc4 = (nc + 3) & ~3u;
    for (uint32_t i = 0; i < nq; i++) {
        const float *qi = q + (size_t)i * dk;
        for (uint32_t c = 0; c < nc4; c++) {
            const float *kc = k + (size_t)c * ldk;
            float part[OPS_W] = {0};
            for (uint32_t e = 0; e < dk; e += OPS_W) {
                for (int w = 0; w < OPS_W; w++) {
                    part[w] += qi[e + w] * kc[e + w];
                }
            }
            float sum = 0.0f;
            for (int w = 0; w < OPS_W; w++) {
                sum += part[w];
            }
            S[(size_t)i * ATT_C + c] = sum;
        }
    }
}

/* Four queries per pass over V, OPS_W columns at a time in a local accumulator (the scratch
 * pointers may alias as far as the compiler knows). */
static void attn_pv_portable(const float *S, uint32_t nq, const float *V, size_t ldv, uint32_t nc, uint32_t dv,
                             float *A)
{
    for (uint32_t i = 0; i < nq; i += 4) {
        const float *s = S + (size_t)i * ATT_C;
        for (uint32_t e = 0; e < dv; e += OPS_W) {
            float acc[4][OPS_W];
            for (int r = 0; r < 4; r++) {
                memcpy(acc[r], A + (size_t)(i + r) * dv + e, sizeof acc[r]);
            }
            for (uint32_t c = 0; c < nc; c++) {
                const float p0 = s[c], p1 = s[ATT_C + c], p2 = s[2 * ATT_C + c], p3 = s[3 * ATT_C + c];
                const float *v = V + (size_t)c * ldv + e;
                for (int w = 0; w < OPS_W; w++) {
                    acc[0][w] += p0 * v[w];
                    acc[1][w] += p1 * v[w];
                    acc[2][w] += p2 * v[w];
                    acc[3][w] += p3 * v[w];
                }
            }
            for (int r = 0; r < 4; r++) {
                memcpy(A + (size_t)(i + r) * dv + e, acc[r], sizeof acc[r]);
            }
        }
    }
}

static void exp_chunk_portable(float *x)
{
    for (int c = 0; c < ATT_C; c++) {
        x[c] = expf(x[c]);
    }
}

static const vkq_cpu_ops_isa k_portable_ops = {glu_portable, attn_scores_portable, attn_pv_portable,
                                               exp_chunk_portable, f16_row_portable};

/* The AVX2 table where the CPU runs it (and VKQ_CPU_NO_SIMD is not set). */
static const vkq_cpu_ops_isa *ops_isa(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (vkq_cpu_avx2_usable()) return &vkq_cpu_avx2_ops;
#endif
    return &k_portable_ops;
}

static void attn_task(attn_job *j, float *sc, uint32_t task)
{
    const vkq_cpu_ops_isa *isa = ops_isa();
    const vkq_attn_desc *d = j->d;
    const float scale = d->scale, softcap = d->softcap; /* locals: d's fields may alias the scratch */
    const uint32_t dkp = j->dkp, dvp = j->dvp, nqp = j->nqp, grp = j->grp;
    /* K and V rows one OPS_W step longer than the head: rows 1 KiB apart (head_dim 256) would
     * share a few L1 sets. */
    const size_t ldk = dkp + OPS_W, ldv = dvp + OPS_W;
    float *Q = sc;                     /* [nqp][dkp] */
    float *K = Q + (size_t)nqp * dkp;  /* [ATT_C][ldk] */
    float *V = K + (size_t)ATT_C * ldk; /* [ATT_C][ldv] */
    float *S = V + (size_t)ATT_C * ldv; /* [nqp][ATT_C] */
    float *A = S + (size_t)nqp * ATT_C; /* [nqp][dvp] */
    float *M = A + (size_t)nqp * dvp;   /* [nqp] */
    float *L = M + nqp;                 /* [nqp] */

    /* Later blocks see more keys: hand them out first. */
    const uint32_t split = task % j->n_split;
    const uint32_t g = (task / j->n_split) % d->n_head_kv;
    const uint32_t blk = j->n_blocks - 1 - task / (j->n_split * d->n_head_kv);
    const uint32_t t0 = blk * j->tb, t1 = t0 + j->tb < d->n_tokens ? t0 + j->tb : d->n_tokens;
    const uint32_t nq = (t1 - t0) * grp;

    const uint32_t qp0 = d->pos0 + t0, qp1 = d->pos0 + t1 - 1; /* positions of the block */
    const uint32_t lo = d->window && qp0 + 1 > d->window ? qp0 + 1 - d->window : 0;
    const uint64_t span = (uint64_t)qp1 + 1 - lo;
    const uint32_t k0 = lo + (uint32_t)(span * split / j->n_split);
    const uint32_t k1 = lo + (uint32_t)(span * (split + 1) / j->n_split);

    for (uint32_t i = 0; i < nqp; i++) {
        float *q = Q + (size_t)i * dkp;
        memset(q, 0, (size_t)dkp * 4);
        if (i < nq) {
            const uint32_t t = t0 + i / grp, h = g * grp + i % grp;
            const float *src = d->q + ((size_t)t * d->n_head + h) * d->head_dim_k;
            for (uint32_t e = 0; e < d->head_dim_k; e++) {
                q[e] = src[e] * scale;
            }
        }
        M[i] = -INFINITY;
        L[i] = 0.0f;
        memset(A + (size_t)i * dvp, 0, (size_t)dvp * 4);
    }

    for (uint32_t c0 = k0; c0 < k1; c0 += ATT_C) {
        const uint32_t cn = k1 - c0 < ATT_C ? k1 - c0 : ATT_C;
        for (uint32_t c = 0; c < cn; c++) {
            const uint8_t *kr = (const uint8_t *)d->k + (size_t)(c0 + c) * d->k_row_bytes + g * j->k_head_bytes;
            decode_head(isa, j->kt, kr, d->head_dim_k, K + (size_t)c * ldk);
            const uint8_t *vr = (const uint8_t *)d->v + (size_t)(c0 + c) * d->v_row_bytes + g * j->v_head_bytes;
            decode_head(isa, j->vt, vr, d->head_dim_v, V + (size_t)c * ldv);
        }
        isa->attn_scores(Q, nqp, dkp, K, ldk, cn, S);
        /* Online softmax step; S becomes the weights of the chunk. */
        for (uint32_t i = 0; i < nqp; i++) {
            float *s = S + (size_t)i * ATT_C;
            if (i >= nq) {
                memset(s, 0, ATT_C * sizeof *s);
                continue;
            }
            const uint32_t qp = d->pos0 + t0 + i / grp;
            const uint32_t qlo = d->window && qp + 1 > d->window ? qp + 1 - d->window : 0;
            /* Visible keys of this chunk: c in [ca, cb). */
            const uint32_t ca = qlo > c0 ? (qlo - c0 < cn ? qlo - c0 : cn) : 0;
            const uint32_t cb = qp + 1 > c0 ? (qp + 1 - c0 < cn ? qp + 1 - c0 : cn) : 0;
            if (ca >= cb) {
                memset(s, 0, ATT_C * sizeof *s);
                continue;
            }
            /* Hidden keys to -inf first, so the max and exp below run over whole chunks in
             * OPS_W lanes (the compiler vectorises fixed widths only). */
            for (uint32_t c = 0; c < ATT_C; c++) {
                s[c] = c >= ca && c < cb ? s[c] : -INFINITY;
            }
            if (softcap != 0.0f) {
                for (uint32_t c = ca; c < cb; c++) {
                    s[c] = softcap * tanhf(s[c] / softcap);
                }
            }
            float part[OPS_W];
            for (int w = 0; w < OPS_W; w++) {
                part[w] = -INFINITY;
            }
            for (uint32_t c = 0; c < ATT_C; c += OPS_W) {
                for (int w = 0; w < OPS_W; w++) {
                    part[w] = s[c + w] > part[w] ? s[c + w] : part[w];
                }
            }
            float mx = M[i];
            for (int w = 0; w < OPS_W; w++) {
                mx = part[w] > mx ? part[w] : mx;
            }
            const float m_new = mx;
            const float alpha = expf(M[i] - m_new); /* 0 on the first visible chunk */
            for (uint32_t c = 0; c < ATT_C; c++) {
                s[c] -= m_new;
            }
            isa->exp_chunk(s);
            for (int w = 0; w < OPS_W; w++) {
                part[w] = 0.0f;
            }
            for (uint32_t c = 0; c < ATT_C; c += OPS_W) {
                for (int w = 0; w < OPS_W; w++) {
                    part[w] += s[c + w];
                }
            }
            float sum = 0.0f;
            for (int w = 0; w < OPS_W; w++) {
                sum += part[w];
            }
            if (alpha != 1.0f) {
                float *a = A + (size_t)i * dvp;
                for (uint32_t e = 0; e < dvp; e += OPS_W) {
                    for (int w = 0; w < OPS_W; w++) {
                        a[e + w] *= alpha;
                    }
                }
            }
            L[i] = L[i] * alpha + sum;
            M[i] = m_new;
        }
        isa->attn_pv(S, nqp, V, ldv, cn, dvp, A);
    }

    for (uint32_t i = 0; i < nq; i++) {
        const uint32_t t = t0 + i / grp, h = g * grp + i % grp;
        const float *a = A + (size_t)i * dvp;
        if (j->n_split == 1) {
            float *o = d->out + ((size_t)t * d->n_head + h) * d->head_dim_v;
            const float inv = 1.0f / L[i];
            for (uint32_t e = 0; e < d->head_dim_v; e++) {
                o[e] = a[e] * inv;
            }
        } else {
            float *p = j->part + (((size_t)split * d->n_tokens + t) * d->n_head + h) * (dvp + 2);
            p[0] = M[i];
            p[1] = L[i];
            memcpy(p + 2, a, (size_t)d->head_dim_v * 4);
        }
    }
}

static void attn_share(void *arg, uint32_t share)
{
    attn_job *j = arg;
    float *sc = j->scratch + (size_t)share * j->scratch_floats;
    for (;;) {
        const uint32_t task = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (task >= j->n_tasks) break;
        attn_task(j, sc, task);
    }
}

static vkq_status check_kv(const char *what, vkq_type type, uint32_t head_dim, uint32_t n_head_kv,
                           size_t row_bytes, size_t *head_bytes)
{
    const vkq_type_traits *t = vkq_traits(type);
    if (!vkq_kv_type_supported(type))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "vkq_cpu_attention: %s type %s (id %d) is not a KV cache type", what,
                        t ? t->info.name : "unknown", (int)type);
    if (head_dim % t->info.block_elems)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "vkq_cpu_attention: %s head_dim %u is not a multiple of %s's block of %u",
                        what, head_dim, t->info.name, t->info.block_elems);
    *head_bytes = (size_t)(head_dim / t->info.block_elems) * t->info.block_bytes;
    if (row_bytes < *head_bytes * n_head_kv)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "vkq_cpu_attention: %s row of %zu bytes is less than %u heads of %u %s elements", what,
                        row_bytes, n_head_kv, head_dim, t->info.name);
    return VKQ_SUCCESS;
}

vkq_status vkq_cpu_attention(vkq_cpu_pool pool, const vkq_attn_desc *d)
{
    if (!d) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_attention: desc is NULL");
    if (!d->q || !d->k || !d->v || !d->out)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_attention: q, k, v and out must be set");
    if (!d->n_tokens || !d->n_head || !d->n_head_kv || !d->head_dim_k || !d->head_dim_v)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "vkq_cpu_attention: n_tokens, n_head, n_head_kv, head_dim_k and head_dim_v must be set");
    if (d->n_head % d->n_head_kv)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_attention: n_head %u is not a multiple of n_head_kv %u",
                        d->n_head, d->n_head_kv);
    if ((uint64_t)d->pos0 + d->n_tokens > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_attention: pos0 %u + n_tokens %u overflows", d->pos0,
                        d->n_tokens);
    if (d->head_dim_k > 65536 || d->head_dim_v > 65536)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "vkq_cpu_attention: head dims %u, %u are over 65536", d->head_dim_k,
                        d->head_dim_v);
    if (!isfinite(d->scale) || !isfinite(d->softcap))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_attention: scale and softcap must be finite");
    attn_job j;
    memset(&j, 0, sizeof j);
    vkq_status st = check_kv("K", d->k_type, d->head_dim_k, d->n_head_kv, d->k_row_bytes, &j.k_head_bytes);
    if (st == VKQ_SUCCESS) st = check_kv("V", d->v_type, d->head_dim_v, d->n_head_kv, d->v_row_bytes, &j.v_head_bytes);
    if (st != VKQ_SUCCESS) return st;

    j.d = d;
    j.kt = vkq_traits(d->k_type);
    j.vt = vkq_traits(d->v_type);
    j.grp = d->n_head / d->n_head_kv;
    j.tb = j.grp >= ATT_Q ? 1 : ATT_Q / j.grp;
    if (j.tb > d->n_tokens) j.tb = d->n_tokens;
    j.n_blocks = (d->n_tokens + j.tb - 1) / j.tb;
    j.dkp = (d->head_dim_k + OPS_W - 1) / OPS_W * OPS_W;
    j.dvp = (d->head_dim_v + OPS_W - 1) / OPS_W * OPS_W;
    j.nqp = (j.tb * j.grp + 3) / 4 * 4;

    /* Threads: by the multiply-adds (two per key and dimension, about half the keys visible). */
    const uint64_t n_keys = (uint64_t)d->pos0 + d->n_tokens;
    const uint64_t work = (uint64_t)d->n_tokens * d->n_head * (n_keys - (d->n_tokens - 1) / 2) *
                          (d->head_dim_k + d->head_dim_v);
    uint32_t ns = shares_for(pool, work);
    const uint32_t base = j.n_blocks * d->n_head_kv;
    j.n_split = 1;
    if (ns > base) {
        /* Too few tasks: slice the keys too, each slice at least 2 chunks. */
        uint32_t want = (ns + base - 1) / base;
        const uint64_t max_split = n_keys / (2 * ATT_C);
        j.n_split = want <= max_split ? want : max_split ? (uint32_t)max_split : 1;
    }
    j.n_tasks = base * j.n_split;
    if (ns > j.n_tasks) ns = j.n_tasks;

    j.scratch_floats = (size_t)j.nqp * j.dkp + (size_t)ATT_C * (j.dkp + OPS_W) + (size_t)ATT_C * (j.dvp + OPS_W) +
                       (size_t)j.nqp * ATT_C + (size_t)j.nqp * j.dvp + 2 * (size_t)j.nqp;
    j.scratch = calloc((size_t)ns * j.scratch_floats, sizeof(float));
    if (j.n_split > 1) j.part = malloc((size_t)j.n_split * d->n_tokens * d->n_head * (j.dvp + 2) * sizeof(float));
    if (!j.scratch || (j.n_split > 1 && !j.part)) {
        free(j.scratch);
        free(j.part);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_cpu_attention: no memory for %u shares of scratch", ns);
    }
    atomic_init(&j.next, 0);
    if (ns <= 1) {
        attn_share(&j, 0);
    } else {
        vkq_cpu_fork_join(pool, ns, attn_share, &j);
    }

    if (j.n_split > 1) {
        const size_t stride = (size_t)d->n_tokens * d->n_head * (j.dvp + 2);
        for (size_t r = 0; r < (size_t)d->n_tokens * d->n_head; r++) {
            const float *p0 = j.part + r * (j.dvp + 2);
            float m = -INFINITY;
            for (uint32_t s = 0; s < j.n_split; s++) {
                m = p0[s * stride] > m ? p0[s * stride] : m;
            }
            float l = 0.0f;
            float *o = d->out + r * d->head_dim_v;
            memset(o, 0, (size_t)d->head_dim_v * 4);
            for (uint32_t s = 0; s < j.n_split; s++) {
                const float *p = p0 + s * stride;
                if (p[1] == 0.0f) continue; /* a slice with no visible key */
                const float f = expf(p[0] - m);
                l += p[1] * f;
                for (uint32_t e = 0; e < d->head_dim_v; e++) {
                    o[e] += p[2 + e] * f;
                }
            }
            const float inv = 1.0f / l;
            for (uint32_t e = 0; e < d->head_dim_v; e++) {
                o[e] *= inv;
            }
        }
    }
    free(j.scratch);
    free(j.part);
    return VKQ_SUCCESS;
}

/* ---- MoE router ----------------------------------------------------------------------------- */

vkq_status vkq_cpu_topk_router(const float *logits, uint32_t n_tokens, uint32_t n_expert, uint32_t n_used,
                               int norm_topk, int32_t *ids, float *weights)
{
    if (!logits || !ids || !weights || !n_tokens || !n_expert || !n_used)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "vkq_cpu_topk_router: logits, ids, weights, n_tokens, n_expert and n_used must be set");
    if (n_used > n_expert)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_topk_router: n_used %u is more than n_expert %u", n_used,
                        n_expert);
    if (n_expert > INT32_MAX)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_cpu_topk_router: n_expert %u is too many", n_expert);
    for (uint32_t t = 0; t < n_tokens; t++) {
        const float *x = logits + (size_t)t * n_expert;
        int32_t *id = ids + (size_t)t * n_used;
        float *w = weights + (size_t)t * n_used;
        float mx = x[0];
        for (uint32_t e = 1; e < n_expert; e++) {
            mx = x[e] > mx ? x[e] : mx;
        }
        float sum = 0.0f;
        for (uint32_t e = 0; e < n_expert; e++) {
            sum += expf(x[e] - mx);
        }
        /* Selection by repeated scans: n_used is small (2 .. 8 in the models we run). The
         * previous pick bounds the next: a lower value, or the same value at a higher index. */
        float sel_sum = 0.0f;
        for (uint32_t k = 0; k < n_used; k++) {
            int32_t best = -1;
            for (uint32_t e = 0; e < n_expert; e++) {
                if (k > 0) {
                    const float pv = x[id[k - 1]];
                    if (!(x[e] < pv || (x[e] == pv && (int32_t)e > id[k - 1]))) continue;
                }
                if (best < 0 || x[e] > x[best]) best = (int32_t)e;
            }
            if (best < 0) best = 0; /* NaN logits: nothing compares; keep the ids valid */
            id[k] = best;
            w[k] = expf(x[best] - mx) / sum;
            sel_sum += w[k];
        }
        if (norm_topk) {
            for (uint32_t k = 0; k < n_used; k++) {
                w[k] /= sel_sum;
            }
        }
    }
    return VKQ_SUCCESS;
}
