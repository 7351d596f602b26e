/* The CPU thread pool's internal side: what vkq_cpu_matmul needs to run its shares on it. */
#ifndef VKQ_CPU_POOL_H
#define VKQ_CPU_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/cpu.h"

#define VKQ_CPU_MAX_THREADS 256

/* fn(arg, s) computes share s of n; shares are independent. */
typedef void (*vkq_cpu_share_fn)(void *arg, uint32_t share);

/* VKQ_CPU_THREADS if set, else the online cores; at most VKQ_CPU_MAX_THREADS. A bad value of
 * the variable is VKQ_ERROR_INVALID_ARGUMENT (with a sentence in vkq_last_error). */
vkq_status vkq_cpu_threads_from_env(uint32_t *out);
/* The same, taking the online cores where the variable is bad (for tests and tools). */
uint32_t vkq_cpu_default_threads(void);

/* The one fork/join of the library: runs shares 0 .. n_shares - 1 (n_shares <= VKQ_CPU_MAX_THREADS)
 * and returns when all are done: on `pool`'s workers if one is given and free, else on a thread
 * per share started for the call; share 0, and any share whose thread could not be started, on
 * the calling thread. */
void vkq_cpu_fork_join(vkq_cpu_pool pool, uint32_t n_shares, void (*fn)(void *arg, uint32_t share),
                       void *arg);

/* Whether no worker sleeps now, i.e. the next call would find them polling: a hint (they may
 * fall asleep right after), for choosing how small a product is still worth splitting. */
int vkq_cpu_pool_awake(vkq_cpu_pool pool);

/* Runs shares 0 .. n_shares - 1 (2 <= n_shares <= the pool's size): share 0 on the calling
 * thread, share s on worker s; returns when all are done. Returns 0 without running anything
 * when another call holds the workers. */
int vkq_cpu_pool_try_run(vkq_cpu_pool pool, uint32_t n_shares, vkq_cpu_share_fn fn, void *arg);

#endif
