/* vkquant quantizers: f32 -> every weight type of the type table (CPU).
 *
 * Used by the bench's accuracy sweep and by anyone who wants to make quantized test
 * data. Each quantizer writes blocks that vkq_decode_cpu decodes bit-exactly (the decoders are
 * the definition of the format); the search each one does is described in src/quant/quantize*.c.
 *
 * Thread safety: vkq_quantize may be called from several threads at once; it keeps no state
 * besides read-only lookup tables that the first call for an IQ type builds (pthread_once;
 * IQ1_S's is the largest).
 */
#ifndef VKQUANT_QUANT_H
#define VKQUANT_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vkq_quantize_desc {
    vkq_type type;
    uint64_t rows;            /* rows of the matrix */
    uint64_t k;               /* elements per row: a multiple of the type's block size */
    const float *src;         /* rows x k, row r at src + r * k; finite values */
    /* Optional per-column importance (k non-negative values, like ggml's imatrix): the
     * quantizer minimises sum_j importance[j] * (w_j - q_j)^2 instead of the plain squared
     * error. NULL = every column weighs the same. */
    const float *importance;
    void *dst;                /* rows * (k / QK * block_bytes) bytes, rows packed */
    size_t dst_size;          /* bytes available at dst */
    uint32_t n_threads;       /* 0 = VKQ_CPU_THREADS, else every online core */
} vkq_quantize_desc;

/* Quantizes desc->src into desc->dst. Deterministic: the bytes depend only on the inputs, not on
 * n_threads. F16/BF16 round to nearest even (|x| beyond their range becomes +-Inf, as the
 * conversion defines); types with an fp16 scale saturate it at 65504; a block whose largest |x|
 * is below 1e-30 is stored as zeros. The caller's buffers are only read / written, never kept.
 *
 * Errors: VKQ_ERROR_INVALID_ARGUMENT for NULL pointers, zero sizes, non-finite inputs, negative
 * or non-finite importance values, or a dst_size too small; VKQ_ERROR_UNKNOWN_TYPE; VKQ_ERROR_BAD_SHAPE when k
 * is not a multiple of the block size; VKQ_ERROR_TOO_LARGE on overflow;
 * VKQ_ERROR_UNSUPPORTED for a type without a quantizer. Nothing is written on an error. */
VKQ_API vkq_status vkq_quantize(const vkq_quantize_desc *desc);

/* Whether `type` has a quantizer (1) or not (0). */
VKQ_API int vkq_quantize_supported(vkq_type type);

#ifdef __cplusplus
}
#endif

#endif
