/* The layer operations on the GPU: argument checks, one binding window per operand, then one
 * dispatch (attention: one per 65535 tokens). Every operand must lie inside one window (the
 * header's contract), so nothing is cut into chunks; every check comes before the first
 * vkCmd* call, so an error records nothing. */
#include <math.h>

#include "core/types.h"
#include "vulkan/ops.h"

#define OPS_WG 64u /* local_size_x of every kernel in shaders/kernels/ops/ */

/* The KV cache types: those with a kv_store and an attention kernel (meson.build kv_types). */
static int kv_type_ok(vkq_type type)
{
    switch (type) {
    case VKQ_TYPE_F32:
    case VKQ_TYPE_F16:
    case VKQ_TYPE_BF16:
    case VKQ_TYPE_Q8_0:
    case VKQ_TYPE_Q4_0:
    case VKQ_TYPE_Q4_1:
    case VKQ_TYPE_Q5_0:
    case VKQ_TYPE_Q5_1:
    case VKQ_TYPE_IQ4_NL:
        return vkq_kernel_exists(VKQ_KERNEL_KV_STORE, type) && vkq_kernel_exists(VKQ_KERNEL_ATTENTION, type);
    default:
        return 0;
    }
}

static const char *type_name(vkq_type type)
{
    const vkq_type_traits *tr = vkq_traits(type);
    return tr ? tr->info.name : "an unknown type";
}

/* What every record call needs besides its operands. */
static vkq_status check_common(vkq_device dev, VkCommandBuffer cmd, const char *op)
{
    if (!dev) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: NULL device", op);
    if (!cmd) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: NULL command buffer", op);
    /* The descriptor-set fallback takes sets from a pool the device resets at its own
     * submissions, which a caller's command buffer does not follow. */
    if (!dev->info.push_descriptor)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED,
                        "%s: recording into a caller's command buffer needs "
                        "VK_KHR_push_descriptor, which %s lacks",
                        op, dev->info.name);
    return VKQ_SUCCESS;
}

/* The window of `bytes` at r: checked for NULL, device, alignment, range, and that one binding
 * covers it. */
static vkq_status operand(vkq_device dev, const char *op, const char *name, vkq_bufref r, uint64_t bytes,
                          uint64_t align, vkq_window *w)
{
    if (!r.buf) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: NULL buffer for %s", op, name);
    if (r.buf->dev != dev)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: %s belongs to another device", op, name);
    if (r.offset % align)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: %s offset %llu is not a multiple of %llu", op, name,
                        (unsigned long long)r.offset, (unsigned long long)align);
    if (r.offset > r.buf->size || bytes > r.buf->size - r.offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE, "%s: %s needs %llu bytes at offset %llu; its buffer has %llu",
                        op, name, (unsigned long long)bytes, (unsigned long long)r.offset,
                        (unsigned long long)r.buf->size);
    *w = vkq_window_at(dev, r.buf, r.offset);
    if (w->available < bytes)
        return vkq_fail(VKQ_ERROR_TOO_LARGE,
                        "%s: %s (%llu bytes at offset %llu) crosses a buffer segment or "
                        "exceeds one binding window (%llu bytes available there)",
                        op, name, (unsigned long long)bytes, (unsigned long long)r.offset,
                        (unsigned long long)w->available);
    return VKQ_SUCCESS;
}

/* Bytes of n floats; UINT64_MAX (refused as out of range) when that overflows. */
static uint64_t f32_bytes(uint64_t n)
{
    return n > UINT64_MAX / 4 ? UINT64_MAX : n * 4;
}

/* A 2-D grid of workgroups covering `items` invocations (OPS_WG per group); *row = invocations
 * per grid row. */
