/* The routed-expert operations on the GPU (src/vulkan/ops.h) against references computed here,
 * on fresh random inputs (seed printed):
 * - topk_router: ids equal to an f64 selection (descending logit, ties to the lower index) and to
 *   vkq_cpu_topk_router, weights within 1e-5 of the f64 softmax (renormalised or not), on random
 *   logits with planted ties and an all-equal row, for several (n_expert, n_used);
 * - matmul_id: every weight type of the table, gate/up form (x per token) and down form (x per
 *   (token, slot) pair), each pair's column against the f64 product of its expert's decoded
 *   matrix, NMSE within the type's matmul bound (tests/matmul_ref.h); an id past the experts
 *   reads the last expert; ids outside X's buffer are refused;
 * - moe_combine: against the f64 weighted sum.
 * Everything runs under the validation layer (gpu_env). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "gpu_record.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "vulkan/ops.h"

static uint64_t g_rng;

typedef gpu_rec ctx;

static float frand(float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(vkq_test_rand(&g_rng) >> 11) / 9007199254740992.0);
}

static vkq_buffer make_buf(ctx *c, uint64_t size)
{
    vkq_buffer b = NULL;
    CHECK_OK(vkq_buffer_create(c->dev, size, VKQ_MEMORY_DEVICE, 0, &b));
    void *z = calloc(1, size);
    CHECK_OK(vkq_buffer_upload(b, 0, z, size));
    free(z);
    return b;
}

/* The f64 router: the n_used largest logits (ties to the lower index), softmax over all. */
static void router_ref(const float *x, uint32_t n_expert, uint32_t n_used, int norm, int32_t *ids, double *w)
{
    double mx = x[0], sum = 0.0, sel = 0.0;
    for (uint32_t e = 1; e < n_expert; ++e) mx = x[e] > mx ? x[e] : mx;
    for (uint32_t e = 0; e < n_expert; ++e) sum += exp((double)x[e] - mx);
    for (uint32_t k = 0; k < n_used; ++k) {
        int32_t best = -1;
        for (uint32_t e = 0; e < n_expert; ++e) {
            int taken = 0;
            for (uint32_t j = 0; j < k; ++j) taken |= ids[j] == (int32_t)e;
            if (!taken && (best < 0 || x[e] > x[best])) best = (int32_t)e;
        }
        ids[k] = best;
        w[k] = exp((double)x[best] - mx) / sum;
        sel += w[k];
    }
    if (norm)
        for (uint32_t k = 0; k < n_used; ++k) w[k] /= sel;
}

