/* The GPU executor: the layer program's operations recorded into the context's command buffer
 * (c->cmd, one per run of GPU layers), on activations in device buffers (one each), the weights in the
 * model's buffers and the KV cache in device memory. Each operation says what it reads and
 * writes, and a barrier goes before it only when it reads or writes what an operation since
 * the last barrier wrote, or writes what one read: Q, K and V (and gate and up, the Q and K
 * norm-ropes) then run together. Activations are separate buffers, so the validation layer's
 * synchronization checks see the same hazards (tests/meson.build). The executor takes the
 * layer program's fusions (norm + residual add + the next block's norm, Q/K norm + rope):
 * 16 dispatches a Gemma 3 layer instead of 22, as each dispatch has a fixed cost (~50 us on
 * lavapipe, bench/RESULTS.md). */
#include "core/error.h"
#include "llm/context_internal.h"

static vkq_bufref act(vkq_ctx c, vkq_act a)
{
    return (vkq_bufref){c->gact[a], c->gact_off[a]};
}

static vkq_bufref weight(vkq_ctx c, int64_t t)
{
    return (vkq_bufref){c->model->buffers[t], 0};
}

#define B(a) (1u << (a))

/* What the validation layer sees an operation touch: a binding covers its buffer from the
 * operand's offset to the end, and in the MoE group [MOE_G | H | IDS] (one buffer, context.c)
 * that is the operand and every act after it. Tracking acts alone would let expert gate's
 * Y window (from MOE_G on) and expert up's X window (from H on) overlap with no barrier. */
static uint32_t covered(vkq_ctx c, uint32_t m)
{
    if (!c->width[ACT_MOE_IDS]) return m;
    if (m & B(ACT_MOE_G)) m |= B(ACT_H);
    if (m & B(ACT_H)) m |= B(ACT_MOE_IDS);
    return m;
}

/* Before recording an operation that reads rd and writes wr. */
static void hazard(vkq_ctx c, uint32_t rd, uint32_t wr)
{
    rd = covered(c, rd);
    wr = covered(c, wr);
    if (((rd | wr) & c->g_written) || (wr & c->g_read)) {
        vkq_ops_barrier_record(c->dev, c->cmd);
        c->g_read = c->g_written = 0;
    }
    c->g_read |= rd;
    c->g_written |= wr;
}

void vkq_exec_gpu_flush(vkq_ctx c)
{
    if (c->g_read | c->g_written) vkq_ops_barrier_record(c->dev, c->cmd);
    c->g_read = c->g_written = 0;
}

static vkq_status g_matmul(vkq_ctx c, int64_t w, vkq_act x, vkq_act y, uint32_t n)
{
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(c->g, w, &t);
    const vkq_matmul_desc d = {.type = t.type,
                               .m = (uint64_t)t.ne[1],
                               .k = (uint64_t)t.ne[0],
                               .n = n,
                               .w = c->model->buffers[w],
                               .x = c->gact[x],
                               .x_offset = c->gact_off[x],
                               .y = c->gact[y],
                               .y_offset = c->gact_off[y]};
    hazard(c, B(x), B(y));
    vkq_status st = vkq_matmul_record(c->dev, c->cmd, &d);
    if (st != VKQ_SUCCESS) return vkq_fail(st, "%s on the gpu: %s", t.name, vkq_last_error());
    return st;
}

static vkq_status g_rmsnorm(vkq_ctx c, vkq_act x, int64_t w, vkq_act out, uint32_t width, uint32_t rows)
{
    vkq_bufref wr = {0};
    if (w >= 0) wr = weight(c, w);
    hazard(c, B(x), B(out));
    return vkq_rmsnorm_record(c->dev, c->cmd, act(c, x), wr, act(c, out), width, rows, c->p.rms_eps);
}

static vkq_status g_add_bias(vkq_ctx c, vkq_act x, int64_t bias, uint32_t width, uint32_t rows)
{
    hazard(c, B(x), B(x));
    return vkq_add_record(c->dev, c->cmd, act(c, x), weight(c, bias), act(c, x), width, rows, 1);
}

