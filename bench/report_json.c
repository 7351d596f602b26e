/* vkq-bench --json: {device {name, driver, type}, date, copy_gbps, rows [...]}. The row field
 * names are a stable interface (issue 5): scripts read them. */
#include <math.h>
#include <stdio.h>

#include "bench.h"

static void str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; ++s) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* Non-finite numbers (not measured) are null: JSON has no NaN. */
static void num(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.6g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

int report_json(const char *path, const report *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "vkq-bench: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "{\n  \"device\": {\"name\": ");
    str(f, r->device_name);
    fprintf(f, ", \"driver\": ");
    str(f, r->driver);
    fprintf(f, ", \"type\": ");
    str(f, r->device_type);
    fprintf(f, ", \"profile\": ");
    str(f, r->profile);
    fprintf(f, "},\n  \"date\": ");
    str(f, r->date);
    fprintf(f, ",\n  \"seed\": %llu, \"reps\": %d, \"quick\": %s, \"cpu_threads\": %u, \"weights\": ",
            (unsigned long long)r->seed, r->reps, r->quick == 1 ? "true" : "false", r->cpu_threads);
    str(f, r->weights);
    fprintf(f, ",\n  \"copy_gbps\": ");
    isfinite(r->copy_gbps) && r->copy_gbps > 0 ? fprintf(f, "%.6g", r->copy_gbps) : fprintf(f, "null");
    fprintf(f,
            ", \"copy_kernel_gbps\": %.6g, \"copy_transfer_gbps\": %.6g, \"cpu_copy_gbps\": %.6g,\n  "
            "\"rows\": [\n",
            r->copy_kernel_gbps, r->copy_transfer_gbps, r->cpu_copy_gbps);
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        const row *w = &r->rows[i];
        fprintf(f, "    {\"type\": ");
        str(f, w->type);
        fprintf(f, ", \"backend\": ");
        str(f, w->backend);
        fprintf(f, ", \"m\": %llu, \"k\": %llu, \"n\": %llu", (unsigned long long)w->s.m,
                (unsigned long long)w->s.k, (unsigned long long)w->s.n);
        num(f, "bpw", w->bpw);
        num(f, "time_us", w->time_us);
        num(f, "gbps", w->gbps);
        num(f, "gflops", w->gflops);
        num(f, "pct_copy_bw", w->pct);
        num(f, "nmse_weights", w->nmse_weights);
        num(f, "nmse_output", w->nmse_output);
        num(f, "nmse_kernel", w->nmse_kernel);
        fprintf(f, ", \"status\": ");
        str(f, w->status);
        fprintf(f, ", \"kernel\": ");
        str(f, w->kernel);
        fprintf(f, ", \"source\": ");
        str(f, w->source);
        num(f, "first_use_ms", w->first_use_ms);
        num(f, "cached_ms", w->cached_ms);
        fprintf(f, ", \"reps\": %d", w->reps);
        fprintf(f, "}%s\n", i + 1 < r->n_rows ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) != 0;
}
