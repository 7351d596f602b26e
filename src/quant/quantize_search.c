/* Scale searches shared by the quantizer families (declared in quantize_internal.h).
 *
 * All three follow the same plan: start from the scale that maps the largest |x| onto an end
 * of the quant range, try a fan of scales around it, quantize to nearest for each, refit the
 * scale (and offset) to that assignment by weighted least squares, and keep the assignment
 * with the lowest weighted error. A refit never increases the error of its own assignment, and
 * the plain absmax scale is among the candidates, so the result is never worse than absmax
 * round-to-nearest before the caller rounds the scale to its storage format. */
#include <float.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "quant/quantize_internal.h"

/* The candidates' inverse scales of vkq_search_scale_int, in its order; returns how many. */
static int int_candidates(float m, int qmin, int qmax, int nstep, float *iscale)
{
    int nc = 0;
    const int ends[2] = {qmin, qmax};
    for (int e = 0; e < 2; e++) {
        if (ends[e] == 0) continue;
        const float dir = ends[e] > 0 ? 1.0f : -1.0f;
        for (int s = -nstep; s <= nstep; s++) {
            const float target = (float)ends[e] + dir * 0.1f * (float)s;
            if (target * dir < 0.5f) continue;
            iscale[nc++] = target / m;
        }
    }
    return nc;
}

#if defined(__SSE2__)
/* Four candidates at once, one a lane: each lane does the scalar loop's operations in its order
 * (max/min are its clamp, NaN to lo; v * v is exact in binary32 for these ranges), so the sums
 * are bit-identical to one candidate at a time. Four times the work per instruction, and the
 * sums' add chains of four candidates overlap instead of waiting on each other. */
static void int_sums4(const float *x, const float *w, int n, int qmin, int qmax, const float *iscale, float *sqx,
                      float *sq2)
{
    const __m128 is = _mm_loadu_ps(iscale), lo = _mm_set1_ps((float)qmin), hi = _mm_set1_ps((float)qmax);
    const __m128 zero = _mm_setzero_ps(), half = _mm_set1_ps(0.5f), nhalf = _mm_set1_ps(-0.5f);
    __m128 ax = zero, a2 = zero;
    for (int j = 0; j < n; j++) {
        const __m128 xj = _mm_set1_ps(x[j]), wj = _mm_set1_ps(w[j]);
        __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(xj, is), lo), hi);
        const __m128 ge = _mm_cmpge_ps(v, zero);
        v = _mm_add_ps(v, _mm_or_ps(_mm_and_ps(ge, half), _mm_andnot_ps(ge, nhalf)));
        const __m128 q = _mm_cvtepi32_ps(_mm_cvttps_epi32(v));
        ax = _mm_add_ps(ax, _mm_mul_ps(_mm_mul_ps(wj, xj), q));
        a2 = _mm_add_ps(a2, _mm_mul_ps(wj, _mm_mul_ps(q, q)));
    }
    _mm_storeu_ps(sqx, ax);
    _mm_storeu_ps(sq2, a2);
}
#endif

/* The weighted sums of candidate c: sum w x q and sum w q^2, q = round_clamp(x * iscale[c]). */
static void int_sums(const float *x, const float *w, int n, int qmin, int qmax, const float *iscale, int nc,
                     float *sqx, float *sq2)
{
    int c = 0;
#if defined(__SSE2__)
    for (; c + 4 <= nc; c += 4)
        int_sums4(x, w, n, qmin, qmax, iscale + c, sqx + c, sq2 + c);
#endif
    for (; c < nc; c++) {
        float ax = 0.0f, a2 = 0.0f;
        for (int j = 0; j < n; j++) {
            const int v = vkq_round_clamp(x[j] * iscale[c], qmin, qmax);
            ax += w[j] * x[j] * (float)v;
            a2 += w[j] * (float)(v * v);
        }
        sqx[c] = ax;
        sq2[c] = a2;
    }
}

