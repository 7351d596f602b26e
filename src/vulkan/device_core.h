/* Bottom of the Vulkan layer (internal): the instance and device handles, memory-type choice,
 * the one host-visible allocator and the device's one-shot command buffer. Everything else in
 * src/vulkan builds on this header; it includes nothing of theirs.
 *
 *   device.c (vkq_device_create: the composition root)
 *   dequant.c, matmul.c                    kernel dispatch
 *   pipeline.h, pipeline_cache.h, config.h pipelines, their cache, kernel configuration
 *   buffer.h                               buffers, binding windows, download staging
 *   staging_ring.h                         upload ring
 *   device_core.h (this), instance.c, probe.c */
#ifndef VKQ_DEVICE_CORE_H
#define VKQ_DEVICE_CORE_H

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

/* A VkBuffer with its own memory and, for host-visible memory, its persistent mapping. */
typedef struct vkq_host_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *map;     /* NULL unless mapped */
    uint64_t size; /* bytes asked for */
} vkq_host_buffer;

/* Memory a vkq_host_buffer is made from. */
typedef enum vkq_mem_kind {
    VKQ_MEM_DEVICE,       /* device-local if there is any, else whatever the buffer allows */
    VKQ_MEM_HOST_VISIBLE, /* host-visible coherent, preferably device-local (BAR, UMA) */
    VKQ_MEM_UPLOAD,       /* host-visible coherent outside the (small, precious) BAR heap if possible */
    VKQ_MEM_DOWNLOAD      /* host-visible coherent, preferably cached (the host reads it) */
} vkq_mem_kind;

/* Upper layers' state, owned by them; the core only holds the pointers. */
struct vkq_ring;
struct vkq_pipelines;

struct vkq_device_s {
    vkq_instance inst;
    VkPhysicalDevice phys;
    vkq_device_info info;
    vkq_kernel_config config; /* config.h's choice */
    const char *profile;
    VkDevice device;
    struct VolkDeviceTable vk;
    uint32_t queue_family;
    VkQueue queue;
    VkPhysicalDeviceMemoryProperties mem_props; /* queried once at creation */

    /* The one-shot command buffer of the blocking calls. */
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    /* Hooks of the layers above, set by vkq_device_create: after the command buffer begins
     * (descriptor pool reset) and before it is submitted (uploads it depends on). */
    void (*after_begin)(vkq_device dev);
    vkq_status (*before_submit)(vkq_device dev);

    /* Effective limits (after test overrides). */
    uint64_t max_allocation;
    uint64_t max_binding;

    struct vkq_ring *ring;       /* upload staging ring (staging_ring.h) */
    struct vkq_pipelines *pipes; /* pipelines, layouts and their cache (pipeline.h) */
    vkq_host_buffer staging;     /* downloads and vkq_staged_run (buffer.h) */
};

vkq_status vkq_status_from_vk(VkResult r);

/* probe.c: everything the kernel choice and vkq-info need about one physical device. */
void vkq_probe_physical_device(VkInstance instance, VkPhysicalDevice phys, uint32_t index,
                               vkq_device_info *out);

/* Memory type index of `kind` among `bits`; UINT32_MAX if none. */
uint32_t vkq_pick_memory(vkq_device dev, vkq_mem_kind kind, uint32_t bits);

/* The one allocator of buffers with their own memory: creates the buffer of `bci`, allocates
 * `kind` memory for it and binds it; maps it when the memory is host-visible and coherent and
 * `map` is set. `what` names it in the error message. On failure nothing is left behind. */
vkq_status vkq_host_buffer_create(vkq_device dev, const VkBufferCreateInfo *bci, vkq_mem_kind kind, int map,
                                  const char *what, vkq_host_buffer *out);
void vkq_host_buffer_destroy(vkq_device dev, vkq_host_buffer *b);

/* The device's one-shot command buffer: begin, record, then submit and wait on the host. The
 * submission ends with a barrier that makes its writes visible to later submissions and the
 * host, and runs dev->before_submit first. */
vkq_status vkq_cmd_begin(vkq_device dev, VkCommandBuffer *out);
vkq_status vkq_cmd_submit_wait(vkq_device dev);

/* Bytes of the largest device-local heap (else the largest heap) this process may still use,
 * read now; *from_budget_ext tells whether VK_EXT_memory_budget said so (else the heap size). */
void vkq_device_heap_available(vkq_device dev, uint64_t *available, int *from_budget_ext);

#endif
