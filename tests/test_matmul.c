/* Dequant-matmul vs the f64 reference for every type of the table: all n in the list
 * (mat-vec n <= 8, GEMM above), m in {1, 7, 64, 257}, k in {QK, 2 QK, 4096 rounded up to QK};
 * the NMSE bound comes from the type table. Also: determinism, the vendor profiles forced on
 * this device, a weight matrix over maxStorageBufferRange, recording into a caller's command
 * buffer, and rejection of bad shapes. Fresh random weights and activations every run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_fixture.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "core/types.h"
#include "volk.h"

static uint64_t g_rng;
static const uint64_t k_ns[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 64, 129};
static const uint64_t k_ms[] = {1, 7, 64, 257};

typedef struct bufs {
    vkq_buffer w, x, y;
    uint64_t w_size, x_size, y_size;
} bufs;

static void bufs_create(vkq_device dev, bufs *b, uint64_t w, uint64_t x, uint64_t y)
{
    b->w_size = w;
    b->x_size = x;
    b->y_size = y;
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

static void random_x(float *x, uint64_t count)
{
    for (uint64_t i = 0; i < count; ++i)
        x[i] = (float)((double)(vkq_test_rand(&g_rng) >> 11) * 0x1p-52 - 1.0);
}

typedef struct shape_result {
    double worst_nmse;
    int failures;
} shape_result;

/* W (m x k of type t) is uploaded once; runs every n of k_ns (up to max_n) and checks NMSE. */
static void run_type_shape(vkq_device dev, bufs *b, vkq_type t, uint64_t m, uint64_t k, uint64_t max_n,
                           uint32_t flags, shape_result *res)
{
    const vkq_type_traits *tr = vkq_traits(t);
    uint64_t row_bytes = 0;
    vkq_type_bytes(t, k, &row_bytes);
    uint8_t *wq = malloc(row_bytes * m);
    float *wf = malloc(sizeof(float) * m * k);
    float *x = malloc(sizeof(float) * k * max_n);
    float *y = malloc(sizeof(float) * m * max_n);
    double *ref = malloc(sizeof(double) * m * max_n);
    vkq_test_random_weights(t, m * k / tr->info.block_elems, &g_rng, wq);
    CHECK_OK(vkq_decode_cpu(t, wq, row_bytes * m, wf, m * k));
    CHECK_OK(vkq_buffer_upload(b->w, 0, wq, row_bytes * m));
    for (size_t ni = 0; ni < sizeof k_ns / sizeof *k_ns && k_ns[ni] <= max_n; ++ni) {
        uint64_t n = k_ns[ni];
        random_x(x, k * n);
        CHECK_OK(vkq_buffer_upload(b->x, 0, x, sizeof(float) * k * n));
        vkq_matmul_desc d = {.type = t, .m = m, .k = k, .n = n, .w = b->w, .x = b->x, .y = b->y, .flags = flags};
        vkq_matmul_path path;
        CHECK_OK(vkq_matmul_get_path(dev, &d, &path));
        CHECK(path == VKQ_MATMUL_PATH_MATVEC || path == VKQ_MATMUL_PATH_GEMM_F32, "%s n=%llu runs %s",
              tr->info.name, (unsigned long long)n, vkq_matmul_path_name(path));
        vkq_status st = vkq_matmul(dev, &d);
        CHECK(st == VKQ_SUCCESS, "%s m=%llu k=%llu n=%llu: %s (%s)", tr->info.name, (unsigned long long)m,
              (unsigned long long)k, (unsigned long long)n, vkq_status_string(st), vkq_last_error());
        CHECK_OK(vkq_buffer_download(b->y, 0, y, sizeof(float) * m * n));
        matmul_ref_f64(wf, x, ref, m, k, n);
        double e = matmul_nmse(y, m, ref, m, n);
        double bound = matmul_nmse_bound(wf, x, ref, m, k, n, tr->tol_matmul_f32);
        if (!(e <= bound)) {
            res->failures++;
            CHECK(0, "%s m=%llu k=%llu n=%llu: NMSE %.3g > bound %.3g", tr->info.name, (unsigned long long)m,
                  (unsigned long long)k, (unsigned long long)n, e, bound);
        }
        if (e > res->worst_nmse) res->worst_nmse = e;
    }
    free(wq);
    free(wf);
    free(x);
    free(y);
    free(ref);
}

