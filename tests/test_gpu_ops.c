/* The GPU layer operations (src/vulkan/ops.h) against f64 references computed here, on fresh
 * random inputs (seed printed): rmsnorm (plain; + residual add, raw or normed, + the sum's norm;
 * + rope), rope (normal/NeoX, partial
 * rotation, pos0 > 0), glu
 * (SiLU/GELU, gates up to +-100), add (residual, bias), scale, kv_store for every KV cache type
 * (bytes decoded back with vkq_decode_cpu: exact for F32/F16/BF16, within the format's rounding
 * step otherwise; padding between rows untouched), attention for gemma- and llama-like shapes
 * with every KV type (the cache filled by the GPU's own kv_store in the same command buffer, the
 * reference reading those bytes, so only arithmetic differs), and rejected arguments recording
 * nothing. Everything runs under the validation layer (gpu_env). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "gpu_record.h"
#include "test_util.h"
#include "vulkan/ops.h"

static uint64_t g_rng;

typedef gpu_rec ctx;

static float frand(float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(vkq_test_rand(&g_rng) >> 11) / 9007199254740992.0);
}

static void fill(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i)
        x[i] = frand(lo, hi);
}

/* A device buffer of `size` bytes holding `data` at `offset` (the rest zero). */
static vkq_buffer make_buf(ctx *c, uint64_t size, uint64_t offset, const void *data, uint64_t bytes)
{
    vkq_buffer b = NULL;
    CHECK_OK(vkq_buffer_create(c->dev, size, VKQ_MEMORY_DEVICE, 0, &b));
    uint8_t *z = calloc(1, size);
    if (data) memcpy(z + offset, data, bytes);
    CHECK_OK(vkq_buffer_upload(b, 0, z, size));
    free(z);
    return b;
}

static void get(vkq_buffer b, uint64_t offset, void *dst, uint64_t bytes)
{
    CHECK_OK(vkq_buffer_download(b, offset, dst, bytes));
}

/* Largest |got - want| over n, relative to the largest |want| (1 if all are 0); NaN if any got is not finite.
 */
static double rel_err(const float *got, const double *want, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!isfinite(got[i])) return NAN;
        double d = fabs(got[i] - want[i]);
        if (d > e) e = d;
        if (fabs(want[i]) > m) m = fabs(want[i]);
    }
    return e / (m > 0 ? m : 1);
}

#define OFF 256 /* data starts here in most buffers: the kernels' base offsets are exercised */

static void test_rmsnorm(ctx *c)
{
    static const uint32_t ns[] = {640, 256}, rowss[] = {3, 5};
    for (int k = 0; k < 2; ++k)
        for (int with_w = 0; with_w < 2; ++with_w)
            for (int in_place = 0; in_place < 2; ++in_place) {
                const uint32_t n = ns[k], rows = rowss[k];
                const size_t ne = (size_t)n * rows;
                float *x = xmalloc(ne * 4), *w = xmalloc(n * 4), *got = xmalloc(ne * 4);
                double *want = xmalloc(ne * 8);
                fill(x, ne, -2, 2);
                fill(w, n, -1.5f, 1.5f);
                const float eps = 1e-6f;
                for (uint32_t r = 0; r < rows; ++r) {
                    double s = 0;
                    for (uint32_t i = 0; i < n; ++i)
                        s += (double)x[r * n + i] * x[r * n + i];
                    double inv = 1 / sqrt(s / n + eps);
                    for (uint32_t i = 0; i < n; ++i)
                        want[r * n + i] = x[r * n + i] * inv * (with_w ? w[i] : 1.0);
                }
                vkq_buffer bx = make_buf(c, OFF + ne * 4, OFF, x, ne * 4);
                vkq_buffer bw = make_buf(c, n * 4 + 64, 64, w, n * 4);
                vkq_buffer bo = in_place ? bx : make_buf(c, ne * 4, 0, NULL, 0);
                vkq_bufref out = {bo, in_place ? OFF : 0};
                CHECK_OK(vkq_rmsnorm_record(c->dev, gpu_rec_begin(c), (vkq_bufref){bx, OFF},
                                            (vkq_bufref){with_w ? bw : NULL, 64}, out, n, rows, eps));
                gpu_rec_submit(c);
                get(bo, out.offset, got, ne * 4);
                double e = rel_err(got, want, ne);
                CHECK(e <= 1e-5, "rmsnorm n=%u rows=%u w=%d in_place=%d: relative error %g", n, rows, with_w,
                      in_place, e);
                printf("rmsnorm n=%u rows=%u weight=%d in-place=%d: rel err %.2e\n", n, rows, with_w,
                       in_place, e);
                vkq_buffer_destroy(bx);
                vkq_buffer_destroy(bw);
                if (!in_place) vkq_buffer_destroy(bo);
                free(x);
                free(w);
                free(got);
                free(want);
            }
}

