/* GPU dequantize: validates, then cuts the work into dispatches that each fit one segment and
 * one maxStorageBufferRange-sized binding of both buffers. */
#include "core/types.h"
#include "vulkan/pipeline.h"

typedef struct dequant_push {
    uint32_t src_base, dst_base, n_groups, n_elems, out_f16, row_groups;
} dequant_push;

/* Everything vkq_dequantize checks before it launches anything; gives the kernel. */
static vkq_status dequant_check(vkq_device dev, vkq_type type, vkq_buffer src, uint64_t src_offset,
                                vkq_buffer dst, uint64_t dst_offset, uint64_t n_elems, vkq_type out_type,
                                const vkq_pipeline **pipe)
{
    if (!dev || !src || !dst) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (src->dev != dev || dst->dev != dev)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "buffers belong to another device");
    const vkq_type_traits *tr = vkq_traits(type);
    if (!tr) return vkq_fail(VKQ_ERROR_UNKNOWN_TYPE, "unknown type id %d", (int)type);
    if (out_type != VKQ_TYPE_F32 && out_type != VKQ_TYPE_F16)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "dequantize outputs F32 or F16, not %s",
                        vkq_type_get(out_type) ? vkq_type_get(out_type)->name : "an unknown type");
    if (n_elems == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "n_elems is 0");
    const uint64_t qk = tr->info.block_elems, bb = tr->info.block_bytes;
    if (n_elems % qk)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%llu elements is not a whole number of %s blocks (%llu)",
                        (unsigned long long)n_elems, tr->info.name, (unsigned long long)qk);
    /* Element-wise types (F32/F16/BF16) are read a whole element per word access. */
    if (qk == 1 && src_offset % bb)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s data must start at a multiple of %llu bytes",
                        tr->info.name, (unsigned long long)bb);
    const uint64_t src_bytes = n_elems / qk * bb;
    if (src_offset > src->size || src_bytes > src->size - src_offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE, "source range [%llu, +%llu) is outside the %llu-byte buffer",
                        (unsigned long long)src_offset, (unsigned long long)src_bytes,
                        (unsigned long long)src->size);
    const uint64_t out_size = out_type == VKQ_TYPE_F32 ? 4 : 2;
    if (dst_offset % 4)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "dst_offset %llu is not a multiple of 4",
                        (unsigned long long)dst_offset);
    if (n_elems > UINT64_MAX / 4) return vkq_fail(VKQ_ERROR_TOO_LARGE, "n_elems overflows");
    const uint64_t dst_bytes = (n_elems * out_size + 3u) & ~(uint64_t)3u;
    if (dst_offset > dst->size || dst_bytes > dst->size - dst_offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE,
                        "destination needs %llu bytes at offset %llu but the buffer has %llu",
                        (unsigned long long)dst_bytes, (unsigned long long)dst_offset,
                        (unsigned long long)dst->size);

    return vkq_pipeline_get(dev, VKQ_KERNEL_DEQUANT, type, 0, pipe);
}


/* Cuts the work into dispatches that each fit one segment and one binding of both buffers.
 * *cmd VK_NULL_HANDLE: a dry run that only checks every chunk (nothing is recorded). `own`: *cmd
 * is the device's one-shot command buffer, submitted every 512 dispatches (which keeps the
 * descriptor-pool fallback within its size) and on an error; the caller submits the rest. */
