/* Buffers: one or more Vulkan allocations ("segments") behind one logical byte range.
 *
 * A tensor can exceed maxMemoryAllocationSize (often 2-4 GiB) or maxBufferSize; such a buffer
 * is cut into segments whose sizes are whole multiples of the caller's granule (a row), so a
 * kernel never sees a row split between two VkBuffers. Each VkBuffer is rounded up to whole
 * 32-bit words because shaders read unaligned fields through the surrounding words. */
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "vulkan/buffer.h"

#define VKQ_STAGING_BYTES (16u << 20)

static void destroy_segments(vkq_device dev, vkq_segment *segs, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t v = 0; v < segs[i].n_views; ++v)
            dev->vk.vkDestroyBufferView(dev->device, segs[i].views[v].view, NULL);
        free(segs[i].views);
        vkq_host_buffer hb = {segs[i].buffer, segs[i].memory, segs[i].map, segs[i].size};
        vkq_host_buffer_destroy(dev, &hb);
    }
}

static vkq_status create_segment(vkq_device dev, vkq_memory memory, int map, uint64_t size, vkq_segment *s)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = (size + 3u) & ~(uint64_t)3u,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    /* With a transfer-only queue the ring writes buffers there and kernels read them on the
     * compute queue. Concurrent sharing instead of ownership transfers: buffers have no
     * compressed layouts for it to cost, while a transfer would need an acquire barrier on the
     * compute queue after every upload, i.e. a compute submission per upload. */
    const uint32_t families[2] = {dev->queue_family, dev->ring ? dev->ring->family : 0};
    if (dev->ring && dev->ring->mode == VKQ_RING_TRANSFER_QUEUE && families[1] != families[0]) {
        bci.sharingMode = VK_SHARING_MODE_CONCURRENT;
        bci.queueFamilyIndexCount = 2;
        bci.pQueueFamilyIndices = families;
    }
    /* Host-visible memory (any memory on UMA devices and CPU drivers) is mapped once, so
     * uploads are a memcpy instead of a staging copy. */
    vkq_host_buffer hb;
    vkq_status st = vkq_host_buffer_create(dev, &bci, memory == VKQ_MEMORY_HOST_VISIBLE ? VKQ_MEM_HOST_VISIBLE
                                                                                         : VKQ_MEM_DEVICE,
                                           map, "buffer", &hb);
    if (st != VKQ_SUCCESS) return st;
    s->buffer = hb.buffer;
    s->memory = hb.memory;
    s->map = hb.map;
    s->size = size;
    return VKQ_SUCCESS;
}

vkq_status vkq_buffer_create(vkq_device dev, uint64_t size, vkq_memory memory, uint64_t granule,
                             vkq_buffer *out)
{
    if (!out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    *out = NULL;
    if (!dev) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (size == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "buffer size is 0");
    if (memory != VKQ_MEMORY_DEVICE && memory != VKQ_MEMORY_HOST_VISIBLE)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "unknown memory kind %d", (int)memory);
    if (granule == 0) granule = 4;
    /* Each segment's VkBuffer gets up to 3 bytes of word padding on top of its share. */
    uint64_t cap = dev->max_allocation > 64 ? dev->max_allocation - 64 : 0;
    cap -= cap % granule;
    if (cap == 0)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "granule of %llu bytes exceeds the allocation limit %llu",
                        (unsigned long long)granule, (unsigned long long)dev->max_allocation);
    /* The whole buffer must fit in some heap; a cheap early answer before allocating. */
    uint64_t largest_heap = 0;
    for (uint32_t i = 0; i < dev->info.heap_count; ++i)
        if (dev->info.heaps[i].size > largest_heap) largest_heap = dev->info.heaps[i].size;
    if (largest_heap && size > largest_heap)
        return vkq_fail(VKQ_ERROR_OUT_OF_DEVICE_MEMORY,
                        "buffer of %llu bytes is larger than the largest memory heap (%llu bytes)",
                        (unsigned long long)size, (unsigned long long)largest_heap);

    if (size > UINT64_MAX - cap) return vkq_fail(VKQ_ERROR_TOO_LARGE, "buffer size overflows");
    uint64_t n64 = (size + cap - 1) / cap;
    if (n64 > 65536)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "buffer of %llu bytes needs %llu allocations",
                        (unsigned long long)size, (unsigned long long)n64);
    vkq_buffer buf = calloc(1, sizeof *buf);
    vkq_segment *segs = calloc((size_t)n64, sizeof *segs);
    if (!buf || !segs) {
        free(buf);
        free(segs);
        return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    }
    /* VKQ_FORCE_STAGING: leave mappable memory unmapped, so uploads take the ring as on a
     * discrete GPU. */
    vkq_env_value force_staging;
    vkq_status st = vkq_env_get(VKQ_ENV_FORCE_STAGING, &force_staging);
    uint32_t n = (uint32_t)n64;
    for (uint32_t i = 0; i < n && st == VKQ_SUCCESS; ++i) {
        uint64_t off = (uint64_t)i * cap;
        uint64_t len = size - off < cap ? size - off : cap;
        segs[i].offset = off;
        st = create_segment(dev, memory, !force_staging.num, len, &segs[i]);
        if (st != VKQ_SUCCESS) destroy_segments(dev, segs, i);
    }
    if (st != VKQ_SUCCESS) {
        free(segs);
        free(buf);
        return st;
    }
    buf->dev = dev;
    buf->size = size;
    buf->granule = granule;
    buf->memory = memory;
    buf->segment_count = n;
    buf->segments = segs;
    *out = buf;
    return VKQ_SUCCESS;
}

