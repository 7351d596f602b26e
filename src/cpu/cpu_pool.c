/* vkq_cpu_pool: workers that outlive a call, so a matmul costs a wake-up instead of a
 * pthread_create and pthread_join per thread.
 *
 * A call publishes its job (fn, arg, share count), then bumps `gen`; each worker waits for
 * `gen` to change, runs its share if it has one, and counts `pending` down. Every worker
 * acknowledges every call, even without a share, so no worker can still be reading the job
 * when the next call writes it. Waiting is a bounded spin on the atomics, then the condition
 * variables: `gen` only changes under `mu`, and a worker registers in `n_sleeping` under `mu`
 * before it waits, so a wake-up cannot be lost; likewise the caller rechecks `pending` under
 * `mu` and the last worker signals `done` under it. */
#include "cpu/cpu_pool.h"
#include "core/env.h"
#include "core/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct worker_arg {
    vkq_cpu_pool pool;
    uint32_t index;
} worker_arg;

struct vkq_cpu_pool_s {
    uint32_t n_threads;   /* workers + the caller */
    uint64_t spin_ns;     /* how long a waiter polls before it sleeps */
    pthread_t *tids;      /* [n_threads]; 0 unused */
    worker_arg *args;     /* [n_threads] */
    pthread_mutex_t call; /* held by the call that owns the workers (trylock) */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    _Atomic uint64_t gen;
    _Atomic uint64_t pending; /* workers yet to acknowledge the current call */
    atomic_uint n_sleeping;   /* changed under mu; read without it only as a hint */
    int stop;                 /* written under mu before gen is bumped */
    /* The job of the current call: written before gen is bumped, read after it is seen. */
    vkq_cpu_share_fn fn;
    void *arg;
    uint32_t n_shares;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Polls *a for up to spin_ns until (*a == v) == eq; returns whether that came true. The clock
 * is read every 16 polls (a pause is ~25 ns on the bench's EPYC, a clock read ~27 ns). No
 * sched_yield in the loop: with another process on the core, each yield handed it a whole
 * time slice (1000 calls of m=256 k=4096 took 1.5 s of wall time instead of 0.11 s). */
static int spin_until(_Atomic uint64_t *a, uint64_t v, int eq, uint64_t spin_ns)
{
    if ((atomic_load_explicit(a, memory_order_acquire) == v) == eq) return 1;
    if (!spin_ns) return 0;
    const uint64_t end = now_ns() + spin_ns;
    for (uint32_t i = 1;; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if ((atomic_load_explicit(a, memory_order_acquire) == v) == eq) return 1;
        if (i % 16 == 0 && now_ns() >= end) return 0;
    }
}

static uint32_t online_cores(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > VKQ_CPU_MAX_THREADS ? VKQ_CPU_MAX_THREADS : (uint32_t)c;
}

vkq_status vkq_cpu_threads_from_env(uint32_t *out)
{
    vkq_env_value v;
    vkq_status st = vkq_env_get(VKQ_ENV_CPU_THREADS, &v);
    if (st != VKQ_SUCCESS) return st;
    *out = !v.set ? online_cores() : v.num > VKQ_CPU_MAX_THREADS ? VKQ_CPU_MAX_THREADS : (uint32_t)v.num;
    return VKQ_SUCCESS;
}

uint32_t vkq_cpu_default_threads(void)
{
    uint32_t n;
    return vkq_cpu_threads_from_env(&n) == VKQ_SUCCESS ? n : online_cores();
}

static void *worker_main(void *varg)
{
    const worker_arg *wa = (const worker_arg *)varg;
    vkq_cpu_pool p = wa->pool;
    uint64_t seen = 0; /* gen is 0 at creation */
    for (;;) {
        uint64_t g;
        if (spin_until(&p->gen, seen, 0, p->spin_ns)) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        } else {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add_explicit(&p->n_sleeping, 1, memory_order_relaxed);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub_explicit(&p->n_sleeping, 1, memory_order_relaxed);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (p->stop) return NULL;
        if (wa->index < p->n_shares) p->fn(p->arg, wa->index);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

/* Publishes gen + 1 (the job or `stop` written before) and wakes sleeping workers. */
static void bump(vkq_cpu_pool p)
{
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->gen, atomic_load_explicit(&p->gen, memory_order_relaxed) + 1,
                          memory_order_release);
    if (atomic_load_explicit(&p->n_sleeping, memory_order_relaxed)) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

static void stop_and_join(vkq_cpu_pool p, uint32_t started)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_mutex_unlock(&p->mu);
    bump(p);
    for (uint32_t t = 1; t <= started; ++t)
        pthread_join(p->tids[t], NULL);
}

/* How long a worker polls for the next call before it sleeps, and the caller for the last
 * share: VKQ_CPU_POOL_SPIN_US, in microseconds. Long enough to span the serial stretches of a
 * model's decode step between two split operations (norms, rope, the KV store): waking a
 * sleeping worker costs ~8-12 us a call, and a sleeping pool also splits less. Gemma 3 270M
 * tg128 on 2 threads, Xeon: 46.0 t/s with 10 us, 53.2 with 50. Polling only pays where a core
 * is free for the poller: when the caller and a worker share one core (an oversubscribed
 * machine), every call loses up to the whole spin (m=256 k=4096 pinned to one core: 39 us with
 * 10, 79 with 50); VKQ_CPU_POOL_SPIN_US=0 (sleep at once) suits such a machine. Figures:
 * bench/RESULTS.md, "Figures behind code choices". */
#define DEFAULT_SPIN_US 50

static vkq_status spin_from_env(uint64_t *ns)
{
    vkq_env_value v;
    vkq_status st = vkq_env_get(VKQ_ENV_CPU_POOL_SPIN_US, &v);
    *ns = (v.set ? v.num : DEFAULT_SPIN_US) * 1000u;
    return st;
}

vkq_status vkq_cpu_pool_create(uint32_t n_threads, vkq_cpu_pool *out)
{
    if (!out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    *out = NULL;
    vkq_status st;
    if (n_threads == 0 && (st = vkq_cpu_threads_from_env(&n_threads)) != VKQ_SUCCESS) return st;
    if (n_threads > VKQ_CPU_MAX_THREADS) n_threads = VKQ_CPU_MAX_THREADS;
    uint64_t spin_ns;
    if ((st = spin_from_env(&spin_ns)) != VKQ_SUCCESS) return st;
    vkq_cpu_pool p = calloc(1, sizeof *p);
    if (!p) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    p->n_threads = n_threads;
    p->spin_ns = spin_ns;
    p->tids = calloc(n_threads, sizeof *p->tids);
    p->args = calloc(n_threads, sizeof *p->args);
    int ok = p->tids && p->args;
    int inited = 0; /* how many of the four primitives exist */
    if (ok && pthread_mutex_init(&p->call, NULL) == 0) ++inited;
    if (inited == 1 && pthread_mutex_init(&p->mu, NULL) == 0) ++inited;
    if (inited == 2 && pthread_cond_init(&p->wake, NULL) == 0) ++inited;
    if (inited == 3 && pthread_cond_init(&p->done, NULL) == 0) ++inited;
    uint32_t started = 0;
    if (inited == 4) {
        atomic_init(&p->gen, 0);
        atomic_init(&p->pending, 0);
        atomic_init(&p->n_sleeping, 0);
        for (uint32_t t = 1; t < n_threads; ++t) {
            p->args[t] = (worker_arg){p, t};
            if (pthread_create(&p->tids[t], NULL, worker_main, &p->args[t]) != 0) break;
            started = t;
        }
        if (started + 1 == n_threads) {
            *out = p;
            return VKQ_SUCCESS;
        }
        stop_and_join(p, started);
    }
    if (inited > 3) pthread_cond_destroy(&p->done);
    if (inited > 2) pthread_cond_destroy(&p->wake);
    if (inited > 1) pthread_mutex_destroy(&p->mu);
    if (inited > 0) pthread_mutex_destroy(&p->call);
    free(p->tids);
    free(p->args);
    free(p);
    return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
}

void vkq_cpu_pool_destroy(vkq_cpu_pool p)
{
    if (!p) return;
    stop_and_join(p, p->n_threads - 1);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->call);
    free(p->tids);
    free(p->args);
    free(p);
}

uint32_t vkq_cpu_pool_threads(vkq_cpu_pool p)
{
    return p ? p->n_threads : 0;
}

int vkq_cpu_pool_awake(vkq_cpu_pool p)
{
    return atomic_load_explicit(&p->n_sleeping, memory_order_relaxed) == 0;
}

int vkq_cpu_pool_try_run(vkq_cpu_pool p, uint32_t n_shares, vkq_cpu_share_fn fn, void *arg)
{
    if (pthread_mutex_trylock(&p->call) != 0) return 0;
    p->fn = fn;
    p->arg = arg;
    p->n_shares = n_shares;
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    bump(p);
    fn(arg, 0);
    if (!spin_until(&p->pending, 0, 1, p->spin_ns)) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire))
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->call);
    return 1;
}