static vkq_status dequant_chunks(vkq_device dev, VkCommandBuffer *cmd, int own, const vkq_pipeline *pipe,
                                 vkq_type type, vkq_buffer src, uint64_t src_offset, vkq_buffer dst,
                                 uint64_t dst_offset, uint64_t n_elems, vkq_type out_type)
{
    const vkq_type_traits *tr = vkq_traits(type);
    const uint64_t qk = tr->info.block_elems, bb = tr->info.block_bytes;
    const uint64_t out_size = out_type == VKQ_TYPE_F32 ? 4 : 2;
    /* Chunks start on whole blocks and on whole groups of 8 (an invocation's share; also keeps
     * packed f16 pairs word-aligned). */
    const uint64_t unit = qk % 8 == 0 ? qk : 8;
    const uint64_t wg = pipe->workgroup_size;
    const uint64_t max_x = dev->info.max_workgroup_count[0];
    const uint64_t max_y = dev->info.max_workgroup_count[1];
    vkq_status st;
    uint32_t in_flight = 0;
    for (uint64_t e = 0; e < n_elems;) {
        uint64_t src_pos = src_offset + e / qk * bb;
        uint64_t dst_pos = dst_offset + e * out_size;
        vkq_window ws = vkq_window_at(dev, src, src_pos);
        vkq_window wd = vkq_window_at(dev, dst, dst_pos);
        uint64_t cnt = n_elems - e;
        uint64_t by_src = ws.available / bb * qk;
        uint64_t by_dst = wd.available / out_size;
        uint64_t by_grid = max_x * max_y * wg * 8;
        if (by_src < cnt) cnt = by_src;
        if (by_dst < cnt) cnt = by_dst;
        if (by_grid < cnt) cnt = by_grid;
        if (e + cnt < n_elems) cnt -= cnt % unit;
        if (cnt == 0) {
            if (own) vkq_cmd_submit_wait(dev);
            return vkq_fail(VKQ_ERROR_BAD_SHAPE,
                            "a buffer segment boundary splits a block at element %llu; create the "
                            "buffer with the row size as granule", (unsigned long long)e);
        }
        uint64_t groups = (cnt + 7) / 8;
        uint64_t wgs = (groups + wg - 1) / wg;
        uint64_t gx = wgs < max_x ? wgs : max_x;
        uint64_t gy = (wgs + gx - 1) / gx;
        e += cnt;
        if (*cmd == VK_NULL_HANDLE) continue;
        dequant_push pc = {
            .src_base = (uint32_t)ws.base,
            .dst_base = (uint32_t)(wd.base / 4),
            .n_groups = (uint32_t)groups,
            .n_elems = (uint32_t)cnt,
            .out_f16 = out_type == VKQ_TYPE_F16,
            .row_groups = (uint32_t)(gx * wg),
        };
        vkq_window b[2] = {ws, wd};
        if (own && ++in_flight > 512) {
            if ((st = vkq_cmd_submit_wait(dev)) != VKQ_SUCCESS) return st;
            if ((st = vkq_cmd_begin(dev, cmd)) != VKQ_SUCCESS) return st;
            in_flight = 1;
        }
        st = vkq_cmd_dispatch(dev, *cmd, pipe, b, 2, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, 1);
        if (st != VKQ_SUCCESS) {
            if (own) vkq_cmd_submit_wait(dev);
            return st;
        }
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_dequantize(vkq_device dev, vkq_type type, vkq_buffer src, uint64_t src_offset,
                          vkq_buffer dst, uint64_t dst_offset, uint64_t n_elems,
                          vkq_type out_type)
{
    const vkq_pipeline *pipe;
    vkq_status st = dequant_check(dev, type, src, src_offset, dst, dst_offset, n_elems, out_type, &pipe);
    if (st != VKQ_SUCCESS) return st;
    VkCommandBuffer cmd;
    if ((st = vkq_cmd_begin(dev, &cmd)) != VKQ_SUCCESS) return st;
    st = dequant_chunks(dev, &cmd, 1, pipe, type, src, src_offset, dst, dst_offset, n_elems, out_type);
    if (st != VKQ_SUCCESS) return st;
    return vkq_cmd_submit_wait(dev);
}

vkq_status vkq_dequantize_record(vkq_device dev, VkCommandBuffer cmd, vkq_type type, vkq_buffer src,
                                 uint64_t src_offset, vkq_buffer dst, uint64_t dst_offset, uint64_t n_elems,
                                 vkq_type out_type)
{
    if (!cmd) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL command buffer");
    const vkq_pipeline *pipe;
    vkq_status st = dequant_check(dev, type, src, src_offset, dst, dst_offset, n_elems, out_type, &pipe);
    if (st != VKQ_SUCCESS) return st;
    if (!dev->info.push_descriptor)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "recording into a caller's command buffer needs "
                        "VK_KHR_push_descriptor, which %s lacks", dev->info.name);
    /* Every chunk is checked before the first is recorded: nothing is recorded on an error. */
    VkCommandBuffer none = VK_NULL_HANDLE;
    st = dequant_chunks(dev, &none, 0, pipe, type, src, src_offset, dst, dst_offset, n_elems, out_type);
    if (st != VKQ_SUCCESS) return st;
    return dequant_chunks(dev, &cmd, 0, pipe, type, src, src_offset, dst, dst_offset, n_elems, out_type);
}

typedef struct copy_push {
    uint32_t src_base, dst_base, count, row;
} copy_push;

vkq_status vkq_copy_record(vkq_device dev, VkCommandBuffer cmd, vkq_buffer src, uint64_t src_offset,
                           vkq_buffer dst, uint64_t dst_offset, uint64_t size)
{
    if (!dev || !cmd || !src || !dst || size == 0) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (size % 16 || src_offset % 16 || dst_offset % 16)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "copy size and offsets must be multiples of 16");
    if (src_offset > src->size || size > src->size - src_offset || dst_offset > dst->size ||
        size > dst->size - dst_offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE, "copy range outside a buffer");
    if (!dev->info.push_descriptor)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "recording needs VK_KHR_push_descriptor");
    const vkq_pipeline *pipe;
    vkq_status st = vkq_pipeline_get(dev, VKQ_KERNEL_COPY, VKQ_TYPE_F32, 0, &pipe);
    if (st != VKQ_SUCCESS) return st;
    const uint64_t max_x = dev->info.max_workgroup_count[0];
    for (uint64_t done = 0; done < size;) {
        vkq_window ws = vkq_window_at(dev, src, src_offset + done);
        vkq_window wd = vkq_window_at(dev, dst, dst_offset + done);
        uint64_t c = size - done;
        if (ws.available < c) c = ws.available;
        if (wd.available < c) c = wd.available;
        c -= c % 16;
        if (c == 0 || ws.base % 16 || wd.base % 16)
            return vkq_fail(VKQ_ERROR_BAD_SHAPE, "copy crosses a segment boundary unaligned");
        uint64_t items = c / 16, wgs = (items + pipe->workgroup_size - 1) / pipe->workgroup_size;
        uint64_t gx = wgs < max_x ? wgs : max_x, gy = (wgs + gx - 1) / gx;
        copy_push pc = {(uint32_t)(ws.base / 16), (uint32_t)(wd.base / 16), (uint32_t)items,
                        (uint32_t)(gx * pipe->workgroup_size)};
        vkq_window b[2] = {ws, wd};
        st = vkq_cmd_dispatch(dev, cmd, pipe, b, 2, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, 1);
        if (st != VKQ_SUCCESS) return st;
        done += c;
    }
    return VKQ_SUCCESS;
}
