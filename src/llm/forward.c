/* The layer program: one transformer block, written once over an executor (CPU or GPU) and
 * driven by the architecture's flags (src/llm/arch.c). */
#include <math.h>

#include "llm/context_internal.h"

#define TRY(x)                                  \
    do {                                        \
        vkq_status st_ = (x);                   \
        if (st_ != VKQ_SUCCESS) return st_;     \
    } while (0)

/* ACT_X += ACT_A, through the post-norm `post` when the architecture has one; an executor that
 * fuses it also writes the next block's input, ACT_H = rmsnorm(ACT_X) * next (next >= 0). */
static vkq_status residual(vkq_ctx c, const vkq_exec *ex, int64_t post, int64_t next, uint32_t n)
{
    const uint32_t d = c->p.n_embd;
    if (!c->arch->post_norms) post = -1;
    if (ex->residual) {
        TRY(ex->residual(c, ACT_A, post, ACT_X, next, d, n));
        c->h_ready = next >= 0;
        return VKQ_SUCCESS;
    }
    if (post >= 0) TRY(ex->rmsnorm(c, ACT_A, post, ACT_A, d, n));
    return ex->add(c, ACT_X, ACT_A, d, n);
}

/* ACT_H = rmsnorm(ACT_X) * w, unless the previous block's residual already wrote it. */
static vkq_status input_norm(vkq_ctx c, const vkq_exec *ex, int64_t w, uint32_t n)
{
    if (c->h_ready) {
        c->h_ready = 0;
        return VKQ_SUCCESS;
    }
    return ex->rmsnorm(c, ACT_X, w, ACT_H, c->p.n_embd, n);
}

static vkq_status attention_block(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n)
{
    const vkq_llm_params *p = &c->p;
    const int64_t *t = c->w.layers[il].t;
    const int swa = vkq_arch_layer_slides(c->arch, p, il);
    TRY(input_norm(c, ex, t[VKQ_SLOT_ATTN_NORM], n));
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
    return residual(c, ex, t[VKQ_SLOT_POST_ATTN_NORM], t[VKQ_SLOT_FFN_NORM], n);
}

static vkq_status ffn_block(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n)
{
    const vkq_llm_params *p = &c->p;
    const int64_t *t = c->w.layers[il].t;
    TRY(input_norm(c, ex, t[VKQ_SLOT_FFN_NORM], n));
    if (c->arch->moe) {
        TRY(ex->moe(c, il, n));
    } else {
        TRY(ex->matmul(c, t[VKQ_SLOT_FFN_GATE], ACT_H, ACT_G, n));
        TRY(ex->matmul(c, t[VKQ_SLOT_FFN_UP], ACT_H, ACT_U, n));
        TRY(ex->glu(c, ACT_G, ACT_U, (uint64_t)n * p->n_ff));
        TRY(ex->matmul(c, t[VKQ_SLOT_FFN_DOWN], ACT_G, ACT_A, n));
    }
    const int64_t next = il + 1 < c->run_end ? c->w.layers[il + 1].t[VKQ_SLOT_ATTN_NORM] : -1;
    return residual(c, ex, t[VKQ_SLOT_POST_FFN_NORM], next, n);
}

vkq_status vkq_layer_forward(vkq_ctx c, const vkq_exec *ex, uint32_t il, uint32_t n)
{
    TRY(attention_block(c, ex, il, n));
    return ffn_block(c, ex, il, n);
}
