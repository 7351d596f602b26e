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

#define MAX_POINTS 128
#define W          960.0
#define H          600.0
#define ML         90.0 /* margins: left, right (legend), top, bottom */
#define MR         230.0
#define MT         70.0
#define MB         70.0

enum { LIN, LOG10, LOG2 };

typedef struct series {
    char name[64];
    const char *color;
    int n;
    double x[MAX_POINTS], y[MAX_POINTS];
    const char *label[MAX_POINTS];
} series;

typedef struct chart {
    char title[400], subtitle[300];
    const char *xlabel, *ylabel;
    int xscale, yscale, diagonal;
    series s[4];
    int ns;
} chart;

typedef struct axis {
    int scale;
    double lo, hi; /* in transformed units */
} axis;

static double tr(int scale, double v)
{
    return scale == LOG10 ? log10(v) : scale == LOG2 ? log2(v) : v;
}

static int plottable(int scale, double v)
{
    return isfinite(v) && (scale == LIN || v > 0);
}

static axis make_axis(const chart *c, int is_x)
{
    axis a = {is_x ? c->xscale : c->yscale, INFINITY, -INFINITY};
    for (int i = 0; i < c->ns; ++i)
        for (int j = 0; j < c->s[i].n; ++j) {
            double v = is_x ? c->s[i].x[j] : c->s[i].y[j];
            if (!plottable(a.scale, v)) continue;
            v = tr(a.scale, v);
            a.lo = v < a.lo ? v : a.lo;
            a.hi = v > a.hi ? v : a.hi;
        }
    if (!isfinite(a.lo)) a.lo = 0, a.hi = 1;
    if (a.scale == LIN) {
        if (a.lo > 0) a.lo = 0;
        a.hi = a.hi > a.lo ? a.hi * 1.08 : a.lo + 1;
    } else { /* whole decades / octaves */
        a.lo = floor(a.lo);
        a.hi = ceil(a.hi);
        if (a.hi <= a.lo) a.hi = a.lo + 1;
    }
    return a;
}

static double px(const axis *a, double v)
{
    return ML + (tr(a->scale, v) - a->lo) / (a->hi - a->lo) * (W - ML - MR);
}

static double py(const axis *a, double v)
{
    return H - MB - (tr(a->scale, v) - a->lo) / (a->hi - a->lo) * (H - MT - MB);
}

static void text(FILE *f, double x, double y, const char *anchor, int size, const char *extra, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s>", x, y, anchor, size,
            extra);
    for (; *s; ++s) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
    fputs("</text>\n", f);
}

static void tick_label(char *buf, size_t size, int scale, double t)
{
    if (scale == LOG10)
        snprintf(buf, size, "1e%d", (int)lround(t));
    else if (scale == LOG2)
        snprintf(buf, size, "%g", exp2(t));
    else
        snprintf(buf, size, "%g", t);
}

static void ticks(FILE *f, const axis *a, int is_x)
{
    double step = 1;
    if (a->scale == LIN) { /* 1, 2 or 5 times a power of ten, about 6 ticks */
        double raw = (a->hi - a->lo) / 6, p = pow(10, floor(log10(raw)));
        step = raw / p < 2 ? p : raw / p < 5 ? 2 * p : 5 * p;
    } else if (a->hi - a->lo > 10) {
        step = ceil((a->hi - a->lo) / 10);
    }
    for (double t = ceil(a->lo / step) * step; t <= a->hi + 1e-9; t += step) {
        double v = a->scale == LOG10 ? pow(10, t) : a->scale == LOG2 ? exp2(t) : t;
        char lab[32];
        tick_label(lab, sizeof lab, a->scale, t);
        if (is_x) {
            double x = px(a, v);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, MT, x,
                    H - MB);
            text(f, x, H - MB + 18, "middle", 12, "", lab);
        } else {
            double y = py(a, v);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ML, y,
                    W - MR, y);
            text(f, ML - 6, y + 4, "end", 12, "", lab);
        }
    }
}