static vkq_status grid_for(vkq_device dev, const char *op, uint64_t items, uint32_t *gx, uint32_t *gy,
                           uint32_t *row)
{
    const uint64_t max_x = dev->info.max_workgroup_count[0], max_y = dev->info.max_workgroup_count[1];
    uint64_t wgs = (items + OPS_WG - 1) / OPS_WG;
    uint64_t x = wgs < max_x ? wgs : max_x, y = (wgs + x - 1) / x;
    if (y > max_y || x * OPS_WG > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: %llu items exceed the device's workgroup grid", op,
                        (unsigned long long)items);
    *gx = (uint32_t)x;
    *gy = (uint32_t)y;
    *row = (uint32_t)(x * OPS_WG);
    return VKQ_SUCCESS;
}

void vkq_ops_barrier_record(vkq_device dev, VkCommandBuffer cmd)
{
    if (!dev || !cmd) return;
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    dev->vk.vkCmdPipelineBarrier(cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
}

typedef struct rmsnorm_push {
    uint32_t x_base, w_base, o_base, n, rows, has_w;
    float eps;
    uint32_t accumulate, norm1, f_base, n_heads, half_rot, pos0, neox, norm2, w2_base, h_base;
} rmsnorm_push;

vkq_status vkq_rmsnorm_fused_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, vkq_bufref w, vkq_bufref out,
                                    uint32_t n, uint32_t rows, float eps, const vkq_rmsnorm_fused *fused)
{
    static const char op[] = "rmsnorm";
    static const vkq_rmsnorm_fused plain = {0};
    if (!fused) fused = &plain;
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n == 0 || rows == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n=%u rows=%u", op, n, rows);
    if (!(eps >= 0.0f) || isinf(eps))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: eps %g", op, (double)eps);
    const uint32_t n_rot = fused->rope.n_rot;
    const int norm2 = fused->norm2.out.buf != NULL;
    if (n_rot && (fused->accumulate || norm2 || n_rot % 2 || n_rot > n || !fused->rope.n_heads ||
                  rows % fused->rope.n_heads))
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: rope of %u dimensions over rows of %u (%u rows, %u heads%s)", op,
                        n_rot, n, rows, fused->rope.n_heads,
                        fused->accumulate || norm2 ? ", with accumulate or norm2" : "");
    if ((norm2 || fused->raw) && !fused->accumulate)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: raw and norm2 need accumulate", op);
    if (norm2 && (fused->norm2.out.buf == x.buf || fused->norm2.out.buf == out.buf || !fused->norm2.w.buf))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: norm2's output shares a buffer with x or out, or it has "
                        "no weight", op);
    if (n_rot && (uint64_t)fused->rope.pos0 + rows / fused->rope.n_heads > (1u << 24))
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: positions up to %llu are not exact in fp32", op,
                        (unsigned long long)fused->rope.pos0 + rows / fused->rope.n_heads);
    if (fused->accumulate && x.buf == out.buf && x.offset == out.offset)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: out aliases x while accumulating", op);
    const uint64_t bytes = f32_bytes((uint64_t)n * rows);
    vkq_window b[5];
    if ((st = operand(dev, op, "x", x, bytes, 4, &b[0])) != VKQ_SUCCESS) return st;
    if (w.buf && (st = operand(dev, op, "w", w, (uint64_t)n * 4, 4, &b[1])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "out", out, bytes, 4, &b[2])) != VKQ_SUCCESS) return st;
    if (n_rot && (st = operand(dev, op, "inv_freq", fused->rope.inv_freq, (uint64_t)n_rot / 2 * 4, 4, &b[3])) !=
                     VKQ_SUCCESS)
        return st;
    if (norm2 && ((st = operand(dev, op, "norm2 out", fused->norm2.out, bytes, 4, &b[3])) != VKQ_SUCCESS ||
                  (st = operand(dev, op, "norm2 w", fused->norm2.w, (uint64_t)n * 4, 4, &b[4])) != VKQ_SUCCESS))
        return st;
    /* Bound but not read: */
    if (!w.buf) b[1] = b[0];            /* has_w = 0 */
    if (!n_rot && !norm2) b[3] = b[2]; /* half_rot = 0, norm2 = 0 (aux is writable: out's window) */
    if (!norm2) b[4] = b[0];
    const uint64_t max_x = dev->info.max_workgroup_count[0];
    uint64_t gx = rows < max_x ? rows : max_x, gy = (rows + gx - 1) / gx;
    if (gy > dev->info.max_workgroup_count[1])
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: %u rows exceed the workgroup grid", op, rows);
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_RMSNORM, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    rmsnorm_push pc = {.x_base = (uint32_t)(b[0].base / 4),
                       .w_base = (uint32_t)(b[1].base / 4),
                       .o_base = (uint32_t)(b[2].base / 4),
                       .n = n,
                       .rows = rows,
                       .has_w = w.buf != NULL,
                       .eps = eps,
                       .accumulate = fused->accumulate != 0,
                       .norm1 = !fused->raw,
                       .f_base = (uint32_t)(b[3].base / 4),
                       .n_heads = n_rot ? fused->rope.n_heads : 1,
                       .half_rot = n_rot / 2,
                       .pos0 = fused->rope.pos0,
                       .neox = fused->rope.neox != 0,
                       .norm2 = norm2,
                       .w2_base = (uint32_t)(b[4].base / 4),
                       .h_base = (uint32_t)(b[3].base / 4)};
    return vkq_cmd_dispatch(dev, cmd, pipe, b, 5, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, 1);
}

