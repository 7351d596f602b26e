#include "matmul_ref.h"

#include <math.h>

void matmul_ref_f64(const float *wf, const float *x, double *ref, uint64_t m, uint64_t k, uint64_t n)
{
    for (uint64_t j = 0; j < n; ++j) {
        const float *xc = x + j * k;
        for (uint64_t i = 0; i < m; ++i) {
            const float *w = wf + i * k;
            double s0 = 0, s1 = 0; /* two chains: exact enough, twice as fast */
            uint64_t e = 0;
            for (; e + 1 < k; e += 2) {
                s0 += (double)w[e] * xc[e];
                s1 += (double)w[e + 1] * xc[e + 1];
            }
            if (e < k) s0 += (double)w[e] * xc[e];
            ref[j * m + i] = s0 + s1;
        }
    }
}

double matmul_nmse(const float *y, uint64_t ldy, const double *ref, uint64_t m, uint64_t n)
{
    double num = 0, den = 0;
    for (uint64_t j = 0; j < n; ++j)
        for (uint64_t i = 0; i < m; ++i) {
            double v = y[j * ldy + i], r = ref[j * m + i];
            if (!isfinite(v)) return INFINITY;
            num += (v - r) * (v - r);
            den += r * r;
        }
    return den > 0 ? num / den : num;
}

double matmul_nmse_bound(const float *wf, const float *x, const double *ref, uint64_t m, uint64_t k,
                         uint64_t n, double tol)
{
    double terms = 0, den = 0;
    for (uint64_t j = 0; j < n; ++j)
        for (uint64_t i = 0; i < m; ++i) {
            double a = 0;
            for (uint64_t e = 0; e < k; ++e) a += fabs((double)wf[i * k + e] * x[j * k + e]);
            terms += a * a / (double)k;
            den += ref[j * m + i] * ref[j * m + i];
        }
    double cond = den > 0 ? terms / den : 1.0;
    return tol * (cond > 1.0 ? cond : 1.0);
}