void vkq_buffer_destroy(vkq_buffer buf)
{
    if (!buf) return;
    /* Its copies may still be recorded in the open slot: submit and wait, then nothing in
     * flight refers to it. */
    vkq_ring_wait(buf->dev, buf->upload_seq);
    buf->dev->vk.vkDeviceWaitIdle(buf->dev->device);
    destroy_segments(buf->dev, buf->segments, buf->segment_count);
    free(buf->segments);
    free(buf);
}

uint64_t vkq_buffer_size(vkq_buffer buf)
{
    return buf ? buf->size : 0;
}

uint32_t vkq_buffer_segment_count(vkq_buffer buf)
{
    return buf ? buf->segment_count : 0;
}

vkq_status vkq_segment_view(vkq_device dev, vkq_segment *s, uint64_t offset, uint64_t range,
                            VkFormat format, VkBufferView *out)
{
    for (uint32_t i = 0; i < s->n_views; ++i)
        if (s->views[i].offset == offset && s->views[i].range == range && s->views[i].format == format) {
            *out = s->views[i].view;
            return VKQ_SUCCESS;
        }
    if (s->n_views == s->cap_views) {
        uint32_t cap = s->cap_views ? 2 * s->cap_views : 4;
        vkq_view *v = realloc(s->views, cap * sizeof *v);
        if (!v) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
        s->views = v;
        s->cap_views = cap;
    }
    VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = s->buffer,
                                 .format = format, .offset = offset, .range = range};
    VkResult r = dev->vk.vkCreateBufferView(dev->device, &ci, NULL, out);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkCreateBufferView failed (%d)", (int)r);
    s->views[s->n_views++] = (vkq_view){offset, range, format, *out};
    return VKQ_SUCCESS;
}

vkq_segment *vkq_buffer_segment_for(vkq_buffer buf, uint64_t offset, uint64_t size)
{
    for (uint32_t i = 0; i < buf->segment_count; ++i) {
        vkq_segment *s = &buf->segments[i];
        if (offset >= s->offset && offset < s->offset + s->size)
            return offset + size <= s->offset + s->size ? s : NULL;
    }
    return NULL;
}

