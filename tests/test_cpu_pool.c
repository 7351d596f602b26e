/* vkq_cpu_pool: the pool runs every share exactly once, share 0 on the caller and the others
 * on distinct workers, call after call; a busy pool is refused rather than waited for;
 * vkq_cpu_matmul on a pool gives the same bits as without one and as one thread, for several
 * types, paths, shapes and thread counts, also when threads share one pool or each use their
 * own; create/destroy without a call; bad arguments. Runs once with the workers polling
 * between calls (VKQ_CPU_POOL_SPIN_US=200) and once sleeping (=0). VKQ_SEED replays. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu/cpu_pool.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "core/types.h"
#include "vkquant/cpu.h"

/* ---- the pool alone ------------------------------------------------------------------------ */

#define MAX_SHARES 8

typedef struct probe {
    atomic_int runs[MAX_SHARES];
    pthread_t who[MAX_SHARES];
    uint64_t payload[MAX_SHARES]; /* written by each share, read by the caller after the call */
    uint64_t call;
} probe;

static void probe_share(void *arg, uint32_t s)
{
    probe *pr = (probe *)arg;
    atomic_fetch_add(&pr->runs[s], 1);
    pr->who[s] = pthread_self();
    pr->payload[s] = pr->call * 1000 + s;
}

/* `calls` calls with share counts cycling through 2 .. pool size: each share once, share 0 on
 * this thread, the others on threads that are neither this one nor each other, and their
 * writes visible when the call returns. */
static void pool_runs_every_share_once(vkq_cpu_pool pool, uint32_t calls)
{
    const uint32_t size = vkq_cpu_pool_threads(pool);
    probe pr;
    for (uint64_t c = 0; c < calls; ++c) {
        const uint32_t n = 2 + (uint32_t)(c % (size - 1));
        for (uint32_t s = 0; s < MAX_SHARES; ++s)
            atomic_init(&pr.runs[s], 0);
        memset(pr.payload, 0, sizeof pr.payload);
        pr.call = c;
        CHECK(vkq_cpu_pool_try_run(pool, n, probe_share, &pr), "idle pool refused call %" PRIu64, c);
        for (uint32_t s = 0; s < MAX_SHARES; ++s) {
            const int want = s < n;
            CHECK(atomic_load(&pr.runs[s]) == want, "call %" PRIu64 " of %u shares: share %u ran %d times", c,
                  n, s, atomic_load(&pr.runs[s]));
            if (!want) continue;
            CHECK(pr.payload[s] == c * 1000 + s, "call %" PRIu64 ": share %u's write not visible", c, s);
            CHECK(!!pthread_equal(pr.who[s], pthread_self()) == (s == 0), "call %" PRIu64 ": share %u on %s",
                  c, s, s ? "the caller" : "a worker");
            for (uint32_t t = 1; t < s; ++t)
                CHECK(!pthread_equal(pr.who[s], pr.who[t]),
                      "call %" PRIu64 ": shares %u and %u on one thread", c, t, s);
        }
    }
}

/* Holds the pool: share 0 (on the holding thread) waits until the main thread lets it go. */
typedef struct holder {
    vkq_cpu_pool pool;
    atomic_int inside, release;
    int ran;
} holder;

static void hold_share(void *arg, uint32_t s)
{
    holder *h = (holder *)arg;
    if (s != 0) return;
    atomic_store(&h->inside, 1);
    while (!atomic_load(&h->release))
        sched_yield();
}

static void *hold_main(void *arg)
{
    holder *h = (holder *)arg;
    h->ran = vkq_cpu_pool_try_run(h->pool, 2, hold_share, h);
    return NULL;
}

/* ---- vkq_cpu_matmul on a pool ------------------------------------------------------------- */

typedef struct mcase {
    vkq_type type;
    uint32_t flags;
    uint64_t m, k, n; /* m * k * n >= 2^20, so the call splits (the last: only on an awake pool) */
    uint8_t *w;
    float *x;
    float *ref_y; /* one thread, no pool */
} mcase;

