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

#include "vulkan/internal.h"
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

/* Staging offset of Y: after X, aligned for the copy. */
static uint64_t y_staging_offset(uint64_t xb)
{
    return (xb + 255u) & ~(uint64_t)255u;
}

static int one_submission_possible(vkq_model m, uint64_t xb, uint64_t yb)
{
    const vkq_device dev = m->dev;
    const vkq_buffer x = m->x_scratch, y = m->y_scratch;
    return dev->info.push_descriptor && x->segment_count == 1 && y->segment_count == 1 &&
           !x->segments[0].map && !y->segments[0].map && y_staging_offset(xb) + yb <= dev->staging_size;
}

/* staging -> X, matmul, Y -> staging in one command buffer (called with the lock held). */
static vkq_status one_submission(vkq_model m, const vkq_matmul_desc *d, const float *x, float *y,
                                 uint64_t xb, uint64_t yb)
{
    const vkq_device dev = m->dev;
    const uint64_t y_off = y_staging_offset(xb);
    memcpy(dev->staging_map, x, (size_t)xb);
    VkCommandBuffer cmd;
    vkq_status st = vkq_cmd_begin(dev, &cmd);
    if (st != VKQ_SUCCESS) return st;
    VkBufferCopy in = {.srcOffset = 0, .dstOffset = 0, .size = xb};
    dev->vk.vkCmdCopyBuffer(cmd, dev->staging, m->x_scratch->segments[0].buffer, 1, &in);
    VkMemoryBarrier to_shader = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                 .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                 .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
    dev->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                                 1, &to_shader, 0, NULL, 0, NULL);
    st = vkq_matmul_record(dev, cmd, d);
    if (st != VKQ_SUCCESS) {
        dev->vk.vkEndCommandBuffer(cmd); /* vkq_cmd_begin resets it next time */
        return st;
    }
    VkMemoryBarrier to_copy = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                               .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                               .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT};
    dev->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                                 1, &to_copy, 0, NULL, 0, NULL);
    VkBufferCopy out = {.srcOffset = 0, .dstOffset = y_off, .size = yb};
    dev->vk.vkCmdCopyBuffer(cmd, m->y_scratch->segments[0].buffer, dev->staging, 1, &out);
    st = vkq_cmd_submit_wait(dev); /* ends with a barrier that makes the copy visible to the host */
    if (st == VKQ_SUCCESS) memcpy(y, (const uint8_t *)dev->staging_map + y_off, (size_t)yb);
    return st;
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
    if (st == VKQ_SUCCESS && one_submission_possible(m, xb, yb)) {
        st = one_submission(m, &d, x, y, xb, yb);
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
