/* vkq_cpu_matmul: argument checks, path choice, row split across pthreads, and the portable
 * scalar reference path. SIMD kernels live in cpu_*_avx2.c (built with -mavx2 -mfma -mf16c);
 * this file is baseline x86-64 (or any other architecture) and calls them only after a
 * run-time CPU check. */
#include "vkquant/cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "core/types.h"
#include "cpu/cpu_kernels.h"
#include "cpu/cpu_pool.h"
#include "cpu/ops_isa.h"

#define CH 1024 /* floats decoded at a time by the scalar path (and cpu_f32_avx2.c) */

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86_KERNELS 1
#else
#define HAVE_X86_KERNELS 0
#endif
#if HAVE_X86_KERNELS
#include <cpuid.h>
#endif

/* ---- the kernel table: filled once, read-only afterwards ----------------------------------- */

typedef struct kernels {
    int avx2;                   /* AVX2 + FMA + F16C */
    const vkq_cpu_int8_isa *int8; /* the int8 variant calls take (NULL without AVX2) */
    const char *int8_path;      /* its name for vkq_cpu_matmul_path */
    vkq_status env_status;      /* a bad VKQ_CPU_NO_SIMD or VKQ_CPU_ISA fails every call */
    char env_error[256];        /* with this message (recorded once, repeated per call) */
} kernels;

static kernels g_kernels;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#if HAVE_X86_KERNELS
/* The OS saves these register states (XCR0), read only after cpuid says OSXSAVE. */
static uint64_t os_xsave_mask(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

/* AVX512-F, -BW, -VL and -VNNI (cpuid leaf 7), with the OS saving the opmask and all 32
 * vector registers (XCR0 bits 5-7) besides the YMM state (bits 1-2). */
static int cpu_avx512vnni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int feat = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) && (c & (1u << 11));
    return feat && (os_xsave_mask() & 0xE6) == 0xE6;
}

/* AVX-VNNI (VEX form, cpuid leaf 7 sub-leaf 1 EAX bit 4) with the YMM state saved. */
static int cpu_avxvnni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a & (1u << 4)) && (os_xsave_mask() & 0x6) == 0x6;
}
#endif

static void init_kernels(void)
{
#if HAVE_X86_KERNELS
    __builtin_cpu_init();
    /* F16C from cpuid directly: clang 14's __builtin_cpu_supports does not know "f16c". */
    unsigned a, b, c, d;
    int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
    g_kernels.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#endif
    /* Read once, when the table is filled: the kernels of a process do not change. */
    vkq_env_value no_simd, want;
    g_kernels.env_status = vkq_env_get(VKQ_ENV_CPU_NO_SIMD, &no_simd);
    if (g_kernels.env_status == VKQ_SUCCESS) g_kernels.env_status = vkq_env_get(VKQ_ENV_CPU_ISA, &want);
    if (g_kernels.env_status != VKQ_SUCCESS) {
        snprintf(g_kernels.env_error, sizeof g_kernels.env_error, "%s", vkq_last_error());
        return;
    }
    if (no_simd.num) g_kernels.avx2 = 0; /* debug: pretend a baseline CPU */
#if HAVE_X86_KERNELS
    /* Names VKQ_CPU_ISA takes, whether or not this build or CPU has them (then: the best). */
    static const char *const k_isa_names[] = {"avx512vnni", "avxvnni", "avx2", "vnni-emu"};
    int known = !want.set;
    for (size_t i = 0; i < sizeof k_isa_names / sizeof *k_isa_names; ++i)
        if (want.set && strcmp(want.str, k_isa_names[i]) == 0) known = 1;
    if (!known) {
        g_kernels.env_status = VKQ_ERROR_INVALID_ARGUMENT;
        snprintf(g_kernels.env_error, sizeof g_kernels.env_error,
                 "VKQ_CPU_ISA=%s: expected one of avx512vnni, avxvnni, avx2, vnni-emu", want.str);
    }
#endif
#if HAVE_X86_KERNELS
    if (!g_kernels.avx2) return;
    /* The variants, best first, with whether this CPU runs them; VKQ_CPU_ISA picks one by the
     * name after "int8-" (debug, bench); vnni-emu runs anywhere but only when asked for. */
    struct { const char *path; const vkq_cpu_int8_isa *isa; int ok; } v[] = {
#ifdef VKQ_HAVE_CPU_AVX512VNNI
        {"int8-avx512vnni", &vkq_cpu_avx512vnni_int8, cpu_avx512vnni()},
#endif
#ifdef VKQ_HAVE_CPU_AVXVNNI
        {"int8-avxvnni", &vkq_cpu_avxvnni_int8, cpu_avxvnni()},
#endif
        {"int8-avx2", &vkq_cpu_avx2_int8, 1},
        {"int8-vnni-emu", &vkq_cpu_vnniemu_int8, 0},
    };
    const size_t nv = sizeof v / sizeof v[0];
    size_t pick = nv;
    for (size_t i = 0; want.set && i < nv; ++i)
        if (strcmp(want.str, v[i].path + 5) == 0 && (v[i].ok || v[i].isa == &vkq_cpu_vnniemu_int8)) pick = i;
    for (size_t i = 0; pick == nv && i < nv; ++i)
        if (v[i].ok) pick = i;
    g_kernels.int8 = v[pick].isa;
    g_kernels.int8_path = v[pick].path;
#endif
}