vkq_status vkq_rmsnorm_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, vkq_bufref w, vkq_bufref out,
                              uint32_t n, uint32_t rows, float eps)
{
    return vkq_rmsnorm_fused_record(dev, cmd, x, w, out, n, rows, eps, NULL);
}

typedef struct rope_push {
    uint32_t x_base, f_base, n_pairs, n_heads, head_dim, half_rot, pos0, neox, row;
} rope_push;

vkq_status vkq_rope_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, uint32_t n_tokens,
                           uint32_t n_heads, uint32_t head_dim, uint32_t n_rot, uint32_t pos0,
                           vkq_bufref inv_freq, int neox)
{
    static const char op[] = "rope";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n_tokens == 0 || n_heads == 0 || head_dim == 0 || n_rot == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n_tokens=%u n_heads=%u head_dim=%u n_rot=%u", op,
                        n_tokens, n_heads, head_dim, n_rot);
    if (n_rot % 2 || n_rot > head_dim)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: n_rot %u must be even and at most head_dim %u", op, n_rot,
                        head_dim);
    const uint64_t elems = (uint64_t)n_tokens * n_heads * head_dim;
    const uint64_t pairs = (uint64_t)n_tokens * n_heads * (n_rot / 2);
    if ((uint64_t)pos0 + n_tokens > (1u << 24))
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: positions up to %llu are not exact in fp32", op,
                        (unsigned long long)pos0 + n_tokens);
    vkq_window b[2];
    if ((st = operand(dev, op, "x", x, f32_bytes(elems), 4, &b[0])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "inv_freq", inv_freq, (uint64_t)n_rot / 2 * 4, 4, &b[1])) != VKQ_SUCCESS)
        return st;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, pairs, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_ROPE, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    rope_push pc = {(uint32_t)(b[0].base / 4),
                    (uint32_t)(b[1].base / 4),
                    (uint32_t)pairs,
                    n_heads,
                    head_dim,
                    n_rot / 2,
                    pos0,
                    neox != 0,
                    row};
    return vkq_cmd_dispatch(dev, cmd, pipe, b, 2, &pc, sizeof pc, gx, gy, 1);
}

typedef struct glu_push {
    uint32_t g_base, u_base, o_base, n, kind, row;
} glu_push;

vkq_status vkq_glu_record(vkq_device dev, VkCommandBuffer cmd, vkq_glu_kind kind, vkq_bufref gate,
                          vkq_bufref up, vkq_bufref out, uint64_t n)
{
    static const char op[] = "glu";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n is 0", op);
    if (kind != VKQ_GLU_SILU && kind != VKQ_GLU_GELU_TANH)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: unknown kind %d", op, (int)kind);
    vkq_window b[3];
    if ((st = operand(dev, op, "gate", gate, f32_bytes(n), 4, &b[0])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "up", up, f32_bytes(n), 4, &b[1])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "out", out, f32_bytes(n), 4, &b[2])) != VKQ_SUCCESS) return st;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, n, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_GLU, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    glu_push pc = {(uint32_t)(b[0].base / 4),
                   (uint32_t)(b[1].base / 4),
                   (uint32_t)(b[2].base / 4),
                   (uint32_t)n,
                   (uint32_t)kind,
                   row};
    return vkq_cmd_dispatch(dev, cmd, pipe, b, 3, &pc, sizeof pc, gx, gy, 1);
}

