/* The reduced-precision GEMM paths of issue 3 against the f64 reference: fp16 arithmetic for
 * every type, int8 dot products for every type with an integer decode; n in {9, 16, 31, 64,
 * 129} x m in {1, 7, 64, 257} x k in {QK, 2 QK, 4096 rounded up to QK}, NMSE <= 5e-4 (ggml's
 * gate; scaled like the fp32 bound where outputs cancel, tests/matmul_ref.h). Also: activations
 * and weights beyond fp16's range, the switches (API and env) really falling back to the fp32
 * kernel bit for bit, determinism, recording into a caller's command buffer (two GEMMs batched,
 * bit-identical with the blocking call), and the fast kernels under every vendor profile's tiles.
 * Fresh random weights and activations every run (seed printed, VKQ_SEED replays).
 *
 * Measured on lavapipe (Mesa 22.3.6, 2026-11-23), worst NMSE per type over the 60-shape grid
 * (one run; other runs agree within 2x):
 * gemm-int8 (X rounded to 8 bits dominates; ~2e-5 expected for uniform X):
 *   Q4_0 3.41e-05, Q4_1 5.28e-05, Q5_0 2.06e-05, Q5_1 2.48e-05, Q8_0 2.08e-05, Q8_1 2.66e-05
 *   Q2_K 3.77e-05, Q3_K 2.57e-05, Q4_K 2.97e-05, Q5_K 2.97e-05, Q6_K 2.41e-05, IQ4_NL 2.74e-05
 *   IQ4_XS 3.66e-05, TQ2_0 1.95e-05, MXFP4 2.58e-05, Q1_0 2.43e-05, Q2_0 1.66e-05
 * gemm-f16 (~2^-11 relative per value):
 *   F32 5.06e-07, F16 4.51e-07, Q4_0 4.17e-07, Q4_1 4.60e-07, Q5_0 7.32e-07, Q5_1 5.17e-07
 *   Q8_0 1.05e-06, Q8_1 7.94e-07, Q2_K 4.91e-07, Q3_K 5.23e-07, Q4_K 5.86e-07, Q5_K 5.07e-07
 *   Q6_K 5.23e-07, Q8_K 1.26e-06, IQ2_XXS 7.65e-07, IQ2_XS 4.39e-07, IQ3_XXS 5.61e-07
 *   IQ1_S 1.08e-06, IQ4_NL 4.91e-07, IQ3_S 1.01e-06, IQ2_S 4.86e-07, IQ4_XS 5.82e-07
 *   IQ1_M 4.07e-07, BF16 5.28e-07, TQ1_0 4.64e-07, TQ2_0 3.72e-07, MXFP4 7.63e-07, NVFP4 9.16e-07
 *   Q1_0 5.99e-07, Q2_0 4.15e-07, NF4 3.51e-07 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_fixture.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "core/types.h"
#include "volk.h"

#define FAST_NMSE 5e-4 /* ggml's gate for reduced-precision matmul paths */

static uint64_t g_rng;
static const uint64_t k_ns[] = {9, 16, 31, 64, 129};
static const uint64_t k_ms[] = {1, 7, 64, 257};
enum { MAX_N = 129, MAX_M = 257 };

typedef struct bufs {
    vkq_buffer w, x, y;
} bufs;

static void bufs_create(vkq_device dev, bufs *b, uint64_t w, uint64_t x, uint64_t y)
{
    CHECK_OK(vkq_buffer_create(dev, w, VKQ_MEMORY_DEVICE, 0, &b->w));
    CHECK_OK(vkq_buffer_create(dev, x, VKQ_MEMORY_DEVICE, 0, &b->x));
    CHECK_OK(vkq_buffer_create(dev, y, VKQ_MEMORY_DEVICE, 0, &b->y));
}

static void bufs_destroy(bufs *b)
{
    vkq_buffer_destroy(b->w);
    vkq_buffer_destroy(b->x);
    vkq_buffer_destroy(b->y);
}

static double uniform(void) { return (double)(vkq_test_rand(&g_rng) >> 11) * 0x1p-53; }

