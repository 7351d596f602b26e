/* Architectures as data: what distinguishes llama, qwen2, qwen3, gemma3 and qwen3moe is a row of
 * flags and constants here plus the tensor slots a layer has; src/llm/forward.c runs one layer
 * program over them. */
#ifndef VKQ_LLM_ARCH_H
#define VKQ_LLM_ARCH_H

#include "cpu/ops.h"
#include "vkquant/llm.h"

typedef struct vkq_arch {
    const char *name;
    int rope_neox;       /* NeoX pairing (x[i], x[i + n_rot/2]) instead of (x[2i], x[2i+1]) */
    int qkv_bias;        /* attn_{q,k,v}.bias */
    int qk_norm;         /* per-head RMSNorm of Q and K before rope */
    int post_norms;      /* post_attention_norm and post_ffw_norm on each branch's output */
    int embd_scale_sqrt; /* the looked-up embedding is multiplied by sqrt(n_embd) */
    int moe;             /* routed experts instead of a dense FFN */
    int moe_norm_topk;   /* the chosen experts' weights divided by their sum */
    vkq_glu_kind glu;
    /* Sliding-window layers: layer il slides iff swa_pattern > 0 and il % swa_pattern <
     * swa_pattern - 1 (gemma3: five local layers, then one global); their rope base is
     * rope_base_swa. The window size comes from ARCH.attention.sliding_window. */
    uint32_t swa_pattern;
    float rope_base_swa;
} vkq_arch;

/* The architecture named `name`, or NULL. */
const vkq_arch *vkq_arch_find(const char *name);
/* "llama, qwen2, ..." for messages. */
const char *vkq_arch_list(void);

/* The tensors of a layer, by slot. */
typedef enum vkq_slot {
    VKQ_SLOT_ATTN_NORM = 0,
    VKQ_SLOT_ATTN_Q,
    VKQ_SLOT_ATTN_K,
    VKQ_SLOT_ATTN_V,
    VKQ_SLOT_ATTN_OUT,
    VKQ_SLOT_ATTN_Q_BIAS,
    VKQ_SLOT_ATTN_K_BIAS,
    VKQ_SLOT_ATTN_V_BIAS,
    VKQ_SLOT_ATTN_Q_NORM,
    VKQ_SLOT_ATTN_K_NORM,
    VKQ_SLOT_POST_ATTN_NORM,
    VKQ_SLOT_FFN_NORM,
    VKQ_SLOT_FFN_GATE,
    VKQ_SLOT_FFN_UP,
    VKQ_SLOT_FFN_DOWN,
    VKQ_SLOT_POST_FFN_NORM,
    VKQ_SLOT_FFN_GATE_INP,
    VKQ_SLOT_FFN_GATE_EXPS,
    VKQ_SLOT_FFN_UP_EXPS,
    VKQ_SLOT_FFN_DOWN_EXPS,
    VKQ_SLOT_COUNT
} vkq_slot;

typedef struct vkq_layer_tensors {
    int64_t t[VKQ_SLOT_COUNT]; /* tensor index in the GGUF, -1 when the layer has none */
} vkq_layer_tensors;

typedef struct vkq_model_tensors {
    int64_t token_embd, output_norm, output, rope_freqs; /* output: token_embd when tied */
    vkq_layer_tensors *layers;                           /* n_layer */
} vkq_model_tensors;

/* Finds every tensor the architecture needs and checks its shape against the parameters:
 * VKQ_ERROR_MALFORMED naming the first one missing or mis-shaped. `out->layers` is allocated
 * (free it). */
vkq_status vkq_model_tensors_find(vkq_gguf g, const vkq_arch *arch, const vkq_llm_params *p,
                                  vkq_model_tensors *out);

/* Whether layer `il` uses the sliding window. */
int vkq_arch_layer_slides(const vkq_arch *arch, const vkq_llm_params *p, uint32_t il);

#endif