static void test_router(ctx *c)
{
    static const uint32_t cases[][2] = {{8, 2}, {60, 4}, {128, 8}, {5, 5}, {3, 1}};
    const uint32_t n_tok = 37;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ++ci) {
        const uint32_t E = cases[ci][0], K = cases[ci][1];
        float *lg = malloc((size_t)n_tok * E * 4), *w = malloc((size_t)n_tok * K * 4), *cw = malloc((size_t)n_tok * K * 4);
        int32_t *ids = malloc((size_t)n_tok * K * 4), *cids = malloc((size_t)n_tok * K * 4), *rids = malloc(K * 4);
        double *rw = malloc(K * 8);
        for (size_t i = 0; i < (size_t)n_tok * E; ++i) lg[i] = frand(-4.0f, 4.0f);
        /* Ties: in some rows copy a logit onto a few others; row 0 all equal. */
        for (uint32_t t = 1; t < n_tok; t += 3)
            for (int r = 0; r < 3; ++r)
                lg[(size_t)t * E + vkq_test_rand_below(&g_rng, E)] = lg[(size_t)t * E + vkq_test_rand_below(&g_rng, E)];
        for (uint32_t e = 0; e < E; ++e) lg[e] = 0.5f;
        const uint64_t lb = (uint64_t)n_tok * E * 4, ib = (uint64_t)n_tok * K * 4;
        vkq_buffer b = make_buf(c, 256 + lb + 2 * ib + 512);
        CHECK_OK(vkq_buffer_upload(b, 256, lg, lb));
        for (int norm = 0; norm < 2; ++norm) {
            const vkq_bufref rl = {b, 256}, ri = {b, 256 + lb + 4}, rw_ = {b, 256 + lb + ib + 260};
            CHECK_OK(vkq_topk_router_record(c->dev, gpu_rec_begin(c), rl, n_tok, E, K, norm, ri, rw_));
            gpu_rec_submit(c);
            CHECK_OK(vkq_buffer_download(b, ri.offset, ids, ib));
            CHECK_OK(vkq_buffer_download(b, rw_.offset, w, ib));
            CHECK_OK(vkq_cpu_topk_router(lg, n_tok, E, K, norm, cids, cw));
            double worst = 0.0;
            int bad_ids = 0;
            for (uint32_t t = 0; t < n_tok; ++t) {
                router_ref(lg + (size_t)t * E, E, K, norm, rids, rw);
                for (uint32_t k = 0; k < K; ++k) {
                    bad_ids += ids[t * K + k] != rids[k] || cids[t * K + k] != rids[k];
                    double e = fabs(w[t * K + k] - rw[k]) / rw[k];
                    if (!(e <= worst)) worst = e;
                }
            }
            CHECK(bad_ids == 0, "router E=%u K=%u norm=%d: %d ids differ from the f64 selection", E, K, norm, bad_ids);
            CHECK(worst <= 1e-5, "router E=%u K=%u norm=%d: weight error %.3g", E, K, norm, worst);
            printf("topk_router E=%3u K=%u norm=%d: ids equal, weights within %.2e\n", E, K, norm, worst);
        }
        vkq_buffer_destroy(b);
        free(lg), free(w), free(cw), free(ids), free(cids), free(rids), free(rw);
    }
}

/* One type: n_expert matrices m x k, n_tok tokens x n_used slots, both x forms. */
static int run_matmul_id(ctx *c, vkq_type t, uint32_t m, uint32_t k, uint32_t E, uint32_t n_tok, uint32_t K,
                         double *worst)
{
    const vkq_type_traits *tr = vkq_traits(t);
    const uint32_t P = n_tok * K;
    uint64_t rb = 0;
    vkq_type_bytes(t, k, &rb);
    const uint64_t eb = rb * m;
    uint8_t *wq = malloc(eb * E);
    float *wf = malloc((size_t)E * m * k * 4), *x = malloc((size_t)P * k * 4), *y = malloc((size_t)P * m * 4);
    double *ref = malloc((size_t)m * 8);
    int32_t *ids = malloc(P * 4);
    vkq_test_random_weights(t, (uint64_t)E * m * k / tr->info.block_elems, &g_rng, wq);
    CHECK_OK(vkq_decode_cpu(t, wq, eb * E, wf, (uint64_t)E * m * k));
    for (size_t i = 0; i < (size_t)P * k; ++i) x[i] = frand(-1.0f, 1.0f);
    for (uint32_t p = 0; p < P; ++p) ids[p] = (int32_t)vkq_test_rand_below(&g_rng, E);
    ids[P - 1] = (int32_t)E + 3; /* out of range: reads the last expert */
    /* W at an offset (a whole number of blocks, aligned for the element-wise types); X with the
     * ids after it in one buffer. */
    const uint64_t w_off = tr->info.block_bytes * 3, x_bytes = (uint64_t)P * k * 4;
    vkq_buffer bw = make_buf(c, w_off + eb * E + 64), bx = make_buf(c, 16 + x_bytes + P * 4 + 64),
               by = make_buf(c, 32 + (uint64_t)P * m * 4);
    CHECK_OK(vkq_buffer_upload(bw, w_off, wq, eb * E));
    CHECK_OK(vkq_buffer_upload(bx, 16, x, x_bytes));
    CHECK_OK(vkq_buffer_upload(bx, 16 + x_bytes + 8, ids, P * 4));
    int fails = 0;
    for (int per_pair = 0; per_pair < 2; ++per_pair) {
        vkq_matmul_id_desc d = {.type = t, .m = m, .k = k, .n_expert = E, .w = {bw, w_off}, .n_tokens = n_tok,
                                .n_used = K, .ids = {bx, 16 + x_bytes + 8}, .x = {bx, 16},
                                .x_per_pair = per_pair, .y = {by, 32}};
        vkq_status st = vkq_matmul_id_record(c->dev, gpu_rec_begin(c), &d);
        CHECK(st == VKQ_SUCCESS, "matmul_id %s: %s", tr->info.name, vkq_last_error());
        gpu_rec_submit(c);
        CHECK_OK(vkq_buffer_download(by, 32, y, (uint64_t)P * m * 4));
        for (uint32_t p = 0; p < P; ++p) {
            const uint32_t e = ids[p] < (int32_t)E ? (uint32_t)ids[p] : E - 1;
            const float *we = wf + (size_t)e * m * k, *xc = x + (size_t)(per_pair ? p : p / K) * k;
            matmul_ref_f64(we, xc, ref, m, k, 1);
            double nmse = matmul_nmse(y + (size_t)p * m, m, ref, m, 1);
            double bound = matmul_nmse_bound(we, xc, ref, m, k, 1, tr->tol_matmul_f32);
            if (!(nmse <= bound)) {
                if (fails++ < 3)
                    CHECK(0, "matmul_id %s %s pair %u (expert %d): NMSE %.3g > %.3g", tr->info.name,
                          per_pair ? "x per pair" : "x per token", p, ids[p], nmse, bound);
            }
            if (nmse > *worst) *worst = nmse;
        }
    }
    vkq_buffer_destroy(bw);
    vkq_buffer_destroy(bx);
    vkq_buffer_destroy(by);
    free(wq), free(wf), free(x), free(y), free(ref), free(ids);
    return fails;
}

