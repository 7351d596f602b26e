/* The architecture table, the hyper-parameters read from GGUF metadata, and the tensor check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "llm/arch.h"

static const vkq_arch ARCHS[] = {
    {.name = "llama", .glu = VKQ_GLU_SILU},
    {.name = "qwen2", .rope_neox = 1, .qkv_bias = 1, .glu = VKQ_GLU_SILU},
    {.name = "qwen3", .rope_neox = 1, .qk_norm = 1, .glu = VKQ_GLU_SILU},
    /* Gemma 3: the local layers' rope base is fixed by the architecture, not stored in files. */
    {.name = "gemma3", .rope_neox = 1, .qk_norm = 1, .post_norms = 1, .embd_scale_sqrt = 1,
     .glu = VKQ_GLU_GELU_TANH, .swa_pattern = 6, .rope_base_swa = 10000.0f},
    {.name = "qwen3moe", .rope_neox = 1, .qk_norm = 1, .moe = 1, .moe_norm_topk = 1, .glu = VKQ_GLU_SILU},
};

const vkq_arch *vkq_arch_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof ARCHS / sizeof ARCHS[0]; ++i)
        if (!strcmp(ARCHS[i].name, name)) return &ARCHS[i];
    return NULL;
}

const char *vkq_arch_list(void)
{
    return "llama, qwen2, qwen3, gemma3, qwen3moe";
}

int vkq_arch_layer_slides(const vkq_arch *arch, const vkq_llm_params *p, uint32_t il)
{
    (void)arch;
    return p->swa_pattern && p->sliding_window && il % p->swa_pattern < p->swa_pattern - 1;
}

/* An unsigned integer key of any integer type; `def` when absent (required: error). */
static vkq_status key_u32(vkq_gguf g, const char *arch, const char *suffix, int required, uint32_t def,
                          uint32_t *out)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t i = vkq_gguf_find_key(g, key);
    *out = def;
    if (i < 0) return required ? vkq_fail(VKQ_ERROR_MALFORMED, "the model has no \"%s\"", key) : VKQ_SUCCESS;
    vkq_gguf_value v;
    vkq_gguf_get_value(g, i, &v);
    uint64_t x;
    switch (v.type) {
    case VKQ_GGUF_UINT8: case VKQ_GGUF_UINT16: case VKQ_GGUF_UINT32: case VKQ_GGUF_UINT64: x = v.u; break;
    case VKQ_GGUF_INT8: case VKQ_GGUF_INT16: case VKQ_GGUF_INT32: case VKQ_GGUF_INT64:
        if (v.i < 0) return vkq_fail(VKQ_ERROR_MALFORMED, "\"%s\" is negative (%lld)", key, (long long)v.i);
        x = (uint64_t)v.i;
        break;
    case VKQ_GGUF_ARRAY:
        /* Per-layer arrays (head counts of some files): every element must agree. */
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "\"%s\" is an array (per-layer values are not supported)", key);
    default: return vkq_fail(VKQ_ERROR_MALFORMED, "\"%s\" is not an integer", key);
    }
    if (x > (1u << 30)) return vkq_fail(VKQ_ERROR_MALFORMED, "\"%s\" = %llu is out of range", key,
                                       (unsigned long long)x);
    *out = (uint32_t)x;
    return VKQ_SUCCESS;
}

static vkq_status key_f32(vkq_gguf g, const char *arch, const char *suffix, float def, float *out)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t i = vkq_gguf_find_key(g, key);
    *out = def;
    if (i < 0) return VKQ_SUCCESS;
    vkq_gguf_value v;
    vkq_gguf_get_value(g, i, &v);
    if (v.type != VKQ_GGUF_FLOAT32 && v.type != VKQ_GGUF_FLOAT64)
        return vkq_fail(VKQ_ERROR_MALFORMED, "\"%s\" is not a float", key);
    if (!isfinite(v.f)) return vkq_fail(VKQ_ERROR_MALFORMED, "\"%s\" is not finite", key);
    *out = (float)v.f;
    return VKQ_SUCCESS;
}