typedef struct add_push {
    uint32_t a_base, b_base, o_base, n, b_rows, total, row;
} add_push;

vkq_status vkq_add_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref a, vkq_bufref b, vkq_bufref out,
                          uint32_t n, uint32_t rows, uint32_t b_rows)
{
    static const char op[] = "add";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n == 0 || rows == 0 || b_rows == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n=%u rows=%u b_rows=%u", op, n, rows, b_rows);
    if (b_rows > rows) return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: b_rows %u > rows %u", op, b_rows, rows);
    const uint64_t total = (uint64_t)n * rows;
    vkq_window w[3];
    if ((st = operand(dev, op, "a", a, f32_bytes(total), 4, &w[0])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "b", b, f32_bytes((uint64_t)n * b_rows), 4, &w[1])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "out", out, f32_bytes(total), 4, &w[2])) != VKQ_SUCCESS) return st;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, total, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_ADD, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    add_push pc = {(uint32_t)(w[0].base / 4),
                   (uint32_t)(w[1].base / 4),
                   (uint32_t)(w[2].base / 4),
                   n,
                   b_rows,
                   (uint32_t)total,
                   row};
    return vkq_cmd_dispatch(dev, cmd, pipe, w, 3, &pc, sizeof pc, gx, gy, 1);
}

typedef struct scale_push {
    uint32_t x_base, n;
    float s;
    uint32_t row;
} scale_push;

vkq_status vkq_scale_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref x, float s, uint64_t n)
{
    static const char op[] = "scale";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n == 0) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n is 0", op);
    vkq_window w;
    if ((st = operand(dev, op, "x", x, f32_bytes(n), 4, &w)) != VKQ_SUCCESS) return st;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, n, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_SCALE, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    scale_push pc = {(uint32_t)(w.base / 4), (uint32_t)n, s, row};
    return vkq_cmd_dispatch(dev, cmd, pipe, &w, 1, &pc, sizeof pc, gx, gy, 1);
}

/* The element size (F32/F16/BF16) or 1 (block types, read at any byte): the alignment of cache
 * offsets and row strides, as the decoders read an element-wise value with one word access. */
static uint64_t kv_align(const vkq_type_traits *tr)
{
    return tr->info.block_elems == 1 ? tr->info.block_bytes : 1;
}

typedef struct kv_store_push {
    uint32_t src_base, dst_base, row_elems, units_per_row, n_units, dst_row_bytes, row;
} kv_store_push;