static vkq_status g_add(vkq_ctx c, vkq_act a, vkq_act b, uint32_t width, uint32_t rows)
{
    hazard(c, B(a) | B(b), B(a));
    return vkq_add_record(c->dev, c->cmd, act(c, a), act(c, b), act(c, a), width, rows, rows);
}

static vkq_status g_rope(vkq_ctx c, vkq_act x, uint32_t n_heads, uint32_t n, int swa)
{
    vkq_bufref table = {c->ginv_freq, swa ? (uint64_t)c->p.n_rot / 2 * sizeof(float) : 0};
    hazard(c, B(x), B(x));
    return vkq_rope_record(c->dev, c->cmd, act(c, x), n, n_heads, c->p.head_dim_k, c->p.n_rot, c->pos0, table,
                           c->arch->rope_neox);
}

static vkq_status g_residual(vkq_ctx c, vkq_act x, int64_t w, vkq_act dst, int64_t next, uint32_t width,
                             uint32_t rows)
{
    vkq_rmsnorm_fused f = {.accumulate = 1, .raw = w < 0};
    if (next >= 0) f.norm2.w = weight(c, next), f.norm2.out = act(c, ACT_H);
    hazard(c, B(x) | B(dst), B(dst) | (next >= 0 ? B(ACT_H) : 0));
    return vkq_rmsnorm_fused_record(c->dev, c->cmd, act(c, x), w >= 0 ? weight(c, w) : (vkq_bufref){0}, act(c, dst),
                                    width, rows, c->p.rms_eps, &f);
}

static vkq_status g_norm_rope(vkq_ctx c, vkq_act x, int64_t w, uint32_t n_heads, uint32_t n, int swa)
{
    const vkq_rmsnorm_fused f = {
        .rope = {.n_rot = c->p.n_rot, .n_heads = n_heads, .pos0 = c->pos0, .neox = c->arch->rope_neox,
                 .inv_freq = {c->ginv_freq, swa ? (uint64_t)c->p.n_rot / 2 * sizeof(float) : 0}}};
    hazard(c, B(x), B(x));
    return vkq_rmsnorm_fused_record(c->dev, c->cmd, act(c, x), weight(c, w), act(c, x), c->p.head_dim_k,
                                    n * n_heads, c->p.rms_eps, &f);
}

static vkq_status g_glu(vkq_ctx c, vkq_act gate, vkq_act up, uint64_t count)
{
    hazard(c, B(gate) | B(up), B(gate));
    return vkq_glu_record(c->dev, c->cmd, c->arch->glu, act(c, gate), act(c, up), act(c, gate), count);
}

static vkq_status g_kv_store(vkq_ctx c, uint32_t il, uint32_t n)
{
    vkq_buffer kv = c->kv_gpu[il];
    hazard(c, B(ACT_K), GPU_KV_BIT);
    vkq_status st = vkq_kv_store_record(c->dev, c->cmd, c->desc.k_type, act(c, ACT_K), n, c->width[ACT_K],
                                        (vkq_bufref){kv, (uint64_t)c->pos0 * c->k_row_bytes}, c->k_row_bytes);
    if (st != VKQ_SUCCESS) return st;
    /* V's rows are another range of the same buffer; the barrier between is one a layer. */
    hazard(c, B(ACT_V), GPU_KV_BIT);
    return vkq_kv_store_record(c->dev, c->cmd, c->desc.v_type, act(c, ACT_V), n, c->width[ACT_V],
                               (vkq_bufref){kv, c->v_offset + (uint64_t)c->pos0 * c->v_row_bytes}, c->v_row_bytes);
}

static vkq_status g_attention(vkq_ctx c, uint32_t il, uint32_t n, int swa)
{
    const vkq_llm_params *p = &c->p;
    vkq_attn_gpu_desc d = {.n_tokens = n,
                           .pos0 = c->pos0,
                           .n_head = p->n_head,
                           .n_head_kv = p->n_head_kv,
                           .head_dim_k = p->head_dim_k,
                           .head_dim_v = p->head_dim_v,
                           .q = act(c, ACT_Q),
                           .kv = c->kv_gpu[il],
                           .k_offset = 0,
                           .k_row_bytes = c->k_row_bytes,
                           .v_offset = c->v_offset,
                           .v_row_bytes = c->v_row_bytes,
                           .kv_type = c->desc.k_type,
                           .scale = p->attn_scale,
                           .softcap = 0.0f,
                           .window = swa ? p->sliding_window : 0,
                           .out = act(c, ACT_ATT)};
    hazard(c, B(ACT_Q) | GPU_KV_BIT, B(ACT_ATT));
    return vkq_attention_record(c->dev, c->cmd, &d);
}

