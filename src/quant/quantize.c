/* vkq_quantize: argument checks, then rows split into shares run by the CPU layer's fork/join
 * (src/cpu/cpu_pool.c); each block goes to the quantizer the type table names
 * (src/quant/quantize_*.c). Blocks are independent and each is
 * computed the same way wherever it runs, so the bytes do not depend on the thread count. */
#include "vkquant/quant.h"

#include <math.h>

#include "core/error.h"
#include "core/types.h"
#include "cpu/cpu_pool.h"
#include "quant/quantize_internal.h"

#define MAX_THREADS 64
#define MAX_QK      256

/* Every block must fit the all-ones importance below. */
#define X(NAME, ID, QK, ...) _Static_assert((QK) <= MAX_QK, #NAME ": block too large");
#include "vkquant/types.def"
#undef X

/* Importance of 1 for every column, used when the caller gives none. */
static const float k_ones[MAX_QK] = {
#define ONE8  1, 1, 1, 1, 1, 1, 1, 1
#define ONE64 ONE8, ONE8, ONE8, ONE8, ONE8, ONE8, ONE8, ONE8
    ONE64, ONE64, ONE64, ONE64
#undef ONE64
#undef ONE8
};

typedef struct job {
    const vkq_quantize_desc *d;
    const vkq_type_traits *t;
    uint64_t row_bytes;
    uint32_t n_threads;
} job;

static void quantize_rows(const job *j, uint64_t r0, uint64_t r1)
{
    const uint32_t qk = j->t->info.block_elems, bb = j->t->info.block_bytes;
    const uint64_t nb = j->d->k / qk;
    for (uint64_t r = r0; r < r1; r++) {
        const float *x = j->d->src + r * j->d->k;
        uint8_t *out = (uint8_t *)j->d->dst + r * j->row_bytes;
        for (uint64_t b = 0; b < nb; b++) {
            const float *w = j->d->importance ? j->d->importance + b * qk : k_ones;
            j->t->quantize_block(x + b * qk, w, out + b * bb);
        }
    }
}

static void share_main(void *arg, uint32_t share)
{
    const job *j = (const job *)arg;
    const uint64_t rows = j->d->rows;
    quantize_rows(j, rows * share / j->n_threads, rows * (share + 1) / j->n_threads);
}

static int all_finite(const float *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (!isfinite(p[i])) return 0;
    }
    return 1;
}

vkq_status vkq_quantize(const vkq_quantize_desc *desc)
{
    if (!desc || !desc->src || !desc->dst || !desc->rows || !desc->k) {
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    }
    const vkq_type_traits *t = vkq_traits(desc->type);
    if (!t) return vkq_fail_status(VKQ_ERROR_UNKNOWN_TYPE);
    if (!t->quantize_block) return vkq_fail_status(VKQ_ERROR_UNSUPPORTED);
    uint64_t row_bytes;
    const vkq_status st = vkq_type_bytes(desc->type, desc->k, &row_bytes);
    if (st != VKQ_SUCCESS) return st;
    if (desc->rows > UINT64_MAX / desc->k || row_bytes > UINT64_MAX / desc->rows ||
        desc->rows * desc->k > SIZE_MAX / sizeof(float)) {
        return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
    }
    if ((uint64_t)desc->dst_size < row_bytes * desc->rows) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    /* Checked up front so that nothing is written when the input is bad. */
    if (!all_finite(desc->src, desc->rows * desc->k)) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (desc->importance) {
        for (uint64_t i = 0; i < desc->k; i++) {
            if (!(desc->importance[i] >= 0.0f) || !isfinite(desc->importance[i])) {
                return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
            }
        }
    }

    /* 0 threads: VKQ_CPU_THREADS, else every online core, as vkq_cpu_matmul. */
    uint32_t nt = desc->n_threads;
    if (!nt) {
        const vkq_status env_st = vkq_cpu_threads_from_env(&nt);
        if (env_st != VKQ_SUCCESS) return env_st;
    }
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    if ((uint64_t)nt > desc->rows) nt = (uint32_t)desc->rows;
    job j = {.d = desc, .t = t, .row_bytes = row_bytes, .n_threads = nt};
    vkq_cpu_fork_join(NULL, nt, share_main, &j);
    return VKQ_SUCCESS;
}

int vkq_quantize_supported(vkq_type type)
{
    const vkq_type_traits *t = vkq_traits(type);
    return t != NULL && t->quantize_block != NULL;
}
