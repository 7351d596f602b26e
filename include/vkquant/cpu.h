/* vkquant CPU kernels: dequant-matmul Y = W * X for layers that stay on the CPU.
 *
 * Same semantics as vkq_matmul (include/vkquant/vulkan.h) on host pointers:
 * - W: m rows of k elements of `type` (ggml row layout), row r at (const uint8_t *)w + r *
 *   w_row_stride (0 = packed: k / QK * block_bytes). Any alignment.
 * - X: f32, k x n, column j at x + j * ldx (0 = k).  Y: f32, m x n, column j at y + j * ldy
 *   (0 = m). Y must not overlap W or X.
 * - k a multiple of the type's block size (else VKQ_ERROR_BAD_SHAPE); m, k, n > 0 and < 2^32.
 *
 * Paths (chosen per call; all give fp32 results):
 * - exact f32 (default for F32, F16, BF16 and the activation types Q8_1/Q8_K; for every type
 *   with VKQ_CPU_EXACT_F32): weights decoded bit-exactly (as vkq_decode_cpu) and fp32 FMA dot
 *   products. F32/F16/BF16 with n = 1 stream 8 rows per pass straight from W (F16 through
 *   F16C, BF16 by shifts), sharing each X load; other cases decode 4 KiB chunks and dot them
 *   against up to 8 columns of X at once (for n > 8 the row is decoded once into scratch and
 *   reused by each 8-column pass). Needs AVX2+FMA+F16C; without them every call takes the
 *   scalar path. VKQ_CPU_NO_SIMD=1 forces that (debug).
 * - int8 (default on AVX2 CPUs for every quantized weight type): X is quantized once per
 *   call to 8 bits with one scale per block (amax / 127, round to nearest), then integer dot
 *   products with the float scales applied per block. The dot products use the best of the
 *   variants the CPU runs (chosen once by cpuid): AVX512-VNNI (+VL, BW; vpdpbusd on 256-bit
 *   vectors: Ice Lake / Sapphire Rapids and later, Zen 4 / Zen 5), AVX-VNNI (Alder Lake and
 *   later), else AVX2 (maddubs + madd). All variants give bit-identical results (the int16
 *   pair sums of maddubs never saturate); VKQ_CPU_NO_VNNI keeps the AVX2 one, and the
 *   environment variable VKQ_CPU_ISA=avx512vnni|avxvnni|avx2|vnni-emu picks one (debug;
 *   vnni-emu is plain AVX2 computing what vpdpbusd computes, so the VNNI code paths can be
 *   tested on any AVX2 CPU; a name the CPU cannot run is ignored). The blocks of X are 32
 *   elements for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4, NVFP4, Q1_0, Q2_0 and NF4, and
 *   256 (with sums per 16, like ggml's Q8_K) for the 256-element super-block types Q2_K, Q3_K,
 *   Q4_K, Q5_K, Q6_K, TQ1_0, TQ2_0, IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S and
 *   IQ4_XS, whose super-block then adds up in integers (sub-block scales applied as int16).
 *   Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4, Q4_K, Q5_K and Q6_K take groups of 8 (Q5_K:
 *   4) rows per pass, each bit-identical with the single-row kernel (more weight streams in
 *   flight from DRAM). NF4's float codebook is replaced by round(127 * code) (NMSE of
 *   the codebook 1.8e-5). NMSE against the exact product ~1.5e-5 for random data (3e-5 for
 *   NF4); turn it off with VKQ_CPU_EXACT_F32.
 * - scalar reference (VKQ_CPU_FORCE_SCALAR): decode_block + plain C fp32 dot, every type.
 *
 * Threads: rows are split into `n_threads` shares (the calling thread does one share);
 * 0 = the pool's size with a pool, else VKQ_CPU_THREADS from the environment, else every online
 * core. Without a pool each call starts and joins its own pthreads; with a pool
 * (vkq_cpu_pool_create) its waiting workers take the shares, much cheaper while they still poll
 * than once they sleep (bench/RESULTS.md has the costs), and n_threads is capped at the pool's size. A call runs on
 * the calling thread alone when m * k * n is under 2^20 multiply-adds without a pool, 2^19
 * with a pool whose workers sleep, 2^16 with one whose workers still poll. Results do not
 * depend on the thread count or on the pool (each row is computed by the same code), and are
 * bit-identical run to run.
 *
 * Thread safety: vkq_cpu_matmul may be called from several threads at once, with or without
 * pools (see vkq_cpu_pool_create for sharing one). The only global state is the
 * kernel-selection table, filled once (pthread_once) from the CPU's features (AVX2 + FMA +
 * F16C, the VNNI variants: cpuid and XCR0) and VKQ_CPU_ISA / VKQ_CPU_NO_SIMD; it is never
 * written afterwards.
 * Per call, the library allocates a small per-thread scratch and, for the int8 path, the
 * quantized copy of X (1.25 bytes per element of X).
 */
