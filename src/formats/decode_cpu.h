/* CPU reference decoders: one block of each type to binary32, bit-exact with ggml's
 * dequantize_row_* (docs/FORMATS.md §1.4). `blk` may have any alignment; `out` receives QK floats.
 * The function names are vkq_decode_block_<family>, family = last column of vkquant/types.def. */
#ifndef VKQ_DECODE_CPU_H
#define VKQ_DECODE_CPU_H

#include <stdint.h>

/* Block geometry as the decoders lay it out (sum of the field sizes of docs/FORMATS.md); src/core/types.c
 * checks vkquant/types.def against these at compile time. */
#define VKQ_QK_f32 1
#define VKQ_BYTES_f32 4
#define VKQ_QK_f16 1
#define VKQ_BYTES_f16 2
#define VKQ_QK_bf16 1
#define VKQ_BYTES_bf16 2
#define VKQ_QK_q4_0 32
#define VKQ_BYTES_q4_0 (2 + 16)                  /* d, qs */
#define VKQ_QK_q4_1 32
#define VKQ_BYTES_q4_1 (2 + 2 + 16)              /* d, m, qs */
#define VKQ_QK_q5_0 32
#define VKQ_BYTES_q5_0 (2 + 4 + 16)              /* d, qh, qs */
#define VKQ_QK_q5_1 32
#define VKQ_BYTES_q5_1 (2 + 2 + 4 + 16)          /* d, m, qh, qs */
#define VKQ_QK_q8_0 32
#define VKQ_BYTES_q8_0 (2 + 32)                  /* d, qs */
#define VKQ_QK_q8_1 32
#define VKQ_BYTES_q8_1 (2 + 2 + 32)              /* d, s, qs */
#define VKQ_QK_q2_k 256
#define VKQ_BYTES_q2_k (16 + 64 + 2 + 2)         /* scales, qs, d, dmin */
#define VKQ_QK_q3_k 256
#define VKQ_BYTES_q3_k (32 + 64 + 12 + 2)        /* hmask, qs, scales, d */
#define VKQ_QK_q4_k 256
#define VKQ_BYTES_q4_k (2 + 2 + 12 + 128)        /* d, dmin, scales, qs */
#define VKQ_QK_q5_k 256
#define VKQ_BYTES_q5_k (2 + 2 + 12 + 32 + 128)   /* d, dmin, scales, qh, qs */
#define VKQ_QK_q6_k 256
#define VKQ_BYTES_q6_k (128 + 64 + 16 + 2)       /* ql, qh, scales, d */
#define VKQ_QK_q8_k 256
#define VKQ_BYTES_q8_k (4 + 256 + 32)            /* d (f32), qs, bsums */
#define VKQ_QK_iq2_xxs 256
#define VKQ_BYTES_iq2_xxs (2 + 64)               /* d, 8 records of 8 bytes */
#define VKQ_QK_iq2_xs 256
#define VKQ_BYTES_iq2_xs (2 + 64 + 8)            /* d, qs (u16), scales */
#define VKQ_QK_iq2_s 256
#define VKQ_BYTES_iq2_s (2 + 32 + 32 + 8 + 8)    /* d, qs, signs, qh, scales */
#define VKQ_QK_iq3_xxs 256
#define VKQ_BYTES_iq3_xxs (2 + 64 + 32)          /* d, grid indices, scales_and_signs */
#define VKQ_QK_iq3_s 256
#define VKQ_BYTES_iq3_s (2 + 64 + 8 + 32 + 4)    /* d, qs, qh, signs, scales */
#define VKQ_QK_iq1_s 256
#define VKQ_BYTES_iq1_s (2 + 32 + 16)            /* d, qs, qh (u16) */
#define VKQ_QK_iq1_m 256
#define VKQ_BYTES_iq1_m (32 + 16 + 8)            /* qs, qh, scales (u16, with d's nibbles) */
#define VKQ_QK_iq4_nl 32
#define VKQ_BYTES_iq4_nl (2 + 16)                /* d, qs */
#define VKQ_QK_iq4_xs 256
#define VKQ_BYTES_iq4_xs (2 + 2 + 4 + 128)       /* d, scales_h, scales_l, qs */
#define VKQ_QK_tq1_0 256
#define VKQ_BYTES_tq1_0 (48 + 4 + 2)             /* qs, qh, d */
#define VKQ_QK_tq2_0 256
#define VKQ_BYTES_tq2_0 (64 + 2)                 /* qs, d */
#define VKQ_QK_mxfp4 32
#define VKQ_BYTES_mxfp4 (1 + 16)                 /* e, qs */
#define VKQ_QK_nvfp4 64
#define VKQ_BYTES_nvfp4 (4 + 32)                 /* d[4] (UE4M3), qs */
#define VKQ_QK_q1_0 128
#define VKQ_BYTES_q1_0 (2 + 16)                  /* d, qs (bits) */
#define VKQ_QK_q2_0 64
#define VKQ_BYTES_q2_0 (2 + 16)                  /* d, qs (u2) */
#define VKQ_QK_nf4 64
#define VKQ_BYTES_nf4 (4 + 32)                   /* absmax (f32), qs */

void vkq_decode_block_f32(const uint8_t *blk, float *out);
void vkq_decode_block_f16(const uint8_t *blk, float *out);
void vkq_decode_block_bf16(const uint8_t *blk, float *out);
void vkq_decode_block_q4_0(const uint8_t *blk, float *out);
void vkq_decode_block_q4_1(const uint8_t *blk, float *out);
void vkq_decode_block_q5_0(const uint8_t *blk, float *out);
void vkq_decode_block_q5_1(const uint8_t *blk, float *out);
void vkq_decode_block_q8_0(const uint8_t *blk, float *out);
void vkq_decode_block_q8_1(const uint8_t *blk, float *out);
void vkq_decode_block_q2_k(const uint8_t *blk, float *out);
void vkq_decode_block_q3_k(const uint8_t *blk, float *out);
void vkq_decode_block_q4_k(const uint8_t *blk, float *out);
void vkq_decode_block_q5_k(const uint8_t *blk, float *out);
void vkq_decode_block_q6_k(const uint8_t *blk, float *out);
void vkq_decode_block_q8_k(const uint8_t *blk, float *out);
void vkq_decode_block_iq2_xxs(const uint8_t *blk, float *out);
void vkq_decode_block_iq2_xs(const uint8_t *blk, float *out);
void vkq_decode_block_iq2_s(const uint8_t *blk, float *out);
void vkq_decode_block_iq3_xxs(const uint8_t *blk, float *out);
void vkq_decode_block_iq3_s(const uint8_t *blk, float *out);
void vkq_decode_block_iq1_s(const uint8_t *blk, float *out);
void vkq_decode_block_iq1_m(const uint8_t *blk, float *out);
void vkq_decode_block_iq4_nl(const uint8_t *blk, float *out);
void vkq_decode_block_iq4_xs(const uint8_t *blk, float *out);
void vkq_decode_block_tq1_0(const uint8_t *blk, float *out);
void vkq_decode_block_tq2_0(const uint8_t *blk, float *out);
void vkq_decode_block_mxfp4(const uint8_t *blk, float *out);
void vkq_decode_block_nvfp4(const uint8_t *blk, float *out);
void vkq_decode_block_q1_0(const uint8_t *blk, float *out);
void vkq_decode_block_q2_0(const uint8_t *blk, float *out);
void vkq_decode_block_nf4(const uint8_t *blk, float *out);

/* The 16 NF4 code values (docs/FORMATS.md §12) as binary32 bit patterns. */
extern const uint32_t vkq_nf4_bits[16];

#endif
