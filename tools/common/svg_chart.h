/* Scatter charts as SVG, written directly (no plotting library): one x/y axis pair, linear or
 * log scales, up to four labelled series with a legend, an optional equal-value diagonal. Used
 * by vkq-bench --plot and vkq-eval --plot. */
#ifndef VKQ_TOOLS_SVG_CHART_H
#define VKQ_TOOLS_SVG_CHART_H

#define SVG_MAX_POINTS 128

enum svg_scale { SVG_LIN, SVG_LOG10, SVG_LOG2 };

typedef struct svg_series {
    char name[64];
    const char *color;
    int n;
    double x[SVG_MAX_POINTS], y[SVG_MAX_POINTS];
    const char *label[SVG_MAX_POINTS]; /* NULL: no label at that point */
} svg_series;

typedef struct svg_chart {
    char title[400], subtitle[300];
    const char *xlabel, *ylabel;
    int xscale, yscale, diagonal; /* enum svg_scale; diagonal: the y = x line, both axes one range */
    svg_series s[4];
    int ns;
} svg_chart;

/* Colours for series 0..3. */
extern const char *const svg_colors[4];

/* Writes the chart to `path`; points not plottable on a log axis (<= 0, non-finite) are left
 * out. 0 on success, else 1 with a message on stderr naming `tool` and the path. */
int svg_chart_write(const char *tool, const char *path, const svg_chart *c);

#endif