static const kernels *get_kernels(void)
{
    pthread_once(&g_once, init_kernels);
    return &g_kernels;
}

int vkq_cpu_avx2_usable(void)
{
    return get_kernels()->avx2;
}

typedef enum path { PATH_SCALAR, PATH_F32, PATH_INT8 } path;

/* The int8 variant a call with these flags takes (NULL: none). */
static const vkq_cpu_int8_isa *int8_isa(uint32_t flags)
{
    const kernels *kt = get_kernels();
#if HAVE_X86_KERNELS
    if (kt->int8 && (flags & VKQ_CPU_NO_VNNI)) return &vkq_cpu_avx2_int8;
#endif
    (void)flags;
    return kt->int8;
}

/* The int8 kernel of `type` in variant isa (its table entry), NULL if none. */
static const vkq_int8_kernel *int8_kernel(const vkq_cpu_int8_isa *isa, vkq_type type)
{
    if (!isa || (unsigned)type > VKQ_TYPE_MAX_ID || !isa->kernels[type].dot) return NULL;
    return &isa->kernels[type];
}

static path choose_path(vkq_type type, uint32_t flags)
{
    const kernels *kt = get_kernels();
    if ((flags & VKQ_CPU_FORCE_SCALAR) || !kt->avx2) return PATH_SCALAR;
    if (!(flags & VKQ_CPU_EXACT_F32) && int8_kernel(int8_isa(flags), type)) return PATH_INT8;
    return PATH_F32;
}

uint32_t vkq_cpu_int8_x_block(vkq_type type, uint32_t flags)
{
    if (!vkq_traits(type) || choose_path(type, flags) != PATH_INT8) return 0;
    return int8_kernel(int8_isa(flags), type)->x_block;
}

const char *vkq_cpu_matmul_path(vkq_type type, uint32_t flags)
{
    if (!vkq_traits(type)) return NULL;
    switch (choose_path(type, flags)) {
    case PATH_INT8: return (flags & VKQ_CPU_NO_VNNI) ? "int8-avx2" : get_kernels()->int8_path;
    case PATH_F32: return "f32-avx2";
    default: return "scalar";
    }
}

/* ---- scalar reference ---------------------------------------------------------------------- */

/* Rows [r0, r1): per chunk of up to CH decoded elements, a sequential fp32 dot per column,
 * added into acc[c] (n floats of scratch). scratch: CH + n floats. */
static void rows_scalar(const vkq_type_traits *tr, const uint8_t *w, size_t w_stride, uint64_t r0,
                        uint64_t r1, uint64_t k, const float *x, size_t ldx, uint64_t n, float *y,
                        size_t ldy, float *scratch)
{
    const uint32_t qk = tr->info.block_elems, bb = tr->info.block_bytes;
    const uint64_t chunk = CH / qk * qk;
    float *buf = scratch, *acc = scratch + CH;
    for (uint64_t r = r0; r < r1; ++r) {
        const uint8_t *row = w + r * w_stride;
        for (uint64_t c = 0; c < n; ++c) acc[c] = 0.0f;
        for (uint64_t e0 = 0; e0 < k; e0 += chunk) {
            const uint64_t len = k - e0 < chunk ? k - e0 : chunk;
            const uint8_t *p = row + e0 / qk * bb;
            for (uint64_t b = 0; b < len / qk; ++b) tr->decode_block(p + b * bb, buf + b * qk);
            for (uint64_t c = 0; c < n; ++c) {
                const float *xc = x + c * ldx + e0;
                float s = 0.0f;
                for (uint64_t e = 0; e < len; ++e) s += buf[e] * xc[e];
                acc[c] += s;
            }
        }
        for (uint64_t c = 0; c < n; ++c) y[c * ldy + r] = acc[c];
    }
}

