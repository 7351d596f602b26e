/* Scale searches shared by the quantizer families (declared in quantize_internal.h).
 *
 * All three follow the same plan: start from the scale that maps the largest |x| onto an end
 * of the quant range, try a fan of scales around it, quantize to nearest for each, refit the
 * scale (and offset) to that assignment by weighted least squares, and keep the assignment
 * with the lowest weighted error. A refit never increases the error of its own assignment, and
 * the plain absmax scale is among the candidates, so the result is never worse than absmax
 * round-to-nearest before the caller rounds the scale to its storage format. */
#include <float.h>

#include "quant/quantize_internal.h"

float vkq_search_scale_int(const float *x, const float *w, int n, int qmin, int qmax, int nstep, int8_t *q)
{
    const float m = vkq_signed_absmax(x, n);
    for (int j = 0; j < n; j++)
        q[j] = 0;
    if (fabsf(m) < VKQ_TINY) return 0.0f;
    float best_gain = -1.0f, best_d = 0.0f;
    int8_t cur[256];
    const int ends[2] = {qmin, qmax};
    for (int e = 0; e < 2; e++) {
        if (ends[e] == 0) continue;
        const float dir = ends[e] > 0 ? 1.0f : -1.0f;
        for (int s = -nstep; s <= nstep; s++) {
            const float target = (float)ends[e] + dir * 0.1f * (float)s;
            if (target * dir < 0.5f) continue;
            const float iscale = target / m;
            float sqx = 0.0f, sq2 = 0.0f;
            for (int j = 0; j < n; j++) {
                const int v = vkq_round_clamp(x[j] * iscale, qmin, qmax);
                cur[j] = (int8_t)v;
                sqx += w[j] * x[j] * (float)v;
                sq2 += w[j] * (float)(v * v);
            }
            /* The least-squares d = sqx / sq2 lowers the error by sqx^2 / sq2. */
            if (sq2 > 0.0f && sqx * sqx / sq2 > best_gain) {
                best_gain = sqx * sqx / sq2;
                best_d = sqx / sq2;
                for (int j = 0; j < n; j++)
                    q[j] = cur[j];
            }
        }
    }
    if (best_gain < 0.0f) best_d = m / (float)(m > 0 ? qmax : qmin); /* all weights zero */
    return best_d;
}

float vkq_search_scale_min(const float *x, const float *w, int n, int qmax, int nstep, int free_offset,
                           float *m_out, uint8_t *q)
{
    float lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    if (lo > 0.0f && !free_offset) lo = 0.0f; /* K-quants: the offset only moves down */
    for (int j = 0; j < n; j++)
        q[j] = 0;
    *m_out = -lo;
    if (hi - lo < VKQ_TINY) return 0.0f;

    float sw = 0.0f, sx = 0.0f;
    for (int j = 0; j < n; j++) {
        sw += w[j];
        sx += w[j] * x[j];
    }
    float best_err = FLT_MAX, best_s = (hi - lo) / (float)qmax, best_b = lo;
    uint8_t cur[256];
    for (int s = -nstep - 1; s <= nstep; s++) {
        /* s = -nstep-1 is plain absmax round-to-nearest, kept without a refit. */
        const int plain = s == -nstep - 1;
        const float iscale = plain ? (float)qmax / (hi - lo) : ((float)qmax + 0.1f * (float)s) / (hi - lo);
        float sq = 0.0f, sq2 = 0.0f, sxq = 0.0f;
        for (int j = 0; j < n; j++) {
            const int v = vkq_round_clamp((x[j] - lo) * iscale, 0, qmax);
            cur[j] = (uint8_t)v;
            sq += w[j] * (float)v;
            sq2 += w[j] * (float)(v * v);
            sxq += w[j] * x[j] * (float)v;
        }
        float sc, b;
        const float det = sw * sq2 - sq * sq;
        if (plain) {
            sc = 1.0f / iscale;
            b = lo;
        } else if (det > 0.0f) {
            sc = (sw * sxq - sq * sx) / det;
            b = (sq2 * sx - sq * sxq) / det;
            if (b > 0.0f && !free_offset) { /* offset must stay <= 0: refit the scale alone */
                b = 0.0f;
                sc = sq2 > 0.0f ? sxq / sq2 : 0.0f;
            }
        } else {
            continue;
        }
        float err = 0.0f;
        for (int j = 0; j < n; j++) {
            const float t = sc * (float)cur[j] + b - x[j];
            err += w[j] * t * t;
        }
        if (err < best_err) {
            best_err = err;
            best_s = sc;
            best_b = b;
            for (int j = 0; j < n; j++)
                q[j] = cur[j];
        }
    }
    *m_out = -best_b;
    return best_s;
}

int vkq_nearest_level(const float *mid, int nlev, float v)
{
    int i = 0;
    for (int k = 0; k < nlev - 1; k++)
        i += v > mid[k];
    return i;
}

float vkq_search_scale_codebook(const float *x, const float *w, int n, const float *lev, const float *mid,
                                int nlev, int nstep, uint8_t *idx)
{
    const float m = vkq_signed_absmax(x, n);
    const int zero = vkq_nearest_level(mid, nlev, 0.0f);
    for (int j = 0; j < n; j++)
        idx[j] = (uint8_t)zero;
    if (fabsf(m) < VKQ_TINY) return 0.0f;
    float best_gain = -1.0f, best_d = 0.0f;
    uint8_t cur[256];
    const float ends[2] = {lev[0], lev[nlev - 1]};
    for (int e = 0; e < 2; e++) {
        if (ends[e] == 0.0f) continue;
        for (int s = -nstep; s <= nstep; s++) {
            const float iscale = ends[e] * (1.0f + 0.015f * (float)s) / m;
            float sqx = 0.0f, sq2 = 0.0f;
            for (int j = 0; j < n; j++) {
                const int v = nlev == 16 ? vkq_nearest16(mid, x[j] * iscale)
                                         : vkq_nearest_level(mid, nlev, x[j] * iscale);
                cur[j] = (uint8_t)v;
                sqx += w[j] * x[j] * lev[v];
                sq2 += w[j] * lev[v] * lev[v];
            }
            if (sq2 > 0.0f && sqx * sqx / sq2 > best_gain) {
                best_gain = sqx * sqx / sq2;
                best_d = sqx / sq2;
                for (int j = 0; j < n; j++)
                    idx[j] = cur[j];
            }
        }
    }
    if (best_gain < 0.0f) best_d = m / (m > 0 ? lev[nlev - 1] : lev[0]);
    return best_d;
}

void vkq_codebook_init(const int8_t *values, int nlev, float scale, float *lev, float *mid, uint8_t *code_of)
{
    /* Sort the code values (insertion sort, nlev <= 16) remembering each one's code. */
    for (int c = 0; c < nlev; c++) {
        const float v = (float)values[c] * scale;
        int k = c;
        while (k > 0 && lev[k - 1] > v) {
            lev[k] = lev[k - 1];
            code_of[k] = code_of[k - 1];
            k--;
        }
        lev[k] = v;
        code_of[k] = (uint8_t)c;
    }
    for (int k = 0; k + 1 < nlev; k++)
        mid[k] = 0.5f * (lev[k] + lev[k + 1]);
    mid[nlev - 1] = INFINITY;
}
