/* vkq-bench --csv: one line per row, the JSON row fields as columns (RFC 4180 quoting). */
#include <math.h>
#include <stdio.h>

#include "bench.h"

static void cell(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; ++s) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Empty cell = not measured. */
static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.6g", v);
    else
        fputc(',', f);
}

int report_csv(const char *path, const report *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "vkq-bench: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "type,backend,m,k,n,bpw,time_us,gbps,gflops,pct_copy_bw,nmse_weights,nmse_output,nmse_kernel,"
               "status,kernel,source,first_use_ms,cached_ms,reps\r\n");
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        const row *w = &r->rows[i];
        fprintf(f, "%s,%s,%llu,%llu,%llu", w->type, w->backend, (unsigned long long)w->s.m,
                (unsigned long long)w->s.k, (unsigned long long)w->s.n);
        num(f, w->bpw);
        num(f, w->time_us);
        num(f, w->gbps);
        num(f, w->gflops);
        num(f, w->pct);
        num(f, w->nmse_weights);
        num(f, w->nmse_output);
        num(f, w->nmse_kernel);
        fputc(',', f);
        cell(f, w->status);
        fputc(',', f);
        cell(f, w->kernel);
        fputc(',', f);
        cell(f, w->source);
        num(f, w->first_use_ms);
        num(f, w->cached_ms);
        fprintf(f, ",%d\r\n", w->reps);
    }
    return fclose(f) != 0;
}