vkq_status vkq_llm_params_read(vkq_gguf g, vkq_llm_params *p)
{
    if (!g || !p) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    memset(p, 0, sizeof *p);
    int64_t ai = vkq_gguf_find_key(g, "general.architecture");
    vkq_gguf_string s = {0};
    if (ai < 0 || vkq_gguf_get_string(g, ai, &s) != VKQ_SUCCESS)
        return vkq_fail(VKQ_ERROR_MALFORMED, "the file has no general.architecture string: not a model");
    static _Thread_local char name[64];
    if (s.len >= sizeof name) return vkq_fail(VKQ_ERROR_UNSUPPORTED, "unknown architecture (a %llu-byte name)",
                                              (unsigned long long)s.len);
    memcpy(name, s.data, s.len);
    name[s.len] = 0;
    const vkq_arch *arch = vkq_arch_find(name);
    if (!arch)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "architecture \"%s\" is not supported (vkquant runs %s)", name,
                        vkq_arch_list());
    p->arch = arch->name;
    vkq_status st;
#define U(suffix, req, def, field) \
    if ((st = key_u32(g, name, suffix, req, def, &p->field)) != VKQ_SUCCESS) return st
#define F(suffix, def, field) \
    if ((st = key_f32(g, name, suffix, def, &p->field)) != VKQ_SUCCESS) return st
    U("block_count", 1, 0, n_layer);
    U("embedding_length", 1, 0, n_embd);
    U("feed_forward_length", !arch->moe, 0, n_ff);
    U("attention.head_count", 1, 0, n_head);
    U("attention.head_count_kv", 0, p->n_head, n_head_kv);
    U("context_length", 0, 4096, n_ctx_train);
    if (p->n_head == 0 || p->n_embd == 0 || p->n_layer == 0)
        return vkq_fail(VKQ_ERROR_MALFORMED, "%s: block_count, embedding_length and head_count must be non-zero",
                        name);
    U("attention.key_length", 0, p->n_embd / p->n_head, head_dim_k);
    U("attention.value_length", 0, p->head_dim_k, head_dim_v);
    U("rope.dimension_count", 0, p->head_dim_k, n_rot);
    U("attention.sliding_window", 0, 0, sliding_window);
    U("attention.sliding_window_pattern", 0, arch->swa_pattern, swa_pattern);
    if (arch->moe) {
        U("expert_count", 1, 0, n_expert);
        U("expert_used_count", 1, 0, n_expert_used);
        U("expert_feed_forward_length", 1, 0, n_ff_expert);
        if (!p->n_expert || !p->n_expert_used || p->n_expert_used > p->n_expert || p->n_expert > 1024)
            return vkq_fail(VKQ_ERROR_MALFORMED, "%s: %u experts with %u used per token is not valid", name,
                            p->n_expert, p->n_expert_used);
    }
    F("attention.layer_norm_rms_epsilon", 1e-5f, rms_eps);
    F("rope.freq_base", 10000.0f, rope_base);
    float factor = 1.0f;
    F("rope.scaling.factor", 1.0f, rope_scale);
    factor = p->rope_scale;
    p->rope_scale = factor > 0 ? 1.0f / factor : 1.0f;
    F("rope.freq_base_swa", arch->swa_pattern ? arch->rope_base_swa : p->rope_base, rope_base_swa);
#undef U
#undef F
    if (p->n_head_kv == 0 || p->n_head % p->n_head_kv)
        return vkq_fail(VKQ_ERROR_MALFORMED, "%s: %u attention heads are not a multiple of %u KV heads", name,
                        p->n_head, p->n_head_kv);
    if (p->head_dim_k == 0 || p->head_dim_v == 0 || p->head_dim_k > 1024 || p->head_dim_v > 1024 ||
        p->n_rot > p->head_dim_k || p->n_rot % 2)
        return vkq_fail(VKQ_ERROR_MALFORMED, "%s: head sizes K %u, V %u with %u rotary dimensions are not valid",
                        name, p->head_dim_k, p->head_dim_v, p->n_rot);
    p->attn_scale = 1.0f / sqrtf((float)p->head_dim_k);
    int64_t emb = vkq_gguf_find_tensor(g, "token_embd.weight");
    if (emb < 0) return vkq_fail(VKQ_ERROR_MALFORMED, "the model has no token_embd.weight");
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(g, emb, &t);
    p->n_vocab = (uint32_t)t.ne[1];
    p->tied_output = vkq_gguf_find_tensor(g, "output.weight") < 0;
    return VKQ_SUCCESS;
}

