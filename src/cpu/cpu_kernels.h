/* The SIMD kernels behind vkq_cpu_matmul (src/cpu/cpu_matmul.c), one set per instruction set,
 * each in its own file compiled with that ISA's flags (meson.build). cpu_matmul.c calls a set
 * only after checking at run time that the CPU has it. */
#ifndef VKQ_CPU_KERNELS_H
#define VKQ_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

/* One 32-element block of X quantized to int8 (the int8 path): x ~= d * q; sum_lo/sum_hi are
 * the sums of q[0..15] and q[16..31]. */
typedef struct vkq_xq_block {
    float d;
    int16_t sum_lo, sum_hi;
    int8_t q[32];
} vkq_xq_block;

/* 256 elements of X quantized to int8 for the super-block types (K-quants, TQ1_0, TQ2_0, the
 * IQ types but IQ4_NL; like ggml's Q8_K): x ~= d * q; bsums[j] = sum of q[16 j .. 16 j + 15]. q first and
 * the struct 64-byte aligned, so every q load is aligned within the 64-byte aligned scratch. */
typedef struct vkq_xk_block {
    _Alignas(64) int8_t q[256];
    int16_t bsums[16];
    float d;
} vkq_xk_block;

/* Dot product of one row of nb weight blocks with one quantized column of X (vkq_xq_block
 * or vkq_xk_block, whichever the kernel's table entry says). */
typedef float (*vkq_int8_dot_fn)(const uint8_t *w, uint64_t nb, const void *xq);
/* The same for a group of `rows` rows w, w + w_stride, ... at once (sharing X's loads; more
 * weight streams in flight), into out[0 .. rows - 1]; each bit-identical with the one-row
 * function. fn NULL: no group kernel for the type. */
typedef struct vkq_int8_group {
    void (*fn)(const uint8_t *w, size_t w_stride, uint64_t nb, const void *xq, float *out);
    uint32_t rows; /* at most VKQ_INT8_GROUP_MAX */
    /* The GEMM path (n >= VKQ_INT8_GEMM_MIN_N columns), for types whose decoding costs more
     * than their dot products (q5_0: two bit expansions per block pair): decode writes the
     * group's rows decoded into pre (pre_bytes per row per weight block, 32-byte aligned),
     * once, and pre_fn runs n columns (x_col_bytes apart) against them into y[c * ldy + i];
     * every result bit-identical with fn's. decode NULL: no GEMM path, fn serves every column. */
    void (*decode)(const uint8_t *w, size_t w_stride, uint64_t nb, void *pre);
    void (*pre_fn)(const void *pre, const uint8_t *w, size_t w_stride, uint64_t nb, const void *xq,
                   size_t x_col_bytes, uint64_t n, float *y, size_t ldy);
    uint32_t pre_bytes;
    /* 1: mat-vec rows shorter than VKQ_INT8_GROUP_MIN_ROW_BYTES still go in groups: the
     * kernel's per-column work for X (q4_0..q5_1: loads, sums and scales per block pair) costs
     * more than the prefetcher loses on several short streams (q5_0 at k = 640, 2 threads, Xeon:
     * 15.9 GB/s in groups against 7.5 one row at a time). */
    uint32_t short_rows;
} vkq_int8_group;
#define VKQ_INT8_GROUP_MAX 8
#define VKQ_INT8_GEMM_MIN_N 2
/* Mat-vec rows shorter than this (bytes) go one at a time, not in groups (rows_int8). */
#define VKQ_INT8_GROUP_MIN_ROW_BYTES 4096

/* The int8 kernel of one type in one variant: its entry in the variant's table. */
typedef struct vkq_int8_kernel {
    vkq_int8_dot_fn dot;          /* NULL: the type has no int8 kernel */
    const vkq_int8_group *group;  /* NULL: no row-group kernel */
    uint32_t x_block;             /* X quantized per 32 (vkq_xq_block) or 256 (vkq_xk_block) */
} vkq_int8_kernel;

/* Elements per block of quantized X that the int8 path of `type` uses with these flags (32
 * or 256), 0 when the call does not take the int8 path (src/cpu/cpu_matmul.c; tests use it for
 * the error bound). */
uint32_t vkq_cpu_int8_x_block(vkq_type type, uint32_t flags);

/* AVX2 + FMA + F16C, exact f32 path: src/cpu/x86/cpu_f32_avx2.c. */
void vkq_cpu_avx2_rows_f32(vkq_type type, vkq_decode_block_fn dec, uint32_t qk, uint32_t bb,
                           const uint8_t *w, size_t w_stride, uint64_t r0, uint64_t r1,
                           uint64_t k, const float *x, size_t ldx, uint64_t n, float *y,
                           size_t ldy, float *scratch);

/* One int8 variant (cpu_int8_avx2.c + cpu_int8k_avx2.c built with its flags; the variants and
 * how they differ: cpu_avx2_util.h). Every variant has a kernel for the same types (one table
 * source, cpu_int8_avx2.c), and gives bit-identical results. */
typedef struct vkq_cpu_int8_isa {
    void (*quantize_x)(const float *x, uint64_t k, void *out);  /* to vkq_xq_block */
    void (*quantize_xk)(const float *x, uint64_t k, void *out); /* to vkq_xk_block */
    vkq_int8_kernel kernels[VKQ_TYPE_MAX_ID + 1];               /* indexed by vkq_type */
    /* Rows [r0, r1) of Y against quantized X: n columns of x_col_bytes each; grp (fn may be
     * NULL) takes whole groups of rows, dot the rest. */
    void (*rows)(vkq_int8_dot_fn dot, vkq_int8_group grp, uint64_t nb, const uint8_t *w, size_t w_stride,
                 uint64_t r0, uint64_t r1, const void *xq, size_t x_col_bytes, uint64_t n, float *y,
                 size_t ldy, void *scratch);
} vkq_cpu_int8_isa;

/* The variants built into this library (VKQ_HAVE_CPU_<NAME> from meson.build: the compiler
 * must know the instructions). */
extern const vkq_cpu_int8_isa vkq_cpu_avx2_int8;
#ifdef VKQ_HAVE_CPU_AVXVNNI
extern const vkq_cpu_int8_isa vkq_cpu_avxvnni_int8;
#endif
#ifdef VKQ_HAVE_CPU_AVX512VNNI
extern const vkq_cpu_int8_isa vkq_cpu_avx512vnni_int8;
#endif
extern const vkq_cpu_int8_isa vkq_cpu_vnniemu_int8;

#endif