static void test_matmul_id(ctx *c)
{
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        vkq_type t = vkq_type_at(i);
        double worst = 0.0;
        int f = run_matmul_id(c, t, 37, 256, 5, 4, 3, &worst);
        printf("matmul_id %-8s 5 experts 37 x 256, 4 tokens x 3 slots, x per token and per pair: worst NMSE %.2e %s\n",
               vkq_type_get(t)->name, worst, f ? "FAIL" : "ok");
    }
    /* Larger: more rows than a workgroup covers, a longer k, the last expert of many. */
    static const vkq_type big[] = {VKQ_TYPE_Q4_K, VKQ_TYPE_Q4_0, VKQ_TYPE_IQ3_S, VKQ_TYPE_F16};
    for (size_t i = 0; i < sizeof big / sizeof *big; ++i) {
        double worst = 0.0;
        int f = run_matmul_id(c, big[i], 300, 1024, 8, 9, 2, &worst);
        printf("matmul_id %-8s 8 experts 300 x 1024, 9 tokens x 2 slots: worst NMSE %.2e %s\n",
               vkq_type_get(big[i])->name, worst, f ? "FAIL" : "ok");
    }
}

static void test_combine(ctx *c)
{
    const uint32_t n = 200, n_tok = 7, K = 3, P = n_tok * K;
    float *w = malloc(P * 4), *y = malloc((size_t)P * n * 4), *o = malloc((size_t)n_tok * n * 4);
    for (uint32_t i = 0; i < P; ++i) w[i] = frand(0.0f, 1.0f);
    for (size_t i = 0; i < (size_t)P * n; ++i) y[i] = frand(-3.0f, 3.0f);
    vkq_buffer b = make_buf(c, 8 + P * 4 + (uint64_t)P * n * 4 + (uint64_t)n_tok * n * 4 + 64);
    const uint64_t yo = 8 + P * 4, oo = yo + (uint64_t)P * n * 4 + 4;
    CHECK_OK(vkq_buffer_upload(b, 8, w, P * 4));
    CHECK_OK(vkq_buffer_upload(b, yo, y, (uint64_t)P * n * 4));
    CHECK_OK(vkq_moe_combine_record(c->dev, gpu_rec_begin(c), (vkq_bufref){b, 8}, (vkq_bufref){b, yo}, (vkq_bufref){b, oo}, n,
                                    n_tok, K));
    gpu_rec_submit(c);
    CHECK_OK(vkq_buffer_download(b, oo, o, (uint64_t)n_tok * n * 4));
    double worst = 0.0;
    for (uint32_t t = 0; t < n_tok; ++t)
        for (uint32_t i = 0; i < n; ++i) {
            double r = 0.0, mag = 0.0;
            for (uint32_t s = 0; s < K; ++s) {
                r += (double)w[t * K + s] * y[(size_t)(t * K + s) * n + i];
                mag += fabs((double)w[t * K + s] * y[(size_t)(t * K + s) * n + i]);
            }
            double e = fabs(o[t * n + i] - r) / (mag + 1e-30);
            if (!(e <= worst)) worst = e;
        }
    CHECK(worst <= 1e-6, "moe_combine: error %.3g of the terms' magnitude", worst);
    printf("moe_combine %u tokens x %u slots x %u: within %.2e of the terms' magnitude\n", n_tok, K, n, worst);
    vkq_buffer_destroy(b);
    free(w), free(y), free(o);
}

