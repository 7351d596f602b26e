/* One case of the sweep: a type at one shape, measured on the Vulkan device and on the CPU path.
 *
 * Accuracy is measured on a slice of rows, because the f64 products and the quantizer's search
 * would dominate the run on the full matrix: `na` source rows spread evenly over the matrix are
 * quantized, and their blocks are tiled over all m rows of the timed weight buffer (so the
 * kernel reads realistic blocks everywhere, and output rows 0..na-1 belong to the slice). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "timing.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "vkquant/cpu.h"
#include "vkquant/quant.h"

#define ACC_ROWS 32 /* rows of the accuracy slice */
#define ACC_COLS 8  /* columns of X compared */

uint64_t sweep_accuracy_rows(uint64_t m)
{
    return m < ACC_ROWS ? m : ACC_ROWS;
}

/* Buffers rotated between runs: enough that together they exceed typical last-level caches. */
static int rotation_count(uint64_t bytes)
{
    uint64_t want = 256ull << 20;
    int n = (int)((want + bytes - 1) / bytes);
    return n < 2 ? 2 : n > 8 ? 8 : n;
}

double cpu_copy_gbps(void)
{
    const size_t bytes = 256u << 20;
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    double best = 0;
    if (a && b) {
        memset(a, 1, bytes); /* touch the pages so the first copy does not time page faults */
        memset(b, 2, bytes);
        double t[5];
        for (int i = 0; i < 5; ++i) {
            double t0 = bench_now_us();
            memcpy(i & 1 ? a : b, i & 1 ? b : a, bytes);
            t[i] = bench_now_us() - t0;
        }
        best = 2.0 * (double)bytes / bench_median(t, 5) * 1e-3; /* median, read + write */
    }
    free(a);
    free(b);
    return best;
}

