/* The SIMD kernels behind vkq_cpu_matmul (src/cpu_matmul.c), one set per instruction set,
 * each in its own file compiled with that ISA's flags (meson.build). cpu_matmul.c calls a set
 * only after checking at run time that the CPU has it. */
#ifndef VKQ_CPU_KERNELS_H
#define VKQ_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* One 32-element block of X quantized to int8 (the int8 path): x ~= d * q; sum_lo/sum_hi are
 * the sums of q[0..15] and q[16..31]. */
typedef struct vkq_xq_block {
    float d;
    int16_t sum_lo, sum_hi;
    int8_t q[32];
} vkq_xq_block;

/* AVX2 + FMA + F16C (src/cpu_matmul_avx2.c). */
void vkq_cpu_avx2_rows_f32(vkq_type type, vkq_decode_block_fn dec, uint32_t qk, uint32_t bb,
                           const uint8_t *w, size_t w_stride, uint64_t r0, uint64_t r1,
                           uint64_t k, const float *x, size_t ldx, uint64_t n, float *y,
                           size_t ldy, float *scratch);
void vkq_cpu_avx2_quantize_x(const float *x, uint64_t k, void *out);
int vkq_cpu_avx2_has_int8(vkq_type type);
void vkq_cpu_avx2_rows_int8(vkq_type type, uint32_t qk, uint32_t bb, const uint8_t *w,
                            size_t w_stride, uint64_t r0, uint64_t r1, uint64_t k, const void *xq,
                            uint64_t n, float *y, size_t ldy);

#endif
