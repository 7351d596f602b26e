/* vkq_context: creation (where each layer runs, its KV cache, the activations), and the pass
 * over the model for a batch of tokens. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cpu/cpu_pool.h"
#include "llm/context_internal.h"
#include "vulkan/device_core.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

vkq_context_desc vkq_context_desc_default(void)
{
    return (vkq_context_desc){.n_ctx = 0, .n_batch = 0, .k_type = VKQ_TYPE_F16, .v_type = VKQ_TYPE_F16};
}

const void *vkq_ctx_tensor_data(vkq_ctx c, int64_t t, vkq_gguf_tensor *info)
{
    vkq_gguf_tensor tmp;
    if (!info) info = &tmp;
    vkq_gguf_tensor_info(c->g, t, info);
    return info->data;
}

/* Every tensor of layer il is in GPU memory. */
static int layer_resident(vkq_ctx c, uint32_t il)
{
    for (int s = 0; s < VKQ_SLOT_COUNT; ++s) {
        int64_t t = c->w.layers[il].t[s];
        if (t >= 0 && !c->model->buffers[t]) return 0;
    }
    return 1;
}

/* The routed experts of layer il can run on the GPU (src/llm/exec_gpu.c g_moe): each 3-D
 * expert tensor has an indexed mat-vec kernel and lies in one binding window (the kernel
 * offsets into it by expert), and a batch's (token, slot) pairs fit the grid's z. */
static int experts_gpu_ok(vkq_ctx c, uint32_t il)
{
    static const int slots[] = {VKQ_SLOT_FFN_GATE_EXPS, VKQ_SLOT_FFN_UP_EXPS, VKQ_SLOT_FFN_DOWN_EXPS};
    if ((uint64_t)c->desc.n_batch * c->p.n_expert_used > c->dev->info.max_workgroup_count[2]) return 0;
    for (size_t i = 0; i < sizeof slots / sizeof *slots; ++i) {
        const int64_t t = c->w.layers[il].t[slots[i]];
        vkq_gguf_tensor info;
        vkq_gguf_tensor_info(c->g, t, &info);
        if (!vkq_kernel_exists(VKQ_KERNEL_MUL_MAT_VEC_ID, info.type)) return 0;
        if (vkq_window_at(c->dev, c->model->buffers[t], 0).available < info.nbytes) return 0;
    }
    return 1;
}

/* Rope tables in double: inv_freq[i] = scale * base^(-2i/n_rot) / factor_i. */
static void rope_table(float *out, uint32_t n_rot, double base, double scale, const float *factors)
{
    for (uint32_t i = 0; i < n_rot / 2; ++i) {
        double f = scale * pow(base, -2.0 * i / n_rot);
        if (factors) f /= factors[i];
        out[i] = (float)f;
    }
}

void vkq_context_destroy(vkq_context c)
{
    if (!c) return;
    for (int a = 0; a < ACT_COUNT; ++a) free(c->act[a]);
    free(c->inv_freq[0]);
    if (c->kv_cpu)
        for (uint32_t il = 0; il < c->p.n_layer; ++il) free(c->kv_cpu[il]);
    free(c->kv_cpu);
    if (c->kv_gpu)
        for (uint32_t il = 0; il < c->p.n_layer; ++il) vkq_buffer_destroy(c->kv_gpu[il]);
    free(c->kv_gpu);
    for (int a = 0; a < ACT_COUNT; ++a) /* the MoE group's buffer once */
        if (a != ACT_MOE_G && a != ACT_MOE_IDS) vkq_buffer_destroy(c->gact[a]);
    vkq_buffer_destroy(c->glogits);
    vkq_buffer_destroy(c->ginv_freq);
    free(c->moe_scratch);
    free(c->moe_ids);
    free(c->moe_weights);
    if (c->own_pool) vkq_cpu_pool_destroy(c->own_pool);
    free(c->layer_gpu);
    free(c->w.layers);
    free(c);
}

