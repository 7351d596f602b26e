/* The stdout table: per weight source, one line per type sorted by bits per weight, with the
 * accuracy columns and one throughput column per backend x shape. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_COLS 16

typedef struct column {
    const char *backend;
    shape s;
} column;

/* Columns match on m and n only: k is rounded to each type's block size. */
static int same_shape(shape a, shape b)
{
    return a.m == b.m && a.n == b.n;
}

static const row *find(const report *r, const char *source, const char *type, const column *c)
{
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        const row *w = &r->rows[i];
        if (!strcmp(w->source, source) && !strcmp(w->type, type) && !strcmp(w->backend, c->backend) &&
            same_shape(w->s, c->s))
            return w;
    }
    return NULL;
}

static void sci(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %9.2e", v);
    else
        fprintf(f, " %9s", "-");
}

/* The first finite value of a field over a type's rows (vulkan rows come first). */
static double first(const report *r, const char *source, const char *type, size_t field)
{
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        const row *w = &r->rows[i];
        double v = *(const double *)((const char *)w + field);
        if (!strcmp(w->source, source) && !strcmp(w->type, type) && isfinite(v)) return v;
    }
    return NAN;
}

static void source_table(FILE *f, const report *r, const char *source)
{
    column cols[MAX_COLS];
    int nc = 0;
    const char *types[VKQ_TYPE_MAX_ID + 1];
    double bpw[VKQ_TYPE_MAX_ID + 1];
    int nt = 0;
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        const row *w = &r->rows[i];
        if (strcmp(w->source, source)) continue;
        int c = 0;
        while (c < nc && !(same_shape(cols[c].s, w->s) && !strcmp(cols[c].backend, w->backend)))
            ++c;
        if (c == nc && nc < MAX_COLS) cols[nc++] = (column){w->backend, w->s};
        int t = 0;
        while (t < nt && strcmp(types[t], w->type))
            ++t;
        if (t == nt) types[nt] = w->type, bpw[nt++] = w->bpw;
    }
    /* Sort types by bits per weight (insertion sort: at most a few dozen). */
    for (int i = 1; i < nt; ++i)
        for (int j = i;
             j > 0 && (bpw[j - 1] > bpw[j] || (bpw[j - 1] == bpw[j] && strcmp(types[j - 1], types[j]) > 0));
             --j) {
            const char *ts = types[j];
            double b = bpw[j];
            types[j] = types[j - 1], bpw[j] = bpw[j - 1];
            types[j - 1] = ts, bpw[j - 1] = b;
        }
    fprintf(f, "weights: %s\n", source);
    for (int c = 0; c < nc; ++c) {
        /* Synthetic shapes round k up to each type's block: say so when the column's k differ. */
        uint64_t kmin = cols[c].s.k, kmax = cols[c].s.k;
        for (uint32_t i = 0; i < r->n_rows; ++i) {
            const row *w = &r->rows[i];
            if (strcmp(w->source, source) || strcmp(w->backend, cols[c].backend) ||
                !same_shape(w->s, cols[c].s))
                continue;
            if (w->s.k < kmin) kmin = w->s.k;
            if (w->s.k > kmax) kmax = w->s.k;
        }
        fprintf(f, "  %c%d = %s %llux", cols[c].backend[0] == 'v' ? 'V' : 'C', c + 1, cols[c].backend,
                (unsigned long long)cols[c].s.m);
        if (kmin == kmax)
            fprintf(f, "%llu", (unsigned long long)kmin);
        else
            fprintf(f, "(%llu..%llu)", (unsigned long long)kmin, (unsigned long long)kmax);
        fprintf(f, "x%llu: %s%s\n", (unsigned long long)cols[c].s.n,
                cols[c].s.n <= 8 ? "GB/s of weights (% of copy bandwidth)" : "GFLOP/s",
                kmin == kmax ? "" : "; k rounded up to each type's block size");
    }
    fprintf(f, "%-8s %6s %9s %9s %9s %9s", "type", "bpw", "nmse_w", "nmse_out", "kern_vk", "kern_cpu");
    for (int c = 0; c < nc; ++c) {
        char h[8];
        snprintf(h, sizeof h, "%c%d", cols[c].backend[0] == 'v' ? 'V' : 'C', c + 1);
        fprintf(f, " %14s", h);
    }
    fprintf(f, "  status\n");
    for (int t = 0; t < nt; ++t) {
        fprintf(f, "%-8s %6.3f", types[t], bpw[t]);
        sci(f, first(r, source, types[t], offsetof(row, nmse_weights)));
        sci(f, first(r, source, types[t], offsetof(row, nmse_output)));
        double worst[2] = {NAN, NAN}; /* vulkan, cpu */
        char status[512] = "";
        for (int c = 0; c < nc; ++c) {
            const row *w = find(r, source, types[t], &cols[c]);
            if (!w) continue;
            double *wb = &worst[w->backend[0] == 'c'];
            if (isfinite(w->nmse_kernel) && !(w->nmse_kernel <= *wb)) *wb = w->nmse_kernel;
            /* Each distinct status once, tagged with its backend when they differ. */
            char item[240];
            snprintf(item, sizeof item, "%s %s", w->backend, w->status);
            if (!strstr(status, item)) {
                size_t len = strlen(status);
                snprintf(status + len, sizeof status - len, "%s%s", len ? "; " : "", item);
            }
        }
        sci(f, worst[0]);
        sci(f, worst[1]);
        for (int c = 0; c < nc; ++c) {
            const row *w = find(r, source, types[t], &cols[c]);
            char cellv[32] = "-";
            if (w && isfinite(w->time_us)) {
                if (cols[c].s.n <= 8)
                    snprintf(cellv, sizeof cellv, "%.3f (%.0f%%)", w->gbps, w->pct);
                else
                    snprintf(cellv, sizeof cellv, "%.2f", w->gflops);
            }
            fprintf(f, " %14s", cellv);
        }
        /* All "ok", or one status shared by every backend: say it once, untagged. */
        const char *shown = status;
        char one[240] = "";
        int same = 1;
        for (int c = 0; c < nc; ++c) {
            const row *w = find(r, source, types[t], &cols[c]);
            if (!w) continue;
            if (!one[0])
                snprintf(one, sizeof one, "%s", w->status);
            else
                same &= !strcmp(one, w->status);
        }
        if (same && one[0]) shown = one;
        fprintf(f, "  %s\n", shown);
    }
}

void report_table(FILE *f, const report *r)
{
    const char *seen[BENCH_MAX_SOURCES];
    int ns = 0;
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        int s = 0;
        while (s < ns && strcmp(seen[s], r->rows[i].source))
            ++s;
        if (s < ns || ns == BENCH_MAX_SOURCES) continue;
        seen[ns++] = r->rows[i].source;
        if (ns > 1) fputc('\n', f);
        source_table(f, r, r->rows[i].source);
    }
}
