/* Vulkan timing for vkq-bench: GPU timestamps around one recorded dispatch, medians over
 * rotated weight buffers, and the device's copy bandwidth. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "timing.h"

int gpu_open(gpu *g, vkq_instance inst, const char *sel, const char *cache_path, char *why, size_t why_size)
{
    memset(g, 0, sizeof *g);
    uint32_t idx;
    vkq_device_desc desc = {.pipeline_cache = cache_path};
    vkq_status st =
        sel ? vkq_instance_select_device(inst, sel, &idx) : vkq_instance_default_device(inst, &idx);
    if (st == VKQ_SUCCESS) st = vkq_device_create(inst, idx, &desc, &g->dev);
    if (st != VKQ_SUCCESS) {
        snprintf(why, why_size, "%s: %s", vkq_status_string(st), vkq_last_error());
        g->dev = NULL;
        return 1;
    }
    vkq_vulkan_handles h;
    vkq_device_get_vulkan(g->dev, &h);
    volkLoadInstanceOnly(h.instance);
    volkLoadDeviceTable(&g->vk, h.device);
    g->device = h.device;
    g->queue = h.queue;
    g->period_ns = vkq_device_get_info(g->dev)->timestamp_period_ns;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = h.queue_family};
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                 .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                 .queryCount = 2};
    if (g->vk.vkCreateCommandPool(g->device, &pci, NULL, &g->pool) == VK_SUCCESS) {
        ai.commandPool = g->pool;
        if (g->vk.vkAllocateCommandBuffers(g->device, &ai, &g->cmd) == VK_SUCCESS &&
            g->vk.vkCreateQueryPool(g->device, &qci, NULL, &g->queries) == VK_SUCCESS)
            return 0;
    }
    snprintf(why, why_size, "could not create a command pool, buffer or timestamp query pool");
    gpu_close(g);
    return 1;
}

void gpu_close(gpu *g)
{
    if (!g->dev) return;
    if (g->queries) g->vk.vkDestroyQueryPool(g->device, g->queries, NULL);
    if (g->pool) g->vk.vkDestroyCommandPool(g->device, g->pool, NULL);
    vkq_device_destroy(g->dev);
    memset(g, 0, sizeof *g);
}

/* What one timed submission records. */
typedef struct work {
    int kind; /* 0 matmul, 1 compute copy, 2 vkCmdCopyBuffer */
    vkq_matmul_desc mm;
    vkq_buffer src, dst;
    uint64_t bytes;
} work;

/* Runs `w` between two timestamps; returns GPU microseconds (or wall time if none), <0 on error. */
static double timed_run(gpu *g, const work *w)
{
    g->vk.vkResetCommandBuffer(g->cmd, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    g->vk.vkBeginCommandBuffer(g->cmd, &bi);
    g->vk.vkCmdResetQueryPool(g->cmd, g->queries, 0, 2);
    g->vk.vkCmdWriteTimestamp(g->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, g->queries, 0);
    vkq_status st = w->kind == 2 ? vkq_buffer_copy_record(g->dev, g->cmd, w->src, 0, w->dst, 0, w->bytes)
                    : w->kind    ? vkq_copy_record(g->dev, g->cmd, w->src, 0, w->dst, 0, w->bytes)
                                 : vkq_matmul_record(g->dev, g->cmd, &w->mm);
    g->vk.vkCmdWriteTimestamp(g->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, g->queries, 1);
    g->vk.vkEndCommandBuffer(g->cmd);
    if (st != VKQ_SUCCESS) return -1;
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &g->cmd};
    double t0 = bench_now_us();
    if (g->vk.vkQueueSubmit(g->queue, 1, &si, VK_NULL_HANDLE) != VK_SUCCESS) return -1;
    if (g->vk.vkQueueWaitIdle(g->queue) != VK_SUCCESS) return -1;
    double wall_us = bench_now_us() - t0;
    uint64_t ts[2];
    if (g->period_ns > 0 &&
        g->vk.vkGetQueryPoolResults(g->device, g->queries, 0, 2, sizeof ts, ts, sizeof ts[0],
                                    VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS &&
        ts[1] > ts[0])
        return (double)(ts[1] - ts[0]) * g->period_ns * 1e-3;
    return wall_us;
}

static double median_us(gpu *g, work *w, const vkq_buffer *bufs, int n_bufs, int reps)
{
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!t) return -1;
    for (int i = -2; i < reps; ++i) { /* two warm-up runs */
        if (w->kind == 0)
            w->mm.w = bufs[(i + 2) % n_bufs];
        else
            w->src = bufs[(i + 2) % n_bufs];
        double us = timed_run(g, w);
        if (us < 0) {
            free(t);
            return -1;
        }
        if (i >= 0) t[i] = us;
    }
    double med = bench_median(t, (size_t)reps);
    free(t);
    return med;
}

double gpu_time_matmul(gpu *g, vkq_matmul_desc d, const vkq_buffer *bufs, int n_bufs, int reps)
{
    work w = {.kind = 0, .mm = d};
    return median_us(g, &w, bufs, n_bufs, reps);
}

double gpu_copy_gbps(gpu *g, int reps, int kind)
{
    const uint64_t bytes = 64ull << 20;
    vkq_buffer bufs[4] = {0}, dst = NULL;
    double us = -1;
    int ok = vkq_buffer_create(g->dev, bytes, VKQ_MEMORY_DEVICE, 0, &dst) == VKQ_SUCCESS;
    for (int i = 0; ok && i < 4; ++i)
        ok = vkq_buffer_create(g->dev, bytes, VKQ_MEMORY_DEVICE, 0, &bufs[i]) == VKQ_SUCCESS;
    if (ok) {
        work w = {.kind = kind, .dst = dst, .bytes = bytes};
        us = median_us(g, &w, bufs, 4, reps);
    }
    for (int i = 0; i < 4; ++i)
        vkq_buffer_destroy(bufs[i]);
    vkq_buffer_destroy(dst);
    return us > 0 ? 2.0 * (double)bytes / us * 1e-3 : 0; /* read + write, GB/s */
}

double gpu_pipeline_ms(gpu *g, vkq_type t, uint64_t n)
{
    const vkq_type_info *ti = vkq_type_get(t);
    uint64_t k = ti->block_elems < 8 ? 8 : ti->block_elems, rb = 0;
    vkq_type_bytes(t, k, &rb);
    vkq_buffer w = NULL, x = NULL, y = NULL;
    double ms = -1;
    if (vkq_buffer_create(g->dev, rb, VKQ_MEMORY_DEVICE, 0, &w) == VKQ_SUCCESS &&
        vkq_buffer_create(g->dev, k * n * 4, VKQ_MEMORY_DEVICE, 0, &x) == VKQ_SUCCESS &&
        vkq_buffer_create(g->dev, n * 4, VKQ_MEMORY_DEVICE, 0, &y) == VKQ_SUCCESS) {
        vkq_matmul_desc d = {.type = t, .m = 1, .k = k, .n = n, .w = w, .x = x, .y = y};
        double t0 = bench_now_us();
        if (vkq_matmul(g->dev, &d) == VKQ_SUCCESS) ms = (bench_now_us() - t0) * 1e-3;
    }
    vkq_buffer_destroy(w);
    vkq_buffer_destroy(x);
    vkq_buffer_destroy(y);
    return ms;
}