static int write_chart(const char *dir, const char *file, const chart *c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "vkq-bench: cannot write %s\n", path);
        return 1;
    }
    axis ax = make_axis(c, 1), ay = make_axis(c, 0);
    if (c->diagonal) { /* equal-speed line: both axes share one range */
        double lo = ax.lo < ay.lo ? ax.lo : ay.lo, hi = ax.hi > ay.hi ? ax.hi : ay.hi;
        ax.lo = ay.lo = lo;
        ax.hi = ay.hi = hi;
    }
    fprintf(
        f,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
        W, H, W, H);
    text(f, W / 2, 28, "middle", 17, " font-weight=\"bold\"", c->title);
    text(f, W / 2, 50, "middle", 12, " fill=\"#444\"", c->subtitle);
    ticks(f, &ax, 1);
    ticks(f, &ay, 0);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            ML, MT, W - ML - MR, H - MT - MB);
    text(f, ML + (W - ML - MR) / 2, H - 22, "middle", 14, "", c->xlabel);
    char rot[96];
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 %.1f %.1f)\"", 22.0, MT + (H - MT - MB) / 2);
    text(f, 22, MT + (H - MT - MB) / 2, "middle", 14, rot, c->ylabel);
    if (c->diagonal) {
        double v0 = ax.scale == LOG10 ? pow(10, ax.lo) : ax.lo,
               v1 = ax.scale == LOG10 ? pow(10, ax.hi) : ax.hi;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"6 "
                "4\"/>\n",
                px(&ax, v0), py(&ay, v0), px(&ax, v1), py(&ay, v1));
        text(f, px(&ax, v1) - 6, py(&ay, v1) + 16, "end", 11, " fill=\"#666\"", "equal time");
    }
    int drawn = 0;
    for (int i = 0; i < c->ns; ++i) {
        const series *s = &c->s[i];
        for (int j = 0; j < s->n; ++j) {
            if (!plottable(ax.scale, s->x[j]) || !plottable(ay.scale, s->y[j])) continue;
            ++drawn;
            double x = px(&ax, s->x[j]), y = py(&ay, s->y[j]);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" fill-opacity=\"0.8\"/>\n", x, y,
                    s->color);
            /* Alternate labels above and below their point: types crowd around 2-5 bits. */
            if (s->label[j]) text(f, x + 6, j % 2 ? y + 13 : y - 5, "start", 10, " fill=\"#333\"", s->label[j]);
        }
        double ly = MT + 12 + 22.0 * i; /* legend */
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", W - MR + 18, ly - 4, s->color);
        text(f, W - MR + 30, ly, "start", 12, "", s->name);
    }
    if (!drawn)
        text(f, ML + (W - ML - MR) / 2, MT + (H - MT - MB) / 2, "middle", 16, " fill=\"#a00\"",
             "no points: these rows were skipped (see their status)");
    fputs("</svg>\n", f);
    return fclose(f) != 0;
}

static const char *k_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

static void titles(chart *c, const report *r, const char *what, const char *detail)
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

static void add(series *s, double x, double y, const char *label)
{
    if (s->n < MAX_POINTS) s->x[s->n] = x, s->y[s->n] = y, s->label[s->n++] = label;
}

int plot_svg(const char *dir, const report *r)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "vkq-bench: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    const char *source = r->n_rows ? r->rows[0].source : "";
    int rc = 0;
    chart *c = calloc(1, sizeof *c);
    if (!c) return 1;
    shape mv = {0}, mm = {0};
    int have_mv = pick_shape(r, 0, &mv), have_mm = pick_shape(r, 1, &mm);
    shape acc = have_mv ? mv : mm;

    /* 1. The quality ladder: weight and output error of each type vs its bits per weight. */
    titles(c, r, "Quality ladder", "NMSE (log scale; exact types at 0 are not drawn)");
    c->xlabel = "bits per weight (log scale)";
    c->ylabel = "NMSE (normalised squared error)";
    c->xscale = LOG2, c->yscale = LOG10, c->ns = 2;
    snprintf(c->s[0].name, sizeof c->s[0].name, "weights (deq. vs W)");
    snprintf(c->s[1].name, sizeof c->s[1].name, "output (vs f64 W*X)");
    c->s[0].color = k_colors[0], c->s[1].color = k_colors[1];
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
    rc |= write_chart(dir, "ladder.svg", c);

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
        c->xscale = LOG2, c->yscale = LIN, c->ns = 2;
        snprintf(c->s[0].name, sizeof c->s[0].name, "Vulkan");
        snprintf(c->s[1].name, sizeof c->s[1].name, "CPU, %u threads", r->cpu_threads);
        c->s[0].color = k_colors[0], c->s[1].color = k_colors[1];
        for (uint32_t i = 0; i < r->n_rows; ++i) {
            const row *w = &r->rows[i];
            if (strcmp(w->source, source) || !is_shape(w, s)) continue;
            add(&c->s[w->backend[0] == 'c'], w->bpw, g ? w->gflops : w->gbps,
                w->backend[0] == 'v' ? w->type : NULL);
        }
        rc |= write_chart(dir, g ? "gemm.svg" : "throughput.svg", c);
    }

    /* 4. CPU vs GPU: time per type on each, log-log, with the equal-time diagonal. */
    memset(c, 0, sizeof *c);
    titles(c, r, "CPU vs GPU", "time per type; above the line the CPU is faster");
    c->xlabel = "CPU time, microseconds (log scale)";
    c->ylabel = "Vulkan time, microseconds (log scale)";
    c->xscale = LOG10, c->yscale = LOG10, c->diagonal = 1;
    for (int g = 0; g < 2; ++g) {
        shape s = g ? mm : mv;
        if (!(g ? have_mm : have_mv)) continue;
        series *se = &c->s[c->ns];
        snprintf(se->name, sizeof se->name, "%s %llux%llux%llu", g ? "GEMM" : "mat-vec",
                 (unsigned long long)s.m, (unsigned long long)s.k, (unsigned long long)s.n);
        se->color = k_colors[c->ns++];
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
    rc |= write_chart(dir, "cpu_vs_gpu.svg", c);
    free(c);
    return rc;
}
