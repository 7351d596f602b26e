/* GPU dequantize vs the CPU reference decoder, bit for bit (a NaN only has to be a NaN, as the
 * header promises), for every type of the table:
 * several sizes (1 block, odd block counts), unaligned block starts, f32 and f16 outputs,
 * one tensor larger than maxStorageBufferRange, buffers split into several allocations,
 * recording into a caller's command buffer (vkq_dequantize_record), and rejection of bad
 * arguments. Random blocks are fresh every run (seed printed). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fp_convert.h"
#include "core/types.h"
#include "gpu_fixture.h"
#include "test_util.h"
#include "volk.h"

static uint64_t g_rng;
static int g_nan_scales;     /* run_case: a NaN first scale in every third block */
static uint64_t g_nan_count; /* NaN elements of the references so far */

/* A NaN (random sign and payload) as the first scale of every third block, where it is an f16 or
 * f32 field: every element of such a block decodes to NaN. */
static void poison_scales(vkq_type t, uint64_t n_blocks, uint8_t *blocks)
{
    const vkq_type_traits *tr = vkq_traits(t);
    const vkq_scale_kind kind = tr->scales[0].kind;
    if (kind != VKQ_SCALE_F16 && kind != VKQ_SCALE_F32) return;
    for (uint64_t b = 1; b < n_blocks; b += 3) {
        uint8_t *p = blocks + b * tr->info.block_bytes + tr->scales[0].offset;
        const uint32_t r = (uint32_t)vkq_test_rand(&g_rng);
        if (kind == VKQ_SCALE_F16) {
            const uint16_t h = (uint16_t)((r & 0x8000u) | 0x7C00u | (1u + (r >> 16) % 0x3FFu));
            memcpy(p, &h, 2);
        } else {
            const uint32_t f = (r & 0x80000000u) | 0x7F800000u | (1u + (r >> 8) % 0x7FFFFFu);
            memcpy(p, &f, 4);
        }
    }
}

/* Dequantizes `n_blocks` random blocks placed `src_shift` bytes into the buffer and compares
 * with vkq_decode_cpu; returns the number of mismatching elements. */
static uint64_t run_case(vkq_device dev, vkq_type t, uint64_t n_blocks, uint64_t src_shift,
                         vkq_type out_type, uint64_t dst_shift, vkq_buffer src_buf, vkq_buffer dst_buf)
{
    const vkq_type_info *ti = vkq_type_get(t);
    uint64_t n = n_blocks * ti->block_elems, bytes = 0;
    vkq_type_bytes(t, n, &bytes);
    uint8_t *blocks = malloc(bytes);
    float *ref = malloc(n * sizeof(float));
    uint64_t out_bytes = out_type == VKQ_TYPE_F32 ? n * 4 : (n * 2 + 3) / 4 * 4;
    uint8_t *got = malloc(out_bytes);
    vkq_test_random_blocks(t, n_blocks, &g_rng, blocks);
    if (g_nan_scales) poison_scales(t, n_blocks, blocks);
    CHECK_OK(vkq_decode_cpu(t, blocks, bytes, ref, n));
    for (uint64_t i = 0; i < n; ++i)
        g_nan_count += ref[i] != ref[i];

    int own = !src_buf;
    if (own) {
        CHECK_OK(vkq_buffer_create(dev, bytes + src_shift, VKQ_MEMORY_DEVICE, 0, &src_buf));
        CHECK_OK(vkq_buffer_create(dev, out_bytes + dst_shift, VKQ_MEMORY_DEVICE, 0, &dst_buf));
    }
    uint64_t bad = 0;
    CHECK_OK(vkq_buffer_upload(src_buf, src_shift, blocks, bytes));
    vkq_status st = vkq_dequantize(dev, t, src_buf, src_shift, dst_buf, dst_shift, n, out_type);
    CHECK(st == VKQ_SUCCESS, "%s x%llu: %s (%s)", ti->name, (unsigned long long)n_blocks,
          vkq_status_string(st), vkq_last_error());
    CHECK_OK(vkq_buffer_download(dst_buf, dst_shift, got, out_bytes));
    for (uint64_t i = 0; i < n; ++i) {
        uint32_t want, have;
        if (out_type == VKQ_TYPE_F32) {
            want = vkq_f32_to_bits(ref[i]);
            memcpy(&have, got + 4 * i, 4);
        } else {
            uint16_t h;
            want = vkq_f32_to_fp16(ref[i]);
            memcpy(&h, got + 2 * i, 2);
            have = h;
        }
        /* The promise (include/vkquant.h): equal bits, except that a NaN need only be a NaN. */
        const int f32 = out_type == VKQ_TYPE_F32;
        const int want_nan = f32 ? (want & 0x7FFFFFFFu) > 0x7F800000u : (want & 0x7FFFu) > 0x7C00u;
        const int have_nan = f32 ? (have & 0x7FFFFFFFu) > 0x7F800000u : (have & 0x7FFFu) > 0x7C00u;
        const int same = want_nan || have_nan ? want_nan == have_nan : want == have;
        if (!same && bad++ < 3)
            fprintf(stderr, "  %s %s n_blocks=%llu shift=%llu: element %llu: gpu 0x%08x cpu 0x%08x\n",
                    ti->name, out_type == VKQ_TYPE_F32 ? "f32" : "f16", (unsigned long long)n_blocks,
                    (unsigned long long)src_shift, (unsigned long long)i, have, want);
    }
    CHECK(bad == 0, "%s: %llu of %llu elements differ", ti->name, (unsigned long long)bad,
          (unsigned long long)n);
    if (own) {
        vkq_buffer_destroy(src_buf);
        vkq_buffer_destroy(dst_buf);
    }
    free(blocks);
    free(ref);
    free(got);
    return bad;
}