static uint64_t row_bytes(vkq_type t, uint64_t n)
{
    uint64_t b = 0;
    return vkq_type_bytes(t, n, &b) == VKQ_SUCCESS ? b : 0;
}

uint64_t vkq_llm_kv_bytes_per_layer(const vkq_llm_params *p, uint32_t n_ctx, vkq_type k_type, vkq_type v_type)
{
    if (!p) return 0;
    uint64_t k = row_bytes(k_type, (uint64_t)p->n_head_kv * p->head_dim_k);
    uint64_t v = row_bytes(v_type, (uint64_t)p->n_head_kv * p->head_dim_v);
    return (k + v) * n_ctx;
}

/* Expected shapes of the layer slots; 0 in ne means "any". */
typedef struct slot_spec {
    const char *name; /* blk.N.<name> */
    int n_dims;
    int64_t ne[3];
} slot_spec;

static int slot_needed(const vkq_arch *a, vkq_slot s)
{
    switch (s) {
    case VKQ_SLOT_ATTN_Q_BIAS: case VKQ_SLOT_ATTN_K_BIAS: case VKQ_SLOT_ATTN_V_BIAS: return a->qkv_bias;
    case VKQ_SLOT_ATTN_Q_NORM: case VKQ_SLOT_ATTN_K_NORM: return a->qk_norm;
    case VKQ_SLOT_POST_ATTN_NORM: case VKQ_SLOT_POST_FFN_NORM: return a->post_norms;
    case VKQ_SLOT_FFN_GATE: case VKQ_SLOT_FFN_UP: case VKQ_SLOT_FFN_DOWN: return !a->moe;
    case VKQ_SLOT_FFN_GATE_INP: case VKQ_SLOT_FFN_GATE_EXPS: case VKQ_SLOT_FFN_UP_EXPS:
    case VKQ_SLOT_FFN_DOWN_EXPS: return a->moe;
    default: return 1;
    }
}

static vkq_status find_checked(vkq_gguf g, const char *name, int n_dims, const int64_t *ne, int64_t *out)
{
    int64_t i = vkq_gguf_find_tensor(g, name);
    if (i < 0) return vkq_fail(VKQ_ERROR_MALFORMED, "the model has no tensor %s", name);
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(g, i, &t);
    int ok = 1;
    for (int d = 0; d < 4; ++d) {
        int64_t want = d < n_dims ? ne[d] : 1;
        if (want && t.ne[d] != want) ok = 0;
    }
    if (!ok) {
        char want[96];
        if (n_dims == 1) snprintf(want, sizeof want, "[%lld]", (long long)ne[0]);
        else if (n_dims == 2) snprintf(want, sizeof want, "[%lld, %lld]", (long long)ne[0], (long long)ne[1]);
        else snprintf(want, sizeof want, "[%lld, %lld, %lld]", (long long)ne[0], (long long)ne[1], (long long)ne[2]);
        return vkq_fail(VKQ_ERROR_MALFORMED, "tensor %s has shape [%lld, %lld, %lld, %lld]; the model's parameters "
                        "need %s", name, (long long)t.ne[0], (long long)t.ne[1], (long long)t.ne[2],
                        (long long)t.ne[3], want);
    }
    /* Norms, biases and the router are read as f32 by the kernels of both places. */
    if (n_dims == 1 && t.type != VKQ_TYPE_F32)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "tensor %s is %s; 1-D tensors must be F32", name,
                        vkq_type_get(t.type)->name);
    *out = i;
    return VKQ_SUCCESS;
}