float vkq_search_scale_int(const float *x, const float *w, int n, int qmin, int qmax, int nstep, int8_t *q)
{
    const float m = vkq_signed_absmax(x, n);
    for (int j = 0; j < n; j++)
        q[j] = 0;
    if (fabsf(m) < VKQ_TINY) return 0.0f;
    float iscale[2 * (2 * VKQ_SEARCH_MAX_STEP + 1)], sqx[2 * (2 * VKQ_SEARCH_MAX_STEP + 1)],
        sq2[2 * (2 * VKQ_SEARCH_MAX_STEP + 1)];
    if (nstep > VKQ_SEARCH_MAX_STEP) nstep = VKQ_SEARCH_MAX_STEP;
    const int nc = int_candidates(m, qmin, qmax, nstep, iscale);
    int_sums(x, w, n, qmin, qmax, iscale, nc, sqx, sq2);
    float best_gain = -1.0f, best_d = 0.0f;
    int best = -1;
    for (int c = 0; c < nc; c++)
        /* The least-squares d = sqx / sq2 lowers the error by sqx^2 / sq2. */
        if (sq2[c] > 0.0f && sqx[c] * sqx[c] / sq2[c] > best_gain) {
            best_gain = sqx[c] * sqx[c] / sq2[c];
            best_d = sqx[c] / sq2[c];
            best = c;
        }
    if (best < 0) return m / (float)(m > 0 ? qmax : qmin); /* all weights zero */
    for (int j = 0; j < n; j++)
        q[j] = (int8_t)vkq_round_clamp(x[j] * iscale[best], qmin, qmax);
    return best_d;
}

#if defined(__SSE2__)
/* q = round_clamp((x - lo) * iscale, 0, qmax) of four candidates, one a lane, as floats. */
static inline __m128 min_q4(__m128 xj, __m128 lo, __m128 is, __m128 hi)
{
    const __m128 zero = _mm_setzero_ps();
    __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_sub_ps(xj, lo), is), zero), hi);
    const __m128 ge = _mm_cmpge_ps(v, zero);
    v = _mm_add_ps(v, _mm_or_ps(_mm_and_ps(ge, _mm_set1_ps(0.5f)), _mm_andnot_ps(ge, _mm_set1_ps(-0.5f))));
    return _mm_cvtepi32_ps(_mm_cvttps_epi32(v));
}
#endif

/* vkq_search_scale_min's sums for candidates [c, c + k): sum w q, sum w q^2, sum w x q; k <= 4
 * lanes at once where SSE2 is there (the lanes do the scalar loop's operations in its order:
 * the same bits). */
static void min_sums(const float *x, const float *w, int n, float lo, int qmax, const float *iscale, int k,
                     float *sq, float *sq2, float *sxq)
{
#if defined(__SSE2__)
    if (k == 4) {
        const __m128 is = _mm_loadu_ps(iscale), vlo = _mm_set1_ps(lo), hi = _mm_set1_ps((float)qmax);
        __m128 a1 = _mm_setzero_ps(), a2 = a1, a3 = a1;
        for (int j = 0; j < n; j++) {
            const __m128 xj = _mm_set1_ps(x[j]), wj = _mm_set1_ps(w[j]);
            const __m128 q = min_q4(xj, vlo, is, hi);
            a1 = _mm_add_ps(a1, _mm_mul_ps(wj, q));
            a2 = _mm_add_ps(a2, _mm_mul_ps(wj, _mm_mul_ps(q, q)));
            a3 = _mm_add_ps(a3, _mm_mul_ps(_mm_mul_ps(wj, xj), q));
        }
        _mm_storeu_ps(sq, a1);
        _mm_storeu_ps(sq2, a2);
        _mm_storeu_ps(sxq, a3);
        return;
    }
#endif
    for (int c = 0; c < k; c++) {
        float a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        for (int j = 0; j < n; j++) {
            const int v = vkq_round_clamp((x[j] - lo) * iscale[c], 0, qmax);
            a1 += w[j] * (float)v;
            a2 += w[j] * (float)(v * v);
            a3 += w[j] * x[j] * (float)v;
        }
        sq[c] = a1;
        sq2[c] = a2;
        sxq[c] = a3;
    }
}