static double gauss(uint64_t *rng)
{
    double u1 = ((double)(vkq_test_rand(rng) >> 11) + 1.0) * 0x1p-53,
           u2 = (double)(vkq_test_rand(rng) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void fill_x(float *x, uint64_t count, uint64_t seed)
{
    uint64_t rng = seed;
    for (uint64_t i = 0; i < count; ++i)
        x[i] = (float)gauss(&rng);
}

static double nmse_f32(const float *a, const float *ref, uint64_t n)
{
    double num = 0, den = 0;
    for (uint64_t i = 0; i < n; ++i) {
        double d = (double)a[i] - ref[i];
        if (!isfinite(a[i])) return INFINITY;
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

static void skip(row *r, const char *why)
{
    snprintf(r->status, sizeof r->status, "skipped: %.180s", why);
}

/* What both backends share: the slice, its blocks, the tiled weights, X and the references. */
typedef struct acc_data {
    uint64_t m, k, n, na, nc, rb, wbytes;
    uint8_t *wq;      /* m rows of blocks */
    float *x;         /* k x n */
    double *ref_true; /* na x nc: source weights x X */
    double *ref_dec;  /* na x nc: decoded blocks x X */
    double nmse_weights;
    char acc_skip[120]; /* "" when the blocks are quantized from the source */
} acc_data;

static int prepare(const sweep_env *e, vkq_type t, shape s, acc_data *a, char *why, size_t why_size)
{
    const vkq_type_info *ti = vkq_type_get(t);
    const uint64_t qk = ti->block_elems;
    memset(a, 0, sizeof *a);
    a->nmse_weights = NAN;
    if (weights_rows(e->w)) {
        /* A file tensor is measured at its own m x k or not at all: cutting k to whole blocks
         * would put types measured on different matrices into one table. */
        a->m = weights_rows(e->w);
        a->k = weights_cols(e->w);
        if (a->k % qk) {
            snprintf(why, why_size, "k=%llu not a multiple of %llu%s", (unsigned long long)a->k,
                     (unsigned long long)qk, a->k < qk ? " (fewer than one block)" : "");
            return 1;
        }
    } else {
        a->m = s.m;
        a->k = (s.k + qk - 1) / qk * qk;
    }
    a->n = s.n;
    a->na = sweep_accuracy_rows(a->m);
    a->nc = a->n < ACC_COLS ? a->n : ACC_COLS;
    if (vkq_type_bytes(t, a->k, &a->rb) != VKQ_SUCCESS || a->rb > UINT64_MAX / a->m) {
        snprintf(why, why_size, "shape too large");
        return 1;
    }
    a->wbytes = a->rb * a->m;
    float *src = malloc(sizeof(float) * a->na * a->k), *dec = malloc(sizeof(float) * a->na * a->k);
    a->wq = malloc(a->wbytes);
    a->x = malloc(sizeof(float) * a->k * a->n);
    a->ref_true = malloc(sizeof(double) * a->na * a->nc);
    a->ref_dec = malloc(sizeof(double) * a->na * a->nc);
    if (!src || !dec || !a->wq || !a->x || !a->ref_true || !a->ref_dec) {
        free(src), free(dec);
        snprintf(why, why_size, "out of host memory for a %llux%llu matrix", (unsigned long long)a->m,
                 (unsigned long long)a->k);
        return 1;
    }
    for (uint64_t i = 0; i < a->na; ++i)
        weights_row(e->w, i * a->m / a->na, a->k, src + i * a->k);

    vkq_status st = VKQ_ERROR_UNSUPPORTED;
    if (vkq_quantize_supported(t)) {
        vkq_quantize_desc qd = {.type = t,
                                .rows = a->na,
                                .k = a->k,
                                .src = src,
                                .dst = a->wq,
                                .dst_size = a->na * a->rb,
                                .n_threads = e->o->cpu_threads};
        st = vkq_quantize(&qd);
        if (st != VKQ_SUCCESS)
            snprintf(a->acc_skip, sizeof a->acc_skip, "quantizer failed: %s", vkq_status_string(st));
    } else {
        snprintf(a->acc_skip, sizeof a->acc_skip, "no quantizer");
    }
    if (st != VKQ_SUCCESS) { /* throughput still runs, on random valid blocks */
        uint64_t rng = e->o->seed ^ (uint64_t)t * 0x2545F4914F6CDD1Dull;
        vkq_test_random_weights(t, a->na * a->rb / ti->block_bytes, &rng, a->wq);
    }
    vkq_decode_cpu(t, a->wq, a->na * a->rb, dec, a->na * a->k);
    if (st == VKQ_SUCCESS) a->nmse_weights = nmse_f32(dec, src, a->na * a->k);
    for (uint64_t r = a->na; r < a->m; ++r)
        memcpy(a->wq + r * a->rb, a->wq + (r % a->na) * a->rb, a->rb);

    /* The same X for every type at this shape, so errors compare across types. */
    fill_x(a->x, a->k * a->n, e->o->seed * 31 + a->k * 7 + a->n);
    matmul_ref_f64(src, a->x, a->ref_true, a->na, a->k, a->nc);
    matmul_ref_f64(dec, a->x, a->ref_dec, a->na, a->k, a->nc);
    free(src);
    free(dec);
    return 0;
}

static void release(acc_data *a)
{
    free(a->wq);
    free(a->x);
    free(a->ref_true);
    free(a->ref_dec);
}

/* Output errors from Y (column-major, ld m) and the final status. */
static void finish(row *r, const acc_data *a, const float *y)
{
    r->nmse_kernel = matmul_nmse(y, a->m, a->ref_dec, a->na, a->nc);
    if (!a->acc_skip[0]) r->nmse_output = matmul_nmse(y, a->m, a->ref_true, a->na, a->nc);
    r->nmse_weights = a->nmse_weights;
    r->gbps = (double)a->wbytes / r->time_us * 1e-3;
    r->gflops = 2.0 * (double)a->m * (double)a->k * (double)a->n / r->time_us * 1e-3;
    if (a->acc_skip[0])
        skip(r, a->acc_skip);
    else
        snprintf(r->status, sizeof r->status, "ok");
}

static void run_vulkan(const sweep_env *e, vkq_type t, const acc_data *a, row *r)
{
    gpu *g = e->g;
    const vkq_kernel_config *cfg = vkq_device_get_config(g->dev, NULL);
    r->kernel = a->n <= 8 ? "mat-vec" : cfg->mm_via_matvec == VKQ_MM_VIA_MATVEC ? "mv-x8" : "gemm";
    int nb = rotation_count(a->wbytes);
    vkq_buffer bufs[8] = {0}, x = NULL, y = NULL;
    float *yv = malloc(sizeof(float) * a->m * a->nc);
    int ok = yv != NULL;
    for (int i = 0; ok && i < nb; ++i)
        ok = vkq_buffer_create(g->dev, a->wbytes, VKQ_MEMORY_DEVICE, a->rb, &bufs[i]) == VKQ_SUCCESS &&
             vkq_buffer_upload(bufs[i], 0, a->wq, a->wbytes) == VKQ_SUCCESS;
    ok = ok && vkq_buffer_create(g->dev, a->k * a->n * 4, VKQ_MEMORY_DEVICE, a->k * 4, &x) == VKQ_SUCCESS &&
         vkq_buffer_create(g->dev, a->m * a->n * 4, VKQ_MEMORY_DEVICE, a->m * 4, &y) == VKQ_SUCCESS &&
         vkq_buffer_upload(x, 0, a->x, a->k * a->n * 4) == VKQ_SUCCESS;
    if (!ok) {
        skip(r, yv ? vkq_last_error() : "out of host memory");
        goto done;
    }
    vkq_matmul_desc d = {.type = t, .m = a->m, .k = a->k, .n = a->n, .w = bufs[0], .x = x, .y = y};
    r->first_use_ms = gpu_pipeline_ms(g, t, a->n);
    if (vkq_matmul(g->dev, &d) != VKQ_SUCCESS ||
        vkq_buffer_download(y, 0, yv, a->m * a->nc * 4) != VKQ_SUCCESS) {
        skip(r, vkq_last_error());
        goto done;
    }
    vkq_matmul_path path; /* which GEMM variant (fp32/fp16/int8) the library picked */
    if (vkq_matmul_get_path(g->dev, &d, &path) == VKQ_SUCCESS && path != VKQ_MATMUL_PATH_MATVEC)
        r->kernel = vkq_matmul_path_name(path);
    r->reps = e->o->reps;
    r->time_us = gpu_time_matmul(g, d, bufs, nb, r->reps);
    if (r->time_us <= 0) {
        r->time_us = NAN;
        char why[200];
        snprintf(why, sizeof why, "recording failed: %.160s", vkq_last_error());
        skip(r, why);
        goto done;
    }
    finish(r, a, yv);
    r->pct = e->copy_gbps > 0 ? 100.0 * r->gbps / e->copy_gbps : NAN;
done:
    for (int i = 0; i < nb; ++i)
        vkq_buffer_destroy(bufs[i]);
    vkq_buffer_destroy(x);
    vkq_buffer_destroy(y);
    free(yv);
}

static void run_cpu(const sweep_env *e, vkq_type t, const acc_data *a, row *r)
{
    r->kernel = vkq_cpu_matmul_path(t, 0);
    int nb = rotation_count(a->wbytes);
    uint8_t *bufs[8] = {0};
    float *y = malloc(sizeof(float) * a->m * a->n);
    double *times = malloc(sizeof(double) * (size_t)e->o->reps);
    int ok = y && times;
    bufs[0] = a->wq; /* the others are copies, so caches hold none of them between runs */
    for (int i = 1; ok && i < nb; ++i) {
        ok = (bufs[i] = malloc(a->wbytes)) != NULL;
        if (ok) memcpy(bufs[i], a->wq, a->wbytes);
    }
    if (!ok) {
        skip(r, "out of host memory");
        goto done;
    }
    vkq_cpu_matmul_desc d = {.type = t,
                             .m = a->m,
                             .k = a->k,
                             .n = a->n,
                             .w = a->wq,
                             .x = a->x,
                             .y = y,
                             .n_threads = e->o->cpu_threads};
    double t_first = bench_now_us();
    vkq_status st = vkq_cpu_matmul(&d);
    t_first = bench_now_us() - t_first;
    if (st != VKQ_SUCCESS) {
        skip(r, vkq_status_string(st));
        goto done;
    }
    float *y0 = malloc(sizeof(float) * a->m * a->nc); /* the checked output, before timing reruns */
    if (!y0) {
        skip(r, "out of host memory");
        goto done;
    }
    memcpy(y0, y, sizeof(float) * a->m * a->nc);
    /* A CPU GEMM at the full prompt shape takes seconds per run: stop after about a second of
     * runs, but never below 3 (or --reps, if smaller). */
    int n = e->o->reps, enough = (int)(1e6 / (t_first > 1 ? t_first : 1));
    if (n > 3 && enough < n) n = enough < 3 ? 3 : enough;
    for (int i = -1; i < n; ++i) { /* one warm-up */
        d.w = bufs[(i + 1) % nb];
        double t0 = bench_now_us();
        vkq_cpu_matmul(&d);
        if (i >= 0) times[i] = bench_now_us() - t0;
    }
    r->reps = n;
    r->time_us = bench_median(times, (size_t)n);
    finish(r, a, y0);
    r->pct = e->cpu_copy_gbps > 0 ? 100.0 * r->gbps / e->cpu_copy_gbps : NAN;
    free(y0);
done:
    for (int i = 1; i < nb; ++i)
        free(bufs[i]);
    free(y);
    free(times);
}

void sweep_case(const sweep_env *e, vkq_type t, shape s, row r[2])
{
    const vkq_type_info *ti = vkq_type_get(t);
    for (int b = 0; b < 2; ++b) {
        memset(&r[b], 0, sizeof r[b]);
        r[b].type = ti->name;
        r[b].t = t;
        r[b].backend = b ? "cpu" : "vulkan";
        r[b].source = weights_name(e->w);
        r[b].s = s;
        r[b].kernel = "";
        r[b].bpw = r[b].time_us = r[b].gbps = r[b].gflops = r[b].pct = NAN;
        r[b].nmse_weights = r[b].nmse_output = r[b].nmse_kernel = NAN;
        r[b].first_use_ms = r[b].cached_ms = NAN;
    }
    acc_data a;
    char why[200];
    if (prepare(e, t, s, &a, why, sizeof why)) {
        for (int b = 0; b < 2; ++b) {
            skip(&r[b], why);
            if (weights_rows(e->w)) r[b].s = (shape){weights_rows(e->w), weights_cols(e->w), s.n};
            r[b].bpw = 8.0 * ti->block_bytes / ti->block_elems; /* whole blocks: the same as from bytes */
        }
        release(&a);
        return;
    }
    for (int b = 0; b < 2; ++b) {
        r[b].s = (shape){a.m, a.k, a.n};
        r[b].bpw = 8.0 * (double)a.wbytes / ((double)a.m * (double)a.k); /* from bytes, not nominal */
    }
    if (e->o->no_vulkan)
        skip(&r[0], "--no-vulkan");
    else if (!e->g)
        skip(&r[0], e->gpu_why);
    else
        run_vulkan(e, t, &a, &r[0]);
    if (e->o->no_cpu)
        skip(&r[1], "--no-cpu");
    else
        run_cpu(e, t, &a, &r[1]);
    release(&a);
}