static void test_bad_args(ctx *c)
{
    vkq_buffer b = make_buf(c, 4096), other = make_buf(c, 4096);
    VkCommandBuffer cmd = gpu_rec_begin(c);
    vkq_matmul_id_desc d = {.type = VKQ_TYPE_Q8_0, .m = 4, .k = 32, .n_expert = 2, .w = {b, 0}, .n_tokens = 2,
                            .n_used = 1, .ids = {other, 0}, .x = {b, 1024}, .y = {b, 2048}};
    CHECK(vkq_matmul_id_record(c->dev, cmd, &d) == VKQ_ERROR_INVALID_ARGUMENT, "ids outside X's buffer");
    d.ids = (vkq_bufref){b, 1536};
    d.k = 48;
    CHECK(vkq_matmul_id_record(c->dev, cmd, &d) == VKQ_ERROR_BAD_SHAPE, "k not a multiple of the block");
    d.k = 32;
    d.n_used = 3;
    CHECK(vkq_matmul_id_record(c->dev, cmd, &d) == VKQ_ERROR_INVALID_ARGUMENT, "n_used > n_expert");
    d.n_used = 1;
    d.n_expert = 200; /* 200 experts of 136 bytes: past the buffer */
    CHECK(vkq_matmul_id_record(c->dev, cmd, &d) == VKQ_ERROR_OUT_OF_RANGE, "experts past the buffer");
    CHECK(vkq_matmul_id_record(c->dev, cmd, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL desc");
    CHECK(vkq_topk_router_record(c->dev, cmd, (vkq_bufref){b, 0}, 2, 4, 5, 1, (vkq_bufref){b, 64},
                                 (vkq_bufref){b, 128}) == VKQ_ERROR_INVALID_ARGUMENT,
          "router n_used > n_expert");
    CHECK(vkq_topk_router_record(c->dev, cmd, (vkq_bufref){b, 0}, 2000, 4, 2, 1, (vkq_bufref){b, 64},
                                 (vkq_bufref){b, 128}) == VKQ_ERROR_OUT_OF_RANGE,
          "router logits past the buffer");
    CHECK(vkq_moe_combine_record(c->dev, cmd, (vkq_bufref){b, 0}, (vkq_bufref){b, 2}, (vkq_bufref){b, 64}, 4, 2,
                                 1) == VKQ_ERROR_INVALID_ARGUMENT,
          "combine unaligned y");
    gpu_rec_submit(c);
    printf("bad arguments: refused with a status\n");
    vkq_buffer_destroy(b);
    vkq_buffer_destroy(other);
}

int main(void)
{
    uint64_t seed = vkq_test_seed();
    printf("seed %llu (replay with VKQ_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    ctx c;
    int rc = gpu_rec_open(&c, &f, "test_gpu_moe");
    if (rc) return rc;
    test_bad_args(&c);
    test_router(&c);
    test_combine(&c);
    test_matmul_id(&c);
    gpu_rec_close(&c);
    gpu_fixture_close(&f); /* counts validation messages as failures */
    return test_summary("test_gpu_moe");
}
