/* vkq-bench-cpu: times vkq_cpu_matmul mat-vec (m=4096, k=14336 rounded up to the block size,
 * n=1) for every weight type and path, hot (one weight buffer, cache-warm like ggml's perf
 * mode) and cold (rotating through buffers totalling > 512 MiB), and compares with ggml's CPU
 * figures measured on the same machine kind (2 threads, hot). The calls run on one
 * vkq_cpu_pool of --threads threads; --no-pool starts and joins threads per call instead. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_util.h"
#include "core/types.h"
#include "vkquant/cpu.h"

/* ggml CPU mat-vec, µs, 2 threads, hot (same m, k, n; AMD EPYC, 2 cores). */
static const struct { const char *name; double us; } k_ggml[] = {
    {"F32", 3545}, {"F16", 2333}, {"BF16", 1831}, {"Q4_0", 1305}, {"Q4_1", 1722},
    {"Q5_0", 1468}, {"Q5_1", 2178}, {"Q8_0", 1554}, {"Q1_0", 856}, {"Q2_0", 13748},
    {"Q2_K", 640}, {"Q3_K", 998}, {"Q4_K", 783}, {"Q5_K", 1130}, {"Q6_K", 993},
    {"TQ2_0", 505}, {"MXFP4", 1384}, {"NVFP4", 1550}, {"IQ2_XXS", 1746}, {"IQ2_XS", 1761},
    {"IQ2_S", 1674}, {"IQ3_XXS", 2419}, {"IQ3_S", 3550}, {"IQ1_S", 1867}, {"IQ1_M", 1503},
    {"IQ4_NL", 1558}, {"IQ4_XS", 1300},
};

