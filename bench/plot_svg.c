/* vkq-bench --plot DIR: SVG charts of the sweep, written directly (no plotting library):
 * ladder.svg (error vs bits per weight, log y), throughput.svg (mat-vec GB/s vs bits per
 * weight), gemm.svg (GFLOP/s vs bits per weight) and cpu_vs_gpu.svg (time per type, log-log,
 * with the line of equal speed). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "svg_chart.h"


/* The chart as DIR/FILE. */
static int write_in(const char *dir, const char *file, const svg_chart *c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return svg_chart_write("vkq-bench", path, c);
}

static void titles(svg_chart *c, const report *r, const char *what, const char *detail)
{
    snprintf(c->title, sizeof c->title, "%s: %s, %s", what, r->device_name, r->date);
    snprintf(c->subtitle, sizeof c->subtitle, "%s; weights %s, seed %llu", detail, r->weights,
             (unsigned long long)r->seed);
}

/* The first shape measured with n <= 8 (mat-vec) or n > 8 (GEMM), if any. */
static int pick_shape(const report *r, int gemm, shape *out)
{
    for (uint32_t i = 0; i < r->n_rows; ++i)
        if ((r->rows[i].s.n > 8) == gemm) {
            *out = r->rows[i].s;
            return 1;
        }
    return 0;
}

static int is_shape(const row *w, shape s)
{
    return w->s.m == s.m && w->s.n == s.n;
}

static void add(svg_series *s, double x, double y, const char *label)
{
    if (s->n < SVG_MAX_POINTS) s->x[s->n] = x, s->y[s->n] = y, s->label[s->n++] = label;
}

int plot_svg(const char *dir, const report *r)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "vkq-bench: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    const char *source = r->n_rows ? r->rows[0].source : "";
    int rc = 0;
    svg_chart *c = calloc(1, sizeof *c);
    if (!c) return 1;
    shape mv = {0}, mm = {0};
    int have_mv = pick_shape(r, 0, &mv), have_mm = pick_shape(r, 1, &mm);
    shape acc = have_mv ? mv : mm;

    /* 1. The quality ladder: weight and output error of each type vs its bits per weight. */
    titles(c, r, "Quality ladder", "NMSE (log scale; exact types at 0 are not drawn)");
    c->xlabel = "bits per weight (log scale)";
    c->ylabel = "NMSE (normalised squared error)";
    c->xscale = SVG_LOG2, c->yscale = SVG_LOG10, c->ns = 2;
    snprintf(c->s[0].name, sizeof c->s[0].name, "weights (deq. vs W)");
    snprintf(c->s[1].name, sizeof c->s[1].name, "output (vs f64 W*X)");
    c->s[0].color = svg_colors[0], c->s[1].color = svg_colors[1];
    for (uint32_t i = 0; i < r->n_rows; ++i) {
        const row *w = &r->rows[i];
        if (strcmp(w->source, source) || strcmp(w->backend, "vulkan") || !is_shape(w, acc)) continue;
        add(&c->s[0], w->bpw, w->nmse_weights, w->type);
        add(&c->s[1], w->bpw, w->nmse_output, NULL);
    }
    /* Vulkan rows are skipped without a device: take the CPU rows' accuracy then. */
    if (!c->s[0].n || !isfinite(c->s[0].y[0]))
        for (uint32_t i = 0; i < r->n_rows; ++i) {
            const row *w = &r->rows[i];
            if (strcmp(w->source, source) || strcmp(w->backend, "cpu") || !is_shape(w, acc)) continue;
            add(&c->s[0], w->bpw, w->nmse_weights, w->type);
            add(&c->s[1], w->bpw, w->nmse_output, NULL);
        }
    rc |= write_in(dir, "ladder.svg", c);

    /* 2 and 3. Throughput vs bits per weight, one series per backend. */
    for (int g = 0; g < 2; ++g) {
        shape s = g ? mm : mv;
        if (!(g ? have_mm : have_mv)) continue;
        memset(c, 0, sizeof *c);
        char detail[160];
        snprintf(detail, sizeof detail, "%s m=%llu k=%llu n=%llu, median time", g ? "GEMM" : "mat-vec",
                 (unsigned long long)s.m, (unsigned long long)s.k, (unsigned long long)s.n);
        titles(c, r, g ? "Prompt throughput" : "Decode throughput", detail);
        c->xlabel = "bits per weight (log scale)";
        c->ylabel = g ? "GFLOP/s" : "effective weight bandwidth, GB/s";
        c->xscale = SVG_LOG2, c->yscale = SVG_LIN, c->ns = 2;
        snprintf(c->s[0].name, sizeof c->s[0].name, "Vulkan");
        snprintf(c->s[1].name, sizeof c->s[1].name, "CPU, %u threads", r->cpu_threads);
        c->s[0].color = svg_colors[0], c->s[1].color = svg_colors[1];
        for (uint32_t i = 0; i < r->n_rows; ++i) {
            const row *w = &r->rows[i];
            if (strcmp(w->source, source) || !is_shape(w, s)) continue;
            add(&c->s[w->backend[0] == 'c'], w->bpw, g ? w->gflops : w->gbps,
                w->backend[0] == 'v' ? w->type : NULL);
        }
        rc |= write_in(dir, g ? "gemm.svg" : "throughput.svg", c);
    }

    /* 4. CPU vs GPU: time per type on each, log-log, with the equal-time diagonal. */
    memset(c, 0, sizeof *c);
    titles(c, r, "CPU vs GPU", "time per type; above the line the CPU is faster");
    c->xlabel = "CPU time, microseconds (log scale)";
    c->ylabel = "Vulkan time, microseconds (log scale)";
    c->xscale = SVG_LOG10, c->yscale = SVG_LOG10, c->diagonal = 1;
    for (int g = 0; g < 2; ++g) {
        shape s = g ? mm : mv;
        if (!(g ? have_mm : have_mv)) continue;
        svg_series *se = &c->s[c->ns];
        snprintf(se->name, sizeof se->name, "%s %llux%llux%llu", g ? "GEMM" : "mat-vec",
                 (unsigned long long)s.m, (unsigned long long)s.k, (unsigned long long)s.n);
        se->color = svg_colors[c->ns++];
        for (uint32_t i = 0; i < r->n_rows; ++i) {
            const row *v = &r->rows[i];
            if (strcmp(v->source, source) || strcmp(v->backend, "vulkan") || !is_shape(v, s)) continue;
            for (uint32_t j = 0; j < r->n_rows; ++j) {
                const row *u = &r->rows[j];
                if (!strcmp(u->source, source) && !strcmp(u->backend, "cpu") && !strcmp(u->type, v->type) &&
                    is_shape(u, s))
                    add(se, u->time_us, v->time_us, g ? NULL : v->type);
            }
        }
    }
    rc |= write_in(dir, "cpu_vs_gpu.svg", c);
    free(c);
    return rc;
}