static void test_rope(ctx *c)
{
    const uint32_t n_tokens = 5, n_heads = 3, head_dim = 64;
    static const uint32_t rots[] = {32, 64}, pos0s[] = {0, 50};
    for (int ri = 0; ri < 2; ++ri)
        for (int pi = 0; pi < 2; ++pi)
            for (int neox = 0; neox < 2; ++neox) {
                const uint32_t n_rot = rots[ri], pos0 = pos0s[pi], half = n_rot / 2;
                const size_t ne = (size_t)n_tokens * n_heads * head_dim;
                float *x = xmalloc(ne * 4), *got = xmalloc(ne * 4), *f = xmalloc(half * 4);
                double *want = xmalloc(ne * 8);
                fill(x, ne, -1, 1);
                for (uint32_t i = 0; i < half; ++i)
                    f[i] = (float)pow(10000.0, -2.0 * i / n_rot);
                for (size_t i = 0; i < ne; ++i)
                    want[i] = x[i];
                for (uint32_t t = 0; t < n_tokens; ++t)
                    for (uint32_t h = 0; h < n_heads; ++h)
                        for (uint32_t i = 0; i < half; ++i) {
                            size_t b = ((size_t)t * n_heads + h) * head_dim;
                            size_t i0 = neox ? b + i : b + 2 * i, i1 = neox ? b + i + half : b + 2 * i + 1;
                            double th = (double)(pos0 + t) * f[i];
                            want[i0] = x[i0] * cos(th) - x[i1] * sin(th);
                            want[i1] = x[i0] * sin(th) + x[i1] * cos(th);
                        }
                vkq_buffer bx = make_buf(c, OFF + ne * 4, OFF, x, ne * 4);
                vkq_buffer bf = make_buf(c, 32 + half * 4, 32, f, half * 4);
                CHECK_OK(vkq_rope_record(c->dev, gpu_rec_begin(c), (vkq_bufref){bx, OFF}, n_tokens, n_heads, head_dim,
                                         n_rot, pos0, (vkq_bufref){bf, 32}, neox));
                gpu_rec_submit(c);
                get(bx, OFF, got, ne * 4);
                double e = rel_err(got, want, ne);
                int same = 1;
                for (size_t t = 0; t < (size_t)n_tokens * n_heads; ++t)
                    for (uint32_t i = n_rot; i < head_dim; ++i)
                        same &= memcmp(&got[t * head_dim + i], &x[t * head_dim + i], 4) == 0;
                CHECK(e <= 1e-5, "rope n_rot=%u pos0=%u neox=%d: relative error %g", n_rot, pos0, neox, e);
                CHECK(same, "rope n_rot=%u: elements past n_rot changed", n_rot);
                printf("rope n_rot=%u/%u pos0=%u %s: rel err %.2e\n", n_rot, head_dim, pos0,
                       neox ? "neox" : "normal", e);
                vkq_buffer_destroy(bx);
                vkq_buffer_destroy(bf);
                free(x);
                free(got);
                free(f);
                free(want);
            }
}

/* The fused forms (vkq_rmsnorm_fused_record): out += norm(x) * w, and rope(norm(x) * w) per head
 * (normal/NeoX, partial rotation, pos0 > 0, in place and not), against f64 of the same steps. */
