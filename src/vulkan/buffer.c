/* Buffers: one or more Vulkan allocations ("segments") behind one logical byte range.
 *
 * A tensor can exceed maxMemoryAllocationSize (often 2-4 GiB) or maxBufferSize; such a buffer
 * is cut into segments whose sizes are whole multiples of the caller's granule (a row), so a
 * kernel never sees a row split between two VkBuffers. Each VkBuffer is rounded up to whole
 * 32-bit words because shaders read unaligned fields through the surrounding words. */
#include <stdlib.h>
#include <string.h>

#include "vulkan/internal.h"
#include "vulkan/staging_ring.h"

static void destroy_segments(vkq_device dev, vkq_segment *segs, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t v = 0; v < segs[i].n_views; ++v)
            dev->vk.vkDestroyBufferView(dev->device, segs[i].views[v].view, NULL);
        free(segs[i].views);
        if (segs[i].map) dev->vk.vkUnmapMemory(dev->device, segs[i].memory);
        if (segs[i].buffer) dev->vk.vkDestroyBuffer(dev->device, segs[i].buffer, NULL);
        if (segs[i].memory) dev->vk.vkFreeMemory(dev->device, segs[i].memory, NULL);
    }
}

static vkq_status create_segment(vkq_device dev, vkq_memory memory, uint64_t size, vkq_segment *s)
{
    uint64_t bytes = (size + 3u) & ~(uint64_t)3u;
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = bytes,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                 VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
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
    VkResult r = dev->vk.vkCreateBuffer(dev->device, &bci, NULL, &s->buffer);
    if (r != VK_SUCCESS)
        return vkq_fail(vkq_status_from_vk(r), "vkCreateBuffer(%llu bytes) failed (%d)",
                        (unsigned long long)bytes, (int)r);
    VkMemoryRequirements req;
    dev->vk.vkGetBufferMemoryRequirements(dev->device, s->buffer, &req);
    uint32_t type = vkq_pick_buffer_memory(dev, memory, req.memoryTypeBits);
    if (type == UINT32_MAX)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "no memory type for a %s buffer",
                        memory == VKQ_MEMORY_HOST_VISIBLE ? "host-visible" : "device-local");
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size, .memoryTypeIndex = type};
    r = dev->vk.vkAllocateMemory(dev->device, &mai, NULL, &s->memory);
    if (r != VK_SUCCESS)
        return vkq_fail(vkq_status_from_vk(r), "allocating %llu bytes of %s memory failed (%d)",
                        (unsigned long long)req.size,
                        memory == VKQ_MEMORY_HOST_VISIBLE ? "host-visible" : "device-local", (int)r);
    r = dev->vk.vkBindBufferMemory(dev->device, s->buffer, s->memory, 0);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkBindBufferMemory failed (%d)", (int)r);
    /* Host-visible memory (any memory on UMA devices and CPU drivers) is mapped once, so
     * uploads are a memcpy instead of a staging copy. */
    VkMemoryPropertyFlags f = dev->mem_props.memoryTypes[type].propertyFlags;
    int mappable = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (mappable && !getenv("VKQ_FORCE_STAGING")) {
        r = dev->vk.vkMapMemory(dev->device, s->memory, 0, VK_WHOLE_SIZE, 0, &s->map);
        if (r != VK_SUCCESS) s->map = NULL;
    }
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
    uint32_t n = (uint32_t)n64;
    for (uint32_t i = 0; i < n; ++i) {
        uint64_t off = (uint64_t)i * cap;
        uint64_t len = size - off < cap ? size - off : cap;
        segs[i].offset = off;
        vkq_status st = create_segment(dev, memory, len, &segs[i]);
        if (st != VKQ_SUCCESS) {
            destroy_segments(dev, segs, i + 1);
            free(segs);
            free(buf);
            return st;
        }
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
            vkq_status st = vkq_ring_upload(dev, s, in_seg, h, len, &ticket);
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
                uint64_t c = len - done < dev->staging_size ? len - done : dev->staging_size;
                VkCommandBuffer cmd;
                if ((st = vkq_cmd_begin(dev, &cmd)) != VKQ_SUCCESS) return st;
                VkBufferCopy region = {.srcOffset = in_seg + done, .dstOffset = 0, .size = c};
                dev->vk.vkCmdCopyBuffer(cmd, s->buffer, dev->staging, 1, &region);
                if ((st = vkq_cmd_submit_wait(dev)) != VKQ_SUCCESS) return st;
                memcpy(h + done, dev->staging_map, (size_t)c);
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
    vkq_ring_note_use(dev, src);
    vkq_ring_note_use(dev, dst);
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