static vkq_status check_kv_type(vkq_ctx c, vkq_type t, const char *which)
{
    const vkq_type_info *ti = vkq_type_get(t);
    if (!ti || !vkq_kv_type_supported(t))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s cache type %s is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, "
                        "Q5_0, Q5_1, IQ4_NL)", which, ti ? ti->name : "?");
    uint32_t hd = which[0] == 'K' ? c->p.head_dim_k : c->p.head_dim_v;
    if (hd % ti->block_elems)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s cache type %s: head size %u is not a multiple of its %u-element "
                        "block", which, ti->name, hd, ti->block_elems);
    return VKQ_SUCCESS;
}

static vkq_status alloc_cpu(vkq_ctx c)
{
    const uint32_t nb = c->desc.n_batch;
    for (int a = 0; a < ACT_GPU_ONLY; ++a) {
        if (!c->width[a]) continue;
        c->act[a] = malloc((size_t)nb * c->width[a] * sizeof(float));
        if (!c->act[a]) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (activations)");
    }
    c->inv_freq[0] = malloc(c->p.n_rot * sizeof(float));
    if (!c->inv_freq[0]) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    c->inv_freq[1] = c->inv_freq[0] + c->p.n_rot / 2;
    const float *factors = c->w.rope_freqs >= 0 ? vkq_ctx_tensor_data(c, c->w.rope_freqs, NULL) : NULL;
    rope_table(c->inv_freq[0], c->p.n_rot, c->p.rope_base, c->p.rope_scale, factors);
    /* Sliding layers: their own base, no scaling (Gemma 3 scales only the global layers). */
    if (c->p.swa_pattern) rope_table(c->inv_freq[1], c->p.n_rot, c->p.rope_base_swa, 1.0, NULL);
    else memcpy(c->inv_freq[1], c->inv_freq[0], c->p.n_rot / 2 * sizeof(float));
    c->kv_cpu = calloc(c->p.n_layer, sizeof *c->kv_cpu);
    if (!c->kv_cpu) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    const uint64_t layer_bytes = c->v_offset + (uint64_t)c->desc.n_ctx * c->v_row_bytes;
    for (uint32_t il = 0; il < c->p.n_layer; ++il) {
        if (c->layer_gpu[il]) continue;
        /* Untouched pages cost nothing until the context fills them. */
        c->kv_cpu[il] = malloc(layer_bytes);
        if (!c->kv_cpu[il])
            return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "the KV cache of layer %u (%llu bytes, %u positions) does "
                            "not fit in host memory", il, (unsigned long long)layer_bytes, c->desc.n_ctx);
        c->kv_cpu_bytes += layer_bytes;
    }
    if (c->arch->moe) {
        const size_t n = nb, E = c->p.n_embd, F = c->p.n_ff_expert, K = c->p.n_expert_used;
        c->moe_scratch = malloc((n * E * 2 + n * F * 2 + n * 2) * sizeof(float));
        c->moe_ids = malloc(n * K * sizeof(int32_t));
        c->moe_weights = malloc(n * K * sizeof(float));
        if (!c->moe_scratch || !c->moe_ids || !c->moe_weights)
            return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (expert scratch)");
    }
    return VKQ_SUCCESS;
}