/* ---- threads ------------------------------------------------------------------------------- */

typedef struct job {
    const vkq_type_traits *tr;
    path p;
    const uint8_t *w;
    size_t w_stride;
    uint64_t m, k, n;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
    const void *xq;
    const vkq_cpu_int8_isa *isa;
    vkq_int8_dot_fn dot;
    vkq_int8_group grp;
    size_t xq_col_bytes;
    float *scratch;      /* per thread: scratch + t * scratch_len */
    size_t scratch_len;  /* floats */
    uint32_t n_threads;
} job;

static void run_share(const job *j, uint32_t t)
{
    const uint64_t r0 = j->m * t / j->n_threads, r1 = j->m * (t + 1) / j->n_threads;
    if (r0 >= r1) return;
    float *scratch = j->scratch + (size_t)t * j->scratch_len;
    const uint32_t qk = j->tr->info.block_elems, bb = j->tr->info.block_bytes;
    switch (j->p) {
#if HAVE_X86_KERNELS
    case PATH_INT8:
        j->isa->rows(j->dot, j->grp, j->k / qk, j->w, j->w_stride, r0, r1, j->xq, j->xq_col_bytes, j->n,
                     j->y, j->ldy, scratch);
        break;
    case PATH_F32:
        vkq_cpu_avx2_rows_f32(j->tr->info.type, j->tr->decode_block, qk, bb, j->w, j->w_stride, r0,
                              r1, j->k, j->x, j->ldx, j->n, j->y, j->ldy, scratch);
        break;
#endif
    default:
        rows_scalar(j->tr, j->w, j->w_stride, r0, r1, j->k, j->x, j->ldx, j->n, j->y, j->ldy,
                    scratch);
        break;
    }
}

static void share_main(void *arg, uint32_t t)
{
    run_share((const job *)arg, t);
}

/* ---- entry point --------------------------------------------------------------------------- */