static void random_x(float *x, uint64_t count)
{
    for (uint64_t i = 0; i < count; ++i) x[i] = (float)(2.0 * uniform() - 1.0);
}

static uint64_t round_up(uint64_t v, uint64_t q) { return (v + q - 1) / q * q; }

/* A device with the fast paths allowed or switched off through the API. */
static vkq_device open_device(vkq_instance inst, uint32_t index, const char *profile, vkq_switch fp16, vkq_switch int8)
{
    vkq_kernel_config cfg = {.mm_fp16 = fp16, .mm_int8 = int8};
    vkq_device_desc desc = {.profile = profile, .config = &cfg};
    vkq_device dev = NULL;
    CHECK_OK(vkq_device_create(inst, index, &desc, &dev));
    return dev;
}

/* The path a GEMM of type t with n = 9 takes on dev (b must hold one QK x 9 case). */
static vkq_matmul_path path_of(vkq_device dev, const bufs *b, vkq_type t, uint32_t flags)
{
    uint64_t qk = vkq_type_get(t)->block_elems;
    vkq_matmul_desc d = {.type = t, .m = 1, .k = qk == 1 ? 8 : qk, .n = 9, .w = b->w, .x = b->x, .y = b->y,
                         .flags = flags};
    vkq_matmul_path p = VKQ_MATMUL_PATH_MATVEC;
    CHECK_OK(vkq_matmul_get_path(dev, &d, &p));
    return p;
}

typedef struct case_data {
    vkq_type t;
    uint64_t m, k, n, row_bytes;
    uint8_t *wq;
    float *wf, *x, *y;
    double *ref;
} case_data;

/* Random weights (m x k of type t) and X (k x n), uploaded, with the f64 reference. */
static void case_make(case_data *c, vkq_type t, uint64_t m, uint64_t k, uint64_t n)
{
    const vkq_type_traits *tr = vkq_traits(t);
    c->t = t;
    c->m = m;
    c->k = k;
    c->n = n;
    vkq_type_bytes(t, k, &c->row_bytes);
    c->wq = malloc(c->row_bytes * m);
    c->wf = malloc(sizeof(float) * m * k);
    c->x = malloc(sizeof(float) * k * n);
    c->y = malloc(sizeof(float) * m * n);
    c->ref = malloc(sizeof(double) * m * n);
    vkq_test_random_weights(t, m * k / tr->info.block_elems, &g_rng, c->wq);
    CHECK_OK(vkq_decode_cpu(t, c->wq, c->row_bytes * m, c->wf, m * k));
    random_x(c->x, k * n);
}

static void case_free(case_data *c)
{
    free(c->wq);
    free(c->wf);
    free(c->x);
    free(c->y);
    free(c->ref);
}

/* Uploads the case, runs it as a GEMM on dev (expecting `want`), downloads Y into c->y and
 * returns its NMSE against the reference (computed here). */
static double case_run(vkq_device dev, const bufs *b, case_data *c, vkq_matmul_path want, double *bound)
{
    CHECK_OK(vkq_buffer_upload(b->w, 0, c->wq, c->row_bytes * c->m));
    CHECK_OK(vkq_buffer_upload(b->x, 0, c->x, sizeof(float) * c->k * c->n));
    vkq_matmul_desc d = {.type = c->t, .m = c->m, .k = c->k, .n = c->n, .w = b->w, .x = b->x, .y = b->y,
                         .flags = VKQ_MATMUL_FORCE_GEMM};
    vkq_matmul_path p = VKQ_MATMUL_PATH_MATVEC;
    CHECK_OK(vkq_matmul_get_path(dev, &d, &p));
    CHECK(p == want, "%s m=%llu k=%llu n=%llu takes %s, expected %s", vkq_type_get(c->t)->name,
          (unsigned long long)c->m, (unsigned long long)c->k, (unsigned long long)c->n, vkq_matmul_path_name(p),
          vkq_matmul_path_name(want));
    vkq_status st = vkq_matmul(dev, &d);
    CHECK(st == VKQ_SUCCESS, "%s: %s (%s)", vkq_type_get(c->t)->name, vkq_status_string(st), vkq_last_error());
    CHECK_OK(vkq_buffer_download(b->y, 0, c->y, sizeof(float) * c->m * c->n));
    matmul_ref_f64(c->wf, c->x, c->ref, c->m, c->k, c->n);
    if (bound) *bound = matmul_nmse_bound(c->wf, c->x, c->ref, c->m, c->k, c->n, FAST_NMSE);
    return matmul_nmse(c->y, c->m, c->ref, c->m, c->n);
}

