/* Pipelines (internal): the kernels' SPIR-V, lazily created pipelines, the descriptor layout,
 * the lookup-table buffer and the one dispatch helper. Above buffers, below dequant/matmul. */
#ifndef VKQ_PIPELINE_H
#define VKQ_PIPELINE_H

#include "vulkan/buffer.h"
#include "vulkan/device_core.h"

/* Kernels that exist once per type (the generic shaders). */
typedef enum vkq_kernel {
    VKQ_KERNEL_DEQUANT = 0,
    VKQ_KERNEL_MUL_MAT_VEC,
    VKQ_KERNEL_MUL_MM,
    VKQ_KERNEL_MUL_MM_F16, /* GEMM in fp16 arithmetic (shaderFloat16) */
    VKQ_KERNEL_MUL_MM_Q8,  /* GEMM on int8 dot products; only the types with an integer decode */
    VKQ_KERNEL_COPY, /* not per type: stored in the F32 slot */
    /* The layer operations (ops.c). Element-wise ones are not per type (F32 slot); kv_store and
     * attention exist for the KV cache types only. */
    VKQ_KERNEL_RMSNORM,
    VKQ_KERNEL_ROPE,
    VKQ_KERNEL_GLU,
    VKQ_KERNEL_ADD,
    VKQ_KERNEL_SCALE,
    VKQ_KERNEL_KV_STORE,
    VKQ_KERNEL_ATTENTION,
    /* Routed experts: the mat-vec over (token, slot) pairs (per type, one column), and the
     * router and the weighted sum of the experts' outputs (not per type). */
    VKQ_KERNEL_MUL_MAT_VEC_ID,
    VKQ_KERNEL_TOPK_ROUTER,
    VKQ_KERNEL_MOE_COMBINE,
    VKQ_KERNEL_COUNT
} vkq_kernel;

/* Variants of one kernel and type: the mat-vec column count (1..8); 0 for other kernels. */
#define VKQ_MAX_VARIANTS 9

typedef struct vkq_pipeline {
    VkPipeline pipeline;
    uint32_t workgroup_size;
    /* The shader declares only storage bindings (0..3 and 7) (the element-wise layer operations):
     * vkq_cmd_dispatch pushes no texel views or tables for it. */
    uint32_t storage_only;
} vkq_pipeline;

struct vkq_pipelines {
    VkDescriptorSetLayout set_layout; /* storage buffers and texel views, see pipeline.c */
    VkPipelineLayout pipeline_layout;
    VkDescriptorPool desc_pool;       /* only without VK_KHR_push_descriptor */
    VkPipelineCache pipeline_cache;
    char cache_path[1024];     /* "" = no cache file */
    int pipelines_created;     /* since load: save only when there is something new */
    vkq_pipeline pipelines[VKQ_KERNEL_COUNT][VKQ_MAX_VARIANTS][VKQ_TYPE_MAX_ID + 1];

    /* Lookup tables of the IQ/FP4/TQ decoders (src/formats/tables_gen.c), bound at 3 and
     * (texel) 6. */
    vkq_buffer tables;
    VkBufferView tables_view;
};

/* Creates dev->pipes: layouts, the pipeline cache (from `cache_path`, "" = none) and the
 * table buffer; sets dev->after_begin. */
vkq_status vkq_pipelines_init(vkq_device dev, const char *cache_path);
/* Saves the cache if pipelines were created, and destroys dev->pipes. */
void vkq_pipelines_destroy(vkq_device dev);

vkq_status vkq_pipeline_get(vkq_device dev, vkq_kernel kernel, vkq_type type, uint32_t variant,
                            const vkq_pipeline **out);
/* Whether SPIR-V of `kernel` was built for `type`. */
int vkq_kernel_exists(vkq_kernel kernel, vkq_type type);
/* Whether the int8 GEMM was built with OpSDot (needs shaderIntegerDotProduct) rather than the
 * plain multiply-add fallback (meson's glslang probe). */
int vkq_mm_q8_needs_dot_product(void);
/* Binds `pipe`, the windows as storage bindings 0..n-1 (n <= 3; the first two also as texel
 * bindings 4 and 5), the device's table buffer at 3 and 6, and push constants; dispatches.
 * A storage_only pipeline gets storage bindings only: windows 0..3 at bindings 0..3 and a
 * fifth at 7 (n <= 5). */
vkq_status vkq_cmd_dispatch(vkq_device dev, VkCommandBuffer cmd, const vkq_pipeline *pipe,
                            const vkq_window *bindings, uint32_t n_bindings,
                            const void *push, uint32_t push_size, uint32_t gx, uint32_t gy,
                            uint32_t gz);

#endif
