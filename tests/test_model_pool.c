/* The model's CPU thread pool: a model loaded without a device (every tensor on the CPU) runs
 * vkq_model_matmul on its own vkq_cpu_pool; every 2-D weight, with n large enough that the call
 * is split across threads, gives the bits of a 1-thread vkq_cpu_matmul without a pool (itself
 * checked against the f64 reference), for cpu_threads 1, 2, 3 and 0, and still when four
 * threads call the same model at once (one call at a time gets the pool, the others start
 * their own threads). VKQ_SEED replays.
 *
 * usage: test_model_pool MODEL.gguf (tests/run_test_model.py writes it) */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu/cpu_pool.h"
#include "matmul_ref.h"
#include "model/model_internal.h"
#include "test_util.h"
#include "core/types.h"
#include "vkquant/cpu.h"
#include "vkquant/gguf.h"
#include "vkquant/model.h"

#define MAX_T 256

typedef struct wcase {
    int64_t index;
    char *name;
    uint64_t m, k, n;
    float *x, *y1; /* y1: one thread, no pool */
} wcase;

static wcase g_cases[MAX_T];
static uint32_t g_n;

/* The 2-D weights of `m`, each with n columns so that m * k * n >= 2^20 (the size from which
 * vkq_cpu_matmul splits a call), and their 1-thread results. */
static void build_cases(vkq_model m, uint64_t *rng)
{
    vkq_gguf g = vkq_model_gguf(m);
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g) && g_n < MAX_T; ++i) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        if (t.n_dims != 2) continue;
        wcase *c = &g_cases[g_n++];
        c->index = i;
        c->name = strdup(t.name); /* the model that owns t.name is destroyed first */
        c->k = (uint64_t)t.ne[0];
        c->m = (uint64_t)t.ne[1];
        c->n = (1u << 20) / (c->m * c->k) + 1;
        c->x = xmalloc(c->k * c->n * sizeof(float));
        for (uint64_t j = 0; j < c->k * c->n; ++j)
            c->x[j] = (float)((double)vkq_test_rand_below(rng, 1u << 24) / (1u << 23) - 1.0);
        c->y1 = xmalloc(c->m * c->n * sizeof(float));
        vkq_cpu_matmul_desc d = {.type = t.type,
                                 .m = c->m,
                                 .k = c->k,
                                 .n = c->n,
                                 .w = t.data,
                                 .x = c->x,
                                 .y = c->y1,
                                 .n_threads = 1};
        CHECK_OK(vkq_cpu_matmul(&d));

        float *wf = xmalloc(c->m * c->k * sizeof(float));
        double *ref = xmalloc(c->m * c->n * sizeof(double));
        CHECK_OK(vkq_decode_cpu(t.type, t.data, t.nbytes, wf, c->m * c->k));
        matmul_ref_f64(wf, c->x, ref, c->m, c->k, c->n);
        const int int8 = strncmp(vkq_cpu_matmul_path(t.type, 0), "int8", 4) == 0;
        const double tol = int8 ? 5e-4 : vkq_traits(t.type)->tol_matmul_f32;
        const double bound = matmul_nmse_bound(wf, c->x, ref, c->m, c->k, c->n, tol);
        const double e = matmul_nmse(c->y1, c->m, ref, c->m, c->n);
        CHECK(e <= bound, "%s (%s, n %" PRIu64 "): 1-thread NMSE %.3g > %.3g", c->name,
              vkq_type_get(t.type)->name, c->n, e, bound);
        free(wf);
        free(ref);
    }
}

/* Every case `reps` times on the model; returns how many differ from the 1-thread bits. */
static int run_cases(vkq_model m, uint32_t reps, uint32_t first)
{
    int bad = 0;
    for (uint32_t r = 0; r < reps; ++r)
        for (uint32_t j = 0; j < g_n; ++j) {
            const wcase *c = &g_cases[(first + j) % g_n];
            float *y = xmalloc(c->m * c->n * sizeof(float));
            for (uint64_t i = 0; i < c->m * c->n; ++i)
                y[i] = __builtin_nanf("");
            vkq_status st = vkq_model_matmul(m, c->index, c->x, y, c->n);
            if (st != VKQ_SUCCESS || memcmp(y, c->y1, c->m * c->n * sizeof(float)) != 0) {
                if (bad++ == 0)
                    fprintf(stderr, "%s: %s%s\n", c->name, vkq_status_string(st),
                            st == VKQ_SUCCESS ? ", bits differ from one thread" : "");
            }
            free(y);
        }
    return bad;
}

typedef struct caller {
    vkq_model m;
    uint32_t first;
    int bad;
} caller;

static void *caller_main(void *arg)
{
    caller *cl = (caller *)arg;
    cl->bad = run_cases(cl->m, 5, cl->first);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_model_pool MODEL.gguf\n");
        return 2;
    }
    const uint64_t seed = vkq_test_seed();
    printf("test_model_pool: seed 0x%016" PRIx64 " (VKQ_SEED to replay), model %s\n", seed, argv[1]);
    uint64_t rng = seed;
    static const uint32_t threads[] = {1, 2, 3, 0};
    for (size_t ti = 0; ti < 4; ++ti) {
        vkq_model_desc d = vkq_model_desc_default();
        d.cpu_threads = threads[ti];
        vkq_model m = NULL;
        vkq_status st = vkq_model_create(NULL, argv[1], &d, &m);
        CHECK(st == VKQ_SUCCESS, "load with cpu_threads %u: %s: %s", threads[ti], vkq_status_string(st), vkq_last_error());
        if (!m) continue;
        /* The pool itself is internal: its size is what cpu_threads asked for. */
        const uint32_t want = threads[ti] ? threads[ti] : vkq_cpu_default_threads();
        CHECK(vkq_cpu_pool_threads(m->cpu_pool) == want, "cpu_threads %u: pool of %u threads, expected %u",
              threads[ti], vkq_cpu_pool_threads(m->cpu_pool), want);
        if (ti == 0) build_cases(m, &rng);
        CHECK(run_cases(m, 3, 0) == 0, "cpu_threads %u: calls in a row differ from one thread", threads[ti]);
        if (threads[ti] == 3) {
            caller cl[4];
            pthread_t t[4];
            for (uint32_t i = 0; i < 4; ++i) {
                cl[i] = (caller){.m = m, .first = i * 3};
                CHECK(pthread_create(&t[i], NULL, caller_main, &cl[i]) == 0, "pthread_create");
            }
            for (uint32_t i = 0; i < 4; ++i) {
                pthread_join(t[i], NULL);
                CHECK(cl[i].bad == 0, "4 threads on one model: thread %u got %d results that differ", i,
                      cl[i].bad);
            }
        }
        vkq_model_destroy(m);
    }
    uint64_t n_min = UINT64_MAX, n_max = 0;
    for (uint32_t i = 0; i < g_n; ++i) {
        n_min = g_cases[i].n < n_min ? g_cases[i].n : n_min;
        n_max = g_cases[i].n > n_max ? g_cases[i].n : n_max;
    }
    printf("%u weights, n from %" PRIu64 " to %" PRIu64 "\n", g_n, n_min, n_max);
    CHECK(g_n >= 7, "only %u 2-D weights in the model", g_n);
    for (uint32_t i = 0; i < g_n; ++i) {
        free(g_cases[i].name);
        free(g_cases[i].x);
        free(g_cases[i].y1);
    }
    if (g_failures) printf("%d failure(s); seed 0x%016" PRIx64 "\n", g_failures, seed);
    return test_summary("test_model_pool");
}
