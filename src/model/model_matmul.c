/* One matmul call wherever the weight lives: GPU tensors through vkq_matmul with X and Y in
 * scratch buffers the model keeps, CPU tensors through vkq_cpu_matmul on the mapped bytes.
 *
 * Where the scratch buffers are mapped (UMA, CPU drivers, resizable BAR) X and Y move by
 * memcpy around one vkq_matmul submission. Where they are not (discrete GPUs) the copies in and
 * out of the device's staging buffer are recorded into the same command buffer as the matmul,
 * so a call costs one submission and one wait instead of three.
 *
 * Mixture-of-experts tensors (ne = [k, m, n_expert]) are not split at load: one buffer (or one
 * range of the mapping) holds every expert, and a call addresses expert e as the m x k matrix
 * at byte e * m * row_bytes, on the GPU as vkq_matmul's w_offset, on the CPU as a pointer. */
#include <stdio.h>
#include <string.h>

#include "vulkan/buffer.h"
#include "model/model_internal.h"
#include "vkquant/cpu.h"

/* Grows *buf to at least `bytes` (called with the lock held). */
static vkq_status ensure_scratch(vkq_model m, vkq_buffer *buf, uint64_t bytes)
{
    if (*buf && vkq_buffer_size(*buf) >= bytes) return VKQ_SUCCESS;
    vkq_buffer_destroy(*buf);
    *buf = NULL;
    return vkq_buffer_create(m->dev, bytes, VKQ_MEMORY_DEVICE, 0, buf);
}

static vkq_status record_matmul(vkq_device dev, VkCommandBuffer cmd, const void *desc)
{
    return vkq_matmul_record(dev, cmd, (const vkq_matmul_desc *)desc);
}

/* W is the `rows` x k matrix at byte `w_offset` of the tensor's buffer: a whole 2-D tensor, or
 * one expert's slice of a 3-D one. vkq_matmul takes any byte offset (its windows bind at
 * minStorageBufferOffsetAlignment below it and pass the rest to the kernel), and walks segment
 * and binding boundaries itself, so a slice deep inside a tensor of several GiB needs nothing
 * more here. */
static vkq_status gpu_matmul(vkq_model m, int64_t i, const vkq_gguf_tensor *t, uint64_t w_offset,
                             const char *what, const float *x, float *y, uint64_t n)
{
    const uint64_t k = (uint64_t)t->ne[0], rows = (uint64_t)t->ne[1];
    const uint64_t xb = k * n * sizeof(float), yb = rows * n * sizeof(float);
    pthread_mutex_lock(&m->lock);
    vkq_status st = ensure_scratch(m, &m->x_scratch, xb);
    if (st == VKQ_SUCCESS) st = ensure_scratch(m, &m->y_scratch, yb);
    const vkq_matmul_desc d = {.type = t->type,
                               .m = rows,
                               .k = k,
                               .n = n,
                               .w = m->buffers[i],
                               .w_offset = w_offset,
                               .x = m->x_scratch,
                               .y = m->y_scratch};
    /* One submission needs the matmul's descriptors pushed into the command buffer. */
    if (st == VKQ_SUCCESS && vkq_device_get_info(m->dev)->push_descriptor &&
        vkq_staged_run_fits(m->dev, m->x_scratch, xb, m->y_scratch, yb)) {
        st = vkq_staged_run(m->dev, m->x_scratch, x, xb, record_matmul, &d, m->y_scratch, y, yb);
    } else {
        if (st == VKQ_SUCCESS) st = vkq_buffer_upload(m->x_scratch, 0, x, xb);
        if (st == VKQ_SUCCESS) st = vkq_matmul(m->dev, &d);
        if (st == VKQ_SUCCESS) st = vkq_buffer_download(m->y_scratch, 0, y, yb);
    }
    pthread_mutex_unlock(&m->lock);
    if (st != VKQ_SUCCESS)
        return vkq_fail(st, "%s%s on the gpu: %s (%s)", t->name, what, vkq_status_string(st), vkq_last_error());
    return VKQ_SUCCESS;
}

/* The checks and the dispatch of both entry points. `experts` = 0: vkq_model_matmul, which
 * takes 2-D tensors only (multiplying a 3-D tensor as one tall matrix would silently run every
 * expert); 1: vkq_model_matmul_expert, which also takes 3-D tensors. */