static void test_every_type(vkq_device dev)
{
    static const uint64_t counts[] = {1, 3, 37, 130};
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        vkq_type t = vkq_type_at(i);
        const vkq_type_info *ti = vkq_type_get(t);
        /* Element-wise types get counts that are not multiples of the 8-element group too. */
        uint64_t mult = ti->block_elems == 1 ? 7 : 1;
        uint64_t bad = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t c = 0; c < sizeof counts / sizeof *counts; ++c) {
            /* Blocks start at every byte alignment; element-wise types at every element one. */
            uint64_t shift = (c + i) % 4 / ti->block_bytes * ti->block_bytes;
            bad += run_case(dev, t, counts[c] * mult, shift, VKQ_TYPE_F32, 4 * (c % 2), NULL, NULL);
        }
        bad += run_case(dev, t, 37 * mult, ti->block_elems == 1 ? 0 : 1, VKQ_TYPE_F16, 4, NULL, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%-8s dequant f32+f16: %s (%.2f s)\n", ti->name, bad ? "MISMATCH" : "bit-exact",
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        fflush(stdout);
    }
}

/* NaN scales: Vulkan does not specify NaN bits, so the GPU's NaNs may differ in sign and payload
 * from the CPU's (they did for Q4_1, Q5_1, Q2_K, Q4_K, Q5_K on one driver); the promise is that
 * they stay NaN, and run_case checks exactly that. */
static void test_nan_scales(vkq_device dev)
{
    g_nan_scales = 1;
    uint32_t types = 0;
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        vkq_type t = vkq_type_at(i);
        const vkq_scale_kind kind = vkq_traits(t)->scales[0].kind;
        if (kind != VKQ_SCALE_F16 && kind != VKQ_SCALE_F32) continue;
        const uint64_t before = g_nan_count;
        uint64_t bad = run_case(dev, t, 37, 0, VKQ_TYPE_F32, 0, NULL, NULL);
        bad += run_case(dev, t, 37, 0, VKQ_TYPE_F16, 0, NULL, NULL);
        CHECK(g_nan_count > before, "%s: no NaN element from NaN scales", vkq_type_get(t)->name);
        types += bad == 0;
    }
    g_nan_scales = 0;
    printf("NaN scales: %u types, NaN stays NaN, every other element bit-exact\n", types);
}

/* A tensor over maxStorageBufferRange (128 MiB on lavapipe): the dispatch is cut into several
 * bindings of both the source and the (4x larger) output. */
