/* Wall clock and medians shared by the bench's Vulkan, CPU and model timings. */
#ifndef VKQ_BENCH_TIMING_H
#define VKQ_BENCH_TIMING_H

#include <stddef.h>

/* CLOCK_MONOTONIC in microseconds. */
double bench_now_us(void);
/* Median of v[0..n) (n > 0); sorts v in place. */
double bench_median(double *v, size_t n);

#endif