/* Every shape of the grid for type t on `path`; returns the worst NMSE. Per (m, k) one W and
 * 129 columns of X; each n multiplies the first n columns, whose reference is the first n
 * columns of the 129-column one. */
static double grid_type(vkq_device dev, const bufs *b, vkq_type t, vkq_matmul_path path)
{
    uint64_t qk = vkq_type_get(t)->block_elems;
    uint64_t ks[3] = {qk, 2 * qk, round_up(4096, qk)};
    double worst = 0;
    for (int ki = 0; ki < 3; ++ki)
        for (size_t mi = 0; mi < sizeof k_ms / sizeof *k_ms; ++mi) {
            case_data c;
            uint64_t m = k_ms[mi], k = ks[ki];
            case_make(&c, t, m, k, MAX_N);
            matmul_ref_f64(c.wf, c.x, c.ref, m, k, MAX_N);
            /* per output: sum_k |w x| (for the cancellation allowance of matmul_nmse_bound) */
            double *abs_sum = malloc(sizeof(double) * m * MAX_N);
            for (uint64_t j = 0; j < MAX_N; ++j)
                for (uint64_t i = 0; i < m; ++i) {
                    double a = 0;
                    for (uint64_t e = 0; e < k; ++e) a += fabs((double)c.wf[i * k + e] * c.x[j * k + e]);
                    abs_sum[j * m + i] = a;
                }
            CHECK_OK(vkq_buffer_upload(b->w, 0, c.wq, c.row_bytes * m));
            CHECK_OK(vkq_buffer_upload(b->x, 0, c.x, sizeof(float) * k * MAX_N));
            for (size_t ni = 0; ni < sizeof k_ns / sizeof *k_ns; ++ni) {
                uint64_t n = k_ns[ni];
                vkq_matmul_desc d = {.type = t, .m = m, .k = k, .n = n, .w = b->w, .x = b->x, .y = b->y,
                                     .flags = VKQ_MATMUL_FORCE_GEMM};
                vkq_matmul_path p = VKQ_MATMUL_PATH_MATVEC;
                CHECK_OK(vkq_matmul_get_path(dev, &d, &p));
                CHECK(p == path, "%s m=%llu k=%llu n=%llu takes %s", vkq_type_get(t)->name, (unsigned long long)m,
                      (unsigned long long)k, (unsigned long long)n, vkq_matmul_path_name(p));
                CHECK_OK(vkq_matmul(dev, &d));
                CHECK_OK(vkq_buffer_download(b->y, 0, c.y, sizeof(float) * m * n));
                double terms = 0, den = 0;
                for (uint64_t i = 0; i < m * n; ++i) {
                    terms += abs_sum[i] * abs_sum[i] / (double)k;
                    den += c.ref[i] * c.ref[i];
                }
                double cond = den > 0 ? terms / den : 1.0;
                double bound = FAST_NMSE * (cond > 1.0 ? cond : 1.0);
                double e = matmul_nmse(c.y, m, c.ref, m, n);
                CHECK(e <= bound, "%s %s m=%llu k=%llu n=%llu: NMSE %.3g > %.3g", vkq_matmul_path_name(path),
                      vkq_type_get(t)->name, (unsigned long long)m, (unsigned long long)k, (unsigned long long)n,
                      e, bound);
                if (e > worst) worst = e;
            }
            free(abs_sum);
            case_free(&c);
        }
    return worst;
}

