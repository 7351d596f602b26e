/* Model: maps a GGUF file, plans the placement, uploads the GPU tensors and demotes to the CPU
 * whatever cannot be allocated. Uploads are queued back to back on the device's staging ring
 * (the CPU reads tensor i+1 from the mapping while the GPU copies tensor i) with one wait at
 * the end; a demoted tensor's buffer waits for its own copies when it is destroyed.
 * Allocation order is the plan's priority order: the GPU run's layers from the last one
 * backwards, then the rest, so a failure cuts the run from below and it stays contiguous (the
 * last layers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "model/model_internal.h"
#include "model/placement.h"

vkq_model_desc vkq_model_desc_default(void)
{
    vkq_model_desc d;
    memset(&d, 0, sizeof d);
    d.n_gpu_layers = VKQ_GPU_LAYERS_AUTO;
    return d;
}

/* State of one load: the GPU bytes held so far and the allocation counter of the test hook. */
typedef struct loader {
    vkq_model m;
    uint64_t gpu_used;
    uint32_t n_allocs;
    uint32_t fail_at;
    char why[VKQ_MODEL_ERRMSG];
} loader;

/* Allocates and fills tensor i's buffer. Out of device or host memory (with ld->why) means
 * "demote": the tensor can always stay in the mapping. Anything else fails the load. */
