/* Internal type traits: the one table (src/core/types.c) that host code, tests and bench loop over. */
#ifndef VKQ_TYPES_H
#define VKQ_TYPES_H

#include <stdint.h>

#include "vkquant/core.h"

/* Decodes one block (block_bytes bytes at `blk`, any alignment) into block_elems floats. */
typedef void (*vkq_decode_block_fn)(const uint8_t *blk, float *out);

/* Quantizes one block: QK floats x with their importance w (QK values >= 0) into block_bytes
 * bytes at blk (src/quant/quantize_internal.h). */
typedef void (*vkq_quantize_block_fn)(const float *x, const float *w, uint8_t *blk);

/* Where a block keeps a float scale, so tests can make random blocks with valid scales. */
typedef enum vkq_scale_kind {
    VKQ_SCALE_NONE = 0,
    VKQ_SCALE_F16,       /* IEEE half at `offset` must be finite */
    VKQ_SCALE_F32,       /* binary32 at `offset` must be finite */
    VKQ_SCALE_E8M0,      /* byte at `offset` must not be 0xFF */
    VKQ_SCALE_IQ1M       /* fp16 assembled from the top nibbles of the 4 u16 at `offset` */
} vkq_scale_kind;

#define VKQ_MAX_SCALES 2

typedef struct vkq_type_traits {
    vkq_type_info info;                  /* public part */
    const char *family;                  /* shaders/decode/<family>.glsl */
    int gpu_int8;                        /* that file has decode_i8x16: the int8 GEMM exists */
    vkq_decode_block_fn decode_block;    /* CPU reference, bit-exact with ggml */
    struct { vkq_scale_kind kind; uint16_t offset; } scales[VKQ_MAX_SCALES];
    int oracle_gguf_py;                  /* gguf-py's dequantize covers it (else spec rules) */
    double tol_matmul_f32;               /* NMSE bound of the fp32 matmul paths (tests) */
    vkq_quantize_block_fn quantize_block; /* f32 -> one block (src/quant/quantize_*.c) */
    double nmse_quant;                   /* round-trip NMSE bound of quantize_block (tests) */
} vkq_type_traits;

/* Traits of `type`, NULL if unknown. */
const vkq_type_traits *vkq_traits(vkq_type type);

#endif