#ifndef VKQUANT_CPU_H
#define VKQUANT_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    VKQ_CPU_EXACT_F32 = 1u << 0,    /* never the int8 path: decode exactly, fp32 dot products */
    VKQ_CPU_FORCE_SCALAR = 1u << 1, /* the portable scalar reference path (no SIMD) */
    VKQ_CPU_NO_VNNI = 1u << 2       /* int8 path: the AVX2 kernels even on a VNNI CPU (same
                                       results; for comparisons and the bench) */
};

/* A persistent set of worker threads for vkq_cpu_matmul, owned by the caller. No global
 * pool exists: the library keeps no threads of its own. */
typedef struct vkq_cpu_pool_s *vkq_cpu_pool;

/* Starts n_threads - 1 workers (the calling thread of each matmul is the n-th); 0 =
 * VKQ_CPU_THREADS or every online core; more than 256 is clamped to 256. Between calls a worker
 * polls for VKQ_CPU_POOL_SPIN_US (default 50; 0 = never), so that back-to-back calls skip the
 * wake-up, then sleeps on a condition variable. The spin is read from the environment here,
 * once.
 * Returns VKQ_ERROR_INVALID_ARGUMENT for a NULL out, VKQ_ERROR_OUT_OF_HOST_MEMORY when memory or
 * a thread cannot be had (*out NULL, nothing left running).
 * Sharing: a pool may be passed by several threads at once. One call at a time runs on the
 * workers; a call that finds them busy does not wait for them but runs without them (on
 * threads of its own, or on the calling thread alone under 2^20 multiply-adds), so concurrent
 * calls never deadlock and give the same results. */
VKQ_API vkq_status vkq_cpu_pool_create(uint32_t n_threads, vkq_cpu_pool *out);
/* Wakes and joins the workers, then frees the pool. NULL is a no-op. No call may be using the
 * pool (from any thread) while it is destroyed. A pool does not survive fork(): the child has
 * none of its workers and must not pass it to a call (destroying it there is not allowed
 * either; create a new pool). */
VKQ_API void vkq_cpu_pool_destroy(vkq_cpu_pool pool);
/* The pool's size (workers + 1); 0 for NULL. */
VKQ_API uint32_t vkq_cpu_pool_threads(vkq_cpu_pool pool);

typedef struct vkq_cpu_matmul_desc {
    vkq_type type;
    uint64_t m, k, n;
    const void *w;
    size_t w_row_stride; /* bytes between rows of W; 0 = packed */
    const float *x;
    size_t ldx;          /* floats between columns of X; 0 = k */
    float *y;
    size_t ldy;          /* floats between columns of Y; 0 = m */
    uint32_t n_threads;  /* 0 = the pool's size, else VKQ_CPU_THREADS or every online core */
    uint32_t flags;      /* VKQ_CPU_* */
    vkq_cpu_pool pool;  /* NULL = threads started for this call alone */
} vkq_cpu_matmul_desc;

/* Blocking: checks the arguments (VKQ_ERROR_INVALID_ARGUMENT for NULL pointers, zero sizes,
 * unknown flags or strides smaller than a row/column; VKQ_ERROR_UNKNOWN_TYPE;
 * VKQ_ERROR_BAD_SHAPE when k is not a multiple of the block size; VKQ_ERROR_TOO_LARGE when a
 * size overflows), then writes Y. VKQ_ERROR_OUT_OF_HOST_MEMORY if scratch cannot be allocated
 * (Y untouched). Nothing is written on an error. */
VKQ_API vkq_status vkq_cpu_matmul(const vkq_cpu_matmul_desc *desc);

/* Which path a call with this type and flags takes on this CPU: "int8-avx512vnni",
 * "int8-avxvnni", "int8-avx2", "int8-vnni-emu", "f32-avx2", "scalar"; NULL for an unknown
 * type. For logs and the bench. */
VKQ_API const char *vkq_cpu_matmul_path(vkq_type type, uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif
