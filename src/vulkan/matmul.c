/* Dequant-matmul Y = W * X: argument checks, kernel choice, and the cut into dispatches that
 * each fit one binding window of W (a run of rows), X and Y (a run of columns). */
#include "core/types.h"
#include "vulkan/pipeline.h"

typedef struct matmul_push {
    uint32_t w_base, w_stride, x_base, x_stride, y_base, y_stride, m, k, n, wg_x;
} matmul_push;

/* Packed strides resolved, every range checked; fills row_bytes. */
static vkq_status check_desc(vkq_device dev, const vkq_matmul_desc *d, vkq_matmul_desc *out,
                             uint64_t *row_bytes)
{
    if (!dev || !d) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (!d->w || !d->x || !d->y) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL buffer in matmul");
    if (d->w->dev != dev || d->x->dev != dev || d->y->dev != dev)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "buffers belong to another device");
    const vkq_type_traits *tr = vkq_traits(d->type);
    if (!tr) return vkq_fail(VKQ_ERROR_UNKNOWN_TYPE, "unknown weight type id %d", (int)d->type);
    if (d->m == 0 || d->k == 0 || d->n == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "empty matmul (m=%llu k=%llu n=%llu)",
                        (unsigned long long)d->m, (unsigned long long)d->k, (unsigned long long)d->n);
    if (d->k % tr->info.block_elems)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "k=%llu is not a multiple of the %s block size %u",
                        (unsigned long long)d->k, tr->info.name, tr->info.block_elems);
    if (tr->info.block_elems == 1 && (d->w_offset % tr->info.block_bytes || d->w_row_stride % tr->info.block_bytes))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s weights must start (and rows be strided) at a "
                        "multiple of %u bytes", tr->info.name, tr->info.block_bytes);
    if (d->m > UINT32_MAX || d->k > UINT32_MAX || d->n > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "m, k and n must each be below 2^32");
    if ((d->flags & VKQ_MATMUL_FORCE_MATVEC) && (d->flags & VKQ_MATMUL_FORCE_GEMM))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "both FORCE_MATVEC and FORCE_GEMM set");
    *out = *d;
    *row_bytes = d->k / tr->info.block_elems * tr->info.block_bytes;
    if (!out->w_row_stride) out->w_row_stride = *row_bytes;
    if (!out->x_col_stride) out->x_col_stride = d->k;
    if (!out->y_col_stride) out->y_col_stride = d->m;
    if (out->w_row_stride < *row_bytes || out->x_col_stride < d->k || out->y_col_stride < d->m)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "a stride is smaller than its row/column");
    if (d->x_offset % 4 || d->y_offset % 4)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "x_offset and y_offset must be multiples of 4");
    /* Last byte used of each operand, overflow-checked (all factors < 2^32 or checked above). */
    struct { const char *name; vkq_buffer b; uint64_t off, stride, count, last; } ops[3] = {
        {"W", d->w, d->w_offset, out->w_row_stride, d->m, *row_bytes},
        {"X", d->x, d->x_offset, out->x_col_stride * 4, d->n, d->k * 4},
        {"Y", d->y, d->y_offset, out->y_col_stride * 4, d->n, d->m * 4},
    };
    for (int i = 0; i < 3; ++i) {
        if (ops[i].stride > UINT64_MAX / ops[i].count)
            return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s size overflows", ops[i].name);
        uint64_t need = (ops[i].count - 1) * ops[i].stride + ops[i].last;
        if (need < ops[i].last || ops[i].off > ops[i].b->size || need > ops[i].b->size - ops[i].off)
            return vkq_fail(VKQ_ERROR_OUT_OF_RANGE, "%s needs %llu bytes at offset %llu; its buffer has %llu",
                            ops[i].name, (unsigned long long)need, (unsigned long long)ops[i].off,
                            (unsigned long long)ops[i].b->size);
    }
    return VKQ_SUCCESS;
}

/* How many strided items (stride bytes apart, the last `last` bytes long) fit in `avail`. */
static uint64_t items_fit(uint64_t avail, uint64_t stride, uint64_t last)
{
    return avail < last ? 0 : (avail - last) / stride + 1;
}

/* The kernel for a checked desc. The reduced-precision GEMMs only for n > 8 (a forced GEMM of
 * a few columns stays fp32: it exists to test the fp32 kernel), int8 before fp16 (a quarter of
 * fp32's shared-memory bytes, four products per instruction), each only where the device has
 * the feature its SPIR-V declares and the configuration allows it. */