static void test_grid(vkq_device dev, const bufs *b, vkq_matmul_path path)
{
    int ran = 0;
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        vkq_type t = vkq_type_at(i);
        if (path_of(dev, b, t, VKQ_MATMUL_FORCE_GEMM) != path) continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double worst = grid_type(dev, b, t, path);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%-9s %-8s 60 shapes: worst NMSE %.2e (bound %.0e)  %.1f s\n", vkq_matmul_path_name(path),
               vkq_type_get(t)->name, worst, FAST_NMSE,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        fflush(stdout);
        ++ran;
    }
    if (!ran) printf("%s: not available on this device (skipped)\n", vkq_matmul_path_name(path));
}

/* Values fp16 cannot hold: X up to 1e6 with a few outlier channels 1000x larger (the llama.cpp
 * overflow reports), F32 weights up to 1e5 in some rows and 1e-3 in others, and Q8_0 weights
 * against the same X. A naive f16 conversion would give inf. */
static void test_large_magnitudes(vkq_device dev, const bufs *b, vkq_matmul_path path)
{
    static const vkq_type types[] = {VKQ_TYPE_F32, VKQ_TYPE_Q8_0, VKQ_TYPE_Q4_K};
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ++ti) {
        vkq_type t = types[ti];
        if (path_of(dev, b, t, VKQ_MATMUL_FORCE_GEMM) != path) continue;
        case_data c;
        case_make(&c, t, 70, 1024, 33);
        float xmax = 0;
        for (uint64_t j = 0; j < c.n; ++j)
            for (uint64_t e = 0; e < c.k; ++e) {
                float *v = &c.x[j * c.k + e];
                *v *= (float)(j % 3 == 0 ? 1e6 : 1.0) * (e % 97 == 5 ? 1e3f : 1.0f);
                if (fabsf(*v) > xmax) xmax = fabsf(*v);
            }
        if (t == VKQ_TYPE_F32) {
            float *w = (float *)c.wq;
            for (uint64_t r = 0; r < c.m; ++r)
                for (uint64_t e = 0; e < c.k; ++e) w[r * c.k + e] *= r % 2 ? 1e5f : 1e-3f;
            memcpy(c.wf, w, sizeof(float) * c.m * c.k);
        }
        CHECK(xmax > 65504.0f, "X must exceed fp16's range for this test");
        double bound;
        double e = case_run(dev, b, &c, path, &bound);
        int finite = 1;
        for (uint64_t i = 0; i < c.m * c.n; ++i) finite &= isfinite(c.y[i]) != 0;
        CHECK(finite && e <= bound, "%s %s with |X| up to %.1e: NMSE %.3g > %.3g%s", vkq_matmul_path_name(path),
              vkq_type_get(t)->name, xmax, e, bound, finite ? "" : " (non-finite output)");
        printf("%-9s %-5s |X| up to %.1e: NMSE %.2e, all finite: %s\n", vkq_matmul_path_name(path),
               vkq_type_get(t)->name, xmax, e, finite ? "yes" : "NO");
        case_free(&c);
    }
}

/* The same inputs give the same bits, run after run. */
static void test_deterministic(vkq_device dev, const bufs *b, vkq_type t, vkq_matmul_path path)
{
    if (path_of(dev, b, t, VKQ_MATMUL_FORCE_GEMM) != path) return;
    case_data c;
    case_make(&c, t, 100, round_up(2048, vkq_type_get(t)->block_elems), 37);
    case_run(dev, b, &c, path, NULL);
    float *y0 = malloc(sizeof(float) * c.m * c.n);
    memcpy(y0, c.y, sizeof(float) * c.m * c.n);
    for (int rep = 0; rep < 3; ++rep) {
        case_run(dev, b, &c, path, NULL);
        CHECK(memcmp(y0, c.y, sizeof(float) * c.m * c.n) == 0, "%s %s: run %d differs from run 0",
              vkq_matmul_path_name(path), vkq_type_get(t)->name, rep + 1);
    }
    printf("%-9s %-5s deterministic over 4 runs\n", vkq_matmul_path_name(path), vkq_type_get(t)->name);
    free(y0);
    case_free(&c);
}

