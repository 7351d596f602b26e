/* KL-divergence statistics (include/vkquant/eval.h): running sums for the means and their errors,
 * and every position's KLD and Δp kept for the percentiles. All in double: the sums run over
 * hundreds of thousands of positions and the per-position sum over the whole vocabulary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/logits_layout.h"
#include "vkquant/eval.h"

static const double FRACTIONS[VKQ_KLD_N_PERCENTILES] = {0.999, 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001};

double vkq_kld_percentile_fraction(uint32_t i) { return i < VKQ_KLD_N_PERCENTILES ? FRACTIONS[i] : 0; }

struct vkq_kld_s {
    uint32_t n_vocab;
    uint64_t count, n_same_top, cap;
    double nll, nll2, nll_base, nll_base2, nll_nll_base;
    double kld, kld2, p_diff, p_diff2, p_diff4;
    double *kld_values, *p_diff_values;
};

vkq_status vkq_kld_create(uint32_t n_vocab, vkq_kld *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_create: out is NULL");
    *out = NULL;
    if (!n_vocab) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_create: an empty vocabulary");
    vkq_kld k = calloc(1, sizeof *k);
    if (!k) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_kld_create: out of memory");
    k->n_vocab = n_vocab;
    *out = k;
    return VKQ_SUCCESS;
}

void vkq_kld_destroy(vkq_kld k)
{
    if (!k) return;
    free(k->kld_values);
    free(k->p_diff_values);
    free(k);
}

static vkq_status grow(vkq_kld k)
{
    if (k->count < k->cap) return VKQ_SUCCESS;
    const uint64_t cap = k->cap ? k->cap * 2 : 1024;
    if (cap > SIZE_MAX / sizeof(double)) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_kld_add: too many positions");
    double *a = realloc(k->kld_values, (size_t)cap * sizeof *a);
    if (a) k->kld_values = a;
    double *b = a ? realloc(k->p_diff_values, (size_t)cap * sizeof *b) : NULL;
    if (!b) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_kld_add: out of memory for %llu positions",
                            (unsigned long long)cap);
    k->p_diff_values = b;
    k->cap = cap;
    return VKQ_SUCCESS;
}

vkq_status vkq_kld_add(vkq_kld k, const float *base, const float *logits, int32_t token, vkq_kld_position *pos_out)
{
    if (!k || !base || !logits) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_add: NULL argument");
    const uint32_t V = k->n_vocab;
    if (token < 0 || (uint32_t)token >= V)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_add: token %d outside the vocabulary of %u", token, V);
    vkq_status st = grow(k);
    if (st != VKQ_SUCCESS) return st;

    uint32_t top = 0, top_base = 0;
    for (uint32_t i = 1; i < V; ++i) {
        if (logits[i] > logits[top]) top = i;
        if (base[i] > base[top_base]) top_base = i;
    }
    const double mx = logits[top];
    double sum = 0;
    for (uint32_t i = 0; i < V; ++i) sum += exp((double)logits[i] - mx);
    const double lse = mx + log(sum); /* log p_current(i) = logits[i] - lse */
    /* Entries more than 16 below the base's maximum share the file's floor: their true
     * log-probabilities are unknown, and llama.cpp leaves them out of the sum too. */
    double kl = 0;
    for (uint32_t i = 0; i < V; ++i) {
        const double lb = base[i];
        if (lb > -VKQ_LOGITS_SPAN) kl += exp(lb) * (lb - ((double)logits[i] - lse));
    }
    vkq_kld_position p;
    p.kld = kl;
    p.nll = lse - logits[token];
    p.nll_base = -(double)base[token];
    p.p_diff = exp(-p.nll) - exp(-p.nll_base);
    p.top = (int32_t)top;
    p.top_base = (int32_t)top_base;
    if (!isfinite(p.kld) || !isfinite(p.nll) || !isfinite(p.nll_base) || !isfinite(p.p_diff))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_add: logits or base log-probabilities not finite");

    k->nll += p.nll;
    k->nll2 += p.nll * p.nll;
    k->nll_base += p.nll_base;
    k->nll_base2 += p.nll_base * p.nll_base;
    k->nll_nll_base += p.nll * p.nll_base;
    k->kld += kl;
    k->kld2 += kl * kl;
    const double d2 = p.p_diff * p.p_diff;
    k->p_diff += p.p_diff;
    k->p_diff2 += d2;
    k->p_diff4 += d2 * d2;
    k->n_same_top += top == top_base;
    k->kld_values[k->count] = kl;
    k->p_diff_values[k->count] = p.p_diff;
    ++k->count;
    if (pos_out) *pos_out = p;
    return VKQ_SUCCESS;
}