typedef struct fork_share {
    void (*fn)(void *arg, uint32_t share);
    void *arg;
    uint32_t index;
} fork_share;

static void *fork_main(void *varg)
{
    const fork_share *f = (const fork_share *)varg;
    f->fn(f->arg, f->index);
    return NULL;
}

void vkq_cpu_fork_join(vkq_cpu_pool pool, uint32_t n_shares, void (*fn)(void *arg, uint32_t share), void *arg)
{
    if (n_shares <= 1) {
        if (n_shares) fn(arg, 0);
        return;
    }
    if (pool && n_shares <= pool->n_threads && vkq_cpu_pool_try_run(pool, n_shares, fn, arg)) return;
    pthread_t tids[VKQ_CPU_MAX_THREADS];
    fork_share sh[VKQ_CPU_MAX_THREADS];
    uint32_t started = 0;
    for (uint32_t t = 1; t < n_shares; ++t) {
        sh[t] = (fork_share){fn, arg, t};
        if (pthread_create(&tids[t], NULL, fork_main, &sh[t]) != 0) break;
        started = t;
    }
    fn(arg, 0);
    for (uint32_t t = started + 1; t < n_shares; ++t) fn(arg, t);
    for (uint32_t t = 1; t <= started; ++t) pthread_join(tids[t], NULL);
}