/* vkq_matmul_record of the fast kernels: two GEMMs (columns 0..15 and 16..36 of X, at offsets)
 * batched into one command buffer the test owns and submits; Y must equal, bit for bit, what
 * the blocking vkq_matmul gives for the whole product (same kernel, same tiles per column). */
static void test_record_fast(vkq_device dev, const bufs *b, vkq_type t, vkq_matmul_path path)
{
    if (path_of(dev, b, t, VKQ_MATMUL_FORCE_GEMM) != path) return;
    case_data c;
    case_make(&c, t, 70, round_up(1024, vkq_type_get(t)->block_elems), 37);
    double e = case_run(dev, b, &c, path, NULL); /* whole product through vkq_matmul */
    float *y_blocking = malloc(sizeof(float) * c.m * c.n);
    memcpy(y_blocking, c.y, sizeof(float) * c.m * c.n);

    vkq_vulkan_handles h;
    CHECK_OK(vkq_device_get_vulkan(dev, &h));
    if (volkInitialize() != VK_SUCCESS) {
        CHECK(0, "volkInitialize failed");
        goto out;
    }
    volkLoadInstanceOnly(h.instance);
    struct VolkDeviceTable vk;
    volkLoadDeviceTable(&vk, h.device);
    VkCommandPool pool;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = h.queue_family};
    CHECK(vk.vkCreateCommandPool(h.device, &pci, NULL, &pool) == VK_SUCCESS, "command pool");
    VkCommandBuffer cmd;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    CHECK(vk.vkAllocateCommandBuffers(h.device, &ai, &cmd) == VK_SUCCESS, "command buffer");
    float poison = NAN;
    float *nan_y = malloc(sizeof(float) * c.m * c.n);
    for (uint64_t i = 0; i < c.m * c.n; ++i) nan_y[i] = poison;
    CHECK_OK(vkq_buffer_upload(b->y, 0, nan_y, sizeof(float) * c.m * c.n)); /* Y must be rewritten */
    CHECK_OK(vkq_device_wait_uploads(dev));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vk.vkBeginCommandBuffer(cmd, &bi);
    vkq_matmul_desc d1 = {.type = t, .m = c.m, .k = c.k, .n = 16, .w = b->w, .x = b->x, .y = b->y,
                          .flags = VKQ_MATMUL_FORCE_GEMM};
    vkq_matmul_desc d2 = d1;
    d2.n = c.n - 16;
    d2.x_offset = 16 * c.k * sizeof(float);
    d2.y_offset = 16 * c.m * sizeof(float);
    vkq_matmul_path p1 = VKQ_MATMUL_PATH_MATVEC, p2 = VKQ_MATMUL_PATH_MATVEC;
    CHECK_OK(vkq_matmul_get_path(dev, &d1, &p1));
    CHECK_OK(vkq_matmul_get_path(dev, &d2, &p2));
    CHECK(p1 == path && p2 == path, "recorded halves take %s and %s, expected %s", vkq_matmul_path_name(p1),
          vkq_matmul_path_name(p2), vkq_matmul_path_name(path));
    CHECK_OK(vkq_matmul_record(dev, cmd, &d1));
    CHECK_OK(vkq_matmul_record(dev, cmd, &d2));
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                            VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    vk.vkEndCommandBuffer(cmd);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    CHECK(vk.vkQueueSubmit(h.queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS, "submit");
    vk.vkQueueWaitIdle(h.queue);
    CHECK_OK(vkq_buffer_download(b->y, 0, c.y, sizeof(float) * c.m * c.n));
    CHECK(memcmp(c.y, y_blocking, sizeof(float) * c.m * c.n) == 0,
          "%s %s: recorded (2 GEMMs at offsets) differs from the blocking call", vkq_matmul_path_name(path),
          vkq_type_get(t)->name);
    printf("%-9s %-5s recorded into a caller's command buffer (2 GEMMs) = blocking call; NMSE %.2e\n",
           vkq_matmul_path_name(path), vkq_type_get(t)->name, e);
    vk.vkDestroyCommandPool(h.device, pool, NULL);
    free(nan_y);
out:
    free(y_blocking);
    case_free(&c);
}