static vkq_status model_matmul(vkq_model m, int64_t i, int experts, uint32_t expert, const float *x,
                               float *y, uint64_t n)
{
    if (!m) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (!x || !y || n == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL X or Y, or n == 0");
    if (i < 0 || i >= m->n_tensors)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "tensor index %lld out of range (%lld tensors)",
                         (long long)i, (long long)m->n_tensors);
    vkq_gguf_tensor t;
    vkq_gguf_tensor_info(m->gguf, i, &t);
    const int is_2d = t.n_dims >= 2 && t.ne[2] == 1 && t.ne[3] == 1;
    const int is_3d = t.n_dims >= 3 && t.ne[3] == 1; /* with ne[2] == 1 also is_2d: one expert */
    if (!is_2d && !(experts && is_3d))
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s has shape [%lld, %lld, %lld, %lld]: not a %s", t.name,
                         (long long)t.ne[0], (long long)t.ne[1], (long long)t.ne[2], (long long)t.ne[3],
                         experts ? "2-D weight or a 3-D stack of experts"
                         : is_3d ? "2-D weight (a 3-D stack of experts takes vkq_model_matmul_expert)"
                                 : "2-D weight");
    if (expert && t.n_dims < 3)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                         "%s is a 2-D weight (one matrix): expert must be 0, not %u", t.name, expert);
    if ((uint64_t)expert >= (uint64_t)t.ne[2])
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: expert %u out of range (%lld expert%s, 0..%lld)",
                         t.name, expert, (long long)t.ne[2], t.ne[2] == 1 ? "" : "s", (long long)t.ne[2] - 1);
    if (n >= (1ull << 32) || (uint64_t)t.ne[0] * n >= (1ull << 40) || (uint64_t)t.ne[1] * n >= (1ull << 40))
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s with n = %llu: X or Y too large", t.name,
                         (unsigned long long)n);
    /* Expert e is the e-th of ne[2] equal slices: ne[1] rows of ne[0] elements each. */
    const uint64_t slice = t.nbytes / (uint64_t)t.ne[2], offset = (uint64_t)expert * slice;
    char what[48] = "";
    if (t.n_dims >= 3) snprintf(what, sizeof what, " (expert %u)", expert);
    if (m->buffers[i]) return gpu_matmul(m, i, &t, offset, what, x, y, n);
    vkq_cpu_matmul_desc d = {.type = t.type,
                             .m = (uint64_t)t.ne[1],
                             .k = (uint64_t)t.ne[0],
                             .n = n,
                             .w = (const uint8_t *)t.data + offset,
                             .x = x,
                             .y = y,
                             .n_threads = m->desc.cpu_threads,
                             .flags = m->desc.cpu_flags,
                             .pool = m->cpu_pool};
    vkq_status st = vkq_cpu_matmul(&d);
    if (st != VKQ_SUCCESS)
        return vkq_fail(st, "%s%s on the cpu: %s", t.name, what, vkq_status_string(st));
    return VKQ_SUCCESS;
}

vkq_status vkq_model_matmul(vkq_model m, int64_t i, const float *x, float *y, uint64_t n)
{
    return model_matmul(m, i, 0, 0, x, y, n);
}

vkq_status vkq_model_matmul_expert(vkq_model m, int64_t i, uint32_t expert, const float *x, float *y,
                                   uint64_t n)
{
    return model_matmul(m, i, 1, expert, x, y, n);
}

static vkq_status find(vkq_model m, const char *name, int64_t *out)
{
    if (!name) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL tensor name");
    *out = vkq_gguf_find_tensor(m->gguf, name);
    if (*out < 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "no tensor named \"%s\"", name);
    return VKQ_SUCCESS;
}

vkq_status vkq_model_matmul_named(vkq_model m, const char *name, const float *x, float *y, uint64_t n)
{
    if (!m) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    int64_t i = -1;
    vkq_status st = find(m, name, &i);
    return st != VKQ_SUCCESS ? st : vkq_model_matmul(m, i, x, y, n);
}

vkq_status vkq_model_matmul_expert_named(vkq_model m, const char *name, uint32_t expert, const float *x,
                                         float *y, uint64_t n)
{
    if (!m) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    int64_t i = -1;
    vkq_status st = find(m, name, &i);
    return st != VKQ_SUCCESS ? st : vkq_model_matmul_expert(m, i, expert, x, y, n);
}