static void test_rmsnorm_fused(ctx *c)
{
    const float eps = 1e-6f;
    for (int mode = 0; mode < 3; ++mode) { /* into a residual: normed x; raw x + norm2; normed x + norm2 */
        const int raw = mode == 1, norm2 = mode > 0;
        const uint32_t n = 640, rows = 3;
        const size_t ne = (size_t)n * rows;
        float *x = xmalloc(ne * 4), *w = xmalloc(n * 4), *w2 = xmalloc(n * 4), *res = xmalloc(ne * 4),
              *got = xmalloc(ne * 4), *got2 = xmalloc(ne * 4);
        double *want = xmalloc(ne * 8), *want2 = xmalloc(ne * 8);
        fill(x, ne, -2, 2);
        fill(w, n, -1.5f, 1.5f);
        fill(w2, n, -1.5f, 1.5f);
        fill(res, ne, -3, 3);
        for (uint32_t r = 0; r < rows; ++r) {
            double s = 0;
            for (uint32_t i = 0; i < n; ++i) s += (double)x[r * n + i] * x[r * n + i];
            double inv = 1 / sqrt(s / n + eps);
            for (uint32_t i = 0; i < n; ++i)
                want[r * n + i] = res[r * n + i] + (raw ? x[r * n + i] : x[r * n + i] * inv * w[i]);
            /* the second norm of the f32 sums the kernel stored (their rounding is not its error) */
            s = 0;
            for (uint32_t i = 0; i < n; ++i) s += (double)(float)want[r * n + i] * (float)want[r * n + i];
            inv = 1 / sqrt(s / n + eps);
            for (uint32_t i = 0; i < n; ++i) want2[r * n + i] = (float)want[r * n + i] * inv * w2[i];
        }
        vkq_buffer bx = make_buf(c, OFF + ne * 4, OFF, x, ne * 4);
        vkq_buffer bw = make_buf(c, n * 4 + 64, 64, w, n * 4);
        vkq_buffer bw2 = make_buf(c, n * 4 + 128, 128, w2, n * 4);
        vkq_buffer bo = make_buf(c, OFF + ne * 4, OFF, res, ne * 4);
        vkq_buffer bh = make_buf(c, 32 + ne * 4, 0, NULL, 0);
        vkq_rmsnorm_fused f = {.accumulate = 1, .raw = raw};
        if (norm2) f.norm2.w = (vkq_bufref){bw2, 128}, f.norm2.out = (vkq_bufref){bh, 32};
        CHECK_OK(vkq_rmsnorm_fused_record(c->dev, gpu_rec_begin(c), (vkq_bufref){bx, OFF},
                                          (vkq_bufref){raw ? NULL : bw, 64}, (vkq_bufref){bo, OFF}, n, rows, eps, &f));
        gpu_rec_submit(c);
        get(bo, OFF, got, ne * 4);
        get(bh, 32, got2, ne * 4);
        double e = rel_err(got, want, ne), e2 = norm2 ? rel_err(got2, want2, ne) : 0;
        CHECK(e <= 1e-5 && e2 <= 1e-5, "rmsnorm accumulate mode %d: relative error %g, second norm %g", mode, e, e2);
        printf("%s + residual add%s n=%u rows=%u: rel err %.2e%s", raw ? "x" : "rmsnorm(x)",
               norm2 ? " + rmsnorm of the sum" : "", n, rows, e, norm2 ? "" : "\n");
        if (norm2) printf(", %.2e\n", e2);
        vkq_buffer_destroy(bx);
        vkq_buffer_destroy(bw);
        vkq_buffer_destroy(bw2);
        vkq_buffer_destroy(bo);
        vkq_buffer_destroy(bh);
        free(x), free(w), free(w2), free(res), free(got), free(got2), free(want), free(want2);
    }
    const uint32_t n_tokens = 4, n_heads = 3, head_dim = 64;
    static const uint32_t rots[] = {32, 64}, pos0s[] = {0, 70};
    for (int ri = 0; ri < 2; ++ri)
        for (int neox = 0; neox < 2; ++neox) {
            const uint32_t n_rot = rots[ri], pos0 = pos0s[ri ^ neox], half = n_rot / 2, rows = n_tokens * n_heads;
            const int in_place = neox;
            const size_t ne = (size_t)rows * head_dim;
            float *x = xmalloc(ne * 4), *w = xmalloc(head_dim * 4), *f = xmalloc(half * 4), *got = xmalloc(ne * 4);
            double *nx = xmalloc(ne * 8), *want = xmalloc(ne * 8);
            fill(x, ne, -2, 2);
            fill(w, head_dim, -1.5f, 1.5f);
            for (uint32_t i = 0; i < half; ++i) f[i] = (float)pow(1000000.0, -2.0 * i / n_rot);
            for (uint32_t r = 0; r < rows; ++r) {
                double s = 0;
                for (uint32_t i = 0; i < head_dim; ++i) s += (double)x[r * head_dim + i] * x[r * head_dim + i];
                double inv = 1 / sqrt(s / head_dim + eps);
                for (uint32_t i = 0; i < head_dim; ++i) nx[r * head_dim + i] = want[r * head_dim + i] =
                    x[r * head_dim + i] * inv * w[i];
                const double pos = pos0 + r / n_heads;
                for (uint32_t i = 0; i < half; ++i) {
                    size_t b = (size_t)r * head_dim;
                    size_t i0 = neox ? b + i : b + 2 * i, i1 = neox ? b + i + half : b + 2 * i + 1;
                    double th = pos * f[i];
                    want[i0] = nx[i0] * cos(th) - nx[i1] * sin(th);
                    want[i1] = nx[i0] * sin(th) + nx[i1] * cos(th);
                }
            }
            vkq_buffer bx = make_buf(c, OFF + ne * 4, OFF, x, ne * 4);
            vkq_buffer bw = make_buf(c, head_dim * 4 + 64, 64, w, head_dim * 4);
            vkq_buffer bf = make_buf(c, 32 + half * 4, 32, f, half * 4);
            vkq_buffer bo = in_place ? bx : make_buf(c, ne * 4, 0, NULL, 0);
            vkq_bufref out = {bo, in_place ? OFF : 0};
            const vkq_rmsnorm_fused fu = {.rope = {.n_rot = n_rot, .n_heads = n_heads, .pos0 = pos0, .neox = neox,
                                                   .inv_freq = {bf, 32}}};
            CHECK_OK(vkq_rmsnorm_fused_record(c->dev, gpu_rec_begin(c), (vkq_bufref){bx, OFF}, (vkq_bufref){bw, 64},
                                              out, head_dim, rows, eps, &fu));
            gpu_rec_submit(c);
            get(bo, out.offset, got, ne * 4);
            double e = rel_err(got, want, ne);
            CHECK(e <= 1e-5, "rmsnorm + rope n_rot=%u pos0=%u neox=%d: relative error %g", n_rot, pos0, neox, e);
            printf("rmsnorm + rope n_rot=%u/%u pos0=%u %s%s: rel err %.2e\n", n_rot, head_dim, pos0,
                   neox ? "neox" : "normal", in_place ? " in place" : "", e);
            vkq_buffer_destroy(bx);
            vkq_buffer_destroy(bw);
            vkq_buffer_destroy(bf);
            if (!in_place) vkq_buffer_destroy(bo);
            free(x), free(w), free(f), free(got), free(nx), free(want);
        }
}