/* Runs the same case on a device; returns its path and leaves Y in *y (caller frees). */
static vkq_matmul_path run_on(vkq_device dev, case_data *c, float **y)
{
    bufs b;
    bufs_create(dev, &b, c->row_bytes * c->m, sizeof(float) * c->k * c->n, sizeof(float) * c->m * c->n);
    vkq_matmul_path p = path_of(dev, &b, c->t, VKQ_MATMUL_FORCE_GEMM);
    case_run(dev, &b, c, p, NULL);
    *y = malloc(sizeof(float) * c->m * c->n);
    memcpy(*y, c->y, sizeof(float) * c->m * c->n);
    bufs_destroy(&b);
    return p;
}

/* Each switch really turns its path off, through the API and the environment, and the result
 * is then the fp32 kernel's, bit for bit. Q4_0 has both fast paths; IQ2_XXS only fp16. */
static void test_switches(vkq_instance inst, uint32_t index, int have_f16, int have_i8)
{
    static const vkq_type types[] = {VKQ_TYPE_Q4_0, VKQ_TYPE_IQ2_XXS};
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ++ti) {
        case_data c;
        case_make(&c, types[ti], 50, 512, 20);
        const char *name = vkq_type_get(c.t)->name;
        float *y32, *y;
        /* fp32 reference result: both paths off through the API */
        vkq_device dev = open_device(inst, index, NULL, VKQ_SWITCH_OFF, VKQ_SWITCH_OFF);
        if (!dev) return;
        vkq_matmul_path p = run_on(dev, &c, &y32);
        vkq_device_destroy(dev);
        CHECK(p == VKQ_MATMUL_PATH_GEMM_F32, "%s API off: %s", name, vkq_matmul_path_name(p));
        double e32 = matmul_nmse(y32, c.m, c.ref, c.m, c.n);
        CHECK(e32 <= matmul_nmse_bound(c.wf, c.x, c.ref, c.m, c.k, c.n, vkq_traits(c.t)->tol_matmul_f32),
              "%s fp32 GEMM NMSE %.3g", name, e32);

        const vkq_switch on = VKQ_SWITCH_ON, off = VKQ_SWITCH_OFF;
        struct { const char *env; vkq_switch fp16, int8; } cases[] = {
            {NULL, on, on}, {NULL, off, on}, {NULL, on, off},
            {"VKQ_NO_INT8", on, on}, {"VKQ_NO_FP16", on, on}, {"both", on, on},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
            int no16 = cases[i].fp16 == VKQ_SWITCH_OFF, no8 = cases[i].int8 == VKQ_SWITCH_OFF;
            if (cases[i].env) {
                no16 = strcmp(cases[i].env, "VKQ_NO_INT8") != 0;
                no8 = strcmp(cases[i].env, "VKQ_NO_FP16") != 0;
                if (no16) setenv("VKQ_NO_FP16", "1", 1);
                if (no8) setenv("VKQ_NO_INT8", "1", 1);
            }
            dev = open_device(inst, index, NULL, cases[i].fp16, cases[i].int8);
            unsetenv("VKQ_NO_FP16");
            unsetenv("VKQ_NO_INT8");
            if (!dev) continue;
            int i8_ok = have_i8 && c.t == VKQ_TYPE_Q4_0;
            vkq_matmul_path want = !no8 && i8_ok ? VKQ_MATMUL_PATH_GEMM_INT8
                                 : !no16 && have_f16 ? VKQ_MATMUL_PATH_GEMM_F16 : VKQ_MATMUL_PATH_GEMM_F32;
            p = run_on(dev, &c, &y);
            vkq_device_destroy(dev);
            int same = memcmp(y, y32, sizeof(float) * c.m * c.n) == 0;
            CHECK(p == want, "%s %s fp16=%u int8=%u: path %s, expected %s", name, cases[i].env ? cases[i].env : "API",
                  cases[i].fp16, cases[i].int8, vkq_matmul_path_name(p), vkq_matmul_path_name(want));
            /* off: the fp32 kernel's bits; on: visibly not them (the path really ran) */
            CHECK(same == (want == VKQ_MATMUL_PATH_GEMM_F32), "%s %s fp16=%u int8=%u (%s): result %s the fp32 one",
                  name, cases[i].env ? cases[i].env : "API", cases[i].fp16, cases[i].int8, vkq_matmul_path_name(p),
                  same ? "equals" : "differs from");
            printf("switch %-11s fp16=%u int8=%u %-5s -> %-9s %s fp32 bits\n", cases[i].env ? cases[i].env : "(API)",
                   cases[i].fp16, cases[i].int8, name, vkq_matmul_path_name(p), same ? "==" : "!=");
            free(y);
        }
        free(y32);
        case_free(&c);
    }
}

