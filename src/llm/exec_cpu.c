/* The CPU executor: the layer program's operations on host activations, the weights read from
 * the file mapping, the KV cache in host memory. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "llm/context_internal.h"

static vkq_status cpu_matmul_rows(vkq_ctx c, const vkq_gguf_tensor *t, int32_t expert, const void *w, const float *x,
                                  float *y, uint32_t n)
{
    if (c->desc.observer) c->desc.observer(c->desc.observer_user, t->name, expert, x, n, (uint64_t)t->ne[0]);
    vkq_cpu_matmul_desc d = {.type = t->type,
                             .m = (uint64_t)t->ne[1],
                             .k = (uint64_t)t->ne[0],
                             .n = n,
                             .w = w,
                             .x = x,
                             .y = y,
                             .flags = c->model->desc.cpu_flags,
                             .pool = c->pool};
    vkq_status st = vkq_cpu_matmul(&d);
    if (st != VKQ_SUCCESS) return vkq_fail(st, "%s on the cpu: %s", t->name, vkq_last_error());
    return VKQ_SUCCESS;
}

static vkq_status c_matmul(vkq_ctx c, int64_t w, vkq_act x, vkq_act y, uint32_t n)
{
    vkq_gguf_tensor t;
    const void *data = vkq_ctx_tensor_data(c, w, &t);
    return cpu_matmul_rows(c, &t, -1, data, c->act[x], c->act[y], n);
}

static vkq_status c_rmsnorm(vkq_ctx c, vkq_act x, int64_t w, vkq_act out, uint32_t width, uint32_t rows)
{
    const float *wd = w >= 0 ? vkq_ctx_tensor_data(c, w, NULL) : NULL;
    return vkq_cpu_rmsnorm(c->pool, c->act[x], wd, c->act[out], width, rows, c->p.rms_eps);
}

static vkq_status c_add_bias(vkq_ctx c, vkq_act x, int64_t bias, uint32_t width, uint32_t rows)
{
    return vkq_cpu_add(c->pool, c->act[x], vkq_ctx_tensor_data(c, bias, NULL), c->act[x], width, rows, 1);
}

static vkq_status c_add(vkq_ctx c, vkq_act a, vkq_act b, uint32_t width, uint32_t rows)
{
    return vkq_cpu_add(c->pool, c->act[a], c->act[b], c->act[a], width, rows, rows);
}

static vkq_status c_rope(vkq_ctx c, vkq_act x, uint32_t n_heads, uint32_t n, int swa)
{
    return vkq_cpu_rope(c->pool, c->act[x], n, n_heads, c->p.head_dim_k, c->p.n_rot, c->pos0, c->inv_freq[swa ? 1 : 0],
                        c->arch->rope_neox);
}

static vkq_status c_glu(vkq_ctx c, vkq_act gate, vkq_act up, uint64_t count)
{
    return vkq_cpu_glu(c->pool, c->arch->glu, c->act[gate], c->act[up], c->act[gate], count);
}

static vkq_status c_kv_store(vkq_ctx c, uint32_t il, uint32_t n)
{
    uint8_t *kv = c->kv_cpu[il];
    vkq_status st = vkq_cpu_kv_store(c->desc.k_type, c->act[ACT_K], n, c->width[ACT_K],
                                     kv + (uint64_t)c->pos0 * c->k_row_bytes, c->k_row_bytes);
    if (st != VKQ_SUCCESS) return st;
    return vkq_cpu_kv_store(c->desc.v_type, c->act[ACT_V], n, c->width[ACT_V],
                            kv + c->v_offset + (uint64_t)c->pos0 * c->v_row_bytes, c->v_row_bytes);
}

static vkq_status c_attention(vkq_ctx c, uint32_t il, uint32_t n, int swa)
{
    const vkq_llm_params *p = &c->p;
    const uint8_t *kv = c->kv_cpu[il];
    vkq_attn_desc d = {.n_tokens = n,
                       .pos0 = c->pos0,
                       .n_head = p->n_head,
                       .n_head_kv = p->n_head_kv,
                       .head_dim_k = p->head_dim_k,
                       .head_dim_v = p->head_dim_v,
                       .q = c->act[ACT_Q],
                       .k = kv,
                       .k_type = c->desc.k_type,
                       .k_row_bytes = c->k_row_bytes,
                       .v = kv + c->v_offset,
                       .v_type = c->desc.v_type,
                       .v_row_bytes = c->v_row_bytes,
                       .scale = p->attn_scale,
                       .softcap = 0.0f,
                       .window = swa ? p->sliding_window : 0,
                       .out = c->act[ACT_ATT]};
    return vkq_cpu_attention(c->pool, &d);
}

/* Routed experts: the router picks n_used experts per token; each expert runs once on the
 * tokens routed to it (gathered into a batch, so a prompt takes the GEMM path), and its output
 * rows are added to those tokens' rows with the router's weights. */
