/* The f64 reference for matmul tests and the bench: Y = W * X with W decoded by the CPU
 * reference decoder, accumulated in double. */
#ifndef VKQ_MATMUL_REF_H
#define VKQ_MATMUL_REF_H

#include <stdint.h>

/* wf: m x k decoded weights (row-major), x: n columns of k, ref: n columns of m. */
void matmul_ref_f64(const float *wf, const float *x, double *ref, uint64_t m, uint64_t k, uint64_t n);

/* The NMSE an fp32 kernel may show: `tol` scaled by how much the sums cancel. fp32 rounding
 * error grows with the magnitudes of the terms, sum_k |w x|, not with the result; for random
 * signs (sum|w x|)^2 / k is about ref^2 and the bound is `tol`, but a few outputs that happen to
 * cancel (m = 1, n = 1) get a proportionally larger allowance. */
double matmul_nmse_bound(const float *wf, const float *x, const double *ref, uint64_t m, uint64_t k,
                         uint64_t n, double tol);

/* Normalised squared error sum((y - ref)^2) / sum(ref^2) over m x n values; y column-major
 * with stride ldy. Returns +inf if any y is not finite. */
double matmul_nmse(const float *y, uint64_t ldy, const double *ref, uint64_t m, uint64_t n);

#endif