static uint64_t round_up(uint64_t v, uint64_t q) { return (v + q - 1) / q * q; }

static void test_every_type(vkq_device dev)
{
    bufs b;
    uint64_t max_k = round_up(4096, 256);
    uint64_t max_row = 0;
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        uint64_t rb = 0;
        vkq_type t = vkq_type_at(i);
        vkq_type_bytes(t, round_up(4096, vkq_type_get(t)->block_elems), &rb);
        if (rb > max_row) max_row = rb;
    }
    bufs_create(dev, &b, max_row * 257, max_k * 129 * 4, 257 * 129 * 4);
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        vkq_type t = vkq_type_at(i);
        const vkq_type_info *ti = vkq_type_get(t);
        uint64_t qk = ti->block_elems;
        uint64_t ks[3] = {qk, 2 * qk, round_up(4096, qk)};
        shape_result res = {0};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int ki = 0; ki < 3; ++ki)
            for (size_t mi = 0; mi < sizeof k_ms / sizeof *k_ms; ++mi)
                run_type_shape(dev, &b, t, k_ms[mi], ks[ki], 129, 0, &res);
        /* Both kernels for every type, whichever the profile picks by shape. */
        run_type_shape(dev, &b, t, 64, ks[2], 16, VKQ_MATMUL_FORCE_GEMM, &res);
        run_type_shape(dev, &b, t, 257, ks[1], 64, VKQ_MATMUL_FORCE_MATVEC, &res);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%-8s 164 shapes: worst NMSE %.2e (bound %.0e) %s  %.1f s\n", ti->name, res.worst_nmse,
               vkq_traits(t)->tol_matmul_f32, res.failures ? "FAIL" : "ok",
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        fflush(stdout);
    }
    bufs_destroy(&b);
}

/* The same inputs give the same bits, for both kernels. */
static void test_deterministic(vkq_device dev)
{
    const uint64_t m = 100, k = 2048, n = 37;
    bufs b;
    uint64_t rb = 0;
    vkq_type_bytes(VKQ_TYPE_Q5_K, k, &rb);
    bufs_create(dev, &b, rb * m, k * n * 4, m * n * 4);
    uint8_t *wq = malloc(rb * m);
    float *x = malloc(k * n * 4), *y1 = malloc(m * n * 4), *y2 = malloc(m * n * 4);
    vkq_test_random_weights(VKQ_TYPE_Q5_K, m * k / 256, &g_rng, wq);
    random_x(x, k * n);
    CHECK_OK(vkq_buffer_upload(b.w, 0, wq, rb * m));
    CHECK_OK(vkq_buffer_upload(b.x, 0, x, k * n * 4));
    for (uint64_t nn = 3; nn <= n; nn += n - 3) {
        vkq_matmul_desc d = {.type = VKQ_TYPE_Q5_K, .m = m, .k = k, .n = nn, .w = b.w, .x = b.x, .y = b.y};
        CHECK_OK(vkq_matmul(dev, &d));
        CHECK_OK(vkq_buffer_download(b.y, 0, y1, m * nn * 4));
        for (int rep = 0; rep < 3; ++rep) {
            CHECK_OK(vkq_matmul(dev, &d));
            CHECK_OK(vkq_buffer_download(b.y, 0, y2, m * nn * 4));
            CHECK(memcmp(y1, y2, m * nn * 4) == 0, "n=%llu: run %d differs from run 0", (unsigned long long)nn, rep + 1);
        }
    }
    free(wq);
    free(x);
    free(y1);
    free(y2);
    bufs_destroy(&b);
}

/* Each vendor profile forced on this device (its kernels are correct whatever the hardware
 * subgroup size), on types covering every block size and decode family shape. */