static const struct {
    vkq_type type;
    uint32_t flags;
    uint64_t m, k, n;
} k_cases[] = {
    {VKQ_TYPE_Q4_0, 0, 300, 4096, 1},                 /* int8, groups of 8 rows + a tail */
    {VKQ_TYPE_Q4_K, 0, 67, 8192, 3},                  /* int8, 256-element X blocks */
    {VKQ_TYPE_Q6_K, VKQ_CPU_EXACT_F32, 129, 4096, 9}, /* f32 decode, n > 8 */
    {VKQ_TYPE_IQ2_XS, 0, 1031, 1024, 2},
    {VKQ_TYPE_F16, 0, 517, 2048, 1},                     /* 4-row F16C kernel */
    {VKQ_TYPE_Q8_0, 0, 3, 12288, 29},                    /* fewer rows than the pool has threads */
    {VKQ_TYPE_Q5_1, VKQ_CPU_FORCE_SCALAR, 64, 1024, 17}, /* scalar reference path */
    {VKQ_TYPE_Q4_K, 0, 40, 4096, 2},                     /* 2^18.3: split only while the workers poll */
};
#define N_CASES (sizeof k_cases / sizeof k_cases[0])

static mcase g_cases[N_CASES];

static void make_cases(uint64_t *rng)
{
    for (size_t c = 0; c < N_CASES; ++c) {
        mcase *mc = &g_cases[c];
        mc->type = k_cases[c].type;
        mc->flags = k_cases[c].flags;
        mc->m = k_cases[c].m;
        mc->k = k_cases[c].k;
        mc->n = k_cases[c].n;
        const vkq_type_traits *tr = vkq_traits(mc->type);
        uint64_t row_bytes;
        vkq_type_bytes(mc->type, mc->k, &row_bytes);
        mc->w = xmalloc(row_bytes * mc->m);
        vkq_test_random_weights(mc->type, mc->m * (mc->k / tr->info.block_elems), rng, mc->w);
        mc->x = xmalloc(mc->k * mc->n * sizeof(float));
        for (uint64_t i = 0; i < mc->k * mc->n; ++i)
            mc->x[i] = (float)((double)vkq_test_rand_below(rng, 1u << 24) / (1u << 23) - 1.0);
        mc->ref_y = xmalloc(mc->m * mc->n * sizeof(float));
        vkq_cpu_matmul_desc d = {.type = mc->type,
                                 .m = mc->m,
                                 .k = mc->k,
                                 .n = mc->n,
                                 .w = mc->w,
                                 .x = mc->x,
                                 .y = mc->ref_y,
                                 .n_threads = 1,
                                 .flags = mc->flags};
        CHECK_OK(vkq_cpu_matmul(&d));

        /* The 1-thread result itself against the f64 reference, so that the bit comparisons
         * below compare with a right answer (the exact paths within the type's fp32 bound,
         * int8 within 5e-4 scaled alike, as in test_cpu_matmul). */
        float *wf = xmalloc(mc->m * mc->k * sizeof(float));
        double *ref = xmalloc(mc->m * mc->n * sizeof(double));
        CHECK_OK(vkq_decode_cpu(mc->type, mc->w, row_bytes * mc->m, wf, mc->m * mc->k));
        matmul_ref_f64(wf, mc->x, ref, mc->m, mc->k, mc->n);
        const int int8 = strncmp(vkq_cpu_matmul_path(mc->type, mc->flags), "int8", 4) == 0;
        const double bound =
            matmul_nmse_bound(wf, mc->x, ref, mc->m, mc->k, mc->n, int8 ? 5e-4 : tr->tol_matmul_f32);
        const double e = matmul_nmse(mc->ref_y, mc->m, ref, mc->m, mc->n);
        CHECK(e <= bound, "%s %s m=%" PRIu64 ": 1-thread NMSE %.3g > %.3g", tr->info.name,
              vkq_cpu_matmul_path(mc->type, mc->flags), mc->m, e, bound);
        free(wf);
        free(ref);
    }
}

