/* Buffers (internal): segments, texel views, binding windows, the download staging buffer and
 * the staged one-submission helper. Above the staging ring, below pipelines and dispatch. */
#ifndef VKQ_BUFFER_H
#define VKQ_BUFFER_H

#include "vulkan/device_core.h"
#include "vulkan/staging_ring.h"

typedef struct vkq_view {
    uint64_t offset, range;
    VkFormat format;
    VkBufferView view;
} vkq_view;

typedef struct vkq_segment {
    VkBuffer buffer;
    VkDeviceMemory memory;
    uint64_t offset; /* first byte of the logical buffer held by this segment */
    uint64_t size;   /* logical bytes held (the VkBuffer may be up to 3 bytes larger) */
    void *map;       /* persistent mapping for host-visible memory, else NULL */
    vkq_view *views; /* texel views of binding windows, kept until the buffer is destroyed */
    uint32_t n_views, cap_views;
} vkq_segment;

struct vkq_buffer_s {
    vkq_device dev;
    uint64_t size;
    uint64_t granule;
    vkq_memory memory;
    uint32_t segment_count;
    vkq_segment *segments;
    uint64_t upload_seq; /* staging-ring ticket of the last upload into it (0: none) */
};

/* Binding windows: the largest range one descriptor can cover from a position. */
typedef struct vkq_window {
    VkDescriptorBufferInfo info;
    vkq_segment *seg;
    uint64_t base;      /* byte offset of the data inside the bound range */
    uint64_t available; /* bytes from the data start to the end of what may be bound */
} vkq_window;
/* The window at byte `pos` of `buf`; also notes the buffer's use for the next submission. */
vkq_window vkq_window_at(vkq_device dev, vkq_buffer buf, uint64_t pos);

/* The segment holding [offset, offset+size), or NULL if the range crosses one. */
vkq_segment *vkq_buffer_segment_for(vkq_buffer buf, uint64_t offset, uint64_t size);
/* A texel view (R32 `format`) of [offset, offset + range) of a segment, created once. */
vkq_status vkq_segment_view(vkq_device dev, vkq_segment *s, uint64_t offset, uint64_t range,
                            VkFormat format, VkBufferView *out);
/* Marks `buf` as used by the command being recorded: its pending uploads come first. */
void vkq_buffer_note_use(vkq_device dev, vkq_buffer buf);

/* The device's download staging buffer (dev->staging), made by vkq_device_create. */
vkq_status vkq_staging_create(vkq_device dev);

/* One submission around recorded work: copies `in_bytes` from `src` into `in` through the
 * staging buffer, runs `record`, and copies `out_bytes` of `out` back into `dst`, all in the
 * device's one-shot command buffer. Only where vkq_staged_run_fits says so. */
typedef vkq_status (*vkq_record_fn)(vkq_device dev, VkCommandBuffer cmd, const void *user);
int vkq_staged_run_fits(vkq_device dev, vkq_buffer in, uint64_t in_bytes, vkq_buffer out, uint64_t out_bytes);
vkq_status vkq_staged_run(vkq_device dev, vkq_buffer in, const void *src, uint64_t in_bytes, vkq_record_fn record,
                          const void *user, vkq_buffer out, void *dst, uint64_t out_bytes);

#endif