static void test_profiles(vkq_instance inst, uint32_t index)
{
    static const char *profiles[] = {"nvidia", "amd", "intel", "plain", "cpu"};
    static const vkq_type types[] = {VKQ_TYPE_F32, VKQ_TYPE_F16, VKQ_TYPE_Q4_0, VKQ_TYPE_Q4_1, VKQ_TYPE_Q8_0,
                                     VKQ_TYPE_Q4_K, VKQ_TYPE_Q6_K, VKQ_TYPE_IQ2_XXS, VKQ_TYPE_IQ4_NL,
                                     VKQ_TYPE_NVFP4, VKQ_TYPE_Q1_0, VKQ_TYPE_TQ1_0, VKQ_TYPE_NF4};
    for (size_t p = 0; p < sizeof profiles / sizeof *profiles; ++p) {
        vkq_device_desc desc = {.profile = profiles[p]};
        vkq_device dev = NULL;
        CHECK_OK(vkq_device_create(inst, index, &desc, &dev));
        if (!dev) continue;
        const char *name;
        const vkq_kernel_config *c = vkq_device_get_config(dev, &name);
        bufs b;
        bufs_create(dev, &b, 300 * 4608, 4608 * 129 * 4, 300 * 129 * 4);
        shape_result res = {0};
        for (size_t i = 0; i < sizeof types / sizeof *types; ++i) {
            uint64_t qk = vkq_type_get(types[i])->block_elems;
            uint64_t k = qk == 1 ? 1001 : round_up(1000, qk);
            run_type_shape(dev, &b, types[i], 257, k, 129, 0, &res);
            run_type_shape(dev, &b, types[i], 7, qk == 1 ? 9 : qk, 9, 0, &res);
            run_type_shape(dev, &b, types[i], 64, k, 16, VKQ_MATMUL_FORCE_GEMM, &res);
            run_type_shape(dev, &b, types[i], 64, k, 31, VKQ_MATMUL_FORCE_MATVEC, &res);
        }
        printf("profile %-6s (mv %ux%u %s, mm %ux%ux%u/%u): worst NMSE %.2e %s\n", name, c->mv_workgroup,
               c->mv_rows, c->mv_subgroup_reduce == VKQ_MV_REDUCE_SUBGROUP ? "subgroup" : "shared", c->mm_bm, c->mm_bn, c->mm_bk,
               c->mm_workgroup, res.worst_nmse, res.failures ? "FAIL" : "ok");
        bufs_destroy(&b);
        vkq_device_destroy(dev);
    }
}

/* A weight matrix larger than maxStorageBufferRange: split into row runs across bindings. */
static void test_large_weights(vkq_device dev)
{
    const vkq_device_info *info = vkq_device_get_info(dev);
    const uint64_t k = 4096;
    uint64_t rb = 0;
    vkq_type_bytes(VKQ_TYPE_Q8_0, k, &rb);
    uint64_t m = info->max_storage_buffer_range / rb + 1000;
    if (m * rb > (200ull << 20)) m = (200ull << 20) / rb;
    bufs b;
    bufs_create(dev, &b, rb * m, k * 9 * 4, m * 9 * 4);
    shape_result res = {0};
    run_type_shape(dev, &b, VKQ_TYPE_Q8_0, m, k, 1, 0, &res);
    run_type_shape(dev, &b, VKQ_TYPE_Q8_0, m, k, 9, 0, &res);
    printf("Q8_0 %llu x %llu (%.1f MiB of weights, binding limit %.0f MiB): worst NMSE %.2e %s\n",
           (unsigned long long)m, (unsigned long long)k, rb * m / 1048576.0,
           info->max_storage_buffer_range / 1048576.0, res.worst_nmse, res.failures ? "FAIL" : "ok");
    bufs_destroy(&b);
}