static void free_cases(void)
{
    for (size_t c = 0; c < N_CASES; ++c) {
        free(g_cases[c].w);
        free(g_cases[c].x);
        free(g_cases[c].ref_y);
    }
}

/* Case c with n_threads on `pool` (NULL: none) into y (pre-filled with NaN); 1 if the bits
 * equal the 1-thread result. No CHECK here: callers on other threads count their own. */
static int matmul_matches(size_t c, vkq_cpu_pool pool, uint32_t n_threads, float *y)
{
    const mcase *mc = &g_cases[c];
    const size_t count = mc->m * mc->n;
    for (size_t i = 0; i < count; ++i)
        y[i] = __builtin_nanf("");
    vkq_cpu_matmul_desc d = {.type = mc->type,
                             .m = mc->m,
                             .k = mc->k,
                             .n = mc->n,
                             .w = mc->w,
                             .x = mc->x,
                             .y = y,
                             .n_threads = n_threads,
                             .flags = mc->flags,
                             .pool = pool};
    vkq_status st = vkq_cpu_matmul(&d);
    if (st != VKQ_SUCCESS)
        fprintf(stderr, "%s: %s\n", vkq_traits(mc->type)->info.name, vkq_status_string(st));
    return st == VKQ_SUCCESS && memcmp(y, mc->ref_y, count * sizeof(float)) == 0;
}

static float *case_y(void)
{
    uint64_t most = 0;
    for (size_t c = 0; c < N_CASES; ++c)
        if (g_cases[c].m * g_cases[c].n > most) most = g_cases[c].m * g_cases[c].n;
    return xmalloc(most * sizeof(float));
}

static void matmul_bit_identical(void)
{
    float *y = case_y();
    static const uint32_t pool_sizes[] = {2, 3, 4};
    static const uint32_t req[] = {0, 1, 2, 3, 4, 7};
    for (size_t pi = 0; pi < 3; ++pi) {
        vkq_cpu_pool pool = NULL;
        CHECK_OK(vkq_cpu_pool_create(pool_sizes[pi], &pool));
        if (!pool) continue;
        for (size_t c = 0; c < N_CASES; ++c)
            for (size_t ri = 0; ri < 6; ++ri) {
                CHECK(matmul_matches(c, pool, req[ri], y),
                      "%s %s m=%" PRIu64 " n=%" PRIu64 ": pool of %u, n_threads %u differs from 1 thread",
                      vkq_traits(g_cases[c].type)->info.name,
                      vkq_cpu_matmul_path(g_cases[c].type, g_cases[c].flags), g_cases[c].m, g_cases[c].n,
                      pool_sizes[pi], req[ri]);
                if (pi == 0)
                    CHECK(matmul_matches(c, NULL, req[ri] ? req[ri] : 2, y),
                          "%s: no pool, n_threads %u differs from 1 thread",
                          vkq_traits(g_cases[c].type)->info.name, req[ri] ? req[ri] : 2);
            }
        vkq_cpu_pool_destroy(pool);
    }
    free(y);
}

/* Many calls in a row on one pool, the thread count changing between calls (workers without
 * a share must still acknowledge). */
static void matmul_many_calls(uint32_t calls)
{
    float *y = case_y();
    vkq_cpu_pool pool = NULL;
    CHECK_OK(vkq_cpu_pool_create(3, &pool));
    int bad = 0;
    for (uint32_t i = 0; i < calls && pool; ++i) {
        const size_t c = i % 2 ? 0 : 4; /* the two cheapest cases */
        if (!matmul_matches(c, pool, (uint32_t[]){0, 2, 1, 3}[i % 4], y)) ++bad;
    }
    CHECK(bad == 0, "%d of %u calls in a row on one pool differ from 1 thread", bad, calls);
    vkq_cpu_pool_destroy(pool);
    free(y);
}