static void test_glu(ctx *c)
{
    const uint64_t n = 1000;
    for (int kind = 0; kind < 2; ++kind) {
        float *g = xmalloc(n * 4), *u = xmalloc(n * 4), *got = xmalloc(n * 4);
        fill(g, n, -100, 100);
        fill(g, n / 2, -6, 6); /* half in the curved part */
        g[0] = 100.0f;
        g[1] = -100.0f;
        g[2] = 0.0f;
        g[3] = -88.7f;
        g[4] = 1e-3f;
        fill(u, n, -3, 3);
        vkq_buffer bg = make_buf(c, OFF + n * 4, OFF, g, n * 4), bu = make_buf(c, n * 4, 0, u, n * 4);
        /* out aliases gate */
        CHECK_OK(vkq_glu_record(c->dev, gpu_rec_begin(c), (vkq_glu_kind)kind, (vkq_bufref){bg, OFF},
                                (vkq_bufref){bu, 0}, (vkq_bufref){bg, OFF}, n));
        gpu_rec_submit(c);
        get(bg, OFF, got, n * 4);
        double worst = 0;
        int finite = 1;
        for (uint64_t i = 0; i < n; ++i) {
            double x = g[i], a;
            if (kind == VKQ_GLU_SILU)
                a = x / (1 + exp(-x));
            else
                a = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
            double want = a * u[i];
            finite &= isfinite(got[i]);
            /* relative, with a floor where the fp32 1 + tanh cancels: an absolute error of
             * 1e-7 |gate| |up| is all fp32 can give there */
            double e = fabs(got[i] - want) / (fabs(want) + 1e-2 * fabs(u[i]) * fmax(fabs(x), 1));
            if (e > worst) worst = e;
        }
        CHECK(finite, "glu %d: non-finite output", kind);
        CHECK(worst <= 1e-5, "glu %s: relative error %g", kind ? "gelu" : "silu", worst);
        printf("glu %s (in place on gate, |gate| <= 100): rel err %.2e\n", kind ? "gelu_tanh" : "silu",
               worst);
        vkq_buffer_destroy(bg);
        vkq_buffer_destroy(bu);
        free(g);
        free(u);
        free(got);
    }
}

static void test_add_scale(ctx *c)
{
    const uint32_t n = 300, rows = 4;
    for (int bias = 0; bias < 2; ++bias) {
        const uint32_t b_rows = bias ? 1 : rows;
        float *a = xmalloc(n * rows * 4), *b = xmalloc(n * b_rows * 4), *got = xmalloc(n * rows * 4);
        fill(a, n * rows, -10, 10);
        fill(b, n * b_rows, -10, 10);
        vkq_buffer ba = make_buf(c, OFF + n * rows * 4, OFF, a, n * rows * 4);
        vkq_buffer bb = make_buf(c, 16 + n * b_rows * 4, 16, b, n * b_rows * 4);
        CHECK_OK(vkq_add_record(c->dev, gpu_rec_begin(c), (vkq_bufref){ba, OFF}, (vkq_bufref){bb, 16},
                                (vkq_bufref){ba, OFF}, n, rows, b_rows));
        gpu_rec_submit(c);
        get(ba, OFF, got, n * rows * 4);
        int exact = 1;
        for (uint32_t r = 0; r < rows; ++r)
            for (uint32_t i = 0; i < n; ++i) /* one rounding of the exact sum: the f32 add */
                exact &= got[r * n + i] == (float)((double)a[r * n + i] + b[(r % b_rows) * n + i]);
        CHECK(exact, "add b_rows=%u differs from the rounded exact sum", b_rows);
        printf("add %s (in place): exact\n", bias ? "bias broadcast" : "residual");
        vkq_buffer_destroy(ba);
        vkq_buffer_destroy(bb);
        free(a);
        free(b);
        free(got);
    }
    const uint64_t ns = 777;
    float *x = xmalloc(ns * 4), *got = xmalloc(ns * 4);
    fill(x, ns, -5, 5);
    const float s = frand(-3, 3);
    vkq_buffer bx = make_buf(c, 8 + ns * 4, 8, x, ns * 4);
    CHECK_OK(vkq_scale_record(c->dev, gpu_rec_begin(c), (vkq_bufref){bx, 8}, s, ns));
    gpu_rec_submit(c);
    get(bx, 8, got, ns * 4);
    int exact = 1;
    for (uint64_t i = 0; i < ns; ++i)
        exact &= got[i] == (float)((double)x[i] * s);
    CHECK(exact, "scale differs from the rounded exact product");
    printf("scale by %g: exact\n", (double)s);
    vkq_buffer_destroy(bx);
    free(x);
    free(got);
}

static const vkq_type k_kv_types[] = {VKQ_TYPE_F32,  VKQ_TYPE_F16,  VKQ_TYPE_BF16,
                                      VKQ_TYPE_Q8_0, VKQ_TYPE_Q4_0, VKQ_TYPE_Q4_1,
                                      VKQ_TYPE_Q5_0, VKQ_TYPE_Q5_1, VKQ_TYPE_IQ4_NL};
#define N_KV_TYPES (sizeof k_kv_types / sizeof k_kv_types[0])