vkq_status vkq_kv_store_record(vkq_device dev, VkCommandBuffer cmd, vkq_type type, vkq_bufref src,
                               uint32_t n_rows, uint32_t row_elems, vkq_bufref dst, uint64_t dst_row_bytes)
{
    static const char op[] = "kv_store";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n_rows == 0 || row_elems == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n_rows=%u row_elems=%u", op, n_rows, row_elems);
    if (!kv_type_ok(type))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s: %s is not a KV cache type", op, type_name(type));
    const vkq_type_traits *tr = vkq_traits(type);
    const uint64_t qk = tr->info.block_elems, bb = tr->info.block_bytes;
    if (row_elems % qk)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: row of %u elements is not a whole number of %s blocks", op,
                        row_elems, tr->info.name);
    const uint64_t row_bytes = row_elems / qk * bb;
    if (dst_row_bytes < row_bytes)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: dst_row_bytes %llu < the %llu bytes of a row", op,
                        (unsigned long long)dst_row_bytes, (unsigned long long)row_bytes);
    if (dst_row_bytes % kv_align(tr))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: %s rows must be a multiple of %llu bytes apart", op,
                        tr->info.name, (unsigned long long)kv_align(tr));
    if (dst_row_bytes > UINT32_MAX || (uint64_t)n_rows * row_elems > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: sizes exceed 32 bits", op);
    vkq_window w[2];
    if ((st = operand(dev, op, "src", src, (uint64_t)n_rows * row_elems * 4, 4, &w[0])) != VKQ_SUCCESS)
        return st;
    if ((st = operand(dev, op, "dst", dst, (uint64_t)(n_rows - 1) * dst_row_bytes + row_bytes, kv_align(tr),
                      &w[1])) != VKQ_SUCCESS)
        return st;
    const uint64_t unit = qk == 1 ? 32 : qk; /* elements per invocation (shaders/kernels/ops/kv_store.comp) */
    const uint64_t units_per_row = (row_elems + unit - 1) / unit, n_units = units_per_row * n_rows;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, n_units, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_KV_STORE, type, 0, &pipe)) != VKQ_SUCCESS) return st;
    kv_store_push pc = {
        (uint32_t)(w[0].base / 4), (uint32_t)w[1].base,     row_elems, (uint32_t)units_per_row,
        (uint32_t)n_units,         (uint32_t)dst_row_bytes, row};
    return vkq_cmd_dispatch(dev, cmd, pipe, w, 2, &pc, sizeof pc, gx, gy, 1);
}

typedef struct attention_push {
    uint32_t q_base, o_base, k_base, v_base, k_row_bytes, v_row_bytes, pos0, t0, n_head, group, hdk, hdv,
        window;
    float scale, softcap;
} attention_push;

#define ATT_MAX_HEAD_DIM 256u /* MAX_HD of shaders/kernels/ops/attention.comp */