static vkq_status alloc_gpu(vkq_ctx c)
{
    vkq_status st;
    /* The expert matmul reads the expert ids through X's binding (src/vulkan/ops.c), so the
     * ids share one buffer with both its X's, H (gate, up) and MOE_G (down): [MOE_G | H | IDS],
     * MOE_G first so that the window of gate and up (from H on) leaves out what they write. */
    uint64_t group = 0;
    for (int a = 0; a < ACT_COUNT; ++a) c->gact_off[a] = 0;
    if (c->width[ACT_MOE_IDS]) {
        const uint64_t n = c->desc.n_batch;
        c->gact_off[ACT_H] = ALIGN_UP(n * c->width[ACT_MOE_G] * sizeof(float), 256);
        c->gact_off[ACT_MOE_IDS] = c->gact_off[ACT_H] + ALIGN_UP(n * c->width[ACT_H] * sizeof(float), 256);
        group = c->gact_off[ACT_MOE_IDS] + n * c->width[ACT_MOE_IDS] * sizeof(float);
    }
    for (int a = 0; a < ACT_COUNT; ++a) {
        uint64_t bytes = (uint64_t)c->desc.n_batch * c->width[a] * sizeof(float);
        if (a == ACT_MOE_G || a == ACT_MOE_IDS) continue; /* in H's */
        if (a == ACT_H && group) bytes = group;
        if (!bytes) continue;
        if ((st = vkq_buffer_create(c->dev, bytes, VKQ_MEMORY_DEVICE, bytes, &c->gact[a])) != VKQ_SUCCESS)
            return vkq_fail(st, "activations of %u tokens (%llu bytes) do not fit on the GPU: %s", c->desc.n_batch,
                            (unsigned long long)bytes, vkq_last_error());
    }
    c->gact[ACT_MOE_G] = c->gact[ACT_MOE_IDS] = group ? c->gact[ACT_H] : NULL;
    const uint64_t tb = (uint64_t)c->p.n_rot * sizeof(float);
    if ((st = vkq_buffer_create(c->dev, tb, VKQ_MEMORY_DEVICE, tb, &c->ginv_freq)) != VKQ_SUCCESS) return st;
    if ((st = vkq_buffer_upload(c->ginv_freq, 0, c->inv_freq[0], tb)) != VKQ_SUCCESS) return st;
    c->kv_gpu = calloc(c->p.n_layer, sizeof *c->kv_gpu);
    if (!c->kv_gpu) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    const uint64_t layer_bytes = c->v_offset + (uint64_t)c->desc.n_ctx * c->v_row_bytes;
    for (uint32_t il = 0; il < c->p.n_layer; ++il) {
        if (!c->layer_gpu[il]) continue;
        st = vkq_buffer_create(c->dev, layer_bytes, VKQ_MEMORY_DEVICE, layer_bytes, &c->kv_gpu[il]);
        if (st != VKQ_SUCCESS)
            return vkq_fail(st, "the KV cache of layer %u (%llu bytes for %u positions) does not fit on the GPU: %s; "
                            "use a smaller context or fewer GPU layers", il, (unsigned long long)layer_bytes,
                            c->desc.n_ctx, vkq_last_error());
        c->kv_gpu_bytes += layer_bytes;
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_context_create(vkq_model model, const vkq_context_desc *desc_in, vkq_context *out)
{
    if (!model || !out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    *out = NULL;
    vkq_ctx c = calloc(1, sizeof *c);
    if (!c) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    c->model = model;
    c->g = vkq_model_gguf(model);
    c->desc = desc_in ? *desc_in : vkq_context_desc_default();
    vkq_status st = vkq_llm_params_read(c->g, &c->p);
    if (st != VKQ_SUCCESS) goto fail;
    c->arch = vkq_arch_find(c->p.arch);
    if ((st = vkq_model_tensors_find(c->g, c->arch, &c->p, &c->w)) != VKQ_SUCCESS) goto fail;
    if (!c->desc.n_ctx) c->desc.n_ctx = c->p.n_ctx_train < 4096 ? c->p.n_ctx_train : 4096;
    if (!c->desc.n_batch) c->desc.n_batch = 512;
    if (c->desc.n_batch > c->desc.n_ctx) c->desc.n_batch = c->desc.n_ctx;
    if (c->desc.n_ctx > (1u << 24)) {
        st = vkq_fail(VKQ_ERROR_TOO_LARGE, "a context of %u positions is too large", c->desc.n_ctx);
        goto fail;
    }
    if ((st = check_kv_type(c, c->desc.k_type, "K")) != VKQ_SUCCESS) goto fail;
    if ((st = check_kv_type(c, c->desc.v_type, "V")) != VKQ_SUCCESS) goto fail;
    vkq_type_bytes(c->desc.k_type, (uint64_t)c->p.n_head_kv * c->p.head_dim_k, &c->k_row_bytes);
    vkq_type_bytes(c->desc.v_type, (uint64_t)c->p.n_head_kv * c->p.head_dim_v, &c->v_row_bytes);
    c->v_offset = ALIGN_UP((uint64_t)c->desc.n_ctx * c->k_row_bytes, 256);

    const vkq_llm_params *p = &c->p;
    c->width[ACT_X] = c->width[ACT_H] = c->width[ACT_A] = p->n_embd;
    c->width[ACT_Q] = p->n_head * p->head_dim_k;
    c->width[ACT_K] = p->n_head_kv * p->head_dim_k;
    c->width[ACT_V] = p->n_head_kv * p->head_dim_v;
    c->width[ACT_ATT] = p->n_head * p->head_dim_v;
    c->width[ACT_G] = c->width[ACT_U] = c->arch->moe ? 0 : p->n_ff;
    c->width[ACT_R] = p->n_expert;
    if (c->arch->moe) {
        const uint32_t K = p->n_expert_used;
        c->width[ACT_MOE_IDS] = c->width[ACT_MOE_W] = K;
        c->width[ACT_MOE_G] = c->width[ACT_MOE_U] = K * p->n_ff_expert;
        c->width[ACT_MOE_Y] = K * p->n_embd;
    }

    c->dev = model->dev;
    c->layer_gpu = calloc(p->n_layer, 1);
    if (!c->layer_gpu) {
        st = vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        goto fail;
    }
    /* A layer runs on the GPU when all its tensors are there (and its experts can:
     * experts_gpu_ok); the GPU attention reads K and V
     * through one decode function, so both must have one type there. */
    for (uint32_t il = 0; c->dev && il < p->n_layer; ++il) {
        c->layer_gpu[il] = layer_resident(c, il) && (!c->arch->moe || experts_gpu_ok(c, il)) &&
                           c->desc.k_type == c->desc.v_type;
        c->n_gpu_layers += c->layer_gpu[il];
    }
    c->head_gpu = c->dev && c->n_gpu_layers && model->buffers[c->w.output] && model->buffers[c->w.output_norm];
    if (c->desc.observer && (c->n_gpu_layers || c->head_gpu)) {
        st = vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                      "a matmul observer sees host activations only, and %u of %u layers run on the GPU: load "
                      "the model with n_gpu_layers 0",
                      c->n_gpu_layers, p->n_layer);
        goto fail;
    }
    if ((st = alloc_cpu(c)) != VKQ_SUCCESS) goto fail;
    if ((c->n_gpu_layers || c->head_gpu) && (st = alloc_gpu(c)) != VKQ_SUCCESS) goto fail;
    c->pool = model->cpu_pool;
    if (!c->pool) {
        if ((st = vkq_cpu_pool_create(model->desc.cpu_threads, &c->own_pool)) != VKQ_SUCCESS) goto fail;
        c->pool = c->own_pool;
    }
    *out = c;
    return VKQ_SUCCESS;
fail:
    vkq_context_destroy(c);
    return st;
}

const vkq_llm_params *vkq_context_params(vkq_context c)
{
    return c ? &c->p : NULL;
}

uint32_t vkq_context_n_ctx(vkq_context c)
{
    return c ? c->desc.n_ctx : 0;
}

uint32_t vkq_context_pos(vkq_context c)
{
    return c ? c->pos : 0;
}

void vkq_context_reset(vkq_context c)
{
    if (c) c->pos = 0;
}

void vkq_context_get_info(vkq_context c, vkq_context_info *out)
{
    if (!c || !out) return;
    *out = (vkq_context_info){.n_layer = c->p.n_layer,
                              .n_gpu_layers = c->n_gpu_layers,
                              .kv_gpu_bytes = c->kv_gpu_bytes,
                              .kv_cpu_bytes = c->kv_cpu_bytes,
                              .head_on_gpu = c->head_gpu};
}

/* Token rows of token_embd, decoded, into ACT_X; Gemma scales them by sqrt(n_embd). */
static vkq_status embed(vkq_ctx c, const int32_t *tokens, uint32_t n)
{
    vkq_gguf_tensor t;
    const uint8_t *data = vkq_ctx_tensor_data(c, c->w.token_embd, &t);
    const uint64_t row = t.nbytes / (uint64_t)t.ne[1];
    const uint32_t E = c->p.n_embd;
    for (uint32_t i = 0; i < n; ++i) {
        vkq_status st = vkq_decode_cpu(t.type, data + (uint64_t)tokens[i] * row, row, c->act[ACT_X] + (size_t)i * E, E);
        if (st != VKQ_SUCCESS) return st;
    }
    if (c->arch->embd_scale_sqrt) return vkq_cpu_scale(c->pool, c->act[ACT_X], sqrtf((float)E), (uint64_t)n * E);
    return VKQ_SUCCESS;
}

/* The final norm and the head on the CPU for rows from .. n - 1. */
static vkq_status head_cpu(vkq_ctx c, uint32_t n, uint32_t from, float *logits)
{
    const uint32_t E = c->p.n_embd, rows = n - from;
    vkq_status st = vkq_cpu_rmsnorm(c->pool, c->act[ACT_X] + (size_t)from * E,
                                    vkq_ctx_tensor_data(c, c->w.output_norm, NULL), c->act[ACT_H], E, rows, c->p.rms_eps);
    if (st != VKQ_SUCCESS) return st;
    vkq_gguf_tensor t;
    const void *w = vkq_ctx_tensor_data(c, c->w.output, &t);
    vkq_cpu_matmul_desc d = {.type = t.type, .m = (uint64_t)t.ne[1], .k = (uint64_t)t.ne[0], .n = rows, .w = w,
                             .x = c->act[ACT_H], .y = logits, .flags = c->model->desc.cpu_flags, .pool = c->pool};
    if (c->desc.observer) c->desc.observer(c->desc.observer_user, t.name, -1, c->act[ACT_H], rows, (uint64_t)t.ne[0]);
    st = vkq_cpu_matmul(&d);
    return st == VKQ_SUCCESS ? st : vkq_fail(st, "output head on the cpu: %s", vkq_last_error());
}

static vkq_status record_head(vkq_ctx c, uint32_t n, uint32_t from)
{
    const uint32_t E = c->p.n_embd, rows = n - from;
    vkq_status st = vkq_rmsnorm_record(c->dev, c->cmd, (vkq_bufref){c->gact[ACT_X], (uint64_t)from * E * 4},
                                       (vkq_bufref){c->model->buffers[c->w.output_norm], 0},
                                       (vkq_bufref){c->gact[ACT_H], c->gact_off[ACT_H]}, E, rows, c->p.rms_eps);
    if (st != VKQ_SUCCESS) return st;
    vkq_ops_barrier_record(c->dev, c->cmd);
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(c->g, c->w.output, &t);
    const vkq_matmul_desc d = {.type = t.type, .m = (uint64_t)t.ne[1], .k = (uint64_t)t.ne[0], .n = rows,
                               .w = c->model->buffers[c->w.output], .x = c->gact[ACT_H], .x_offset = c->gact_off[ACT_H],
                               .y = c->glogits};
    st = vkq_matmul_record(c->dev, c->cmd, &d);
    if (st != VKQ_SUCCESS) return vkq_fail(st, "output head on the gpu: %s", vkq_last_error());
    vkq_ops_barrier_record(c->dev, c->cmd);
    return VKQ_SUCCESS;
}

/* Layers first .. last - 1 (all on the GPU) and, with `head`, the final norm and the head: X
 * goes up once, everything is recorded into one command buffer, and X or the logits come back. */
static vkq_status gpu_run(vkq_ctx c, uint32_t first, uint32_t last, int head, uint32_t n, uint32_t from,
                          float *logits)
{
    const uint64_t xb = (uint64_t)n * c->p.n_embd * sizeof(float);
    const uint64_t lb = head ? (uint64_t)(n - from) * c->p.n_vocab * sizeof(float) : 0;
    vkq_status st = VKQ_SUCCESS;
    if (head && (!c->glogits || vkq_buffer_size(c->glogits) < lb)) {
        vkq_buffer_destroy(c->glogits);
        c->glogits = NULL;
        st = vkq_buffer_create(c->dev, lb, VKQ_MEMORY_DEVICE, (uint64_t)c->p.n_vocab * sizeof(float), &c->glogits);
        if (st != VKQ_SUCCESS)
            return vkq_fail(st, "logits of %u tokens (%llu bytes) do not fit on the GPU: %s", n - from,
                            (unsigned long long)lb, vkq_last_error());
    }
    pthread_mutex_lock(&c->model->lock);
    st = vkq_buffer_upload(c->gact[ACT_X], 0, c->act[ACT_X], xb);
    if (st == VKQ_SUCCESS) st = vkq_device_wait_uploads(c->dev);
    if (st == VKQ_SUCCESS) st = vkq_cmd_begin(c->dev, &c->cmd);
    if (st == VKQ_SUCCESS) {
        vkq_ops_barrier_record(c->dev, c->cmd);
        c->g_read = c->g_written = 0;
        c->run_end = last;
        c->h_ready = 0;
        for (uint32_t il = first; il < last && st == VKQ_SUCCESS; ++il) st = vkq_layer_forward(c, &vkq_exec_gpu, il, n);
        vkq_exec_gpu_flush(c);
        if (st == VKQ_SUCCESS && head) st = record_head(c, n, from);
        if (st == VKQ_SUCCESS) st = vkq_cmd_submit_wait(c->dev);
        else c->dev->vk.vkEndCommandBuffer(c->cmd); /* vkq_cmd_begin resets it next time */
    }
    if (st == VKQ_SUCCESS) {
        if (head) st = vkq_buffer_download(c->glogits, 0, logits, lb);
        else st = vkq_buffer_download(c->gact[ACT_X], 0, c->act[ACT_X], xb);
    }
    pthread_mutex_unlock(&c->model->lock);
    return st;
}

static vkq_status eval_batch(vkq_ctx c, const int32_t *tokens, uint32_t n, uint32_t from, float *logits)
{
    c->pos0 = c->pos;
    vkq_status st = embed(c, tokens, n);
    const uint32_t L = c->p.n_layer;
    const int want_head = logits && from < n;
    int head_done = !want_head;
    for (uint32_t il = 0; il < L && st == VKQ_SUCCESS;) {
        if (!c->layer_gpu[il]) {
            c->run_end = il + 1; /* the CPU executor fuses nothing across blocks */
            c->h_ready = 0;
            st = vkq_layer_forward(c, &vkq_exec_cpu, il, n);
            ++il;
            continue;
        }
        uint32_t j = il;
        while (j < L && c->layer_gpu[j]) ++j;
        const int head = j == L && c->head_gpu && want_head;
        st = gpu_run(c, il, j, head, n, from, logits);
        head_done |= head;
        il = j;
    }
    if (st == VKQ_SUCCESS && !head_done) {
        if (c->head_gpu) st = gpu_run(c, L, L, 1, n, from, logits);
        else st = head_cpu(c, n, from, logits);
    }
    return st;
}

vkq_status vkq_context_eval(vkq_context c, const int32_t *tokens, uint32_t n, uint32_t logits_from, float *logits)
{
    if (!c || !tokens || n == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "no tokens to evaluate");
    if (n > c->desc.n_batch)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%u tokens in one call; the context's batch is %u", n,
                        c->desc.n_batch);
    if (logits_from > n) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "logits_from %u > %u tokens", logits_from, n);
    for (uint32_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= c->p.n_vocab)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "token %d at %u is outside the vocabulary (%u tokens)",
                            tokens[i], i, c->p.n_vocab);
    if ((uint64_t)c->pos + n > c->desc.n_ctx)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "the context is full: %u positions used, %u more do not fit in %u", c->pos,
                        n, c->desc.n_ctx);
    vkq_status st = eval_batch(c, tokens, n, logits_from, logits);
    if (st != VKQ_SUCCESS) {
        c->pos = 0;
        return st;
    }
    c->pos += n;
    return VKQ_SUCCESS;
}