/* One projection of every (token, slot) pair's expert: x per token (gate, up) or per pair
 * (down), y per pair. */
static vkq_status g_experts(vkq_ctx c, int64_t w, vkq_act x, vkq_act y, uint32_t n, int x_per_pair)
{
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(c->g, w, &t);
    const vkq_matmul_id_desc d = {.type = t.type,
                                  .m = (uint32_t)t.ne[1],
                                  .k = (uint32_t)t.ne[0],
                                  .n_expert = (uint32_t)t.ne[2],
                                  .w = weight(c, w),
                                  .n_tokens = n,
                                  .n_used = c->p.n_expert_used,
                                  .ids = act(c, ACT_MOE_IDS),
                                  .x = act(c, x),
                                  .x_per_pair = x_per_pair,
                                  .y = act(c, y)};
    hazard(c, B(x) | B(ACT_MOE_IDS), B(y));
    vkq_status st = vkq_matmul_id_record(c->dev, c->cmd, &d);
    if (st != VKQ_SUCCESS) return vkq_fail(st, "%s on the gpu: %s", t.name, vkq_last_error());
    return st;
}

/* Routed experts: the router's logits, ids and weights; gate and up of every (token, slot)
 * pair's expert, one dispatch each; the GLU; down per pair; the weighted sum into ACT_A. The
 * same values as c_moe but for the fp32 rounding (the CPU sums the pairs in expert order, here
 * in slot order). */
static vkq_status g_moe(vkq_ctx c, uint32_t il, uint32_t n)
{
    const vkq_llm_params *p = &c->p;
    const int64_t *t = c->w.layers[il].t;
    const uint32_t K = p->n_expert_used;
    vkq_status st = g_matmul(c, t[VKQ_SLOT_FFN_GATE_INP], ACT_H, ACT_R, n);
    if (st != VKQ_SUCCESS) return st;
    hazard(c, B(ACT_R), B(ACT_MOE_IDS) | B(ACT_MOE_W));
    st = vkq_topk_router_record(c->dev, c->cmd, act(c, ACT_R), n, p->n_expert, K, c->arch->moe_norm_topk,
                                act(c, ACT_MOE_IDS), act(c, ACT_MOE_W));
    if (st != VKQ_SUCCESS) return st;
    if ((st = g_experts(c, t[VKQ_SLOT_FFN_GATE_EXPS], ACT_H, ACT_MOE_G, n, 0)) != VKQ_SUCCESS) return st;
    if ((st = g_experts(c, t[VKQ_SLOT_FFN_UP_EXPS], ACT_H, ACT_MOE_U, n, 0)) != VKQ_SUCCESS) return st;
    if ((st = g_glu(c, ACT_MOE_G, ACT_MOE_U, (uint64_t)n * K * p->n_ff_expert)) != VKQ_SUCCESS) return st;
    if ((st = g_experts(c, t[VKQ_SLOT_FFN_DOWN_EXPS], ACT_MOE_G, ACT_MOE_Y, n, 1)) != VKQ_SUCCESS) return st;
    hazard(c, B(ACT_MOE_W) | B(ACT_MOE_Y), B(ACT_A));
    return vkq_moe_combine_record(c->dev, c->cmd, act(c, ACT_MOE_W), act(c, ACT_MOE_Y), act(c, ACT_A), p->n_embd, n,
                                  K);
}

const vkq_exec vkq_exec_gpu = {
    .matmul = g_matmul,
    .rmsnorm = g_rmsnorm,
    .add_bias = g_add_bias,
    .add = g_add,
    .rope = g_rope,
    .glu = g_glu,
    .kv_store = g_kv_store,
    .attention = g_attention,
    .moe = g_moe,
    .residual = g_residual,
    .norm_rope = g_norm_rope,
};
