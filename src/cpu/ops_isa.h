/* The inner loops of the CPU layer operations (src/cpu/ops.c), one table per instruction set:
 * the portable one in ops.c (what a baseline x86-64 or any other CPU runs) and the AVX2 + FMA +
 * F16C one in x86/cpu_ops_avx2.c, which ops.c takes only after the run-time CPU check
 * (vkq_cpu_avx2_usable). Both compute the same values within the ops' error bounds (fp32
 * arithmetic, sums in another order, exp from a polynomial instead of libm); neither is bit-
 * identical with the other, and the tests hold both to the f64 reference (tests/meson.build
 * runs test_cpu_ops once with VKQ_CPU_NO_SIMD=1). */
#ifndef VKQ_CPU_OPS_ISA_H
#define VKQ_CPU_OPS_ISA_H

#include <stddef.h>
#include <stdint.h>

#define VKQ_OPS_W 16 /* floats per inner step; head dims padded to it */
#define VKQ_ATT_C 64 /* keys per attention chunk */

typedef struct vkq_cpu_ops_isa {
    /* out[i] = act(gate[i]) * up[i], i < n; kind a vkq_glu_kind; out may equal gate or up. */
    void (*glu)(int kind, const float *gate, const float *up, float *out, uint64_t n);
    /* s[i][c] = sum_e q[i][e] k[c][e] for i < nq (a multiple of 4), c < nc rounded up to 4 (<=
     * VKQ_ATT_C), e < dk (a multiple of VKQ_OPS_W): q [nq][dk], k rows at stride ldk floats, s
     * [nq][VKQ_ATT_C]. */
    void (*attn_scores)(const float *q, uint32_t nq, uint32_t dk, const float *k, size_t ldk, uint32_t nc,
                        float *s);
    /* a[i][e] += sum_c s[i][c] v[c][e] for i < nq (a multiple of 4), c < nc, e < dv (a multiple
     * of VKQ_OPS_W): s [nq][VKQ_ATT_C], v rows at stride ldv floats, a [nq][dv]. */
    void (*attn_pv)(const float *s, uint32_t nq, const float *v, size_t ldv, uint32_t nc, uint32_t dv, float *a);
    /* x[i] = exp(x[i]) for i < VKQ_ATT_C; exp(-inf) = 0. */
    void (*exp_chunk)(float *x);
    /* binary16 (little-endian bytes) to binary32, n values. */
    void (*f16_row)(const uint8_t *src, uint32_t n, float *dst);
} vkq_cpu_ops_isa;

#if defined(__x86_64__) || defined(__i386__)
extern const vkq_cpu_ops_isa vkq_cpu_avx2_ops;
#endif

/* Whether this CPU runs the AVX2 + FMA + F16C kernels (and VKQ_CPU_NO_SIMD is not set):
 * src/cpu/cpu_matmul.c. */
int vkq_cpu_avx2_usable(void);

#endif