static double ggml_us(const char *name)
{
    for (size_t i = 0; i < sizeof k_ggml / sizeof k_ggml[0]; ++i)
        if (strcmp(k_ggml[i].name, name) == 0) return k_ggml[i].us;
    return 0;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median (or, with best, the fastest) time of `reps` calls after 2 warm-ups, cycling through
 * `nbuf` weight buffers. On a machine shared with other jobs, which only ever add time, the
 * fastest call is the steadier estimate of the kernel's own time. */
static double time_it(vkq_cpu_matmul_desc d, uint8_t **bufs, uint32_t nbuf, uint32_t reps, int best)
{
    double *t = malloc(reps * sizeof(double));
    if (!t) return NAN;
    uint32_t b = 0;
    for (uint32_t i = 0; i < 2 + reps; ++i) {
        d.w = bufs[b];
        b = (b + 1) % nbuf;
        const double t0 = now_us();
        if (vkq_cpu_matmul(&d) != VKQ_SUCCESS) {
            free(t);
            return NAN;
        }
        if (i >= 2) t[i - 2] = now_us() - t0;
    }
    qsort(t, reps, sizeof(double), cmp_double);
    const double med = best ? t[0] : reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    free(t);
    return med;
}

static void usage(void)
{
    printf("usage: vkq-bench-cpu [--types A,B,..] [--threads N] [--reps N] [--m M] [--k K]\n"
           "                     [--json FILE] [--hot-only] [--best] [--default-path] [--no-pool]\n"
           "Times vkq_cpu_matmul (n = 1) per type and path; VKQ_SEED seeds the weights.\n"
           "--best: the fastest of the reps instead of the median (for shared machines).\n"
           "--default-path: only the path a call without flags takes.\n"
           "--no-pool: threads started per call (no vkq_cpu_pool), to measure the pool's gain.\n");
}

int main(int argc, char **argv)
{
    const char *types = NULL, *json_path = NULL;
    uint32_t threads = 2, reps = 10, hot_only = 0, best = 0, default_only = 0, no_pool = 0;
    uint64_t m = 4096, k_req = 14336;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
        else if (!strcmp(a, "--hot-only")) hot_only = 1;
        else if (!strcmp(a, "--best")) best = 1;
        else if (!strcmp(a, "--default-path")) default_only = 1;
        else if (!strcmp(a, "--no-pool")) no_pool = 1;
        else if (v && !strcmp(a, "--types")) { types = v; ++i; }
        else if (v && !strcmp(a, "--json")) { json_path = v; ++i; }
        else if (v && !strcmp(a, "--threads")) { threads = (uint32_t)strtoul(v, NULL, 10); ++i; }
        else if (v && !strcmp(a, "--reps")) { reps = (uint32_t)strtoul(v, NULL, 10); ++i; }
        else if (v && !strcmp(a, "--m")) { m = strtoull(v, NULL, 10); ++i; }
        else if (v && !strcmp(a, "--k")) { k_req = strtoull(v, NULL, 10); ++i; }
        else { usage(); return 2; }
    }
    if (reps < 1 || m < 1 || k_req < 1) { usage(); return 2; }
    const uint64_t seed = vkq_test_seed();
    uint64_t rng = seed;
    vkq_cpu_pool pool = NULL;
    if (!no_pool) {
        vkq_status st = vkq_cpu_pool_create(threads, &pool);
        if (st != VKQ_SUCCESS) {
            fprintf(stderr, "vkq_cpu_pool_create(%u): %s\n", threads, vkq_status_string(st));
            return 1;
        }
    }
    FILE *json = NULL;
    if (json_path && !(json = fopen(json_path, "w"))) {
        fprintf(stderr, "cannot write %s\n", json_path);
        vkq_cpu_pool_destroy(pool);
        return 1;
    }
    printf("vkq-bench-cpu: m=%" PRIu64 " k=%" PRIu64 " (rounded up to QK) n=1, %u threads (%s), %s of %u "
           "after 2 warm-ups, seed 0x%016" PRIx64 "\n", m, k_req, threads, pool ? "pool" : "no pool", best ? "fastest" : "median", reps, seed);
    printf("%-8s %-15s %10s %8s %10s %8s %9s %7s\n", "type", "path", "hot us", "GB/s", "cold us",
           "GB/s", "ggml us", "ratio");
    if (json) fprintf(json, "{\"m\": %" PRIu64 ", \"n\": 1, \"threads\": %u, \"pool\": %s, \"reps\": %u, "
                      "\"statistic\": \"%s\", \"results\": [", m, threads, pool ? "true" : "false", reps, best ? "fastest" : "median");
    int first = 1;
    for (uint32_t ti = 0; ti < vkq_type_count(); ++ti) {
        const vkq_type type = vkq_type_at(ti);
        const vkq_type_traits *tr = vkq_traits(type);
        if (types) { /* comma-separated list, case-insensitive */
            int found = 0;
            const char *p = types;
            while (*p && !found) {
                const char *e = strchr(p, ',');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                char name[32];
                if (len < sizeof name) {
                    memcpy(name, p, len);
                    name[len] = 0;
                    vkq_type t2;
                    if (vkq_type_from_name(name, &t2) == VKQ_SUCCESS && t2 == type) found = 1;
                }
                p = e ? e + 1 : p + len;
            }
            if (!found) continue;
        }
        const uint32_t qk = tr->info.block_elems;
        const uint64_t k = (k_req + qk - 1) / qk * qk;
        uint64_t row_bytes;
        if (vkq_type_bytes(type, k, &row_bytes) != VKQ_SUCCESS) continue;
        const size_t bytes = (size_t)(row_bytes * m);
        uint32_t nbuf = hot_only ? 1 : (uint32_t)((512ull << 20) / bytes + 2);
        if (!hot_only && nbuf < 4) nbuf = 4;
        if (nbuf > 64) nbuf = 64;
        uint8_t *bufs[64];
        uint32_t have = 0;
        for (; have < nbuf; ++have) {
            if (!(bufs[have] = malloc(bytes))) break;
            if (have == 0) vkq_test_random_weights(type, m * (k / qk), &rng, bufs[0]);
            else memcpy(bufs[have], bufs[0], bytes);
        }
        float *x = malloc(k * sizeof(float)), *y = malloc(m * sizeof(float));
        if (!have || !x || !y) {
            fprintf(stderr, "%s: out of memory\n", tr->info.name);
            for (uint32_t i = 0; i < have; ++i) free(bufs[i]);
            free(x);
            free(y);
            continue;
        }
        for (uint64_t i = 0; i < k; ++i) x[i] = (float)vkq_test_rand_below(&rng, 2001) / 1000.0f - 1.0f;
        /* The default path, then (unless --default-path) each other path it differs from:
         * the AVX2 int8 kernels where a VNNI variant is the default, the exact f32 path. */
        const uint32_t flag_sets[3] = {0, VKQ_CPU_NO_VNNI, VKQ_CPU_EXACT_F32};
        for (int f = 0; f < 3; ++f) {
            if (f > 0 && (default_only || strcmp(vkq_cpu_matmul_path(type, 0),
                                                  vkq_cpu_matmul_path(type, flag_sets[f])) == 0))
                continue;
            const char *path = vkq_cpu_matmul_path(type, flag_sets[f]);
            vkq_cpu_matmul_desc d = {.type = type, .m = m, .k = k, .n = 1, .w = bufs[0], .x = x,
                                     .y = y, .n_threads = threads, .flags = flag_sets[f], .pool = pool};
            const double hot = time_it(d, bufs, 1, reps, (int)best);
            const double cold = have > 1 ? time_it(d, bufs, have, reps, (int)best) : NAN;
            const double g = ggml_us(tr->info.name);
            printf("%-8s %-15s %10.1f %8.2f ", tr->info.name, path, hot, bytes / hot / 1e3);
            if (have > 1) printf("%10.1f %8.2f ", cold, bytes / cold / 1e3);
            else printf("%10s %8s ", "-", "-");
            if (g > 0) printf("%9.0f %7.2f\n", g, hot / g);
            else printf("%9s %7s\n", "-", "-");
            fflush(stdout);
            if (json) {
                fprintf(json, "%s\n  {\"type\": \"%s\", \"path\": \"%s\", \"k\": %" PRIu64 ", \"weight_bytes\": %zu, "
                        "\"hot_us\": %.1f, \"hot_gbps\": %.3f, \"cold_us\": %.1f, \"cold_gbps\": %.3f, "
                        "\"cold_buffers\": %u, \"ggml_us\": %.0f, \"ratio_to_ggml\": %.3f}",
                        first ? "" : ",", tr->info.name, path, k, bytes, hot, bytes / hot / 1e3,
                        have > 1 ? cold : 0.0, have > 1 ? bytes / cold / 1e3 : 0.0, have, g,
                        g > 0 ? hot / g : 0.0);
                first = 0;
            }
        }
        for (uint32_t i = 0; i < have; ++i) free(bufs[i]);
        free(x);
        free(y);
    }
    if (json) {
        fprintf(json, "\n]}\n");
        fclose(json);
    }
    vkq_cpu_pool_destroy(pool);
    printf("ratio = our hot time / ggml's (below 1: faster). Cold: weights rotate through buffers "
           "totalling > 512 MiB (at least 4).\n");
    return 0;
}
