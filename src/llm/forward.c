/* The layer program: one transformer block, written once over an executor (CPU or GPU) and
 * driven by the architecture's flags (src/llm/arch.c). */
#include <math.h>

#include "llm/context_internal.h"

#define TRY(x)                                  \
    do {                                        \
        vkq_status st_ = (x);                   \
        if (st_ != VKQ_SUCCESS) return st_;     \
    } while (0)

/* ACT_X += ACT_A, through the post-norm `post` when the architecture has one. */
static vkq_status residual(vkq_ctx c, const vkq_exec *ex, int64_t post, uint32_t n)
{
    const uint32_t d = c->p.n_embd;
    if (!c->arch->post_norms) return ex->add(c, ACT_X, ACT_A, d, n);
    if (ex->norm_add) return ex->norm_add(c, ACT_A, post, ACT_X, d, n);
    TRY(ex->rmsnorm(c, ACT_A, post, ACT_A, d, n));
    return ex->add(c, ACT_X, ACT_A, d, n);
}

static vkq_status attention_block(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n)
{
    const vkq_llm_params *p = &c->p;
    const int64_t *t = c->w.layers[il].t;
    const int swa = vkq_arch_layer_slides(c->arch, p, il);
    TRY(ex->rmsnorm(c, ACT_X, t[VKQ_SLOT_ATTN_NORM], ACT_H, p->n_embd, n));
    TRY(ex->matmul(c, t[VKQ_SLOT_ATTN_Q], ACT_H, ACT_Q, n));
    TRY(ex->matmul(c, t[VKQ_SLOT_ATTN_K], ACT_H, ACT_K, n));
    TRY(ex->matmul(c, t[VKQ_SLOT_ATTN_V], ACT_H, ACT_V, n));
    if (c->arch->qkv_bias) {
        TRY(ex->add_bias(c, ACT_Q, t[VKQ_SLOT_ATTN_Q_BIAS], c->width[ACT_Q], n));
        TRY(ex->add_bias(c, ACT_K, t[VKQ_SLOT_ATTN_K_BIAS], c->width[ACT_K], n));
        TRY(ex->add_bias(c, ACT_V, t[VKQ_SLOT_ATTN_V_BIAS], c->width[ACT_V], n));
    }
    if (c->arch->qk_norm && ex->norm_rope) {
        TRY(ex->norm_rope(c, ACT_Q, t[VKQ_SLOT_ATTN_Q_NORM], p->n_head, n, swa));
        TRY(ex->norm_rope(c, ACT_K, t[VKQ_SLOT_ATTN_K_NORM], p->n_head_kv, n, swa));
    } else {
        if (c->arch->qk_norm) {
            TRY(ex->rmsnorm(c, ACT_Q, t[VKQ_SLOT_ATTN_Q_NORM], ACT_Q, p->head_dim_k, n * p->n_head));
            TRY(ex->rmsnorm(c, ACT_K, t[VKQ_SLOT_ATTN_K_NORM], ACT_K, p->head_dim_k, n * p->n_head_kv));
        }
        TRY(ex->rope(c, ACT_Q, p->n_head, n, swa));
        TRY(ex->rope(c, ACT_K, p->n_head_kv, n, swa));
    }
    TRY(ex->kv_store(c, il, n));
    TRY(ex->attention(c, il, n, swa));
    TRY(ex->matmul(c, t[VKQ_SLOT_ATTN_OUT], ACT_ATT, ACT_A, n));
    return residual(c, ex, t[VKQ_SLOT_POST_ATTN_NORM], n);
}

static vkq_status ffn_block(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n)
{
    const vkq_llm_params *p = &c->p;
    const int64_t *t = c->w.layers[il].t;
    TRY(ex->rmsnorm(c, ACT_X, t[VKQ_SLOT_FFN_NORM], ACT_H, p->n_embd, n));
    if (c->arch->moe) {
        TRY(ex->moe(c, il, n));
    } else {
        TRY(ex->matmul(c, t[VKQ_SLOT_FFN_GATE], ACT_H, ACT_G, n));
        TRY(ex->matmul(c, t[VKQ_SLOT_FFN_UP], ACT_H, ACT_U, n));
        TRY(ex->glu(c, ACT_G, ACT_U, (uint64_t)n * p->n_ff));
        TRY(ex->matmul(c, t[VKQ_SLOT_FFN_DOWN], ACT_G, ACT_A, n));
    }
    return residual(c, ex, t[VKQ_SLOT_POST_FFN_NORM], n);
}

vkq_status vkq_layer_forward(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n)
{
    TRY(attention_block(c, ex, il, n));
    return ffn_block(c, ex, il, n);
}