/* Sub-matrix views: strides and offsets select part of bigger buffers. */
static void test_strided(vkq_device dev)
{
    const uint64_t m = 40, k = 512, n = 12, ldx = 600, ldy = 50, row_stride_pad = 36;
    uint64_t rb = 0;
    vkq_type_bytes(VKQ_TYPE_Q4_K, k, &rb);
    uint64_t ws = rb + row_stride_pad;
    bufs b;
    bufs_create(dev, &b, 100 + ws * m, 64 + ldx * n * 4, 32 + ldy * n * 4);
    uint8_t *wq = calloc(ws * m, 1);
    uint8_t *packed = malloc(rb * m);
    float *wf = malloc(m * k * 4), *x = calloc(ldx * n, 4), *xp = malloc(k * n * 4), *y = malloc(ldy * n * 4);
    double *ref = malloc(m * n * 8);
    vkq_test_random_weights(VKQ_TYPE_Q4_K, m * k / 256, &g_rng, packed);
    for (uint64_t r = 0; r < m; ++r) memcpy(wq + r * ws, packed + r * rb, rb);
    CHECK_OK(vkq_decode_cpu(VKQ_TYPE_Q4_K, packed, rb * m, wf, m * k));
    random_x(xp, k * n);
    for (uint64_t j = 0; j < n; ++j) memcpy(x + j * ldx, xp + j * k, k * 4);
    CHECK_OK(vkq_buffer_upload(b.w, 100, wq, ws * m));
    CHECK_OK(vkq_buffer_upload(b.x, 64, x, ldx * n * 4));
    for (int gemm = 0; gemm < 2; ++gemm) {
        vkq_matmul_desc d = {.type = VKQ_TYPE_Q4_K, .m = m, .k = k, .n = gemm ? n : 5,
                             .w = b.w, .w_offset = 100, .w_row_stride = ws,
                             .x = b.x, .x_offset = 64, .x_col_stride = ldx,
                             .y = b.y, .y_offset = 32, .y_col_stride = ldy};
        CHECK_OK(vkq_matmul(dev, &d));
        CHECK_OK(vkq_buffer_download(b.y, 32, y, ldy * d.n * 4));
        matmul_ref_f64(wf, xp, ref, m, k, d.n);
        double e = matmul_nmse(y, ldy, ref, m, d.n);
        CHECK(e <= 1e-10, "strided %s: NMSE %.3g", gemm ? "GEMM" : "mat-vec", e);
    }
    free(wq); free(packed); free(wf); free(x); free(xp); free(y); free(ref);
    bufs_destroy(&b);
}