/* The weighted error sum w (sc q + b - x)^2 of candidates [c, c + k), each with its sc and b. */
static void min_errs(const float *x, const float *w, int n, float lo, int qmax, const float *iscale, int k,
                     const float *sc, const float *b, float *err)
{
#if defined(__SSE2__)
    if (k == 4) {
        const __m128 is = _mm_loadu_ps(iscale), vlo = _mm_set1_ps(lo), hi = _mm_set1_ps((float)qmax);
        const __m128 vsc = _mm_loadu_ps(sc), vb = _mm_loadu_ps(b);
        __m128 e = _mm_setzero_ps();
        for (int j = 0; j < n; j++) {
            const __m128 xj = _mm_set1_ps(x[j]);
            const __m128 t = _mm_sub_ps(_mm_add_ps(_mm_mul_ps(vsc, min_q4(xj, vlo, is, hi)), vb), xj);
            e = _mm_add_ps(e, _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(w[j]), t), t));
        }
        _mm_storeu_ps(err, e);
        return;
    }
#endif
    for (int c = 0; c < k; c++) {
        float e = 0.0f;
        for (int j = 0; j < n; j++) {
            const int v = vkq_round_clamp((x[j] - lo) * iscale[c], 0, qmax);
            const float t = sc[c] * (float)v + b[c] - x[j];
            e += w[j] * t * t;
        }
        err[c] = e;
    }
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
    if (nstep > VKQ_SEARCH_MAX_STEP) nstep = VKQ_SEARCH_MAX_STEP;

    float sw = 0.0f, sx = 0.0f;
    for (int j = 0; j < n; j++) {
        sw += w[j];
        sx += w[j] * x[j];
    }
    /* Candidate 0 is plain absmax round-to-nearest, kept without a refit; then the fan. */
    enum { MAXC = 2 * VKQ_SEARCH_MAX_STEP + 4 };
    float iscale[MAXC], sq[MAXC], sq2[MAXC], sxq[MAXC], sc[MAXC], b[MAXC], err[MAXC];
    int ok[MAXC];
    const int nc = 2 * nstep + 2;
    for (int c = 0; c < nc; c++) {
        const int s = c - nstep - 1;
        iscale[c] = c == 0 ? (float)qmax / (hi - lo) : ((float)qmax + 0.1f * (float)s) / (hi - lo);
    }
    for (int c = 0; c < nc; c += 4)
        min_sums(x, w, n, lo, qmax, iscale + c, nc - c < 4 ? nc - c : 4, sq + c, sq2 + c, sxq + c);
    for (int c = 0; c < nc; c++) {
        const float det = sw * sq2[c] - sq[c] * sq[c];
        ok[c] = 1;
        if (c == 0) {
            sc[c] = 1.0f / iscale[c];
            b[c] = lo;
        } else if (det > 0.0f) {
            sc[c] = (sw * sxq[c] - sq[c] * sx) / det;
            b[c] = (sq2[c] * sx - sq[c] * sxq[c]) / det;
            if (b[c] > 0.0f && !free_offset) { /* offset must stay <= 0: refit the scale alone */
                b[c] = 0.0f;
                sc[c] = sq2[c] > 0.0f ? sxq[c] / sq2[c] : 0.0f;
            }
        } else {
            ok[c] = 0;
            sc[c] = b[c] = 0.0f;
        }
    }
    for (int c = 0; c < nc; c += 4)
        min_errs(x, w, n, lo, qmax, iscale + c, nc - c < 4 ? nc - c : 4, sc + c, b + c, err + c);
    float best_err = FLT_MAX, best_s = (hi - lo) / (float)qmax, best_b = lo;
    int best = -1;
    for (int c = 0; c < nc; c++)
        if (ok[c] && err[c] < best_err) {
            best_err = err[c];
            best_s = sc[c];
            best_b = b[c];
            best = c;
        }
    if (best >= 0)
        for (int j = 0; j < n; j++)
            q[j] = (uint8_t)vkq_round_clamp((x[j] - lo) * iscale[best], 0, qmax);
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

/* The level index of v: vkq_nearest16 for 16 levels (the count of midpoints below v, which is
 * what its binary search finds), else vkq_nearest_level. */