vkq_status vkq_attention_record(vkq_device dev, VkCommandBuffer cmd, const vkq_attn_gpu_desc *d)
{
    static const char op[] = "attention";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (!d) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: NULL desc", op);
    if (!d->kv) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: NULL buffer for the KV cache", op);
    if (d->n_tokens == 0 || d->n_head == 0 || d->n_head_kv == 0 || d->head_dim_k == 0 || d->head_dim_v == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "%s: n_tokens=%u n_head=%u n_head_kv=%u head_dim_k=%u "
                        "head_dim_v=%u",
                        op, d->n_tokens, d->n_head, d->n_head_kv, d->head_dim_k, d->head_dim_v);
    if (d->n_head % d->n_head_kv)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: n_head %u is not a multiple of n_head_kv %u", op, d->n_head,
                        d->n_head_kv);
    if (!kv_type_ok(d->kv_type))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s: %s is not a KV cache type", op, type_name(d->kv_type));
    const vkq_type_traits *tr = vkq_traits(d->kv_type);
    const uint64_t qk = tr->info.block_elems, bb = tr->info.block_bytes;
    if (d->head_dim_k > ATT_MAX_HEAD_DIM || d->head_dim_v > ATT_MAX_HEAD_DIM || d->head_dim_k % 8 ||
        d->head_dim_v % 8 || d->head_dim_k % qk || d->head_dim_v % qk)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE,
                        "%s: head dims %u/%u must be multiples of 8 and of the %s block "
                        "size, at most %u",
                        op, d->head_dim_k, d->head_dim_v, tr->info.name, ATT_MAX_HEAD_DIM);
    if (!(d->softcap >= 0.0f) || isinf(d->softcap) || !isfinite(d->scale))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: scale %g, softcap %g", op, (double)d->scale,
                        (double)d->softcap);
    const uint64_t n_kv = (uint64_t)d->pos0 + d->n_tokens; /* cache rows read */
    if (n_kv > UINT32_MAX) return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: positions exceed 32 bits", op);
    const uint64_t k_used = (uint64_t)d->n_head_kv * d->head_dim_k / qk * bb;
    const uint64_t v_used = (uint64_t)d->n_head_kv * d->head_dim_v / qk * bb;
    if (d->k_row_bytes < k_used || d->v_row_bytes < v_used)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: row strides %llu/%llu are below the rows' %llu/%llu bytes",
                        op, (unsigned long long)d->k_row_bytes, (unsigned long long)d->v_row_bytes,
                        (unsigned long long)k_used, (unsigned long long)v_used);
    const uint64_t al = kv_align(tr);
    if (d->k_offset % al || d->v_offset % al || d->k_row_bytes % al || d->v_row_bytes % al)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "%s: %s cache offsets and row strides must be multiples of "
                        "%llu bytes",
                        op, tr->info.name, (unsigned long long)al);
    if (d->k_row_bytes > UINT32_MAX || d->v_row_bytes > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: row strides exceed 32 bits", op);
    const uint64_t k_end = d->k_offset + (n_kv - 1) * d->k_row_bytes + k_used;
    const uint64_t v_end = d->v_offset + (n_kv - 1) * d->v_row_bytes + v_used;
    if (d->k_offset > d->kv->size || d->v_offset > d->kv->size || k_end > d->kv->size ||
        v_end > d->kv->size || k_end < d->k_offset || v_end < d->v_offset)
        return vkq_fail(VKQ_ERROR_OUT_OF_RANGE,
                        "%s: K rows end at byte %llu and V rows at %llu of a %llu-byte "
                        "buffer",
                        op, (unsigned long long)k_end, (unsigned long long)v_end,
                        (unsigned long long)d->kv->size);
    /* K and V in one binding: the window from the lower start must reach the higher end. */
    const uint64_t lo = d->k_offset < d->v_offset ? d->k_offset : d->v_offset;
    const uint64_t hi = k_end > v_end ? k_end : v_end;
    const uint64_t q_elems = (uint64_t)d->n_tokens * d->n_head * d->head_dim_k;
    const uint64_t o_elems = (uint64_t)d->n_tokens * d->n_head * d->head_dim_v;
    vkq_window w[3];
    if ((st = operand(dev, op, "K and V", (vkq_bufref){d->kv, lo}, hi - lo, 1, &w[0])) != VKQ_SUCCESS)
        return st;
    if ((st = operand(dev, op, "q", d->q, q_elems * 4, 4, &w[1])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "out", d->out, o_elems * 4, 4, &w[2])) != VKQ_SUCCESS) return st;
    if (d->n_head > dev->info.max_workgroup_count[0])
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: %u heads exceed the workgroup grid", op, d->n_head);
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_ATTENTION, d->kv_type, 0, &pipe)) != VKQ_SUCCESS) return st;
    attention_push pc = {
        .q_base = (uint32_t)(w[1].base / 4),
        .o_base = (uint32_t)(w[2].base / 4),
        .k_base = (uint32_t)(w[0].base + (d->k_offset - lo)),
        .v_base = (uint32_t)(w[0].base + (d->v_offset - lo)),
        .k_row_bytes = (uint32_t)d->k_row_bytes,
        .v_row_bytes = (uint32_t)d->v_row_bytes,
        .pos0 = d->pos0,
        .n_head = d->n_head,
        .group = d->n_head / d->n_head_kv,
        .hdk = d->head_dim_k,
        .hdv = d->head_dim_v,
        .window = d->window,
        .scale = d->scale,
        .softcap = d->softcap,
    };
    const uint32_t max_y = dev->info.max_workgroup_count[1];
    for (uint32_t t0 = 0; t0 < d->n_tokens;) {
        uint32_t nt = d->n_tokens - t0 < max_y ? d->n_tokens - t0 : max_y;
        pc.t0 = t0;
        if ((st = vkq_cmd_dispatch(dev, cmd, pipe, w, 3, &pc, sizeof pc, d->n_head, nt, 1)) != VKQ_SUCCESS)
            return st;
        t0 += nt;
    }
    return VKQ_SUCCESS;
}

typedef struct router_push {
    uint32_t l_base, i_base, w_base, n_tokens, n_expert, n_used, norm_topk, row;
} router_push;