/* vkq_matmul_record into a command buffer the caller owns and submits. */
static void test_record(vkq_device dev)
{
    vkq_vulkan_handles h;
    CHECK_OK(vkq_device_get_vulkan(dev, &h));
    if (volkInitialize() != VK_SUCCESS) return;
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

    const uint64_t m = 33, k = 256, n = 20;
    uint64_t rb = 0;
    vkq_type_bytes(VKQ_TYPE_IQ3_S, k, &rb);
    bufs b;
    bufs_create(dev, &b, rb * m, k * n * 4, m * n * 4);
    uint8_t *wq = malloc(rb * m);
    float *wf = malloc(m * k * 4), *x = malloc(k * n * 4), *y = malloc(m * n * 4);
    double *ref = malloc(m * n * 8);
    vkq_test_random_weights(VKQ_TYPE_IQ3_S, m * k / 256, &g_rng, wq);
    CHECK_OK(vkq_decode_cpu(VKQ_TYPE_IQ3_S, wq, rb * m, wf, m * k));
    random_x(x, k * n);
    CHECK_OK(vkq_buffer_upload(b.w, 0, wq, rb * m));
    CHECK_OK(vkq_buffer_upload(b.x, 0, x, k * n * 4));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vk.vkBeginCommandBuffer(cmd, &bi);
    vkq_matmul_desc d1 = {.type = VKQ_TYPE_IQ3_S, .m = m, .k = k, .n = 4, .w = b.w, .x = b.x, .y = b.y};
    vkq_matmul_desc d2 = d1;
    d2.n = n - 4;
    d2.x_offset = 4 * k * 4;
    d2.y_offset = 4 * m * 4;
    CHECK_OK(vkq_matmul_record(dev, cmd, &d1)); /* two matmuls batched in one command buffer */
    CHECK_OK(vkq_matmul_record(dev, cmd, &d2));
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                            VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    vk.vkEndCommandBuffer(cmd);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    CHECK(vk.vkQueueSubmit(h.queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS, "submit");
    vk.vkQueueWaitIdle(h.queue);
    CHECK_OK(vkq_buffer_download(b.y, 0, y, m * n * 4));
    matmul_ref_f64(wf, x, ref, m, k, n);
    double e = matmul_nmse(y, m, ref, m, n);
    CHECK(e <= 1e-10, "recorded matmul NMSE %.3g", e);
    printf("recorded into caller's command buffer (2 matmuls): NMSE %.2e\n", e);
    vk.vkDestroyCommandPool(h.device, pool, NULL);
    free(wq); free(wf); free(x); free(y); free(ref);
    bufs_destroy(&b);
}

static void test_bad_input(vkq_device dev)
{
    bufs b;
    bufs_create(dev, &b, 4096, 4096, 4096);
    vkq_matmul_desc ok = {.type = VKQ_TYPE_Q4_0, .m = 4, .k = 64, .n = 2, .w = b.w, .x = b.x, .y = b.y};
    CHECK_OK(vkq_matmul(dev, &ok));
    vkq_matmul_desc d;
    vkq_status st;
#define EXPECT(field_change, want)                                                              \
    d = ok;                                                                                     \
    field_change;                                                                               \
    st = vkq_matmul(dev, &d);                                                                   \
    CHECK(st == (want), "%s gave %s", #field_change, vkq_status_string(st));                    \
    CHECK(vkq_last_error()[0] != '\0', "no message for %s", #field_change)
    EXPECT(d.k = 48, VKQ_ERROR_BAD_SHAPE);
    EXPECT(d.type = VKQ_TYPE_Q4_K, VKQ_ERROR_BAD_SHAPE);
    EXPECT(d.type = (vkq_type)31, VKQ_ERROR_UNKNOWN_TYPE);
    EXPECT(d.m = 0, VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(d.n = 0, VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(d.w = NULL, VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(d.m = 1000, VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(d.n = 100, VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(d.k = 1024 + 32, VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(d.x_offset = 2, VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(d.w_offset = 4090, VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(d.w_row_stride = 10, VKQ_ERROR_BAD_SHAPE);
    EXPECT((d.type = VKQ_TYPE_F16, d.w_offset = 1), VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT((d.type = VKQ_TYPE_F32, d.w_row_stride = 64 * 4 + 2), VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(d.y_col_stride = 3, VKQ_ERROR_BAD_SHAPE);
    EXPECT(d.n = UINT64_MAX / 2, VKQ_ERROR_TOO_LARGE);
    EXPECT(d.flags = VKQ_MATMUL_FORCE_GEMM | VKQ_MATMUL_FORCE_MATVEC, VKQ_ERROR_INVALID_ARGUMENT);
#undef EXPECT
    CHECK(vkq_matmul(dev, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL desc");
    bufs_destroy(&b);
}

int main(void)
{
    /* This test holds the fp32 kernels to their 1e-10 bound, so the reduced-precision GEMM
     * paths (tests/test_matmul_fast.c) are switched off wherever the device has them. */
    setenv("VKQ_NO_FP16", "1", 1);
    setenv("VKQ_NO_INT8", "1", 1);
    uint64_t seed = vkq_test_seed();
    printf("seed %llu (replay with VKQ_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    const char *prof;
    vkq_device_get_config(f.dev, &prof);
    printf("default profile: %s\n", prof);
    test_bad_input(f.dev);
    test_strided(f.dev);
    test_record(f.dev);
    test_deterministic(f.dev);
    test_every_type(f.dev);
    test_large_weights(f.dev);
    test_profiles(f.inst, f.index);
    gpu_fixture_close(&f);
    return test_summary("test_matmul");
}
