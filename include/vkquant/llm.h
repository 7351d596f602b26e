/* vkquant LLM runtime: a loaded model (vkquant/model.h) run as a language model.
 *
 * - Architecture: read from general.architecture and the GGUF metadata (vkq_arch_*): llama
 *   (Llama 2/3.x, Mistral, SmolLM, TinyLlama), qwen2, qwen3, gemma3, qwen3moe. The hyper-
 *   parameters, norm epsilons, rope settings and the sliding-window pattern come from the file;
 *   every tensor a layer needs is checked by name and shape when the context is created.
 * - Context (vkq_context): the state of one sequence (KV cache, position) over a model. Several
 *   contexts may share one model. Each layer runs where the placement put it: a layer whose
 *   tensors are all on the GPU runs every operation there (norms, rope, attention over its KV
 *   cache in device memory, feed-forward, residuals), recorded with the other GPU layers into
 *   one command buffer per call; the others run on the CPU kernels with their KV cache in host
 *   memory. Activations cross to the GPU once and the logits come back once.
 * - KV cache precision is its own setting, independent of the weights: F16 (default), F32,
 *   BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, separately for K and V (on GPU layers K and V
 *   take the same type).
 *
 * Errors: as everywhere in vkquant, a vkq_status and a sentence in vkq_last_error().
 * Thread safety: a context is used by one thread at a time; contexts of one model may run on
 * different threads (their GPU work is serialised on the model's lock).
 */
#ifndef VKQUANT_LLM_H
#define VKQUANT_LLM_H

#include <stdint.h>

#include "vkquant/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The hyper-parameters of a model's architecture, as read from the file. */
typedef struct vkq_llm_params {
    const char *arch;       /* general.architecture */
    uint32_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim_k, head_dim_v, n_rot;
    uint32_t n_vocab, n_ctx_train;
    uint32_t n_expert, n_expert_used, n_ff_expert; /* 0 for dense models */
    uint32_t sliding_window;                       /* 0: none */
    /* Layer il slides iff swa_pattern > 0 and il % swa_pattern < swa_pattern - 1
     * (ARCH.attention.sliding_window_pattern, else the architecture's: 6 for gemma3). */
    uint32_t swa_pattern;
    float rms_eps, rope_base, rope_base_swa, rope_scale, attn_scale;
    int tied_output; /* the output head is token_embd (no output.weight) */
} vkq_llm_params;

/* Reads and checks the hyper-parameters of `g`. VKQ_ERROR_UNSUPPORTED for an architecture
 * vkquant does not run (the sentence names it and lists those it does); VKQ_ERROR_MALFORMED for
 * a missing or inconsistent key (named). Strings point into `g`. */
VKQ_API vkq_status vkq_llm_params_read(vkq_gguf g, vkq_llm_params *out);

/* KV cache bytes of one layer for `n_ctx` positions with these types. */
VKQ_API uint64_t vkq_llm_kv_bytes_per_layer(const vkq_llm_params *p, uint32_t n_ctx, vkq_type k_type,
                                            vkq_type v_type);

typedef struct vkq_context_s *vkq_context;

/* Sees the input of a matmul before it runs: `n` rows of `k` floats (the activations that
 * multiply `tensor`; for routed experts, only the rows routed to `expert`, else expert is -1).
 * What an importance matrix is made of (vkq-eval --imatrix-collect). Called on the thread that
 * called vkq_context_eval; the rows are valid only during the call. */
typedef void (*vkq_matmul_observer)(void *user, const char *tensor, int32_t expert, const float *x, uint32_t n,
                                    uint64_t k);

typedef struct vkq_context_desc {
    uint32_t n_ctx;   /* positions the KV cache holds; 0 = min(the model's training context, 4096) */
    uint32_t n_batch; /* most tokens per vkq_context_eval call; 0 = 512 */
    vkq_type k_type;  /* KV cache types; VKQ_TYPE_F16 by default */
    vkq_type v_type;
    /* Optional: called for every matmul of every layer and the output head. It sees host
     * activations only, so a context with an observer needs a model with every layer on the CPU
     * (n_gpu_layers 0); vkq_context_create refuses others (VKQ_ERROR_INVALID_ARGUMENT). */
    vkq_matmul_observer observer;
    void *observer_user;
} vkq_context_desc;

VKQ_API vkq_context_desc vkq_context_desc_default(void);

/* Creates a context over `model`: checks the architecture and every tensor, allocates the KV
 * cache of each layer where the layer runs (device memory for GPU layers, host memory for the
 * others) and the activations of n_batch tokens. Errors: those of vkq_llm_params_read;
 * VKQ_ERROR_MALFORMED for a missing or mis-shaped tensor (named, with the shape expected);
 * VKQ_ERROR_UNSUPPORTED for a KV type vkquant cannot store, or different K and V types on a GPU
 * layer; VKQ_ERROR_OUT_OF_DEVICE_MEMORY / OUT_OF_HOST_MEMORY when the cache does not fit (the
 * sentence gives the bytes); nothing is left allocated on an error. The model must outlive the
 * context. */
VKQ_API vkq_status vkq_context_create(vkq_model model, const vkq_context_desc *desc, vkq_context *out);
VKQ_API void vkq_context_destroy(vkq_context ctx);

VKQ_API const vkq_llm_params *vkq_context_params(vkq_context ctx);
VKQ_API uint32_t vkq_context_n_ctx(vkq_context ctx);
/* Positions filled so far (the next token's position). */
VKQ_API uint32_t vkq_context_pos(vkq_context ctx);
/* Forgets the sequence: the next call starts at position 0. */
VKQ_API void vkq_context_reset(vkq_context ctx);

/* Runs `n` tokens at positions pos .. pos + n - 1 (appending to the KV cache) and writes the
 * logits of tokens logits_from .. n - 1 to `logits` ([n - logits_from][n_vocab] floats; NULL or
 * logits_from == n: none, and the output head is skipped). Prompts go in batches of up to
 * n_batch tokens through the GEMM kernels; one token at a time through the mat-vec kernels.
 * Errors: VKQ_ERROR_INVALID_ARGUMENT (n == 0, n > n_batch, a token id out of the vocabulary,
 * logits_from > n), VKQ_ERROR_TOO_LARGE when pos + n passes n_ctx (the context is full: the
 * sentence says so; nothing is changed), and those of the kernels. After a kernel error the
 * context is reset. */
VKQ_API vkq_status vkq_context_eval(vkq_context ctx, const int32_t *tokens, uint32_t n, uint32_t logits_from,
                                    float *logits);

/* Where the layers of this context run and what its KV cache takes. */
typedef struct vkq_context_info {
    uint32_t n_layer, n_gpu_layers;  /* layers whose every operation runs on the GPU */
    uint64_t kv_gpu_bytes, kv_cpu_bytes;
    int head_on_gpu;
} vkq_context_info;
VKQ_API void vkq_context_get_info(vkq_context ctx, vkq_context_info *out);

#ifdef __cplusplus
}
#endif

#endif