static void test_large_tensor(vkq_device dev)
{
    const vkq_device_info *info = vkq_device_get_info(dev);
    uint64_t want_bytes = info->max_storage_buffer_range + (3u << 20);
    if (want_bytes > (160ull << 20)) want_bytes = 160ull << 20;
    if (want_bytes <= info->max_storage_buffer_range)
        printf("note: maxStorageBufferRange %llu is larger than the 160 MiB test tensor\n",
               (unsigned long long)info->max_storage_buffer_range);
    uint64_t n_blocks = want_bytes / 18 + 1;
    uint64_t bad = run_case(dev, VKQ_TYPE_Q4_0, n_blocks, 2, VKQ_TYPE_F32, 0, NULL, NULL);
    printf("Q4_0 %.1f MiB tensor (%llu elements) dequant: %s\n", n_blocks * 18 / 1048576.0,
           (unsigned long long)(n_blocks * 32), bad ? "MISMATCH" : "bit-exact");
}

/* Buffers split over several allocations: forced with small limits on a second device that
 * coexists with the first, and the staging path forced for its uploads/downloads. */
static void test_segmented(vkq_instance inst, uint32_t index)
{
    const vkq_device_debug_desc dbg = {.max_allocation_override = 4u << 20, .max_binding_override = 1u << 20};
    vkq_device_desc desc = {.debug = &dbg};
    vkq_device dev;
    setenv("VKQ_FORCE_STAGING", "1", 1);
    CHECK_OK(vkq_device_create(inst, index, &desc, &dev));
    if (!dev) return;
    const uint64_t k = 4096, rows = 2001; /* Q6_K rows of 3360 bytes: 210-byte blocks, unaligned */
    uint64_t row_bytes = 0;
    vkq_type_bytes(VKQ_TYPE_Q6_K, k, &row_bytes);
    vkq_buffer src, dst;
    CHECK_OK(vkq_buffer_create(dev, row_bytes * rows, VKQ_MEMORY_DEVICE, row_bytes, &src));
    CHECK_OK(vkq_buffer_create(dev, k * 4 * rows, VKQ_MEMORY_HOST_VISIBLE, k * 4, &dst));
    CHECK(vkq_buffer_segment_count(src) >= 2, "source has %u segments", vkq_buffer_segment_count(src));
    CHECK(vkq_buffer_segment_count(dst) >= 8, "output has %u segments", vkq_buffer_segment_count(dst));
    uint64_t bad = run_case(dev, VKQ_TYPE_Q6_K, rows * k / 256, 0, VKQ_TYPE_F32, 0, src, dst);
    printf("Q6_K over %u+%u allocations, 1 MiB bindings, staged copies: %s\n",
           vkq_buffer_segment_count(src), vkq_buffer_segment_count(dst), bad ? "MISMATCH" : "bit-exact");

    /* Byte-granular round trip across segment boundaries. */
    uint64_t size = vkq_buffer_size(src);
    uint8_t *a = malloc(size), *b = malloc(size);
    for (uint64_t i = 0; i < size; ++i) a[i] = (uint8_t)vkq_test_rand(&g_rng);
    CHECK_OK(vkq_buffer_upload(src, 0, a, size));
    memset(b, 0, size);
    CHECK_OK(vkq_buffer_download(src, 12345, b, size - 12346));
    CHECK(memcmp(a + 12345, b, size - 12346) == 0, "segmented round trip differs");
    free(a);
    free(b);

    /* A granule that does not divide into blocks makes a segment boundary split a block. */
    vkq_buffer odd;
    CHECK_OK(vkq_buffer_create(dev, 4u << 20 << 1, VKQ_MEMORY_DEVICE, 1000, &odd));
    vkq_status st = vkq_dequantize(dev, VKQ_TYPE_Q6_K, odd, 0, dst, 0, (4u << 20) / 210 * 256, VKQ_TYPE_F32);
    CHECK(st == VKQ_ERROR_BAD_SHAPE, "block split across segments gave %s", vkq_status_string(st));
    vkq_buffer_destroy(odd);

    vkq_buffer_destroy(src);
    vkq_buffer_destroy(dst);
    vkq_device_destroy(dev);
    unsetenv("VKQ_FORCE_STAGING");
}

