/* The CPU thread pool's internal side: what vkq_cpu_matmul needs to run its shares on it. */
#ifndef VKQ_CPU_POOL_H
#define VKQ_CPU_POOL_H

#include <stdint.h>

#include "vkquant/cpu.h"

#define VKQ_CPU_MAX_THREADS 256

/* fn(arg, s) computes share s of n; shares are independent. */
typedef void (*vkq_cpu_share_fn)(void *arg, uint32_t share);

/* VKQ_CPU_THREADS if set to a positive number, else the online cores; at most
 * VKQ_CPU_MAX_THREADS. */
uint32_t vkq_cpu_default_threads(void);

/* Whether no worker sleeps now, i.e. the next call would find them polling: a hint (they may
 * fall asleep right after), for choosing how small a product is still worth splitting. */
int vkq_cpu_pool_awake(vkq_cpu_pool pool);

/* Runs shares 0 .. n_shares - 1 (2 <= n_shares <= the pool's size): share 0 on the calling
 * thread, share s on worker s; returns when all are done. Returns 0 without running anything
 * when another call holds the workers. */
int vkq_cpu_pool_try_run(vkq_cpu_pool pool, uint32_t n_shares, vkq_cpu_share_fn fn, void *arg);

#endif