vkq_status vkq_topk_router_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref logits, uint32_t n_tokens,
                                  uint32_t n_expert, uint32_t n_used, int norm_topk, vkq_bufref ids,
                                  vkq_bufref weights)
{
    static const char op[] = "topk_router";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n_tokens == 0 || n_expert == 0 || n_used == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n_tokens=%u n_expert=%u n_used=%u", op, n_tokens, n_expert,
                        n_used);
    if (n_used > n_expert || n_expert > INT32_MAX)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n_used %u of n_expert %u", op, n_used, n_expert);
    vkq_window w[3];
    if ((st = operand(dev, op, "logits", logits, f32_bytes((uint64_t)n_tokens * n_expert), 4, &w[0])) != VKQ_SUCCESS)
        return st;
    if ((st = operand(dev, op, "ids", ids, f32_bytes((uint64_t)n_tokens * n_used), 4, &w[1])) != VKQ_SUCCESS)
        return st;
    if ((st = operand(dev, op, "weights", weights, f32_bytes((uint64_t)n_tokens * n_used), 4, &w[2])) != VKQ_SUCCESS)
        return st;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, n_tokens, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_TOPK_ROUTER, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    router_push pc = {(uint32_t)(w[0].base / 4), (uint32_t)(w[1].base / 4), (uint32_t)(w[2].base / 4), n_tokens,
                      n_expert, n_used, norm_topk != 0, row};
    return vkq_cmd_dispatch(dev, cmd, pipe, w, 3, &pc, sizeof pc, gx, gy, 1);
}

typedef struct combine_push {
    uint32_t w_base, y_base, o_base, n, n_used, total, row;
} combine_push;

vkq_status vkq_moe_combine_record(vkq_device dev, VkCommandBuffer cmd, vkq_bufref weights, vkq_bufref y,
                                  vkq_bufref out, uint32_t n, uint32_t n_tokens, uint32_t n_used)
{
    static const char op[] = "moe_combine";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (n == 0 || n_tokens == 0 || n_used == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n=%u n_tokens=%u n_used=%u", op, n, n_tokens, n_used);
    const uint64_t total = (uint64_t)n * n_tokens, pairs = (uint64_t)n_tokens * n_used;
    if (pairs * n > UINT32_MAX) return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: sizes exceed 32 bits", op);
    vkq_window w[3];
    if ((st = operand(dev, op, "weights", weights, f32_bytes(pairs), 4, &w[0])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "y", y, f32_bytes(pairs * n), 4, &w[1])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "out", out, f32_bytes(total), 4, &w[2])) != VKQ_SUCCESS) return st;
    uint32_t gx = 0, gy = 0, row = 0;
    if ((st = grid_for(dev, op, total, &gx, &gy, &row)) != VKQ_SUCCESS) return st;
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_MOE_COMBINE, VKQ_TYPE_F32, 0, &pipe)) != VKQ_SUCCESS) return st;
    combine_push pc = {(uint32_t)(w[0].base / 4), (uint32_t)(w[1].base / 4), (uint32_t)(w[2].base / 4), n, n_used,
                       (uint32_t)total, row};
    return vkq_cmd_dispatch(dev, cmd, pipe, w, 3, &pc, sizeof pc, gx, gy, 1);
}

typedef struct matmul_id_push {
    uint32_t w_base, w_stride, x_base, x_stride, y_base, y_stride, m, k, n, wg_x; /* as matmul.c's */
    uint32_t id_base, n_used, n_expert, expert_stride, x_per_pair;
} matmul_id_push;

