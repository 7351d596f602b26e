/* Internal structures shared by the host-layer files. Not part of the public API. */
#ifndef VKQ_INTERNAL_H
#define VKQ_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>

#include "volk.h"
#include "vkquant/vulkan.h"
#include "core/error.h"

struct vkq_instance_s {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    atomic_uint_fast64_t validation_count;
    uint32_t phys_count;
    VkPhysicalDevice *phys;
    vkq_device_info *infos;
};

/* Kernels that exist once per type (the generic shaders). */
typedef enum vkq_kernel {
    VKQ_KERNEL_DEQUANT = 0,
    VKQ_KERNEL_MUL_MAT_VEC,
    VKQ_KERNEL_MUL_MM,
    VKQ_KERNEL_MUL_MM_F16, /* GEMM in fp16 arithmetic (shaderFloat16) */
    VKQ_KERNEL_MUL_MM_Q8,  /* GEMM on int8 dot products; only the types with an integer decode */
    VKQ_KERNEL_COPY, /* not per type: stored in the F32 slot */
    VKQ_KERNEL_COUNT
} vkq_kernel;

/* Variants of one kernel and type: the mat-vec column count (1..8); 0 for other kernels. */
#define VKQ_MAX_VARIANTS 9

typedef struct vkq_pipeline {
    VkPipeline pipeline;
    uint32_t workgroup_size;
} vkq_pipeline;

struct vkq_device_s {
    vkq_instance inst;
    VkPhysicalDevice phys;
    vkq_device_info info;
    vkq_kernel_config config;
    const char *profile;
    VkDevice device;
    struct VolkDeviceTable vk;
    uint32_t queue_family;
    VkQueue queue;
    VkPhysicalDeviceMemoryProperties mem_props; /* queried once at creation */

    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    struct vkq_ring *ring; /* upload staging ring (staging_ring.h) */

    /* Effective limits (after test overrides). */
    uint64_t max_allocation;
    uint64_t max_binding;

    VkDescriptorSetLayout set_layout; /* two storage buffers (weights/in, out) */
    VkPipelineLayout pipeline_layout;
    VkDescriptorPool desc_pool;       /* only without VK_KHR_push_descriptor */
    VkPipelineCache pipeline_cache;
    char cache_path[1024];     /* "" = no cache file */
    int pipelines_created;     /* since load: save only when there is something new */
    vkq_pipeline pipelines[VKQ_KERNEL_COUNT][VKQ_MAX_VARIANTS][VKQ_TYPE_MAX_ID + 1];

    /* Lookup tables of the IQ/FP4/TQ decoders (src/tables_gen.c), bound at 3 and (texel) 6. */
    vkq_buffer tables;
    VkBufferView tables_view;

    /* Staging buffer of downloads and of vkq_model_matmul's one-submission path. */
    VkBuffer staging;
    VkDeviceMemory staging_mem;
    void *staging_map;
    uint64_t staging_size;
};

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

/* Binding windows (dequant.c): the largest range one descriptor can cover from a position. */
typedef struct vkq_window {
    VkDescriptorBufferInfo info;
    vkq_segment *seg;
    uint64_t base;      /* byte offset of the data inside the bound range */
    uint64_t available; /* bytes from the data start to the end of what may be bound */
} vkq_window;
vkq_window vkq_window_at(vkq_device dev, vkq_buffer buf, uint64_t pos);

vkq_status vkq_status_from_vk(VkResult r);

/* instance.c */
void vkq_probe_physical_device(VkInstance instance, VkPhysicalDevice phys, uint32_t index,
                               vkq_device_info *out);

/* command.c: one-shot command buffer on the device's queue. */
vkq_status vkq_cmd_begin(vkq_device dev, VkCommandBuffer *out);
vkq_status vkq_cmd_submit_wait(vkq_device dev);
/* Memory type index for a buffer of `memory` kind among `bits`; UINT32_MAX if none. */
uint32_t vkq_pick_buffer_memory(vkq_device dev, vkq_memory memory, uint32_t bits);
/* Host-visible coherent memory for staging, outside the (small, precious) BAR heap if possible. */
uint32_t vkq_pick_staging_memory(vkq_device dev, uint32_t bits);

/* pipeline.c */
vkq_status vkq_pipeline_get(vkq_device dev, vkq_kernel kernel, vkq_type type, uint32_t variant,
                            const vkq_pipeline **out);
vkq_status vkq_pipelines_init(vkq_device dev);
/* Whether SPIR-V of `kernel` was built for `type`. */
int vkq_kernel_exists(vkq_kernel kernel, vkq_type type);
/* Whether the int8 GEMM was built with OpSDot (needs shaderIntegerDotProduct) rather than the
 * plain multiply-add fallback (meson's glslang probe). */
int vkq_mm_q8_needs_dot_product(void);
void vkq_pipelines_destroy(vkq_device dev);
/* Binds `pipe`, the windows as storage bindings 0..n-1 (and the first two also as texel
 * bindings 4 and 5), the device's table buffer at 3 and 6, and push constants; dispatches. */
vkq_status vkq_cmd_dispatch(vkq_device dev, VkCommandBuffer cmd, const vkq_pipeline *pipe,
                            const vkq_window *bindings, uint32_t n_bindings,
                            const void *push, uint32_t push_size, uint32_t gx, uint32_t gy,
                            uint32_t gz);
/* A texel view (R32 `format`) of [offset, offset + range) of a segment, created once. */
vkq_status vkq_segment_view(vkq_device dev, vkq_segment *s, uint64_t offset, uint64_t range,
                            VkFormat format, VkBufferView *out);

/* buffer.c: the segment holding [offset, offset+size), or NULL if the range crosses one. */
vkq_segment *vkq_buffer_segment_for(vkq_buffer buf, uint64_t offset, uint64_t size);

/* config.c: fills dev->config/profile from the desc, env and probe; checks device limits. */
vkq_status vkq_config_choose(vkq_device dev, const vkq_device_desc *desc);


/* pipeline_cache.c */
void vkq_pipeline_cache_path(vkq_device dev, const char *requested);
void vkq_pipeline_cache_load(vkq_device dev, void **data, size_t *size);

/* util */
uint64_t vkq_parse_size(const char *s); /* "512M", "6G", "1234" -> bytes; 0 on error */

#endif