vkq_status vkq_cpu_matmul(const vkq_cpu_matmul_desc *d)
{
    if (!d || !d->w || !d->x || !d->y) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    const vkq_type_traits *tr = vkq_traits(d->type);
    if (!tr) return vkq_fail_status(VKQ_ERROR_UNKNOWN_TYPE);
    if (d->m == 0 || d->k == 0 || d->n == 0) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (d->flags & ~(uint32_t)(VKQ_CPU_EXACT_F32 | VKQ_CPU_FORCE_SCALAR | VKQ_CPU_NO_VNNI))
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (d->k % tr->info.block_elems) return vkq_fail_status(VKQ_ERROR_BAD_SHAPE);
    if (d->m > UINT32_MAX || d->k > UINT32_MAX || d->n > UINT32_MAX)
        return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
    if (get_kernels()->env_status != VKQ_SUCCESS)
        return vkq_fail(get_kernels()->env_status, "%s", get_kernels()->env_error);
    const uint64_t m = d->m, k = d->k, n = d->n;
    const uint64_t row_bytes = k / tr->info.block_elems * tr->info.block_bytes;
    const uint64_t ws = d->w_row_stride ? d->w_row_stride : row_bytes;
    const uint64_t ldx = d->ldx ? d->ldx : k, ldy = d->ldy ? d->ldy : m;
    if (ws < row_bytes || ldx < k || ldy < m) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    /* Every address computed must fit size_t: (count - 1) * stride + last. */
    const uint64_t lim = SIZE_MAX;
    if (row_bytes > lim || (m - 1) > (lim - row_bytes) / ws) return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
    if ((n - 1) > (lim / 4 - k) / ldx || (n - 1) > (lim / 4 - m) / ldy)
        return vkq_fail_status(VKQ_ERROR_TOO_LARGE);

    const path p = choose_path(d->type, d->flags);
    const uint32_t cap = d->pool ? vkq_cpu_pool_threads(d->pool) : VKQ_CPU_MAX_THREADS;
    uint32_t nt = d->n_threads ? d->n_threads : cap;
    vkq_status st;
    if (!d->n_threads && !d->pool && (st = vkq_cpu_threads_from_env(&nt)) != VKQ_SUCCESS) return st;
    if (nt > cap) nt = cap;
    if (nt > m) nt = (uint32_t)m;
    /* The smallest product (m * k * n multiply-adds) worth splitting: below it one thread is
     * faster than handing shares out. New threads cost most, a pool's sleeping workers less and
     * its polling ones least, so the threshold is 2^20, 2^19 and 2^16 multiply-adds
     * (bench/RESULTS.md, "Figures behind code choices"). The split does not change results. */
    const uint64_t min_split = (uint64_t)1 << (!d->pool ? 20 : vkq_cpu_pool_awake(d->pool) ? 16 : 19);
    if (m * k < min_split / n) nt = 1; /* m * k * n < min_split, without overflow */

    /* Scratch per thread: a decode chunk plus a decoded row (f32 path, n > 8) or the column
     * accumulators (scalar path). */
    const vkq_cpu_int8_isa *isa = p == PATH_INT8 ? int8_isa(d->flags) : NULL;
    const vkq_int8_kernel *kern = int8_kernel(isa, d->type);
    const uint32_t xblk = kern ? kern->x_block : 0;
    const vkq_int8_dot_fn dot = kern ? kern->dot : NULL;
    const vkq_int8_group grp = kern && kern->group ? *kern->group : (vkq_int8_group){NULL, 0, NULL, NULL, 0, 0};
    /* Per thread, the int8 GEMM path's decoded row group: rows x k / qk blocks x pre_bytes. */
    const uint64_t pre_floats = grp.decode && n >= VKQ_INT8_GEMM_MIN_N
                                    ? ((uint64_t)grp.rows * (k / tr->info.block_elems) * grp.pre_bytes + 3) / 4
                                    : 0;
    const uint64_t extra = p == PATH_SCALAR ? n : p == PATH_F32 ? k : pre_floats;
    const uint64_t scratch_len = (CH + extra + 15) / 16 * 16; /* 64-byte multiples */
    if (scratch_len > lim / sizeof(float) / nt) return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
    uint64_t xq_bytes = 0, xq_col_bytes = 0;
    if (p == PATH_INT8) { /* k is a multiple of the weight block, itself a multiple of xblk */
        xq_col_bytes = k / xblk * (xblk == 256 ? sizeof(vkq_xk_block) : sizeof(vkq_xq_block));
        if (n > lim / xq_col_bytes) return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
        xq_bytes = n * xq_col_bytes;
    }
    const uint64_t scratch_bytes = scratch_len * sizeof(float) * nt;
    if (xq_bytes > lim - scratch_bytes - 64) return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
    void *mem = NULL;
    if (posix_memalign(&mem, 64, (size_t)(scratch_bytes + xq_bytes)) != 0 || !mem)
        return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);

    job j = {
        .tr = tr, .p = p, .w = (const uint8_t *)d->w, .w_stride = (size_t)ws,
        .m = m, .k = k, .n = n, .x = d->x, .ldx = (size_t)ldx, .y = d->y, .ldy = (size_t)ldy,
        .xq = (const uint8_t *)mem + scratch_bytes, .isa = isa, .dot = dot, .grp = grp, .xq_col_bytes = (size_t)xq_col_bytes,
        .scratch = (float *)mem,
        .scratch_len = (size_t)scratch_len, .n_threads = nt,
    };
    if (p == PATH_INT8)
        for (uint64_t c = 0; c < n; ++c) {
            uint8_t *out = (uint8_t *)mem + scratch_bytes + c * xq_col_bytes;
            if (xblk == 256) isa->quantize_xk(d->x + c * ldx, k, out);
            else isa->quantize_x(d->x + c * ldx, k, out);
        }

    if (nt == 1) {
        run_share(&j, 0);
    } else if (!d->pool || !vkq_cpu_pool_try_run(d->pool, nt, share_main, &j)) {
        /* Busy pool and a product too small for new threads: every share here. */
        if (m * k < ((uint64_t)1 << 20) / n)
            for (uint32_t t = 0; t < nt; ++t) run_share(&j, t);
        else
            vkq_cpu_fork_join(NULL, nt, share_main, &j);
    }
    free(mem);
    return VKQ_SUCCESS;
}