static inline int nearest_any(const float *mid, int nlev, float v)
{
    return nlev == 16 ? vkq_nearest16(mid, v) : vkq_nearest_level(mid, nlev, v);
}

#if defined(__SSE2__)
/* vkq_search_scale_codebook's sums for four 16-level candidates, one a lane, each lane the scalar
 * loop's operations in its order (the index: the count of the 15 midpoints below v, as
 * vkq_nearest16's search; NaN counts none): the same bits. */
static void codebook_sums4(const float *x, const float *w, int n, const float *lev, const float *mid,
                           const float *iscale, float *sqx, float *sq2)
{
    const __m128 is = _mm_loadu_ps(iscale);
    __m128 ax = _mm_setzero_ps(), a2 = ax;
    for (int j = 0; j < n; j++) {
        const __m128 xj = _mm_set1_ps(x[j]), wj = _mm_set1_ps(w[j]);
        const __m128 v = _mm_mul_ps(xj, is);
        __m128i cnt = _mm_setzero_si128();
        for (int i = 0; i < 15; i++)
            cnt = _mm_sub_epi32(cnt, _mm_castps_si128(_mm_cmpgt_ps(v, _mm_set1_ps(mid[i]))));
        int k[4];
        _mm_storeu_si128((__m128i *)k, cnt);
        const __m128 l = _mm_setr_ps(lev[k[0]], lev[k[1]], lev[k[2]], lev[k[3]]);
        ax = _mm_add_ps(ax, _mm_mul_ps(_mm_mul_ps(wj, xj), l));
        a2 = _mm_add_ps(a2, _mm_mul_ps(_mm_mul_ps(wj, l), l));
    }
    _mm_storeu_ps(sqx, ax);
    _mm_storeu_ps(sq2, a2);
}
#endif

float vkq_search_scale_codebook(const float *x, const float *w, int n, const float *lev, const float *mid,
                                int nlev, int nstep, uint8_t *idx)
{
    const float m = vkq_signed_absmax(x, n);
    const int zero = vkq_nearest_level(mid, nlev, 0.0f);
    for (int j = 0; j < n; j++)
        idx[j] = (uint8_t)zero;
    if (fabsf(m) < VKQ_TINY) return 0.0f;
    if (nstep > VKQ_SEARCH_MAX_STEP) nstep = VKQ_SEARCH_MAX_STEP;
    enum { MAXC = 2 * (2 * VKQ_SEARCH_MAX_STEP + 1) };
    float iscale[MAXC], sqx[MAXC], sq2[MAXC];
    int nc = 0;
    const float ends[2] = {lev[0], lev[nlev - 1]};
    for (int e = 0; e < 2; e++) {
        if (ends[e] == 0.0f) continue;
        for (int s = -nstep; s <= nstep; s++)
            iscale[nc++] = ends[e] * (1.0f + 0.015f * (float)s) / m;
    }
    int c = 0;
#if defined(__SSE2__)
    if (nlev == 16)
        for (; c + 4 <= nc; c += 4)
            codebook_sums4(x, w, n, lev, mid, iscale + c, sqx + c, sq2 + c);
#endif
    for (; c < nc; c++) {
        float ax = 0.0f, a2 = 0.0f;
        for (int j = 0; j < n; j++) {
            const int v = nearest_any(mid, nlev, x[j] * iscale[c]);
            ax += w[j] * x[j] * lev[v];
            a2 += w[j] * lev[v] * lev[v];
        }
        sqx[c] = ax;
        sq2[c] = a2;
    }
    float best_gain = -1.0f, best_d = 0.0f;
    int best = -1;
    for (c = 0; c < nc; c++)
        if (sq2[c] > 0.0f && sqx[c] * sqx[c] / sq2[c] > best_gain) {
            best_gain = sqx[c] * sqx[c] / sq2[c];
            best_d = sqx[c] / sq2[c];
            best = c;
        }
    if (best < 0) return m / (m > 0 ? lev[nlev - 1] : lev[0]);
    for (int j = 0; j < n; j++)
        idx[j] = (uint8_t)nearest_any(mid, nlev, x[j] * iscale[best]);
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
