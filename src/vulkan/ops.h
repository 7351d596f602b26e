/* The operations of a transformer layer besides the matmuls, recorded on the GPU: the same
 * arguments and values as the CPU versions (src/cpu/ops.h, which documents the semantics and
 * layouts), on buffers at byte offsets. Each call records its dispatches into the caller's
 * command buffer (compute-capable, recording, of this device) and nothing else: the caller puts
 * vkq_ops_barrier_record between a write and the reads that depend on it, and keeps the buffers
 * alive until the command buffer completes. Arguments are checked first; nothing is recorded on
 * an error. Offsets of f32 data are multiples of 4; every range must lie inside one segment of
 * its buffer and one binding window (maxStorageBufferRange). Same layer as dequant/matmul. */
#ifndef VKQ_VULKAN_OPS_H
#define VKQ_VULKAN_OPS_H

#include "cpu/ops.h"
#include "vulkan/pipeline.h"

/* A buffer and a byte offset into it. */
typedef struct vkq_bufref {
    vkq_buffer buf;
    uint64_t offset;
} vkq_bufref;

/* A compute-to-compute (and transfer) memory barrier: every write recorded before it is visible
 * to every read and write recorded after it. */
void vkq_ops_barrier_record(vkq_device dev, VkCommandBuffer cmd);

vkq_status vkq_rmsnorm_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, vkq_bufref w /* buf NULL: none */,
                              vkq_bufref out, uint32_t n, uint32_t rows, float eps);

/* RMSNorm with what may follow it in the same dispatch (shaders/kernels/ops/rmsnorm.comp):
 * accumulate: out += the normalized rows instead of out = (out must not alias x); raw (with
 * accumulate): out += x, not normalized (w unused); norm2 (with accumulate; norm2.out.buf
 * non-NULL): then norm2.out = rmsnorm(out) * norm2.w, rows of n floats (aliasing neither x nor
 * out); rope: rows are (token, head) of n = head_dim elements, n_heads per token, rotated as
 * vkq_rope_record rotates them after the norm (rope.n_rot = 0: none; with none of the others). */
typedef struct vkq_rmsnorm_fused {
    int accumulate, raw;
    struct {
        vkq_bufref w, out;
    } norm2;
    struct {
        uint32_t n_rot, n_heads, pos0;
        int neox;
        vkq_bufref inv_freq;
    } rope;
} vkq_rmsnorm_fused;

vkq_status vkq_rmsnorm_fused_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, vkq_bufref w, vkq_bufref out,
                                    uint32_t n, uint32_t rows, float eps, const vkq_rmsnorm_fused *fused);

/* inv_freq: n_rot / 2 floats in a buffer (the caller uploads the table once per model). */
vkq_status vkq_rope_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, uint32_t n_tokens, uint32_t n_heads,
                           uint32_t head_dim, uint32_t n_rot, uint32_t pos0, vkq_bufref inv_freq, int neox);

vkq_status vkq_glu_record(vkq_device dev, VkCommandBuffer cmd, vkq_glu_kind kind, vkq_bufref gate, vkq_bufref up,
                          vkq_bufref out, uint64_t n);

vkq_status vkq_add_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref a, vkq_bufref b, vkq_bufref out,
                          uint32_t n, uint32_t rows, uint32_t b_rows);

vkq_status vkq_scale_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, float s, uint64_t n);

/* src: n_rows packed rows of row_elems f32; dst rows dst_row_bytes apart, of `type` (see
 * vkq_kv_type_supported). */
vkq_status vkq_kv_store_record(vkq_device dev, VkCommandBuffer cmd, vkq_type type, vkq_bufref src, uint32_t n_rows,
                               uint32_t row_elems, vkq_bufref dst, uint64_t dst_row_bytes);

/* As vkq_attn_desc, on buffers. On the GPU K and V share one buffer (one binding: the cache's
 * decode functions read binding 0), at their own offsets, and have the same type. */
typedef struct vkq_attn_gpu_desc {
    uint32_t n_tokens, pos0, n_head, n_head_kv, head_dim_k, head_dim_v;
    vkq_bufref q;
    vkq_buffer kv;
    uint64_t k_offset, k_row_bytes, v_offset, v_row_bytes;
    vkq_type kv_type;
    float scale, softcap;
    uint32_t window;
    vkq_bufref out;
} vkq_attn_gpu_desc;

vkq_status vkq_attention_record(vkq_device dev, VkCommandBuffer cmd, const vkq_attn_gpu_desc *desc);

/* Routed experts (ggml's MUL_MAT_ID and its neighbours). The router: vkq_cpu_topk_router's
 * values (the same experts from the same logits; weights within the exp's rounding) from
 * logits [n_tokens][n_expert] f32, ids int32 and weights f32 [n_tokens][n_used]. */
vkq_status vkq_topk_router_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref logits, uint32_t n_tokens,
                                  uint32_t n_expert, uint32_t n_used, int norm_topk, vkq_bufref ids,
                                  vkq_bufref weights);

/* Every selected expert of every token in one dispatch: for each pair p = t * n_used + s,
 * y[p] (m floats) = W[ids[p]] (m x k of `type`) * x column (the token's, x[t], or with
 * x_per_pair the pair's, x[p]; k floats each). W holds the n_expert matrices back to back
 * ([n_expert][m][k], ggml rows). The ids must lie in X's buffer, and X's columns and the ids
 * within one binding window (the kernel reads them through X's binding); an id outside
 * 0 .. n_expert - 1 reads the last expert, never outside W. */
typedef struct vkq_matmul_id_desc {
    vkq_type type;
    uint32_t m, k, n_expert;
    vkq_bufref w;
    uint32_t n_tokens, n_used;
    vkq_bufref ids;
    vkq_bufref x;
    int x_per_pair;
    vkq_bufref y; /* [n_tokens * n_used][m] */
} vkq_matmul_id_desc;

vkq_status vkq_matmul_id_record(vkq_device dev, VkCommandBuffer cmd, const vkq_matmul_id_desc *desc);

/* out[t][i] = sum over s < n_used (in slot order) of weights[t][s] * y[t * n_used + s][i], for
 * t < n_tokens, i < n. */
vkq_status vkq_moe_combine_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref weights, vkq_bufref y,
                                  vkq_bufref out, uint32_t n, uint32_t n_tokens, uint32_t n_used);

#endif