typedef struct caller {
    vkq_cpu_pool pool; /* shared, or NULL: make one's own */
    int own;
    uint32_t calls, first_case;
    int bad;
} caller;

static void *caller_main(void *arg)
{
    caller *cl = (caller *)arg;
    vkq_cpu_pool pool = cl->pool;
    if (cl->own && vkq_cpu_pool_create(2, &pool) != VKQ_SUCCESS) {
        cl->bad = -1;
        return NULL;
    }
    float *y = case_y();
    for (uint32_t i = 0; i < cl->calls; ++i) {
        const size_t c = (cl->first_case + i) % N_CASES;
        if (k_cases[c].flags & VKQ_CPU_FORCE_SCALAR) continue; /* slow; covered above */
        if (!matmul_matches(c, pool, 0, y)) ++cl->bad;
    }
    free(y);
    if (cl->own) vkq_cpu_pool_destroy(pool);
    return NULL;
}

/* 4 threads at once: each with a pool of its own, then all on one shared pool (calls that find
 * it busy run on threads of their own), then with no pool. */
static void matmul_concurrent(uint32_t calls)
{
    vkq_cpu_pool shared = NULL;
    CHECK_OK(vkq_cpu_pool_create(2, &shared));
    const char *const modes[3] = {"own pools", "one shared pool", "no pool"};
    for (int mode = 0; mode < 3 && shared; ++mode) {
        caller cl[4];
        pthread_t t[4];
        for (uint32_t i = 0; i < 4; ++i) {
            cl[i] = (caller){
                .pool = mode == 1 ? shared : NULL, .own = mode == 0, .calls = calls, .first_case = i};
            CHECK(pthread_create(&t[i], NULL, caller_main, &cl[i]) == 0, "pthread_create");
        }
        for (uint32_t i = 0; i < 4; ++i) {
            pthread_join(t[i], NULL);
            CHECK(cl[i].bad == 0, "%s, thread %u: %d calls differ from 1 thread", modes[mode], i, cl[i].bad);
        }
    }
    vkq_cpu_pool_destroy(shared);
}

/* While another thread holds the pool, try_run is refused at once and vkq_cpu_matmul runs
 * without it (same bits); afterwards the pool works again. */
static void busy_pool_falls_back(void)
{
    holder h = {.ran = -1};
    atomic_init(&h.inside, 0);
    atomic_init(&h.release, 0);
    CHECK_OK(vkq_cpu_pool_create(2, &h.pool));
    if (!h.pool) return;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hold_main, &h) == 0, "pthread_create");
    while (!atomic_load(&h.inside))
        sched_yield();
    probe pr;
    for (uint32_t s = 0; s < MAX_SHARES; ++s)
        atomic_init(&pr.runs[s], 0);
    CHECK(vkq_cpu_pool_try_run(h.pool, 2, probe_share, &pr) == 0, "busy pool accepted a second call");
    CHECK(atomic_load(&pr.runs[0]) == 0 && atomic_load(&pr.runs[1]) == 0, "a refused call ran shares");
    float *y = case_y();
    CHECK(matmul_matches(0, h.pool, 2, y), "matmul on a busy pool differs from 1 thread");
    CHECK(matmul_matches(N_CASES - 1, h.pool, 2, y), "small matmul on a busy pool differs from 1 thread");
    atomic_store(&h.release, 1);
    pthread_join(t, NULL);
    CHECK(h.ran == 1, "the holding call was not run");
    CHECK(matmul_matches(0, h.pool, 2, y), "matmul after the pool was released differs");
    free(y);
    vkq_cpu_pool_destroy(h.pool);
}