/* The fast kernels with each vendor profile's tiles (BK 16 vs 32, 64 to 256 invocations),
 * so a real card never runs an untested configuration. */
static void test_profiles(vkq_instance inst, uint32_t index, const char *default_profile)
{
    static const char *profiles[] = {"nvidia", "amd", "intel", "plain", "cpu"};
    static const vkq_type types[] = {VKQ_TYPE_F16, VKQ_TYPE_Q4_0, VKQ_TYPE_Q8_0, VKQ_TYPE_Q4_K,
                                     VKQ_TYPE_Q6_K, VKQ_TYPE_IQ2_XXS, VKQ_TYPE_NF4};
    for (size_t pi = 0; pi < sizeof profiles / sizeof *profiles; ++pi) {
        if (!strcmp(profiles[pi], default_profile)) continue; /* the grid ran it */
        double worst[2] = {0, 0};
        int count[2] = {0, 0};
        for (int int8 = 0; int8 < 2; ++int8) {
            vkq_device dev = open_device(inst, index, profiles[pi], VKQ_SWITCH_ON, int8 ? VKQ_SWITCH_ON : VKQ_SWITCH_OFF);
            if (!dev) continue;
            bufs b;
            bufs_create(dev, &b, 4608 * 300, 4608 * 4 * MAX_N, 4 * 300 * MAX_N);
            vkq_matmul_path want = int8 ? VKQ_MATMUL_PATH_GEMM_INT8 : VKQ_MATMUL_PATH_GEMM_F16;
            for (size_t ti = 0; ti < sizeof types / sizeof *types; ++ti) {
                if (path_of(dev, &b, types[ti], VKQ_MATMUL_FORCE_GEMM) != want) continue;
                uint64_t qk = vkq_type_get(types[ti])->block_elems;
                const uint64_t shapes[2][3] = {{100, round_up(600, qk), 40}, {64, qk == 1 ? 24 : qk, 31}};
                for (int s = 0; s < 2; ++s) {
                    case_data c;
                    case_make(&c, types[ti], shapes[s][0], shapes[s][1], shapes[s][2]);
                    double bound;
                    double e = case_run(dev, &b, &c, want, &bound);
                    CHECK(e <= bound, "profile %s %s %s: NMSE %.3g > %.3g", profiles[pi], vkq_matmul_path_name(want),
                          vkq_type_get(c.t)->name, e, bound);
                    if (e > worst[int8]) worst[int8] = e;
                    count[int8]++;
                    case_free(&c);
                }
            }
            bufs_destroy(&b);
            vkq_device_destroy(dev);
        }
        printf("profile %-6s: gemm-f16 %d cases worst NMSE %.2e, gemm-int8 %d cases worst NMSE %.2e\n",
               profiles[pi], count[0], worst[0], count[1], worst[1]);
    }
}