/* Mean and standard error of the mean; the error is 0 with 10 values or fewer (llama.cpp's
 * convention, so that the figures match). */
static void mean_err(double sum, double sum2, uint64_t n, double *mean, double *err)
{
    *mean = sum / (double)n;
    const double var = sum2 / (double)n - *mean * *mean;
    *err = var > 0 && n > 10 ? sqrt(var / (double)(n - 1)) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between the sorted values around fraction * (n - 1). */
static double percentile(const double *v, uint64_t n, double fraction)
{
    const double p = fraction * (double)(n - 1);
    const uint64_t i = (uint64_t)p;
    const double t = p - (double)i;
    return i + 1 < n ? (1 - t) * v[i] + t * v[i + 1] : v[n - 1];
}

static vkq_status order_stats(const double *values, uint64_t n, double *max, double *median, double *min,
                              double pct[VKQ_KLD_N_PERCENTILES])
{
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_kld_get_summary: out of memory");
    memcpy(v, values, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *min = v[0];
    *max = v[n - 1];
    *median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    for (int i = 0; i < VKQ_KLD_N_PERCENTILES; ++i) pct[i] = percentile(v, n, FRACTIONS[i]);
    free(v);
    return VKQ_SUCCESS;
}

static vkq_status summarize(vkq_kld k, int order, vkq_kld_summary *out)
{
    if (!k || !out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_get_summary: NULL argument");
    if (!k->count) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_kld_get_summary: no positions added yet");
    vkq_kld_summary s;
    memset(&s, 0, sizeof s);
    const uint64_t n = k->count;
    s.count = n;
    double ln_ppl, ln_ppl_err, ln_base, ln_base_err;
    mean_err(k->nll, k->nll2, n, &ln_ppl, &ln_ppl_err);
    mean_err(k->nll_base, k->nll_base2, n, &ln_base, &ln_base_err);
    s.ppl = exp(ln_ppl);
    s.ppl_err = s.ppl * ln_ppl_err;
    s.ppl_base = exp(ln_base);
    s.ppl_base_err = s.ppl_base * ln_base_err;
    /* The covariance of the two means (0 under 10 values, as llama.cpp has it). */
    const double cov =
        n < 10 ? 0 : (k->nll_nll_base / (double)n - (k->nll / (double)n) * (k->nll_base / (double)n)) / (double)(n - 1);
    s.ln_ppl_cor = ln_ppl_err > 0 && ln_base_err > 0 ? cov / (ln_ppl_err * ln_base_err) : NAN;
    s.ln_ppl_ratio = ln_ppl - ln_base;
    const double rv = ln_ppl_err * ln_ppl_err + ln_base_err * ln_base_err - 2 * cov;
    s.ln_ppl_ratio_err = rv > 0 ? sqrt(rv) : 0;
    s.ppl_ratio = exp(s.ln_ppl_ratio);
    s.ppl_ratio_err = s.ppl_ratio * s.ln_ppl_ratio_err;
    s.ppl_diff = s.ppl - s.ppl_base;
    const double dv = s.ppl_err * s.ppl_err + s.ppl_base_err * s.ppl_base_err - 2 * s.ppl * s.ppl_base * cov;
    s.ppl_diff_err = dv > 0 ? sqrt(dv) : 0;

    mean_err(k->kld, k->kld2, n, &s.kld, &s.kld_err);
    mean_err(k->p_diff, k->p_diff2, n, &s.p_diff, &s.p_diff_err);
    double mse, mse_err;
    mean_err(k->p_diff2, k->p_diff4, n, &mse, &mse_err);
    s.p_diff_rms = sqrt(mse);
    s.p_diff_rms_err = mse > 0 ? 0.5 / s.p_diff_rms * mse_err : 0;
    s.same_top = (double)k->n_same_top / (double)n;
    s.same_top_err = n > 1 ? sqrt(s.same_top * (1 - s.same_top) / (double)(n - 1)) : 0;
    vkq_status st = VKQ_SUCCESS;
    if (order) st = order_stats(k->kld_values, n, &s.kld_max, &s.kld_median, &s.kld_min, s.kld_percentile);
    if (order && st == VKQ_SUCCESS)
        st = order_stats(k->p_diff_values, n, &s.p_diff_max, &s.p_diff_median, &s.p_diff_min, s.p_diff_percentile);
    if (st != VKQ_SUCCESS) return st;
    *out = s;
    return VKQ_SUCCESS;
}

vkq_status vkq_kld_get_summary(vkq_kld k, vkq_kld_summary *out) { return summarize(k, 1, out); }

vkq_status vkq_kld_get_running(vkq_kld k, vkq_kld_summary *out) { return summarize(k, 0, out); }
