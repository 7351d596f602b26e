/* SVG scatter charts (svg_chart.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg_chart.h"

const char *const svg_colors[4] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

#define W          960.0
#define H          600.0
#define ML         90.0 /* margins: left, right (legend), top, bottom */
#define MR         230.0
#define MT         70.0
#define MB         70.0

typedef struct axis {
    int scale;
    double lo, hi; /* in transformed units */
} axis;

static double tr(int scale, double v)
{
    return scale == SVG_LOG10 ? log10(v) : scale == SVG_LOG2 ? log2(v) : v;
}

static int plottable(int scale, double v)
{
    return isfinite(v) && (scale == SVG_LIN || v > 0);
}

static axis make_axis(const svg_chart *c, int is_x)
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
    if (a.scale == SVG_LIN) {
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
    if (scale == SVG_LOG10)
        snprintf(buf, size, "1e%d", (int)lround(t));
    else if (scale == SVG_LOG2)
        snprintf(buf, size, "%g", exp2(t));
    else
        snprintf(buf, size, "%g", t);
}

static void ticks(FILE *f, const axis *a, int is_x)
{
    double step = 1;
    if (a->scale == SVG_LIN) { /* 1, 2 or 5 times a power of ten, about 6 ticks */
        double raw = (a->hi - a->lo) / 6, p = pow(10, floor(log10(raw)));
        step = raw / p < 2 ? p : raw / p < 5 ? 2 * p : 5 * p;
    } else if (a->hi - a->lo > 10) {
        step = ceil((a->hi - a->lo) / 10);
    }
    for (double t = ceil(a->lo / step) * step; t <= a->hi + 1e-9; t += step) {
        double v = a->scale == SVG_LOG10 ? pow(10, t) : a->scale == SVG_LOG2 ? exp2(t) : t;
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

int svg_chart_write(const char *tool, const char *path, const svg_chart *c)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", tool, path, strerror(errno));
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
        double v0 = ax.scale == SVG_LOG10 ? pow(10, ax.lo) : ax.lo,
               v1 = ax.scale == SVG_LOG10 ? pow(10, ax.hi) : ax.hi;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"6 "
                "4\"/>\n",
                px(&ax, v0), py(&ay, v0), px(&ax, v1), py(&ay, v1));
        text(f, px(&ax, v1) - 6, py(&ay, v1) + 16, "end", 11, " fill=\"#666\"", "equal time");
    }
    int drawn = 0;
    for (int i = 0; i < c->ns; ++i) {
        const svg_series *s = &c->s[i];
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
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", tool, path, strerror(errno));
        return 1;
    }
    return 0;
}
