/* KL-divergence printouts (report.h). The text layout follows llama-perplexity's so that the two
 * programs' outputs line up; figures given as fractions there are printed as percentages. */
#include <math.h>

#include "report.h"

/* The percentile rows of each section, top down, and whether the KLD section has the row. */
static const struct {
    const char *label;
    int index; /* of vkq_kld_percentile_fraction; -1: the median */
    int in_kld;
} ROWS[] = {
    {"99.9%", 0, 1}, {"99.0%", 1, 1}, {"95.0%", 2, 1}, {"90.0%", 3, 1}, {"75.0%", 4, 0}, {"Median", -1, 1},
    {"25.0%", 5, 0}, {"10.0%", 6, 1}, {" 5.0%", 7, 1}, {" 1.0%", 8, 1}, {" 0.1%", 9, 1},
};

void kld_report_head(FILE *f)
{
    fprintf(f, "chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              "
               "Δp RMS            Same top p\n");
}

void kld_report_chunk(FILE *f, uint32_t chunk, const vkq_kld_summary *s)
{
    fprintf(f, "%4u    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%    %6.3f ± %6.3f %%\n",
            chunk + 1, s->ppl, s->ppl_err, s->ln_ppl_ratio, s->ln_ppl_ratio_err, s->kld, s->kld_err,
            100 * s->p_diff_rms, 100 * s->p_diff_rms_err, 100 * s->same_top, 100 * s->same_top_err);
    fflush(f);
}

void kld_report_summary(FILE *f, const vkq_kld_summary *s)
{
    fprintf(f, "\n====== Perplexity statistics ======\n");
    fprintf(f, "Mean PPL(Q)                   : %10.6f ± %10.6f\n", s->ppl, s->ppl_err);
    fprintf(f, "Mean PPL(base)                : %10.6f ± %10.6f\n", s->ppl_base, s->ppl_base_err);
    fprintf(f, "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100 * s->ln_ppl_cor);
    fprintf(f, "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s->ln_ppl_ratio, s->ln_ppl_ratio_err);
    fprintf(f, "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", s->ppl_ratio, s->ppl_ratio_err);
    fprintf(f, "Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", s->ppl_diff, s->ppl_diff_err);

    fprintf(f, "\n====== KL divergence statistics ======\n");
    fprintf(f, "Mean    KLD: %10.6f ± %10.6f\n", s->kld, s->kld_err);
    fprintf(f, "Maximum KLD: %10.6f\n", s->kld_max);
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; ++i)
        if (ROWS[i].in_kld)
            fprintf(f, "%-7s KLD: %10.6f\n", ROWS[i].label,
                    ROWS[i].index < 0 ? s->kld_median : s->kld_percentile[ROWS[i].index]);
    fprintf(f, "Minimum KLD: %10.6f\n", s->kld_min);

    fprintf(f, "\n====== Token probability statistics ======\n");
    fprintf(f, "Mean    Δp: %6.3f ± %5.3f %%\n", 100 * s->p_diff, 100 * s->p_diff_err);
    fprintf(f, "Maximum Δp: %6.3f%%\n", 100 * s->p_diff_max);
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; ++i)
        fprintf(f, "%-7s Δp: %6.3f%%\n", ROWS[i].label,
                100 * (ROWS[i].index < 0 ? s->p_diff_median : s->p_diff_percentile[ROWS[i].index]));
    fprintf(f, "Minimum Δp: %6.3f%%\n", 100 * s->p_diff_min);
    fprintf(f, "RMS Δp    : %6.3f ± %5.3f %%\n", 100 * s->p_diff_rms, 100 * s->p_diff_rms_err);
    fprintf(f, "Same top p: %6.3f ± %5.3f %%\n", 100 * s->same_top, 100 * s->same_top_err);
}

/* JSON has no NaN: an undefined figure is null. */
static void num(FILE *f, const char *key, double v)
{
    if (isfinite(v)) fprintf(f, "\"%s\": %.9g", key, v);
    else fprintf(f, "\"%s\": null", key);
}

static void order_stats(FILE *f, double max, double median, double min, const double *pct)
{
    num(f, "max", max);
    fprintf(f, ", ");
    num(f, "median", median);
    fprintf(f, ", ");
    num(f, "min", min);
    for (int i = 0; i < VKQ_KLD_N_PERCENTILES; ++i) {
        char key[16];
        snprintf(key, sizeof key, "p%g", 100 * vkq_kld_percentile_fraction((uint32_t)i));
        fprintf(f, ", ");
        num(f, key, pct[i]);
    }
}

void kld_report_json(FILE *f, const vkq_kld_summary *s)
{
    fprintf(f, "\"tokens_scored\": %llu, ", (unsigned long long)s->count);
    num(f, "ppl", s->ppl);
    fprintf(f, ", ");
    num(f, "ppl_err", s->ppl_err);
    fprintf(f, ", ");
    num(f, "ppl_base", s->ppl_base);
    fprintf(f, ", ");
    num(f, "ppl_base_err", s->ppl_base_err);
    fprintf(f, ", ");
    num(f, "ln_ppl_cor", s->ln_ppl_cor);
    fprintf(f, ", ");
    num(f, "ln_ppl_ratio", s->ln_ppl_ratio);
    fprintf(f, ", ");
    num(f, "ln_ppl_ratio_err", s->ln_ppl_ratio_err);
    fprintf(f, ", ");
    num(f, "ppl_ratio", s->ppl_ratio);
    fprintf(f, ", ");
    num(f, "ppl_ratio_err", s->ppl_ratio_err);
    fprintf(f, ", ");
    num(f, "ppl_diff", s->ppl_diff);
    fprintf(f, ", ");
    num(f, "ppl_diff_err", s->ppl_diff_err);
    fprintf(f, ", \"kld\": {");
    num(f, "mean", s->kld);
    fprintf(f, ", ");
    num(f, "err", s->kld_err);
    fprintf(f, ", ");
    order_stats(f, s->kld_max, s->kld_median, s->kld_min, s->kld_percentile);
    fprintf(f, "}, \"p_diff\": {");
    num(f, "mean", s->p_diff);
    fprintf(f, ", ");
    num(f, "err", s->p_diff_err);
    fprintf(f, ", ");
    num(f, "rms", s->p_diff_rms);
    fprintf(f, ", ");
    num(f, "rms_err", s->p_diff_rms_err);
    fprintf(f, ", ");
    order_stats(f, s->p_diff_max, s->p_diff_median, s->p_diff_min, s->p_diff_percentile);
    fprintf(f, "}, ");
    num(f, "same_top", s->same_top);
    fprintf(f, ", ");
    num(f, "same_top_err", s->same_top_err);
}