static uint16_t f32_to_f16_rne(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t s = (x >> 16) & 0x8000u, e = (x >> 23) & 0xFFu, m = x & 0x7FFFFFu;
    if (e == 255) return (uint16_t)(s | 0x7C00u | (m ? 0x200u | (m >> 13) : 0));
    int E = (int)e - 112;
    if (E >= 31) return (uint16_t)(s | 0x7C00u);
    if (E <= 0) {
        if (E < -10) return (uint16_t)s;
        m |= 0x800000u;
        uint32_t sh = (uint32_t)(14 - E), r = m >> sh, rem = m & ((1u << sh) - 1), hf = 1u << (sh - 1);
        if (rem > hf || (rem == hf && (r & 1))) r++;
        return (uint16_t)(s | r);
    }
    uint32_t r = ((uint32_t)E << 10) | (m >> 13), rem = m & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++;
    return (uint16_t)(s | r);
}

static uint16_t f32_to_bf16_rne(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* Cache layout used by the kv_store and attention tests: block types at odd offsets and strides
 * (blocks straddle words in every way), element-wise ones at their element alignment but not
 * at a word (F16/BF16) or binding alignment. */
static uint64_t kv_pad(vkq_type t)
{
    const vkq_type_info *ti = vkq_type_get(t);
    return ti->block_elems == 1 ? 3 * ti->block_bytes : 5;
}

/* Max error of one decoded block element: the rounding step of the format (in units of |d|) plus
 * the fp16 rounding of d (and m) times the magnitudes involved. */
static int kv_within(vkq_type t, const float *x, const float *y, uint32_t n)
{
    double amax = 0, mn = x[0], mx = x[0];
    for (uint32_t i = 0; i < n; ++i) {
        amax = fmax(amax, fabs(x[i]));
        mn = fmin(mn, x[i]);
        mx = fmax(mx, x[i]);
    }
    double step;
    switch (t) {
    case VKQ_TYPE_Q8_0:
        step = 0.5 * amax / 127;
        break;
    case VKQ_TYPE_Q4_0:
        step = amax / 8;
        break; /* -max encodes as 7d: one whole step */
    case VKQ_TYPE_Q5_0:
        step = amax / 16;
        break;
    case VKQ_TYPE_Q4_1:
        step = 0.5 * (mx - mn) / 15;
        break;
    case VKQ_TYPE_Q5_1:
        step = 0.5 * (mx - mn) / 31;
        break;
    case VKQ_TYPE_IQ4_NL:
        step = 14 * amax / 127;
        break; /* widest gap: 113 .. 127 */
    default:
        return 0;
    }
    for (uint32_t i = 0; i < n; ++i) {
        double bound = step * 1.001 + (fabs(x[i]) + fabs(mn)) * (1.0 / 1024) + 1e-30;
        if (!(fabs((double)y[i] - x[i]) <= bound)) return 0;
    }
    return 1;
}

static void test_kv_store(ctx *c)
{
    const uint32_t n_rows = 3, row_elems = 128;
    for (size_t k = 0; k < N_KV_TYPES; ++k) {
        const vkq_type t = k_kv_types[k];
        const vkq_type_info *ti = vkq_type_get(t);
        const uint64_t row_bytes = row_elems / ti->block_elems * ti->block_bytes;
        const uint64_t stride = row_bytes + kv_pad(t), off = 64 + kv_pad(t);
        const uint64_t size = off + n_rows * stride + 8;
        float *x = xmalloc(n_rows * row_elems * 4), *y = xmalloc(row_elems * 4);
        fill(x, (size_t)n_rows * row_elems, -4, 4);
        x[5] = 0.0f;
        x[6] = -0.0f;
        x[7] = 3e-39f; /* a zero, a negative zero, an f32 subnormal */
        for (uint32_t i = 32; i < 64; ++i)
            x[i] = 0.0f; /* an all-zero block */
        uint8_t *init = xmalloc(size), *got = xmalloc(size);
        memset(init, 0xA5, size);
        vkq_buffer src = make_buf(c, OFF + n_rows * row_elems * 4, OFF, x, n_rows * row_elems * 4);
        vkq_buffer dst = make_buf(c, size, 0, init, size);
        CHECK_OK(vkq_kv_store_record(c->dev, gpu_rec_begin(c), t, (vkq_bufref){src, OFF}, n_rows, row_elems,
                                     (vkq_bufref){dst, off}, stride));
        gpu_rec_submit(c);
        get(dst, 0, got, size);
        int ok = 1, pad_ok = memcmp(got, init, off) == 0 &&
                             memcmp(got + off + (n_rows - 1) * stride + row_bytes, init,
                                    size - off - (n_rows - 1) * stride - row_bytes) == 0;
        for (uint32_t r = 0; r < n_rows; ++r) {
            const uint8_t *row = got + off + r * stride;
            const float *xr = x + (size_t)r * row_elems;
            if (r + 1 < n_rows) pad_ok &= memcmp(row + row_bytes, init, stride - row_bytes) == 0;
            CHECK_OK(vkq_decode_cpu(t, row, row_bytes, y, row_elems));
            for (uint32_t i = 0; i < row_elems; i += 32) {
                if (t == VKQ_TYPE_F32) {
                    ok &= memcmp(row, xr, row_bytes) == 0;
                } else if (t == VKQ_TYPE_F16 || t == VKQ_TYPE_BF16) {
                    for (uint32_t j = i; j < i + 32; ++j) {
                        uint16_t want = t == VKQ_TYPE_F16 ? f32_to_f16_rne(xr[j]) : f32_to_bf16_rne(xr[j]),
                                 have;
                        memcpy(&have, row + 2 * j, 2);
                        ok &= have == want;
                    }
                } else {
                    ok &= kv_within(t, xr + i, y + i, 32);
                }
            }
        }
        CHECK(ok, "kv_store %s: decoded values outside the format's rounding", ti->name);
        CHECK(pad_ok, "kv_store %s: bytes outside the rows changed", ti->name);
        printf("kv_store %s (rows %llu bytes apart at offset %llu): %s, padding intact\n", ti->name,
               (unsigned long long)stride, (unsigned long long)off,
               ti->block_elems == 1 ? "exact bits" : "within the rounding step");
        vkq_buffer_destroy(src);
        vkq_buffer_destroy(dst);
        free(x);
        free(y);
        free(init);
        free(got);
    }
}

typedef struct attn_case {
    uint32_t n_head, n_head_kv, head_dim, n_tokens, pos0, window;
    float softcap;
} attn_case;

/* Stores K and V rows of positions 0 .. pos0 + n_tokens - 1 with kv_store, then attention, in
 * one command buffer with vkq_ops_barrier_record between; the reference decodes the cache bytes
 * the GPU wrote. */
static double run_attention(ctx *c, vkq_type t, const attn_case *a)
{
    const vkq_type_info *ti = vkq_type_get(t);
    const uint32_t n_kv = a->pos0 + a->n_tokens, hd = a->head_dim, row_elems = a->n_head_kv * hd;
    const uint64_t row_bytes = row_elems / ti->block_elems * ti->block_bytes, stride = row_bytes + kv_pad(t);
    const uint64_t k_off = 8 + kv_pad(t), v_off = k_off + n_kv * stride + kv_pad(t);
    const uint64_t kv_size = v_off + n_kv * stride + 8;
    const size_t nq = (size_t)a->n_tokens * a->n_head * hd;
    float *q = xmalloc(nq * 4), *kv = xmalloc((size_t)2 * n_kv * row_elems * 4), *got = xmalloc(nq * 4);
    fill(q, nq, -1, 1);
    fill(kv, (size_t)2 * n_kv * row_elems, -1, 1);
    vkq_buffer bq = make_buf(c, OFF + nq * 4, OFF, q, nq * 4);
    vkq_buffer bsrc = make_buf(c, (size_t)2 * n_kv * row_elems * 4, 0, kv, (size_t)2 * n_kv * row_elems * 4);
    vkq_buffer bkv = make_buf(c, kv_size, 0, NULL, 0);
    vkq_buffer bo = make_buf(c, 16 + nq * 4, 0, NULL, 0);
    const float scale = 3.0f / sqrtf((float)hd);
    VkCommandBuffer cmd = gpu_rec_begin(c);
    CHECK_OK(vkq_kv_store_record(c->dev, cmd, t, (vkq_bufref){bsrc, 0}, n_kv, row_elems,
                                 (vkq_bufref){bkv, k_off}, stride));
    CHECK_OK(vkq_kv_store_record(c->dev, cmd, t, (vkq_bufref){bsrc, (uint64_t)n_kv * row_elems * 4}, n_kv,
                                 row_elems, (vkq_bufref){bkv, v_off}, stride));
    vkq_ops_barrier_record(c->dev, cmd);
    vkq_attn_gpu_desc d = {.n_tokens = a->n_tokens,
                           .pos0 = a->pos0,
                           .n_head = a->n_head,
                           .n_head_kv = a->n_head_kv,
                           .head_dim_k = hd,
                           .head_dim_v = hd,
                           .q = {bq, OFF},
                           .kv = bkv,
                           .k_offset = k_off,
                           .k_row_bytes = stride,
                           .v_offset = v_off,
                           .v_row_bytes = stride,
                           .kv_type = t,
                           .scale = scale,
                           .softcap = a->softcap,
                           .window = a->window,
                           .out = {bo, 16}};
    CHECK_OK(vkq_attention_record(c->dev, cmd, &d));
    gpu_rec_submit(c);
    get(bo, 16, got, nq * 4);
    uint8_t *cache = xmalloc(kv_size);
    get(bkv, 0, cache, kv_size);
    float *K = xmalloc((size_t)n_kv * row_elems * 4), *V = xmalloc((size_t)n_kv * row_elems * 4);
    for (uint32_t p = 0; p < n_kv; ++p) {
        CHECK_OK(
            vkq_decode_cpu(t, cache + k_off + p * stride, row_bytes, K + (size_t)p * row_elems, row_elems));
        CHECK_OK(
            vkq_decode_cpu(t, cache + v_off + p * stride, row_bytes, V + (size_t)p * row_elems, row_elems));
    }
    double *want = xmalloc(nq * 8), *s = xmalloc(n_kv * 8);
    const uint32_t group = a->n_head / a->n_head_kv;
    for (uint32_t tk = 0; tk < a->n_tokens; ++tk)
        for (uint32_t h = 0; h < a->n_head; ++h) {
            const uint32_t qp = a->pos0 + tk, kvh = h / group;
            const uint32_t lo = a->window && qp + 1 > a->window ? qp + 1 - a->window : 0;
            const float *qv = q + ((size_t)tk * a->n_head + h) * hd;
            double m = -INFINITY, l = 0;
            for (uint32_t p = lo; p <= qp; ++p) {
                const float *kr = K + (size_t)p * row_elems + (size_t)kvh * hd;
                double dot = 0;
                for (uint32_t i = 0; i < hd; ++i)
                    dot += (double)qv[i] * kr[i];
                dot *= scale;
                if (a->softcap > 0) dot = a->softcap * tanh(dot / a->softcap);
                s[p] = dot;
                m = fmax(m, dot);
            }
            double *o = want + ((size_t)tk * a->n_head + h) * hd;
            for (uint32_t i = 0; i < hd; ++i)
                o[i] = 0;
            for (uint32_t p = lo; p <= qp; ++p) {
                double w = exp(s[p] - m);
                l += w;
                const float *vr = V + (size_t)p * row_elems + (size_t)kvh * hd;
                for (uint32_t i = 0; i < hd; ++i)
                    o[i] += w * vr[i];
            }
            for (uint32_t i = 0; i < hd; ++i)
                o[i] /= l;
        }
    double e = rel_err(got, want, nq);
    vkq_buffer_destroy(bq);
    vkq_buffer_destroy(bsrc);
    vkq_buffer_destroy(bkv);
    vkq_buffer_destroy(bo);
    free(q);
    free(kv);
    free(got);
    free(cache);
    free(K);
    free(V);
    free(want);
    free(s);
    return e;
}

static void test_attention(ctx *c)
{
    static const attn_case cases[] = {
        {4, 1, 256, 37, 50, 0, 0.0f}, /* gemma-like: batch after a prompt */
        {4, 1, 256, 1, 50, 16, 3.0f}, /* gemma-like: one token, sliding window, soft-cap */
        {8, 2, 64, 37, 0, 0, 0.0f},   /* llama-like: first batch */
        {8, 2, 64, 1, 0, 0, 0.0f},    /* llama-like: first token alone */
        {8, 2, 64, 37, 50, 24, 3.0f}, /* window and soft-cap over a batch */
    };
    for (size_t k = 0; k < N_KV_TYPES; ++k) {
        double worst = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
            const attn_case *a = &cases[i];
            double e = run_attention(c, k_kv_types[k], a);
            CHECK(e <= 1e-5,
                  "attention %s heads %u/%u dim %u tokens %u pos0 %u window %u softcap %g: rel err %g",
                  vkq_type_get(k_kv_types[k])->name, a->n_head, a->n_head_kv, a->head_dim, a->n_tokens,
                  a->pos0, a->window, (double)a->softcap, e);
            if (!(e <= worst)) worst = e;
        }
        printf("attention %s cache, %zu shapes: worst rel err %.2e\n", vkq_type_get(k_kv_types[k])->name,
               sizeof cases / sizeof cases[0], worst);
    }
}