static vkq_status c_moe(vkq_ctx c, uint32_t il, uint32_t n)
{
    const vkq_llm_params *p = &c->p;
    const int64_t *t = c->w.layers[il].t;
    const uint32_t E = p->n_embd, F = p->n_ff_expert, K = p->n_expert_used;
    vkq_status st = c_matmul(c, t[VKQ_SLOT_FFN_GATE_INP], ACT_H, ACT_R, n);
    if (st != VKQ_SUCCESS) return st;
    st = vkq_cpu_topk_router(c->act[ACT_R], n, p->n_expert, K, c->arch->moe_norm_topk, c->moe_ids, c->moe_weights);
    if (st != VKQ_SUCCESS) return st;
    float *out = c->act[ACT_A];
    memset(out, 0, (size_t)n * E * sizeof(float));
    /* Scratch: gathered inputs [n][E], gate [n][F], up [n][F], outputs [n][E]; tokens list [n]. */
    float *xin = c->moe_scratch, *gate = xin + (size_t)n * E, *up = gate + (size_t)n * F, *y = up + (size_t)n * F;
    uint32_t *tok = (uint32_t *)(y + (size_t)n * E);
    float *wt = (float *)(tok + n);
    vkq_gguf_tensor tg, tu, td;
    const uint8_t *wg = vkq_ctx_tensor_data(c, t[VKQ_SLOT_FFN_GATE_EXPS], &tg);
    const uint8_t *wu = vkq_ctx_tensor_data(c, t[VKQ_SLOT_FFN_UP_EXPS], &tu);
    const uint8_t *wd = vkq_ctx_tensor_data(c, t[VKQ_SLOT_FFN_DOWN_EXPS], &td);
    const uint64_t sg = tg.nbytes / p->n_expert, su = tu.nbytes / p->n_expert, sd = td.nbytes / p->n_expert;
    tg.ne[2] = tu.ne[2] = td.ne[2] = 1;
    for (uint32_t e = 0; e < p->n_expert; ++e) {
        uint32_t m = 0;
        for (uint32_t i = 0; i < n; ++i)
            for (uint32_t j = 0; j < K; ++j)
                if ((uint32_t)c->moe_ids[i * K + j] == e) {
                    tok[m] = i;
                    wt[m] = c->moe_weights[i * K + j];
                    memcpy(xin + (size_t)m * E, c->act[ACT_H] + (size_t)i * E, E * sizeof(float));
                    ++m;
                }
        if (!m) continue;
        if ((st = cpu_matmul_rows(c, &tg, (int32_t)e, wg + e * sg, xin, gate, m)) != VKQ_SUCCESS) return st;
        if ((st = cpu_matmul_rows(c, &tu, (int32_t)e, wu + e * su, xin, up, m)) != VKQ_SUCCESS) return st;
        if ((st = vkq_cpu_glu(c->pool, c->arch->glu, gate, up, gate, (uint64_t)m * F)) != VKQ_SUCCESS) return st;
        if ((st = cpu_matmul_rows(c, &td, (int32_t)e, wd + e * sd, gate, y, m)) != VKQ_SUCCESS) return st;
        for (uint32_t r = 0; r < m; ++r) {
            float *o = out + (size_t)tok[r] * E;
            const float *yr = y + (size_t)r * E;
            for (uint32_t i = 0; i < E; ++i) o[i] += wt[r] * yr[i];
        }
    }
    return VKQ_SUCCESS;
}

const vkq_exec vkq_exec_cpu = {
    .matmul = c_matmul,
    .rmsnorm = c_rmsnorm,
    .add_bias = c_add_bias,
    .add = c_add,
    .rope = c_rope,
    .glu = c_glu,
    .kv_store = c_kv_store,
    .attention = c_attention,
    .moe = c_moe,
};
