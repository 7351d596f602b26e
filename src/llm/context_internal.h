/* The context handle and the two executors' common shape, shared by the files of src/llm. */
#ifndef VKQ_LLM_CONTEXT_INTERNAL_H
#define VKQ_LLM_CONTEXT_INTERNAL_H

#include "llm/arch.h"
#include "model/model_internal.h"
#include "vulkan/ops.h"

/* Activations of a batch, each [n_tokens][width] floats. */
typedef enum vkq_act {
    ACT_X = 0, /* the residual stream */
    ACT_H,     /* normed input of a branch */
    ACT_Q,
    ACT_K,
    ACT_V,
    ACT_ATT, /* attention output before attn_output */
    ACT_A,   /* a branch's output */
    ACT_G,   /* FFN gate (and the GLU's result) */
    ACT_U,   /* FFN up */
    ACT_R,   /* MoE router logits */
    /* GPU only (the CPU's c_moe gathers per expert in moe_scratch instead): routed experts, per
     * (token, slot) pair */
    ACT_MOE_IDS, /* expert ids, int32 [n_tokens][n_used] */
    ACT_MOE_W,   /* their weights */
    ACT_MOE_G,   /* gate (and the GLU's result) [pairs][n_ff_expert] */
    ACT_MOE_U,   /* up */
    ACT_MOE_Y,   /* down [pairs][n_embd] */
    ACT_COUNT
} vkq_act;

#define ACT_GPU_ONLY ACT_MOE_IDS /* activations from here on have no host array */

typedef struct vkq_context_s *vkq_ctx;

/* One executor: the operations of the layer program (src/llm/forward.c) on activations `a`
 * of n tokens, on the CPU or recorded on the GPU. Tensors are GGUF indices. */
typedef struct vkq_exec {
    vkq_status (*matmul)(vkq_ctx c, int64_t w, vkq_act x, vkq_act y, uint32_t n);
    vkq_status (*rmsnorm)(vkq_ctx c, vkq_act x, int64_t w, vkq_act out, uint32_t width, uint32_t rows);
    vkq_status (*add_bias)(vkq_ctx c, vkq_act x, int64_t bias, uint32_t width, uint32_t rows);
    vkq_status (*add)(vkq_ctx c, vkq_act a, vkq_act b, uint32_t width, uint32_t rows); /* a += b */
    vkq_status (*rope)(vkq_ctx c, vkq_act x, uint32_t n_heads, uint32_t n, int swa);
    vkq_status (*glu)(vkq_ctx c, vkq_act gate, vkq_act up, uint64_t count); /* gate = act(gate) * up */
    vkq_status (*kv_store)(vkq_ctx c, uint32_t il, uint32_t n);                  /* ACT_K, ACT_V -> cache */
    vkq_status (*attention)(vkq_ctx c, uint32_t il, uint32_t n, int swa);        /* ACT_Q -> ACT_ATT */
    vkq_status (*moe)(vkq_ctx c, uint32_t il, uint32_t n);                       /* ACT_H -> ACT_A */
    /* Fusions an executor may offer (NULL: the layer program makes the separate calls):
     * residual: dst += rmsnorm(x) * w (w < 0: dst += x), then with next >= 0 also
     * ACT_H = rmsnorm(dst) * next (the next block's input norm);
     * norm_rope: x = rope(rmsnorm(x) * w), per head. */
    vkq_status (*residual)(vkq_ctx c, vkq_act x, int64_t w, vkq_act dst, int64_t next, uint32_t width,
                           uint32_t rows);
    vkq_status (*norm_rope)(vkq_ctx c, vkq_act x, int64_t w, uint32_t n_heads, uint32_t n, int swa);
} vkq_exec;

extern const vkq_exec vkq_exec_cpu;
extern const vkq_exec vkq_exec_gpu;

struct vkq_context_s {
    vkq_model model;
    vkq_gguf g;
    const vkq_arch *arch;
    vkq_llm_params p;
    vkq_model_tensors w;
    vkq_context_desc desc;
    uint32_t pos;
    uint32_t width[ACT_COUNT]; /* floats per token of each activation */
    uint8_t *layer_gpu;        /* per layer: every operation on the GPU */
    int head_gpu;              /* final norm and output head on the GPU */
    uint32_t n_gpu_layers;
    uint32_t pos0; /* position of the batch being run */
    /* The layer program (forward.c): layers below run_end run on the same executor as the one
     * running now, so a block may compute the next block's input norm; h_ready says it did
     * (ACT_H holds it). */
    uint32_t run_end;
    int h_ready;

    /* CPU side */
    vkq_cpu_pool pool; /* the model's, or own_pool */
    vkq_cpu_pool own_pool;
    float *act[ACT_COUNT];
    float *inv_freq[2]; /* rope tables: [0] global layers, [1] sliding layers */
    uint8_t **kv_cpu;   /* per layer: K rows then V rows (CPU layers only) */
    uint64_t k_row_bytes, v_row_bytes, v_offset; /* V region's byte offset in a layer's cache */
    uint64_t kv_cpu_bytes, kv_gpu_bytes;
    float *moe_scratch; /* MoE gather/scatter (CPU) */
    int32_t *moe_ids;
    float *moe_weights;

    /* GPU side (NULL without GPU layers) */
    vkq_device dev;
    VkCommandBuffer cmd;        /* being recorded during a GPU run */
    /* Each activation of n_batch tokens in a buffer of its own (NULL when unused): what an
     * operation touches is then whole buffers, for the executor's barriers and for the
     * validation layer's hazard tracking alike. */
    vkq_buffer gact[ACT_COUNT];
    uint64_t gact_off[ACT_COUNT]; /* 0 but in the MoE group (alloc_gpu) */
    vkq_buffer glogits;         /* n_batch x vocab */
    vkq_buffer ginv_freq;       /* both rope tables */
    vkq_buffer *kv_gpu;         /* per layer (GPU layers only) */
    /* What the operations recorded since the last barrier read and wrote: bit a per vkq_act,
     * GPU_KV_BIT for the KV caches (src/llm/exec_gpu.c). */
    uint32_t g_read, g_written;
};
#define GPU_KV_BIT (1u << ACT_COUNT)

/* A barrier when anything is pending (before the command buffer's copies or its end). */
void vkq_exec_gpu_flush(vkq_ctx c);

/* The tensor's bytes in the file mapping. */
const void *vkq_ctx_tensor_data(vkq_ctx c, int64_t t, vkq_gguf_tensor *info);

/* Runs layer il of the program on `ex` for n tokens at c->pos0 (ACT_X in and out). */
vkq_status vkq_layer_forward(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n);

#endif