static vkq_status check_range(vkq_buffer buf, uint64_t offset, const void *ptr, uint64_t size)
{
    if (!buf) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (!ptr || size == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL host pointer or zero size");
    if (offset > buf->size || size > buf->size - offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE,
                        "range [%llu, +%llu) is outside the %llu-byte buffer", (unsigned long long)offset,
                        (unsigned long long)size, (unsigned long long)buf->size);
    return VKQ_SUCCESS;
}

/* The segment holding byte `offset` (inside the buffer). */
static const vkq_segment *segment_at(vkq_buffer buf, uint64_t offset)
{
    const vkq_segment *s = &buf->segments[0];
    for (uint32_t i = 0; i < buf->segment_count; ++i)
        if (offset >= buf->segments[i].offset) s = &buf->segments[i];
    return s;
}

/* Uploads walk [offset, offset+size) segment by segment; mapped segments take a memcpy, the
 * others go through the staging ring and leave the ticket of their last copy on the buffer. */
static vkq_status upload(vkq_buffer buf, uint64_t offset, const uint8_t *h, uint64_t size)
{
    vkq_device dev = buf->dev;
    while (size > 0) {
        const vkq_segment *s = segment_at(buf, offset);
        uint64_t in_seg = offset - s->offset;
        uint64_t len = s->size - in_seg < size ? s->size - in_seg : size;
        if (s->map) {
            /* An earlier ring copy into the same bytes must not land after this write. */
            vkq_status st = vkq_ring_wait(dev, buf->upload_seq);
            if (st != VKQ_SUCCESS) return st;
            memcpy((uint8_t *)s->map + in_seg, h, (size_t)len);
        } else {
            uint64_t ticket = 0;
            vkq_status st = vkq_ring_upload(dev, s->buffer, in_seg, h, len, &ticket);
            if (ticket) buf->upload_seq = ticket; /* also on failure: some copies may be recorded */
            if (st != VKQ_SUCCESS) return st;
        }
        offset += len;
        h += len;
        size -= len;
    }
    return VKQ_SUCCESS;
}

/* Downloads: segment by segment, then through the device's staging buffer chunk by chunk,
 * after the buffer's pending uploads. */
static vkq_status download(vkq_buffer buf, uint64_t offset, uint8_t *h, uint64_t size)
{
    vkq_device dev = buf->dev;
    vkq_status st = vkq_ring_wait(dev, buf->upload_seq);
    if (st != VKQ_SUCCESS) return st;
    while (size > 0) {
        const vkq_segment *s = segment_at(buf, offset);
        uint64_t in_seg = offset - s->offset;
        uint64_t len = s->size - in_seg < size ? s->size - in_seg : size;
        if (s->map) {
            memcpy(h, (uint8_t *)s->map + in_seg, (size_t)len);
        } else {
            for (uint64_t done = 0; done < len;) {
                uint64_t c = len - done < dev->staging.size ? len - done : dev->staging.size;
                VkCommandBuffer cmd;
                if ((st = vkq_cmd_begin(dev, &cmd)) != VKQ_SUCCESS) return st;
                VkBufferCopy region = {.srcOffset = in_seg + done, .dstOffset = 0, .size = c};
                dev->vk.vkCmdCopyBuffer(cmd, s->buffer, dev->staging.buffer, 1, &region);
                if ((st = vkq_cmd_submit_wait(dev)) != VKQ_SUCCESS) return st;
                memcpy(h + done, dev->staging.map, (size_t)c);
                done += c;
            }
        }
        offset += len;
        h += len;
        size -= len;
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_buffer_upload_async(vkq_buffer buf, uint64_t offset, const void *src, uint64_t size)
{
    vkq_status st = check_range(buf, offset, src, size);
    return st != VKQ_SUCCESS ? st : upload(buf, offset, src, size);
}

vkq_status vkq_buffer_upload(vkq_buffer buf, uint64_t offset, const void *src, uint64_t size)
{
    vkq_status st = vkq_buffer_upload_async(buf, offset, src, size);
    /* Even after a failure: nothing of this call may still be in flight when it returns. */
    vkq_status st2 = buf ? vkq_ring_wait(buf->dev, buf->upload_seq) : VKQ_SUCCESS;
    return st != VKQ_SUCCESS ? st : st2;
}

vkq_status vkq_buffer_download(vkq_buffer buf, uint64_t offset, void *dst, uint64_t size)
{
    vkq_status st = check_range(buf, offset, dst, size);
    return st != VKQ_SUCCESS ? st : download(buf, offset, dst, size);
}

vkq_status vkq_buffer_copy_record(vkq_device dev, VkCommandBuffer cmd, vkq_buffer src, uint64_t src_offset,
                                  vkq_buffer dst, uint64_t dst_offset, uint64_t size)
{
    if (!dev || !cmd || !src || !dst || size == 0) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (src_offset > src->size || size > src->size - src_offset || dst_offset > dst->size ||
        size > dst->size - dst_offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE, "copy range outside a buffer");
    vkq_buffer_note_use(dev, src);
    vkq_buffer_note_use(dev, dst);
    for (uint64_t done = 0; done < size;) {
        vkq_segment *s = vkq_buffer_segment_for(src, src_offset + done, 1);
        vkq_segment *d = vkq_buffer_segment_for(dst, dst_offset + done, 1);
        uint64_t so = src_offset + done - s->offset, doff = dst_offset + done - d->offset;
        uint64_t c = size - done;
        if (s->size - so < c) c = s->size - so;
        if (d->size - doff < c) c = d->size - doff;
        VkBufferCopy region = {.srcOffset = so, .dstOffset = doff, .size = c};
        dev->vk.vkCmdCopyBuffer(cmd, s->buffer, d->buffer, 1, &region);
        done += c;
    }
    return VKQ_SUCCESS;
}

void vkq_buffer_note_use(vkq_device dev, vkq_buffer buf)
{
    if (buf) vkq_ring_note_use(dev, buf->upload_seq);
}

/* Descriptor ranges must start at a multiple of minStorageBufferOffsetAlignment (and of 4,
 * since shaders index words). */
static uint64_t bind_align(vkq_device dev)
{
    uint64_t a = dev->info.min_storage_buffer_offset_alignment;
    uint64_t t = dev->info.min_texel_buffer_offset_alignment;
    if (t > a) a = t;
    return a < 4 ? 4 : a;
}

vkq_window vkq_window_at(vkq_device dev, vkq_buffer buf, uint64_t pos)
{
    vkq_window w = {0};
    vkq_segment *s = vkq_buffer_segment_for(buf, pos, 1);
    /* A window is bound by a command about to be submitted: its submission must come after
     * the buffer's pending uploads (vkq_ring_before_submit). */
    vkq_buffer_note_use(dev, buf);
    uint64_t in_seg = pos - s->offset;
    uint64_t start = in_seg - in_seg % bind_align(dev);
    uint64_t seg_words = (s->size + 3u) & ~(uint64_t)3u;
    uint64_t end = seg_words - start > dev->max_binding ? start + dev->max_binding : seg_words;
    w.seg = s;
    w.info.buffer = s->buffer;
    w.info.offset = start;
    w.info.range = end - start;
    w.base = in_seg - start;
    /* Data must end inside the segment's logical size; the binding may cover the word pad. */
    uint64_t data_end = s->size < end ? s->size : end;
    w.available = data_end > in_seg ? data_end - in_seg : 0;
    return w;
}

vkq_status vkq_staging_create(vkq_device dev)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = VKQ_STAGING_BYTES,
        .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    return vkq_host_buffer_create(dev, &bci, VKQ_MEM_DOWNLOAD, 1, "download staging buffer", &dev->staging);
}

/* Staging offset of the output: after the input, aligned for the copy. */
static uint64_t out_staging_offset(uint64_t in_bytes)
{
    return (in_bytes + 255u) & ~(uint64_t)255u;
}

int vkq_staged_run_fits(vkq_device dev, vkq_buffer in, uint64_t in_bytes, vkq_buffer out, uint64_t out_bytes)
{
    return in->segment_count == 1 && out->segment_count == 1 && !in->segments[0].map && !out->segments[0].map &&
           in_bytes <= in->size && out_bytes <= out->size &&
           out_staging_offset(in_bytes) + out_bytes <= dev->staging.size;
}

vkq_status vkq_staged_run(vkq_device dev, vkq_buffer in, const void *src, uint64_t in_bytes, vkq_record_fn record,
                          const void *user, vkq_buffer out, void *dst, uint64_t out_bytes)
{
    const uint64_t out_off = out_staging_offset(in_bytes);
    memcpy(dev->staging.map, src, (size_t)in_bytes);
    VkCommandBuffer cmd;
    vkq_status st = vkq_cmd_begin(dev, &cmd);
    if (st != VKQ_SUCCESS) return st;
    vkq_buffer_note_use(dev, in);
    vkq_buffer_note_use(dev, out);
    VkBufferCopy copy_in = {.srcOffset = 0, .dstOffset = 0, .size = in_bytes};
    dev->vk.vkCmdCopyBuffer(cmd, dev->staging.buffer, in->segments[0].buffer, 1, &copy_in);
    VkMemoryBarrier to_shader = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                 .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                 .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
    dev->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                                 1, &to_shader, 0, NULL, 0, NULL);
    st = record(dev, cmd, user);
    if (st != VKQ_SUCCESS) {
        dev->vk.vkEndCommandBuffer(cmd); /* vkq_cmd_begin resets it next time */
        return st;
    }
    VkMemoryBarrier to_copy = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                               .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                               .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT};
    dev->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                                 1, &to_copy, 0, NULL, 0, NULL);
    VkBufferCopy copy_out = {.srcOffset = 0, .dstOffset = out_off, .size = out_bytes};
    dev->vk.vkCmdCopyBuffer(cmd, out->segments[0].buffer, dev->staging.buffer, 1, &copy_out);
    st = vkq_cmd_submit_wait(dev); /* ends with a barrier that makes the copy visible to the host */
    if (st == VKQ_SUCCESS) memcpy(dst, (const uint8_t *)dev->staging.map + out_off, (size_t)out_bytes);
    return st;
}