vkq_status vkq_matmul_id_record(vkq_device dev, VkCommandBuffer cmd, const vkq_matmul_id_desc *d)
{
    static const char op[] = "matmul_id";
    vkq_status st = check_common(dev, cmd, op);
    if (st != VKQ_SUCCESS) return st;
    if (!d) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: NULL desc", op);
    const vkq_type_traits *tr = vkq_traits(d->type);
    if (!tr || !vkq_kernel_exists(VKQ_KERNEL_MUL_MAT_VEC_ID, d->type))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s: no kernel for weight type %s", op, type_name(d->type));
    if (d->m == 0 || d->k == 0 || d->n_expert == 0 || d->n_tokens == 0 || d->n_used == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: m=%u k=%u n_expert=%u n_tokens=%u n_used=%u", op, d->m,
                        d->k, d->n_expert, d->n_tokens, d->n_used);
    if (d->n_used > d->n_expert)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: n_used %u of n_expert %u", op, d->n_used, d->n_expert);
    if (d->k % tr->info.block_elems)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "%s: k=%u is not a multiple of the %s block size %u", op, d->k,
                        tr->info.name, tr->info.block_elems);
    if (d->ids.buf != d->x.buf)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: the ids must be in X's buffer (the kernel reads them "
                        "through X's binding)", op);
    const uint64_t row_bytes = (uint64_t)d->k / tr->info.block_elems * tr->info.block_bytes;
    const uint64_t expert_bytes = row_bytes * d->m, pairs = (uint64_t)d->n_tokens * d->n_used;
    const uint64_t x_cols = d->x_per_pair ? pairs : d->n_tokens;
    if (pairs > dev->info.max_workgroup_count[2] || expert_bytes > UINT32_MAX || pairs * d->m > UINT32_MAX ||
        x_cols * d->k > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: %llu (token, slot) pairs of %u x %u exceed the grid or 32 bits", op,
                        (unsigned long long)pairs, d->m, d->k);
    vkq_window w[3];
    const uint64_t w_align = tr->info.block_elems == 1 ? tr->info.block_bytes : 1;
    if ((st = operand(dev, op, "the experts' weights", d->w, expert_bytes * d->n_expert, w_align, &w[0])) !=
        VKQ_SUCCESS)
        return st;
    /* X and the ids in one binding: the window from the lower start must reach the higher end. */
    if (d->x.offset % 4 || d->ids.offset % 4)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: X and ids offsets must be multiples of 4", op);
    const uint64_t x_end = d->x.offset + x_cols * d->k * 4, i_end = d->ids.offset + pairs * 4;
    const uint64_t lo = d->x.offset < d->ids.offset ? d->x.offset : d->ids.offset;
    const uint64_t hi = x_end > i_end ? x_end : i_end;
    if ((st = operand(dev, op, "X and ids", (vkq_bufref){d->x.buf, lo}, hi - lo, 4, &w[1])) != VKQ_SUCCESS) return st;
    if ((st = operand(dev, op, "y", d->y, pairs * d->m * 4, 4, &w[2])) != VKQ_SUCCESS) return st;
    const uint64_t max_x = dev->info.max_workgroup_count[0], max_y = dev->info.max_workgroup_count[1];
    const uint64_t rows = dev->config.mv_rows, groups = (d->m + rows - 1) / rows;
    const uint64_t gx = groups < max_x ? groups : max_x, gy = (groups + gx - 1) / gx;
    if (gy > max_y) return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: %u rows exceed the workgroup grid", op, d->m);
    const vkq_pipeline *pipe;
    if ((st = vkq_pipeline_get(dev, VKQ_KERNEL_MUL_MAT_VEC_ID, d->type, 1, &pipe)) != VKQ_SUCCESS) return st;
    const uint64_t x_base = w[1].base + (d->x.offset - lo), i_base = w[1].base + (d->ids.offset - lo);
    matmul_id_push pc = {.w_base = (uint32_t)w[0].base,
                         .w_stride = (uint32_t)row_bytes,
                         .x_base = (uint32_t)(x_base / 4),
                         .x_stride = d->k,
                         .y_base = (uint32_t)(w[2].base / 4),
                         .y_stride = d->m,
                         .m = d->m,
                         .k = d->k,
                         .n = 1,
                         .wg_x = (uint32_t)gx,
                         .id_base = (uint32_t)(i_base / 4),
                         .n_used = d->n_used,
                         .n_expert = d->n_expert,
                         .expert_stride = (uint32_t)expert_bytes,
                         .x_per_pair = d->x_per_pair != 0};
    return vkq_cmd_dispatch(dev, cmd, pipe, w, 3, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, (uint32_t)pairs);
}