static vkq_matmul_path choose_path(vkq_device dev, const vkq_matmul_desc *d)
{
    const vkq_kernel_config *c = &dev->config;
    int gemm = (d->flags & VKQ_MATMUL_FORCE_GEMM) ||
               (d->n > 8 && !(d->flags & VKQ_MATMUL_FORCE_MATVEC) && c->mm_via_matvec != VKQ_MM_VIA_MATVEC);
    if (!gemm) return VKQ_MATMUL_PATH_MATVEC;
    if (d->n <= 8) return VKQ_MATMUL_PATH_GEMM_F32;
    if (c->mm_int8 == VKQ_SWITCH_ON && vkq_kernel_exists(VKQ_KERNEL_MUL_MM_Q8, d->type) &&
        (!vkq_mm_q8_needs_dot_product() || dev->info.integer_dot_product))
        return VKQ_MATMUL_PATH_GEMM_INT8;
    if (c->mm_fp16 == VKQ_SWITCH_ON && dev->info.shader_float16 && vkq_kernel_exists(VKQ_KERNEL_MUL_MM_F16, d->type))
        return VKQ_MATMUL_PATH_GEMM_F16;
    return VKQ_MATMUL_PATH_GEMM_F32;
}

static vkq_status record(vkq_device dev, VkCommandBuffer cmd, const vkq_matmul_desc *d,
                         uint64_t row_bytes, int blocking)
{
    static const vkq_kernel gemm_kernel[] = {
        [VKQ_MATMUL_PATH_GEMM_F32] = VKQ_KERNEL_MUL_MM,
        [VKQ_MATMUL_PATH_GEMM_F16] = VKQ_KERNEL_MUL_MM_F16,
        [VKQ_MATMUL_PATH_GEMM_INT8] = VKQ_KERNEL_MUL_MM_Q8,
    };
    vkq_matmul_path path = choose_path(dev, d);
    int gemm = path != VKQ_MATMUL_PATH_MATVEC;
    const vkq_pipeline *pipe = NULL;
    vkq_status st;
    if (gemm && (st = vkq_pipeline_get(dev, gemm_kernel[path], d->type, 0, &pipe)) != VKQ_SUCCESS) return st;
    const vkq_kernel_config *cfg = &dev->config;
    const uint64_t max_x = dev->info.max_workgroup_count[0], max_y = dev->info.max_workgroup_count[1];
    const uint64_t ws = d->w_row_stride, xs = d->x_col_stride * 4, ys = d->y_col_stride * 4;
    uint32_t dispatches = 0;

    for (uint64_t c0 = 0; c0 < d->n;) {
        vkq_window wx = vkq_window_at(dev, d->x, d->x_offset + c0 * xs);
        vkq_window wy0 = vkq_window_at(dev, d->y, d->y_offset + c0 * ys);
        uint64_t cc = d->n - c0;
        uint64_t fit_x = items_fit(wx.available, xs, d->k * 4);
        uint64_t fit_y = items_fit(wy0.available, ys, d->m * 4);
        if (fit_x < cc) cc = fit_x;
        if (fit_y < cc) cc = fit_y;
        if (!gemm && cc > 8) cc = 8;
        if (cc == 0)
            return vkq_fail(VKQ_ERROR_TOO_LARGE, "one column of X or Y does not fit a %llu-byte binding "
                            "(or crosses a buffer segment; use the column size as granule)",
                            (unsigned long long)dev->max_binding);
        for (uint64_t r0 = 0; r0 < d->m;) {
            vkq_window ww = vkq_window_at(dev, d->w, d->w_offset + r0 * ws);
            vkq_window wy = vkq_window_at(dev, d->y, d->y_offset + c0 * ys + r0 * 4);
            uint64_t rr = d->m - r0;
            uint64_t fit_w = items_fit(ww.available, ws, row_bytes);
            uint64_t fit_yr = wy.available / 4 >= (cc - 1) * d->y_col_stride
                                  ? wy.available / 4 - (cc - 1) * d->y_col_stride : 0;
            if (fit_w < rr) rr = fit_w;
            if (fit_yr < rr) rr = fit_yr;
            uint64_t groups_total; /* workgroups for rr rows x cc columns, capped by the grid */
            if (gemm) {
                uint64_t tn = (cc + cfg->mm_bn - 1) / cfg->mm_bn;
                uint64_t max_rows = max_x * max_y / tn * cfg->mm_bm;
                if (rr > max_rows) rr = max_rows;
                groups_total = (rr + cfg->mm_bm - 1) / cfg->mm_bm * tn;
            } else {
                if (rr > max_x * max_y * cfg->mv_rows) rr = max_x * max_y * cfg->mv_rows;
                groups_total = (rr + cfg->mv_rows - 1) / cfg->mv_rows;
            }
            if (rr == 0)
                return vkq_fail(VKQ_ERROR_TOO_LARGE, "a weight row of %llu bytes does not fit a binding "
                                "(or crosses a buffer segment; use the row size as granule)",
                                (unsigned long long)row_bytes);
            uint64_t gx = groups_total < max_x ? groups_total : max_x;
            uint64_t gy = (groups_total + gx - 1) / gx;
            matmul_push pc = {
                .w_base = (uint32_t)ww.base, .w_stride = (uint32_t)ws,
                .x_base = (uint32_t)(wx.base / 4), .x_stride = (uint32_t)d->x_col_stride,
                .y_base = (uint32_t)(wy.base / 4), .y_stride = (uint32_t)d->y_col_stride,
                .m = (uint32_t)rr, .k = (uint32_t)d->k, .n = (uint32_t)cc, .wg_x = (uint32_t)gx,
            };
            r0 += rr;
            if (!cmd) continue; /* planning pass: only the checks above */
            if (blocking && ++dispatches > 512) { /* keeps the descriptor-pool fallback in bounds */
                if ((st = vkq_cmd_submit_wait(dev)) != VKQ_SUCCESS) return st;
                if ((st = vkq_cmd_begin(dev, &cmd)) != VKQ_SUCCESS) return st;
                dispatches = 1;
            }
            if (!gemm && (st = vkq_pipeline_get(dev, VKQ_KERNEL_MUL_MAT_VEC, d->type, (uint32_t)cc, &pipe)) != VKQ_SUCCESS)
                return st;
            vkq_window b[3] = {ww, wx, wy};
            st = vkq_cmd_dispatch(dev, cmd, pipe, b, 3, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, 1);
            if (st != VKQ_SUCCESS) return st;
        }
        c0 += cc;
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_matmul(vkq_device dev, const vkq_matmul_desc *desc)
{
    vkq_matmul_desc d;
    uint64_t row_bytes;
    vkq_status st = check_desc(dev, desc, &d, &row_bytes);
    if (st != VKQ_SUCCESS) return st;
    /* A planning pass first, so an error launches nothing. */
    if ((st = record(dev, VK_NULL_HANDLE, &d, row_bytes, 1)) != VKQ_SUCCESS) return st;
    VkCommandBuffer cmd;
    if ((st = vkq_cmd_begin(dev, &cmd)) != VKQ_SUCCESS) return st;
    st = record(dev, cmd, &d, row_bytes, 1);
    vkq_status st2 = vkq_cmd_submit_wait(dev);
    return st != VKQ_SUCCESS ? st : st2;
}

vkq_status vkq_matmul_record(vkq_device dev, VkCommandBuffer cmd, const vkq_matmul_desc *desc)
{
    if (!cmd) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    vkq_matmul_desc d;
    uint64_t row_bytes;
    vkq_status st = check_desc(dev, desc, &d, &row_bytes);
    if (st != VKQ_SUCCESS) return st;
    if (!dev->info.push_descriptor)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "recording into a caller's command buffer needs "
                        "VK_KHR_push_descriptor, which %s lacks", dev->info.name);
    if ((st = record(dev, VK_NULL_HANDLE, &d, row_bytes, 0)) != VKQ_SUCCESS) return st;
    return record(dev, cmd, &d, row_bytes, 0);
}

vkq_status vkq_matmul_get_path(vkq_device dev, const vkq_matmul_desc *desc, vkq_matmul_path *out)
{
    if (!out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    vkq_matmul_desc d;
    uint64_t row_bytes;
    vkq_status st = check_desc(dev, desc, &d, &row_bytes);
    if (st != VKQ_SUCCESS) return st;
    if ((st = record(dev, VK_NULL_HANDLE, &d, row_bytes, 1)) != VKQ_SUCCESS) return st;
    *out = choose_path(dev, &d);
    return VKQ_SUCCESS;
}

const char *vkq_matmul_path_name(vkq_matmul_path path)
{
    switch (path) {
    case VKQ_MATMUL_PATH_MATVEC: return "matvec";
    case VKQ_MATMUL_PATH_GEMM_F32: return "gemm-f32";
    case VKQ_MATMUL_PATH_GEMM_F16: return "gemm-f16";
    case VKQ_MATMUL_PATH_GEMM_INT8: return "gemm-int8";
    }
    return "?";
}