int main(void)
{
    unsetenv("VKQ_NO_FP16"); /* this test decides the switches itself */
    unsetenv("VKQ_NO_INT8");
    uint64_t seed = vkq_test_seed();
    printf("seed %llu (replay with VKQ_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    const vkq_device_info *info = vkq_device_get_info(f.dev);
    printf("shaderFloat16 %d, shaderIntegerDotProduct %d (4x8 packed accelerated %d)\n", info->shader_float16,
           info->integer_dot_product, info->integer_dot_4x8_packed_accelerated);
    /* One device per fast path: with int8 off, the int8 types run fp16 too. */
    vkq_device dev16 = open_device(f.inst, f.index, NULL, VKQ_SWITCH_ON, VKQ_SWITCH_OFF);
    vkq_device dev8 = open_device(f.inst, f.index, NULL, VKQ_SWITCH_OFF, VKQ_SWITCH_ON);
    if (dev16 && dev8) {
        bufs b16, b8;
        uint64_t max_row = 4096 * 4; /* F32 rows are the widest */
        bufs_create(dev16, &b16, max_row * MAX_M, 4096 * 4 * MAX_N, 4 * MAX_M * MAX_N);
        bufs_create(dev8, &b8, max_row * MAX_M, 4096 * 4 * MAX_N, 4 * MAX_M * MAX_N);
        int have_f16 = path_of(dev16, &b16, VKQ_TYPE_Q4_0, VKQ_MATMUL_FORCE_GEMM) == VKQ_MATMUL_PATH_GEMM_F16;
        int have_i8 = path_of(dev8, &b8, VKQ_TYPE_Q4_0, VKQ_MATMUL_FORCE_GEMM) == VKQ_MATMUL_PATH_GEMM_INT8;
        CHECK(have_f16 == info->shader_float16, "fp16 path offered iff the device has shaderFloat16");
        /* n <= 8 stays on the fp32 kernels whatever the switches */
        vkq_matmul_desc small = {.type = VKQ_TYPE_Q4_0, .m = 1, .k = 32, .n = 8, .w = b8.w, .x = b8.x, .y = b8.y,
                                 .flags = VKQ_MATMUL_FORCE_GEMM};
        vkq_matmul_path p;
        CHECK_OK(vkq_matmul_get_path(dev8, &small, &p));
        CHECK(p == VKQ_MATMUL_PATH_GEMM_F32, "forced GEMM with n = 8 takes %s", vkq_matmul_path_name(p));
        /* the query validates as vkq_matmul does */
        CHECK(vkq_matmul_get_path(dev8, &small, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL out");
        CHECK(vkq_matmul_get_path(dev8, NULL, &p) == VKQ_ERROR_INVALID_ARGUMENT, "NULL desc");
        vkq_matmul_desc bad = small;
        bad.k = 48;
        CHECK(vkq_matmul_get_path(dev8, &bad, &p) == VKQ_ERROR_BAD_SHAPE, "k not a multiple of 32");
        CHECK(strcmp(vkq_matmul_path_name((vkq_matmul_path)77), "?") == 0, "unknown path name");
        test_large_magnitudes(dev16, &b16, VKQ_MATMUL_PATH_GEMM_F16);
        test_large_magnitudes(dev8, &b8, VKQ_MATMUL_PATH_GEMM_INT8);
        test_deterministic(dev16, &b16, VKQ_TYPE_Q4_K, VKQ_MATMUL_PATH_GEMM_F16);
        test_deterministic(dev8, &b8, VKQ_TYPE_Q4_K, VKQ_MATMUL_PATH_GEMM_INT8);
        test_record_fast(dev16, &b16, VKQ_TYPE_IQ2_XS, VKQ_MATMUL_PATH_GEMM_F16);
        test_record_fast(dev8, &b8, VKQ_TYPE_Q6_K, VKQ_MATMUL_PATH_GEMM_INT8);
        test_switches(f.inst, f.index, have_f16, have_i8);
        test_grid(dev8, &b8, VKQ_MATMUL_PATH_GEMM_INT8);
        test_grid(dev16, &b16, VKQ_MATMUL_PATH_GEMM_F16);
        const char *prof;
        vkq_device_get_config(f.dev, &prof);
        test_profiles(f.inst, f.index, prof);
        bufs_destroy(&b16);
        bufs_destroy(&b8);
    }
    vkq_device_destroy(dev16);
    vkq_device_destroy(dev8);
    gpu_fixture_close(&f);
    return test_summary("test_matmul_fast");
}