static void create_destroy_and_errors(void)
{
    static const uint32_t sizes[] = {1, 2, 3, 8, 64};
    for (size_t i = 0; i < 5; ++i) {
        vkq_cpu_pool p = NULL;
        CHECK_OK(vkq_cpu_pool_create(sizes[i], &p));
        CHECK(vkq_cpu_pool_threads(p) == sizes[i], "pool of %u has %u threads", sizes[i],
              vkq_cpu_pool_threads(p));
        vkq_cpu_pool_destroy(p); /* no call in between */
    }
    vkq_cpu_pool p = NULL;
    CHECK(vkq_cpu_pool_create(2, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL out");
    CHECK_OK(vkq_cpu_pool_create(1000, &p));
    CHECK(vkq_cpu_pool_threads(p) == VKQ_CPU_MAX_THREADS, "1000 threads not clamped: %u",
          vkq_cpu_pool_threads(p));
    vkq_cpu_pool_destroy(p);
    setenv("VKQ_CPU_THREADS", "3", 1);
    CHECK_OK(vkq_cpu_pool_create(0, &p));
    CHECK(vkq_cpu_pool_threads(p) == 3, "pool of 0 with VKQ_CPU_THREADS=3 has %u threads",
          vkq_cpu_pool_threads(p));
    /* A pool of 1: vkq_cpu_matmul runs on the caller alone (n_threads capped at the size). */
    float *y = case_y();
    vkq_cpu_pool one = NULL;
    CHECK_OK(vkq_cpu_pool_create(1, &one));
    CHECK(matmul_matches(0, one, 4, y), "pool of 1 differs from 1 thread");
    vkq_cpu_pool_destroy(one);
    unsetenv("VKQ_CPU_THREADS");
    vkq_cpu_pool_destroy(p);
    vkq_cpu_pool_destroy(NULL);
    CHECK(vkq_cpu_pool_threads(NULL) == 0, "threads of NULL");
    /* Bad matmul arguments are rejected before the pool is touched, which stays usable. */
    CHECK_OK(vkq_cpu_pool_create(2, &p));
    for (size_t i = 0; i < g_cases[0].m; ++i)
        y[i] = 7.0f;
    vkq_cpu_matmul_desc d = {.type = VKQ_TYPE_Q4_0,
                             .m = g_cases[0].m,
                             .k = 33,
                             .n = 1,
                             .w = g_cases[0].w,
                             .x = g_cases[0].x,
                             .y = y,
                             .pool = p};
    CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_BAD_SHAPE, "k = 33 on a pool");
    d.k = g_cases[0].k;
    d.type = (vkq_type)4;
    CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_UNKNOWN_TYPE, "type 4 on a pool");
    for (size_t i = 0; i < g_cases[0].m; ++i)
        CHECK(y[i] == 7.0f, "Y written on an error");
    CHECK(matmul_matches(0, p, 0, y), "pool after rejected calls differs");
    vkq_cpu_pool_destroy(p);
    free(y);
}

int main(void)
{
    const uint64_t seed = vkq_test_seed();
    printf("seed 0x%016" PRIx64 " (replay with VKQ_SEED)\n", seed);
    uint64_t rng = seed;
    make_cases(&rng);
    /* Workers that poll 200 us (most calls find them awake), then ones that sleep at once
     * (every call wakes them): the spin is read at creation. */
    for (int sleep = 0; sleep < 2; ++sleep) {
        setenv("VKQ_CPU_POOL_SPIN_US", sleep ? "0" : "200", 1);
        printf("workers %s between calls\n", sleep ? "sleeping" : "polling 200 us");
        for (uint32_t size = 2; size <= MAX_SHARES; size += 3) {
            vkq_cpu_pool pool = NULL;
            CHECK_OK(vkq_cpu_pool_create(size, &pool));
            if (pool) pool_runs_every_share_once(pool, 3000);
            vkq_cpu_pool_destroy(pool);
        }
        busy_pool_falls_back();
        matmul_bit_identical();
        matmul_many_calls(500);
        matmul_concurrent(20);
    }
    unsetenv("VKQ_CPU_POOL_SPIN_US");
    create_destroy_and_errors();
    free_cases();
    if (g_failures) printf("%d failure(s); seed 0x%016" PRIx64 "\n", g_failures, seed);
    return test_summary("cpu_pool");
}