vkq_status vkq_model_tensors_find(vkq_gguf g, const vkq_arch *a, const vkq_llm_params *p, vkq_model_tensors *out)
{
    memset(out, 0, sizeof *out);
    const int64_t E = p->n_embd, Hq = (int64_t)p->n_head * p->head_dim_k, Hk = (int64_t)p->n_head_kv * p->head_dim_k,
                  Hv = (int64_t)p->n_head_kv * p->head_dim_v, Ho = (int64_t)p->n_head * p->head_dim_v;
    const slot_spec spec[VKQ_SLOT_COUNT] = {
        [VKQ_SLOT_ATTN_NORM] = {"attn_norm.weight", 1, {E}},
        [VKQ_SLOT_ATTN_Q] = {"attn_q.weight", 2, {E, Hq}},
        [VKQ_SLOT_ATTN_K] = {"attn_k.weight", 2, {E, Hk}},
        [VKQ_SLOT_ATTN_V] = {"attn_v.weight", 2, {E, Hv}},
        [VKQ_SLOT_ATTN_OUT] = {"attn_output.weight", 2, {Ho, E}},
        [VKQ_SLOT_ATTN_Q_BIAS] = {"attn_q.bias", 1, {Hq}},
        [VKQ_SLOT_ATTN_K_BIAS] = {"attn_k.bias", 1, {Hk}},
        [VKQ_SLOT_ATTN_V_BIAS] = {"attn_v.bias", 1, {Hv}},
        [VKQ_SLOT_ATTN_Q_NORM] = {"attn_q_norm.weight", 1, {p->head_dim_k}},
        [VKQ_SLOT_ATTN_K_NORM] = {"attn_k_norm.weight", 1, {p->head_dim_k}},
        [VKQ_SLOT_POST_ATTN_NORM] = {"post_attention_norm.weight", 1, {E}},
        [VKQ_SLOT_FFN_NORM] = {"ffn_norm.weight", 1, {E}},
        [VKQ_SLOT_FFN_GATE] = {"ffn_gate.weight", 2, {E, p->n_ff}},
        [VKQ_SLOT_FFN_UP] = {"ffn_up.weight", 2, {E, p->n_ff}},
        [VKQ_SLOT_FFN_DOWN] = {"ffn_down.weight", 2, {p->n_ff, E}},
        [VKQ_SLOT_POST_FFN_NORM] = {"post_ffw_norm.weight", 1, {E}},
        [VKQ_SLOT_FFN_GATE_INP] = {"ffn_gate_inp.weight", 2, {E, p->n_expert}},
        [VKQ_SLOT_FFN_GATE_EXPS] = {"ffn_gate_exps.weight", 3, {E, p->n_ff_expert, p->n_expert}},
        [VKQ_SLOT_FFN_UP_EXPS] = {"ffn_up_exps.weight", 3, {E, p->n_ff_expert, p->n_expert}},
        [VKQ_SLOT_FFN_DOWN_EXPS] = {"ffn_down_exps.weight", 3, {p->n_ff_expert, E, p->n_expert}},
    };
    vkq_status st;
    const int64_t emb_ne[2] = {E, p->n_vocab};
    if ((st = find_checked(g, "token_embd.weight", 2, emb_ne, &out->token_embd)) != VKQ_SUCCESS) return st;
    const int64_t norm_ne[1] = {E};
    if ((st = find_checked(g, "output_norm.weight", 1, norm_ne, &out->output_norm)) != VKQ_SUCCESS) return st;
    out->output = out->token_embd;
    if (!p->tied_output && (st = find_checked(g, "output.weight", 2, emb_ne, &out->output)) != VKQ_SUCCESS)
        return st;
    out->rope_freqs = -1;
    if (vkq_gguf_find_tensor(g, "rope_freqs.weight") >= 0) {
        const int64_t rf_ne[1] = {p->n_rot / 2};
        if ((st = find_checked(g, "rope_freqs.weight", 1, rf_ne, &out->rope_freqs)) != VKQ_SUCCESS) return st;
    }
    out->layers = calloc(p->n_layer, sizeof *out->layers);
    if (!out->layers) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (tensor table)");
    for (uint32_t il = 0; il < p->n_layer; ++il) {
        for (int s = 0; s < VKQ_SLOT_COUNT; ++s) {
            out->layers[il].t[s] = -1;
            if (!slot_needed(a, (vkq_slot)s)) continue;
            char name[96];
            snprintf(name, sizeof name, "blk.%u.%s", il, spec[s].name);
            st = find_checked(g, name, spec[s].n_dims, spec[s].ne, &out->layers[il].t[s]);
            if (st != VKQ_SUCCESS) {
                free(out->layers);
                out->layers = NULL;
                return st;
            }
        }
    }
    return VKQ_SUCCESS;
}
