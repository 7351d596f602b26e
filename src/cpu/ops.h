/* The operations of a transformer layer besides the matmuls, on the CPU: fp32 arithmetic on
 * host arrays, split over a vkq_cpu_pool where the work is large enough. The GPU versions
 * (src/vulkan/ops.h) take the same arguments on buffers and compute the same values.
 *
 * Layouts (one sequence; "token" = one position of the batch):
 * - activations: row-major [n_tokens][n] floats;
 * - heads: [n_tokens][n_heads][head_dim] floats;
 * - KV cache of one layer: K rows, position p at k + p * k_row_bytes, each row
 *   n_head_kv * head_dim_k elements of k_type (heads contiguous; block types never cross a head
 *   because head_dim is a multiple of the block size); V rows the same with head_dim_v.
 * Every function returns VKQ_ERROR_INVALID_ARGUMENT (and a sentence) for NULL pointers or zero
 * sizes and leaves the output untouched then. In-place use (out == x) is allowed where noted. */
#ifndef VKQ_CPU_OPS_H
#define VKQ_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/cpu.h"

/* out[r][i] = x[r][i] / sqrt(mean_i(x[r][i]^2) + eps) * (w ? w[i] : 1), for rows r < rows of n.
 * Used for the layer norms (n = embedding) and the per-head Q/K norms (n = head_dim, rows =
 * tokens * heads). out may equal x. */
vkq_status vkq_cpu_rmsnorm(vkq_cpu_pool pool, const float *x, const float *w, float *out, uint32_t n,
                           uint32_t rows, float eps);

/* Rotary position embedding in place on x [n_tokens][n_heads][head_dim]; token t is at position
 * pos0 + t. Pair i (i < n_rot / 2) of each head rotates by theta = pos * inv_freq[i]: the pair is
 * (x[2i], x[2i+1]) for the normal layout and (x[i], x[i + n_rot/2]) for NeoX. Elements from
 * n_rot on are unchanged. inv_freq (n_rot / 2 values) holds freq_scale * base^(-2i/n_rot) /
 * factor_i, computed by the caller in double: one table serves every position, and the GPU
 * kernel gets the same table. n_rot is even and <= head_dim. */
vkq_status vkq_cpu_rope(vkq_cpu_pool pool, float *x, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim,
                        uint32_t n_rot, uint32_t pos0, const float *inv_freq, int neox);

typedef enum vkq_glu_kind {
    VKQ_GLU_SILU = 0,     /* out = silu(gate) * up, silu(g) = g / (1 + exp(-g)) */
    VKQ_GLU_GELU_TANH = 1 /* out = gelu(gate) * up, 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))) */
} vkq_glu_kind;

/* out[i] = act(gate[i]) * up[i] for i < n. out may equal gate or up. */
vkq_status vkq_cpu_glu(vkq_cpu_pool pool, vkq_glu_kind kind, const float *gate, const float *up, float *out,
                       uint64_t n);

/* out[r][i] = a[r][i] + b[(r % b_rows)][i] for rows r < rows of n: b_rows = rows is a residual
 * add, b_rows = 1 a bias broadcast to every row. out may equal a. */
vkq_status vkq_cpu_add(vkq_cpu_pool pool, const float *a, const float *b, float *out, uint32_t n, uint32_t rows,
                       uint32_t b_rows);

/* x[i] *= s for i < n. */
vkq_status vkq_cpu_scale(vkq_cpu_pool pool, float *x, float s, uint64_t n);

/* The KV cache types: those a row of f32 can be written to here and on the GPU. */
int vkq_kv_type_supported(vkq_type type);

/* Writes n_rows rows of row_elems f32 values (src, packed) as `type` at dst + r * dst_row_bytes:
 * F32 as is; F16 and BF16 rounded to nearest even; Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL by the
 * plain round-to-nearest rule of the format (amax / max level, no search: the GPU kernel does the
 * same arithmetic, so both places store the same bits but for a last-ulp difference in the
 * scale's division). VKQ_ERROR_UNSUPPORTED for other types; VKQ_ERROR_BAD_SHAPE when row_elems is
 * not a multiple of the block size. */
vkq_status vkq_cpu_kv_store(vkq_type type, const float *src, uint32_t n_rows, uint32_t row_elems, void *dst,
                            size_t dst_row_bytes);

/* Attention of a batch of queries over one layer's KV cache (which already holds the batch's own
 * keys and values). */
typedef struct vkq_attn_desc {
    uint32_t n_tokens;   /* queries; query t is at position pos0 + t */
    uint32_t pos0;
    uint32_t n_head, n_head_kv; /* n_head a multiple of n_head_kv: query head h reads KV head
                                   h / (n_head / n_head_kv) */
    uint32_t head_dim_k, head_dim_v;
    const float *q;      /* [n_tokens][n_head][head_dim_k] */
    const void *k;       /* cache rows of positions 0 .. pos0 + n_tokens - 1 */
    vkq_type k_type;
    size_t k_row_bytes;
    const void *v;
    vkq_type v_type;
    size_t v_row_bytes;
    float scale;         /* score = scale * q.k */
    float softcap;       /* 0: none; else score = softcap * tanh(score / softcap) */
    uint32_t window;     /* 0: none; else key p is seen by a query at q_pos only if q_pos - p < window */
    float *out;          /* [n_tokens][n_head][head_dim_v] */
} vkq_attn_desc;

/* Causal: the query at position qp sees keys 0 .. qp (and the window). Softmax over the scores
 * with a running maximum (online softmax), fp32 sums; the cache rows are decoded as they are
 * read. */
vkq_status vkq_cpu_attention(vkq_cpu_pool pool, const vkq_attn_desc *desc);

/* Mixture of experts router for n_tokens rows of n_expert logits: the top n_used experts of each
 * token (ties: the lower index first), written to ids [n_tokens][n_used], with weights
 * [n_tokens][n_used]: softmax over all n_expert logits taken at the chosen ones, then, if
 * norm_topk, divided by their sum (Qwen3-MoE; Mixtral's softmax over the chosen ones is the
 * same values). */
vkq_status vkq_cpu_topk_router(const float *logits, uint32_t n_tokens, uint32_t n_expert, uint32_t n_used,
                               int norm_topk, int32_t *ids, float *weights);

#endif