static vkq_status place_tensor(loader *ld, int64_t i)
{
    vkq_model m = ld->m;
    vkq_place place = vkq_plan_tensor_place(m->plan, (uint32_t)i);
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(m->gguf, i, &t);
    /* gpu_used never exceeds the budget (a tensor is only counted once it fit); the planned GPU
     * layers' reserve (their KV cache) is held back from the start. */
    vkq_plan_totals pt;
    vkq_plan_get_totals(m->plan, &pt);
    const uint64_t budget = m->budget.budget > pt.reserve_bytes ? m->budget.budget - pt.reserve_bytes : 0;
    if (place == VKQ_PLACE_GPU && (ld->gpu_used > budget || t.nbytes > budget - ld->gpu_used)) {
        char b1[32], b2[32], b3[32];
        snprintf(ld->why, sizeof ld->why, "over the VRAM budget (%s used of %s, %s of it reserved for the KV cache)",
                 vkq_format_bytes(ld->gpu_used, b1, sizeof b1),
                 vkq_format_bytes(m->budget.budget, b2, sizeof b2),
                 vkq_format_bytes(pt.reserve_bytes, b3, sizeof b3));
        return vkq_fail_status(VKQ_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    ++ld->n_allocs;
    if (ld->fail_at && ld->n_allocs >= ld->fail_at) {
        snprintf(ld->why, sizeof ld->why, "injected allocation failure (allocation %u, fail_alloc_at %u)",
                 ld->n_allocs, ld->fail_at);
        return vkq_fail_status(VKQ_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    uint64_t row_bytes = t.nbytes;
    vkq_type_bytes(t.type, (uint64_t)t.ne[0], &row_bytes); /* the reader checked the shape */
    vkq_buffer buf;
    vkq_status st = vkq_buffer_create(m->dev, t.nbytes,
                                      place == VKQ_PLACE_GPU ? VKQ_MEMORY_DEVICE : VKQ_MEMORY_HOST_VISIBLE,
                                      row_bytes, &buf);
    if (st == VKQ_ERROR_OUT_OF_DEVICE_MEMORY || st == VKQ_ERROR_OUT_OF_HOST_MEMORY) {
        snprintf(ld->why, sizeof ld->why, "%s (%s)",
                 st == VKQ_ERROR_OUT_OF_DEVICE_MEMORY ? "out of device memory" : "out of host memory",
                 vkq_last_error());
        return st;
    }
    if (st != VKQ_SUCCESS) {
        snprintf(ld->why, sizeof ld->why, "allocating %s: %s (%s)", t.name, vkq_status_string(st),
                 vkq_last_error());
        return st;
    }
    st = vkq_buffer_upload_async(buf, 0, t.data, t.nbytes);
    if (st != VKQ_SUCCESS) {
        snprintf(ld->why, sizeof ld->why, "uploading %s: %s (%s)", t.name, vkq_status_string(st),
                 vkq_last_error());
        vkq_buffer_destroy(buf);
        /* An upload that runs out of memory (driver-internal allocations) is also a demotion. */
        return st;
    }
    m->buffers[i] = buf;
    if (place == VKQ_PLACE_GPU) ld->gpu_used += t.nbytes;
    return VKQ_SUCCESS;
}

static void release_tensor(loader *ld, int64_t i)
{
    vkq_model m = ld->m;
    if (!m->buffers[i]) return;
    if (vkq_plan_tensor_place(m->plan, (uint32_t)i) == VKQ_PLACE_GPU)
        ld->gpu_used -= vkq_buffer_size(m->buffers[i]);
    vkq_buffer_destroy(m->buffers[i]);
    m->buffers[i] = NULL;
}

static vkq_status record_demotion(loader *ld, int64_t i, int32_t layer, uint32_t n_layers, uint64_t bytes,
                                  vkq_status reason)
{
    vkq_model m = ld->m;
    vkq_model_record *d = realloc(m->demotions, (m->n_demotions + 1) * sizeof *d);
    if (!d) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    m->demotions = d;
    vkq_model_record *r = &d[m->n_demotions];
    memset(r, 0, sizeof *r);
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(m->gguf, i, &t);
    char msg[VKQ_MODEL_ERRMSG + 256], b[32];
    if (n_layers > 0)
        snprintf(msg, sizeof msg,
                 "%s: %s; layer %d and the GPU layers before it (%u layers, %s) moved to the cpu", t.name,
                 ld->why, (int)layer, n_layers, vkq_format_bytes(bytes, b, sizeof b));
    else
        snprintf(msg, sizeof msg, "%s: %s; tensor (%s) moved to the cpu", t.name, ld->why,
                 vkq_format_bytes(bytes, b, sizeof b));
    r->tensor = strdup(t.name);
    r->message = strdup(msg);
    if (!r->tensor || !r->message) {
        free(r->tensor);
        free(r->message);
        return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    }
    r->info = (vkq_model_demotion){.tensor = r->tensor,
                                   .layer = layer,
                                   .n_layers = n_layers,
                                   .bytes = bytes,
                                   .reason = reason,
                                   .message = r->message};
    m->n_demotions++;
    if (m->desc.log) m->desc.log(m->desc.log_user, msg);
    return VKQ_SUCCESS;
}

static int demotable(vkq_status st)
{
    return st == VKQ_ERROR_OUT_OF_DEVICE_MEMORY || st == VKQ_ERROR_OUT_OF_HOST_MEMORY;
}

/* Pass 1: the GPU run, last layer first; pass 2: every other tensor off the CPU. */
static vkq_status upload_all(loader *ld)
{
    vkq_model m = ld->m;
    vkq_plan plan = m->plan;
    vkq_plan_totals tot;
    vkq_plan_get_totals(plan, &tot);
    for (int32_t l = (int32_t)tot.n_layers - 1; l >= 0; --l) {
        vkq_plan_layer L;
        vkq_plan_layer_info(plan, (uint32_t)l, &L);
        if (!L.on_gpu) continue;
        for (int64_t i = 0; i < m->n_tensors; ++i) {
            if (vkq_plan_tensor_layer(plan, (uint32_t)i) != l ||
                vkq_plan_tensor_rule(plan, (uint32_t)i) >= 0 ||
                vkq_plan_tensor_place(plan, (uint32_t)i) == VKQ_PLACE_CPU)
                continue;
            vkq_status st = place_tensor(ld, i);
            if (st == VKQ_SUCCESS) continue;
            if (!demotable(st)) return vkq_fail(st, "%s", ld->why);
            const vkq_status reason = st;
            for (int64_t j = 0; j < m->n_tensors; ++j) {
                int32_t lj = vkq_plan_tensor_layer(plan, (uint32_t)j);
                if (lj >= 0 && lj <= l && vkq_plan_tensor_rule(plan, (uint32_t)j) < 0) release_tensor(ld, j);
            }
            uint32_t n_layers = 0;
            uint64_t moved = vkq_plan_demote_layers_upto(m->plan, l, &n_layers);
            st = record_demotion(ld, i, l, n_layers, moved, reason);
            if (st != VKQ_SUCCESS) return vkq_fail(st, "out of host memory");
            break;
        }
    }
    for (int64_t i = 0; i < m->n_tensors; ++i) {
        if (m->buffers[i] || vkq_plan_tensor_place(plan, (uint32_t)i) == VKQ_PLACE_CPU) continue;
        vkq_status st = place_tensor(ld, i);
        if (st == VKQ_SUCCESS) continue;
        if (!demotable(st)) return vkq_fail(st, "%s", ld->why);
        const vkq_status reason = st;
        uint64_t moved = vkq_plan_demote_tensor(m->plan, (uint32_t)i);
        st = record_demotion(ld, i, vkq_plan_tensor_layer(m->plan, (uint32_t)i), 0, moved, reason);
        if (st != VKQ_SUCCESS) return vkq_fail(st, "out of host memory");
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_model_create(vkq_device dev, const char *path, const vkq_model_desc *desc, vkq_model *out)
{
    vkq_error_clear(); /* so the end can tell whether a step left a message */
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL output");
    *out = NULL;
    if (!path) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL path");
    vkq_model m = calloc(1, sizeof *m);
    if (!m) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "pthread_mutex_init failed");
    }
    m->dev = dev;
    m->desc = desc ? *desc : vkq_model_desc_default();
    vkq_plan_tensor *pt = NULL;
    vkq_status st = vkq_gguf_create(path, &m->gguf);
    if (st != VKQ_SUCCESS) goto fail;
    st = vkq_vram_budget_get(dev, m->desc.vram_budget, m->desc.vram_reserve, &m->budget);
    if (st != VKQ_SUCCESS) goto fail;
    if (!dev) m->budget.budget = 0;

    m->n_tensors = vkq_gguf_tensor_count(m->gguf);
    pt = calloc(m->n_tensors ? (size_t)m->n_tensors : 1, sizeof *pt);
    m->buffers = calloc(m->n_tensors ? (size_t)m->n_tensors : 1, sizeof *m->buffers);
    st = VKQ_ERROR_OUT_OF_HOST_MEMORY;
    if (!pt || !m->buffers) goto fail;
    if (m->n_tensors > UINT32_MAX) {
        st = vkq_fail(VKQ_ERROR_TOO_LARGE, "%lld tensors", (long long)m->n_tensors);
        goto fail;
    }
    for (int64_t i = 0; i < m->n_tensors; ++i) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(m->gguf, i, &t);
        pt[i] = (vkq_plan_tensor){.name = t.name, .type = t.type, .n_dims = t.n_dims, .nbytes = t.nbytes};
        memcpy(pt[i].ne, t.ne, sizeof pt[i].ne);
    }
    vkq_plan_options po = {.budget = m->budget.budget,
                           .n_gpu_layers = m->desc.n_gpu_layers,
                           .overrides = m->desc.overrides,
                           .n_overrides = m->desc.n_overrides,
                           .cpu_only = dev == NULL,
                           .layer_reserve = m->desc.layer_reserve};
    st = vkq_plan_create(pt, (uint32_t)m->n_tensors, &po, &m->plan);
    if (st != VKQ_SUCCESS) goto fail;
    m->desc.overrides = NULL; /* the caller's strings may go away; the plan has copies */
    m->desc.n_overrides = 0;

    if (dev) {
        loader ld = {.m = m, .fail_at = m->desc.debug ? m->desc.debug->fail_alloc_at : 0};
        m->desc.debug = NULL; /* the caller's; not needed after the load */
        if (!ld.fail_at) {
            vkq_env_value env;
            st = vkq_env_get(VKQ_ENV_MODEL_FAIL_ALLOC, &env);
            if (st != VKQ_SUCCESS) goto fail;
            ld.fail_at = (uint32_t)env.num;
        }
        st = upload_all(&ld);
        if (st != VKQ_SUCCESS) goto fail;
        st = vkq_device_wait_uploads(dev);
        if (st != VKQ_SUCCESS) {
            vkq_fail(st, "uploading the GPU tensors: %s", vkq_last_error());
            goto fail;
        }
    }
    for (int64_t i = 0; i < m->n_tensors; ++i) {
        if (m->buffers[i]) continue;
        st = vkq_cpu_pool_create(m->desc.cpu_threads, &m->cpu_pool);
        if (st != VKQ_SUCCESS) {
            vkq_fail(st, "cannot start the CPU threads (cpu_threads %u): %s", m->desc.cpu_threads,
                     vkq_last_error());
            goto fail;
        }
        break;
    }
    free(pt);
    *out = m;
    return VKQ_SUCCESS;
fail:
    if (st == VKQ_ERROR_OUT_OF_HOST_MEMORY && !vkq_last_error()[0]) vkq_fail(st, "out of host memory");
    free(pt);
    vkq_model_destroy(m);
    return st;
}

void vkq_model_destroy(vkq_model m)
{
    if (!m) return;
    vkq_cpu_pool_destroy(m->cpu_pool);
    for (int64_t i = 0; m->buffers && i < m->n_tensors; ++i)
        vkq_buffer_destroy(m->buffers[i]);
    free(m->buffers);
    vkq_buffer_destroy(m->x_scratch);
    vkq_buffer_destroy(m->y_scratch);
    for (uint32_t d = 0; d < m->n_demotions; ++d) {
        free(m->demotions[d].tensor);
        free(m->demotions[d].message);
    }
    free(m->demotions);
    vkq_plan_destroy(m->plan);
    vkq_gguf_destroy(m->gguf);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

vkq_gguf vkq_model_gguf(vkq_model m)
{
    return m ? m->gguf : NULL;
}

vkq_plan vkq_model_plan(vkq_model m)
{
    return m ? m->plan : NULL;
}

vkq_vram_budget vkq_model_budget(vkq_model m)
{
    vkq_vram_budget b;
    memset(&b, 0, sizeof b);
    return m ? m->budget : b;
}

int64_t vkq_model_tensor_count(vkq_model m)
{
    return m ? m->n_tensors : 0;
}

vkq_status vkq_model_tensor_info(vkq_model m, int64_t i, vkq_model_tensor *out)
{
    if (!m || !out || i < 0 || i >= m->n_tensors) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(m->gguf, i, &t);
    *out = (vkq_model_tensor){.name = t.name,
                              .type = t.type,
                              .n_dims = t.n_dims,
                              .nbytes = t.nbytes,
                              .place = vkq_plan_tensor_place(m->plan, (uint32_t)i),
                              .layer = vkq_plan_tensor_layer(m->plan, (uint32_t)i)};
    memcpy(out->ne, t.ne, sizeof out->ne);
    return VKQ_SUCCESS;
}

int64_t vkq_model_find_tensor(vkq_model m, const char *name)
{
    return m && name ? vkq_gguf_find_tensor(m->gguf, name) : -1;
}

uint32_t vkq_model_demotion_count(vkq_model m)
{
    return m ? m->n_demotions : 0;
}

vkq_status vkq_model_demotion_info(vkq_model m, uint32_t i, vkq_model_demotion *out)
{
    if (!m || !out || i >= m->n_demotions) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    *out = m->demotions[i].info;
    return VKQ_SUCCESS;
}