static void test_bad_input(vkq_device dev)
{
    vkq_buffer a, b;
    CHECK_OK(vkq_buffer_create(dev, 4096, VKQ_MEMORY_DEVICE, 0, &a));
    CHECK_OK(vkq_buffer_create(dev, 4096, VKQ_MEMORY_DEVICE, 0, &b));
    vkq_status st;
#define EXPECT(call, want)                                                                       \
    st = (call);                                                                                 \
    CHECK(st == (want), "%s gave %s, want %s", #call, vkq_status_string(st), vkq_status_string(want)); \
    CHECK(st == VKQ_SUCCESS || vkq_last_error()[0] != '\0', "no message for %s", #call)
    EXPECT(vkq_dequantize(dev, (vkq_type)4, a, 0, b, 0, 32, VKQ_TYPE_F32), VKQ_ERROR_UNKNOWN_TYPE);
    EXPECT(vkq_dequantize(dev, (vkq_type)9999, a, 0, b, 0, 32, VKQ_TYPE_F32), VKQ_ERROR_UNKNOWN_TYPE);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, 0, b, 0, 33, VKQ_TYPE_F32), VKQ_ERROR_BAD_SHAPE);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_K, a, 0, b, 0, 128, VKQ_TYPE_F32), VKQ_ERROR_BAD_SHAPE);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, 0, b, 0, 0, VKQ_TYPE_F32), VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, 0, b, 0, 32, VKQ_TYPE_Q8_0), VKQ_ERROR_UNSUPPORTED);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, 4090, b, 0, 32, VKQ_TYPE_F32), VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, 0, b, 0, 2048, VKQ_TYPE_F32), VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, 0, b, 2, 32, VKQ_TYPE_F32), VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_F16, a, 1, b, 0, 32, VKQ_TYPE_F32), VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_F32, a, 2, b, 0, 32, VKQ_TYPE_F32), VKQ_ERROR_INVALID_ARGUMENT);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_Q4_0, a, UINT64_MAX - 3, b, 0, 32, VKQ_TYPE_F32), VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(vkq_dequantize(dev, VKQ_TYPE_F32, a, 0, b, 0, UINT64_MAX / 2, VKQ_TYPE_F32), VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(vkq_buffer_upload(a, 4000, &st, 100), VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(vkq_buffer_upload(a, UINT64_MAX, &st, 2), VKQ_ERROR_OUT_OF_RANGE);
    EXPECT(vkq_buffer_download(a, 0, NULL, 4), VKQ_ERROR_INVALID_ARGUMENT);
    vkq_buffer c = NULL;
    EXPECT(vkq_buffer_create(dev, 0, VKQ_MEMORY_DEVICE, 0, &c), VKQ_ERROR_INVALID_ARGUMENT);
    /* Far more than any heap: a status, not an abort, and nothing allocated. */
    EXPECT(vkq_buffer_create(dev, 1ull << 50, VKQ_MEMORY_DEVICE, 0, &c), VKQ_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK(c == NULL, "failed create left a handle");
    CHECK(vkq_dequantize(NULL, VKQ_TYPE_Q4_0, a, 0, b, 0, 32, VKQ_TYPE_F32) == VKQ_ERROR_INVALID_ARGUMENT, "NULL device");
    CHECK(vkq_dequantize(dev, VKQ_TYPE_Q4_0, NULL, 0, b, 0, 32, VKQ_TYPE_F32) == VKQ_ERROR_INVALID_ARGUMENT, "NULL src");
#undef EXPECT
    vkq_buffer_destroy(a);
    vkq_buffer_destroy(b);
}

/* vkq_dequantize_record into a command buffer the caller owns and submits: two ranges (f32 and
 * f16 output, at offsets) batched in one command buffer give the blocking call's bits. */
static void test_record(vkq_device dev)
{
    vkq_vulkan_handles h;
    CHECK_OK(vkq_device_get_vulkan(dev, &h));
    if (!vkq_device_get_info(dev)->push_descriptor) {
        CHECK(vkq_dequantize_record(dev, (VkCommandBuffer)(uintptr_t)1, VKQ_TYPE_Q4_K, NULL, 0, NULL, 0, 256,
                                    VKQ_TYPE_F32) == VKQ_ERROR_INVALID_ARGUMENT, "NULL buffers");
        printf("recording: device lacks VK_KHR_push_descriptor, not tested\n");
        return;
    }
    CHECK(volkInitialize() == VK_SUCCESS, "volkInitialize");
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

    const vkq_type t = VKQ_TYPE_Q4_K;
    const uint64_t blocks = 24, n = blocks * 256, half = n / 2;
    uint64_t bytes = 0;
    CHECK_OK(vkq_type_bytes(t, n, &bytes));
    uint8_t *q = malloc(bytes);
    vkq_test_random_weights(t, blocks, &g_rng, q);
    /* dst: [0, 4 * half) f32 of the first half, then f16 of the second half at 4 * half + 64 */
    const uint64_t f16_at = 4 * half + 64, dst_bytes = f16_at + 2 * half;
    vkq_buffer src, got, want;
    CHECK_OK(vkq_buffer_create(dev, bytes, VKQ_MEMORY_DEVICE, 0, &src));
    CHECK_OK(vkq_buffer_create(dev, dst_bytes, VKQ_MEMORY_DEVICE, 0, &got));
    CHECK_OK(vkq_buffer_create(dev, dst_bytes, VKQ_MEMORY_DEVICE, 0, &want));
    CHECK_OK(vkq_buffer_upload(src, 0, q, bytes));
    uint8_t *zero = calloc(1, dst_bytes), *a = malloc(dst_bytes), *b = malloc(dst_bytes);
    CHECK_OK(vkq_buffer_upload(got, 0, zero, dst_bytes));
    CHECK_OK(vkq_buffer_upload(want, 0, zero, dst_bytes));
    const uint64_t half_bytes = bytes / 2;
    CHECK_OK(vkq_dequantize(dev, t, src, 0, want, 0, half, VKQ_TYPE_F32));
    CHECK_OK(vkq_dequantize(dev, t, src, half_bytes, want, f16_at, half, VKQ_TYPE_F16));

    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vk.vkBeginCommandBuffer(cmd, &bi);
    CHECK_OK(vkq_dequantize_record(dev, cmd, t, src, 0, got, 0, half, VKQ_TYPE_F32));
    CHECK_OK(vkq_dequantize_record(dev, cmd, t, src, half_bytes, got, f16_at, half, VKQ_TYPE_F16));
    /* Refused before anything is recorded. */
    CHECK(vkq_dequantize_record(dev, cmd, t, src, 0, got, 0, 255, VKQ_TYPE_F32) == VKQ_ERROR_BAD_SHAPE,
          "partial block accepted");
    CHECK(vkq_dequantize_record(dev, cmd, t, src, 0, got, dst_bytes, 256, VKQ_TYPE_F32) == VKQ_ERROR_OUT_OF_RANGE,
          "destination past the end accepted");
    CHECK(vkq_dequantize_record(dev, VK_NULL_HANDLE, t, src, 0, got, 0, 256, VKQ_TYPE_F32) ==
              VKQ_ERROR_INVALID_ARGUMENT,
          "NULL command buffer accepted");
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                            VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    vk.vkEndCommandBuffer(cmd);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    CHECK(vk.vkQueueSubmit(h.queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS, "submit");
    vk.vkQueueWaitIdle(h.queue);
    CHECK_OK(vkq_buffer_download(got, 0, a, dst_bytes));
    CHECK_OK(vkq_buffer_download(want, 0, b, dst_bytes));
    CHECK(memcmp(a, b, dst_bytes) == 0, "recorded dequantize differs from the blocking call");
    printf("recorded into caller's command buffer (f32 + f16 halves of %llu Q4_K elements): bit-identical\n",
           (unsigned long long)n);
    vk.vkDestroyCommandPool(h.device, pool, NULL);
    vkq_buffer_destroy(src);
    vkq_buffer_destroy(got);
    vkq_buffer_destroy(want);
    free(q); free(zero); free(a); free(b);
}

int main(void)
{
    uint64_t seed = vkq_test_seed();
    printf("seed %llu (replay with VKQ_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    test_bad_input(f.dev);
    test_every_type(f.dev);
    test_record(f.dev);
    test_nan_scales(f.dev);
    test_segmented(f.inst, f.index);
    if (!getenv("VKQ_SKIP_LARGE")) test_large_tensor(f.dev);
    gpu_fixture_close(&f);
    return test_summary("test_dequant_gpu");
}