/* Rejected arguments return a status and record nothing: the command buffer holding only the
 * refused calls leaves the buffers as they were (and the layer sees no incomplete dispatch). */
static void test_bad_args(ctx *c)
{
    const uint64_t n = 64;
    float x[64];
    fill(x, n, -1, 1);
    vkq_buffer b = make_buf(c, n * 4, 0, x, n * 4), kv = make_buf(c, 4096, 0, NULL, 0);
    VkCommandBuffer cmd = gpu_rec_begin(c);
    vkq_bufref r = {b, 0}, none = {NULL, 0};
    CHECK(vkq_scale_record(c->dev, cmd, none, 2.0f, n) == VKQ_ERROR_INVALID_ARGUMENT, "NULL buffer");
    CHECK(vkq_rmsnorm_record(c->dev, cmd, none, none, r, 64, 1, 1e-6f) == VKQ_ERROR_INVALID_ARGUMENT,
          "NULL x");
    CHECK(vkq_scale_record(c->dev, cmd, (vkq_bufref){b, 4}, 2.0f, n) == VKQ_ERROR_OUT_OF_RANGE,
          "past the end");
    CHECK(vkq_add_record(c->dev, cmd, r, r, (vkq_bufref){b, n * 4 + 4}, 64, 1, 1) == VKQ_ERROR_OUT_OF_RANGE,
          "offset past the end");
    CHECK(vkq_glu_record(c->dev, cmd, VKQ_GLU_SILU, (vkq_bufref){b, 2}, r, r, 8) ==
              VKQ_ERROR_INVALID_ARGUMENT,
          "unaligned f32 offset");
    CHECK(vkq_glu_record(c->dev, cmd, (vkq_glu_kind)7, r, r, r, 8) == VKQ_ERROR_INVALID_ARGUMENT,
          "unknown kind");
    CHECK(vkq_scale_record(c->dev, cmd, r, 2.0f, 0) == VKQ_ERROR_INVALID_ARGUMENT, "n = 0");
    CHECK(vkq_scale_record(c->dev, VK_NULL_HANDLE, r, 2.0f, n) == VKQ_ERROR_INVALID_ARGUMENT, "NULL cmd");
    CHECK(vkq_rope_record(c->dev, cmd, r, 1, 1, 64, 63, 0, r, 0) == VKQ_ERROR_BAD_SHAPE, "odd n_rot");
    CHECK(vkq_add_record(c->dev, cmd, r, r, r, 16, 2, 3) == VKQ_ERROR_BAD_SHAPE, "b_rows > rows");
    {
        vkq_rmsnorm_fused fu = {.accumulate = 1};
        CHECK(vkq_rmsnorm_fused_record(c->dev, cmd, r, r, r, 64, 1, 1e-6f, &fu) == VKQ_ERROR_INVALID_ARGUMENT,
              "accumulating rmsnorm in place");
        fu.rope.n_rot = 64, fu.rope.n_heads = 1, fu.rope.inv_freq = r;
        CHECK(vkq_rmsnorm_fused_record(c->dev, cmd, r, r, (vkq_bufref){b, 0}, 64, 1, 1e-6f, &fu) ==
                  VKQ_ERROR_BAD_SHAPE,
              "rope with accumulate");
        fu.accumulate = 0, fu.rope.n_heads = 3;
        CHECK(vkq_rmsnorm_fused_record(c->dev, cmd, r, r, r, 64, 2, 1e-6f, &fu) == VKQ_ERROR_BAD_SHAPE,
              "rows not a multiple of the heads");
        fu.rope.n_heads = 1, fu.rope.n_rot = 66;
        CHECK(vkq_rmsnorm_fused_record(c->dev, cmd, r, r, r, 64, 1, 1e-6f, &fu) == VKQ_ERROR_BAD_SHAPE,
              "n_rot > head_dim");
        vkq_rmsnorm_fused f2 = {.raw = 1};
        CHECK(vkq_rmsnorm_fused_record(c->dev, cmd, r, r, (vkq_bufref){kv, 0}, 64, 1, 1e-6f, &f2) ==
                  VKQ_ERROR_INVALID_ARGUMENT,
              "raw without accumulate");
        f2 = (vkq_rmsnorm_fused){.accumulate = 1, .norm2 = {.w = r, .out = r}};
        CHECK(vkq_rmsnorm_fused_record(c->dev, cmd, r, r, (vkq_bufref){kv, 0}, 64, 1, 1e-6f, &f2) ==
                  VKQ_ERROR_INVALID_ARGUMENT,
              "norm2 writing x's buffer");
    }
    CHECK(vkq_kv_store_record(c->dev, cmd, VKQ_TYPE_Q4_K, r, 1, 256, (vkq_bufref){kv, 0}, 144) ==
              VKQ_ERROR_UNSUPPORTED,
          "Q4_K cache");
    CHECK(vkq_kv_store_record(c->dev, cmd, VKQ_TYPE_Q8_0, r, 1, 48, (vkq_bufref){kv, 0}, 64) ==
              VKQ_ERROR_BAD_SHAPE,
          "partial block");
    CHECK(vkq_kv_store_record(c->dev, cmd, VKQ_TYPE_F16, r, 1, 64, (vkq_bufref){kv, 1}, 128) ==
              VKQ_ERROR_INVALID_ARGUMENT,
          "odd F16 offset");
    vkq_attn_gpu_desc d = {.n_tokens = 1,
                           .pos0 = 0,
                           .n_head = 1,
                           .n_head_kv = 1,
                           .head_dim_k = 64,
                           .head_dim_v = 64,
                           .q = r,
                           .kv = kv,
                           .k_offset = 0,
                           .k_row_bytes = 256,
                           .v_offset = 256,
                           .v_row_bytes = 256,
                           .kv_type = VKQ_TYPE_Q4_K,
                           .scale = 1.0f,
                           .out = r};
    CHECK(vkq_attention_record(c->dev, cmd, &d) == VKQ_ERROR_UNSUPPORTED, "Q4_K attention");
    d.kv_type = VKQ_TYPE_F32;
    d.kv = NULL;
    CHECK(vkq_attention_record(c->dev, cmd, &d) == VKQ_ERROR_INVALID_ARGUMENT, "NULL kv");
    d.kv = kv;
    d.pos0 = 100; /* rows past the buffer */
    CHECK(vkq_attention_record(c->dev, cmd, &d) == VKQ_ERROR_OUT_OF_RANGE, "cache rows past the end");
    d.pos0 = 0;
    d.n_head = 3;
    d.n_head_kv = 2;
    CHECK(vkq_attention_record(c->dev, cmd, &d) == VKQ_ERROR_BAD_SHAPE, "n_head not a multiple");
    d.n_head = 1;
    d.n_head_kv = 1;
    d.head_dim_k = d.head_dim_v = 512;
    CHECK(vkq_attention_record(c->dev, cmd, &d) == VKQ_ERROR_BAD_SHAPE, "head_dim 512");
    CHECK(vkq_attention_record(c->dev, cmd, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL desc");
    gpu_rec_submit(c);
    float y[64];
    get(b, 0, y, n * 4);
    CHECK(memcmp(x, y, n * 4) == 0, "a refused call changed the buffer");
    printf("bad arguments: refused with a status, nothing recorded\n");
    vkq_buffer_destroy(b);
    vkq_buffer_destroy(kv);
}

int main(void)
{
    uint64_t seed = vkq_test_seed();
    printf("seed %llu (replay with VKQ_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    ctx c;
    int rc = gpu_rec_open(&c, &f, "test_gpu_ops");
    if (rc) return rc;
    test_bad_args(&c);
    test_rmsnorm(&c);
    test_rope(&c);
    test_rmsnorm_fused(&c);
    test_glu(&c);
    test_add_scale(&c);
    test_kv_store(&c);
    test_attention(&c);
    gpu_rec_close(&c);
    gpu_fixture_close(&f);
    return test_summary("test_gpu_ops");
}
