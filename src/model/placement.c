/* Placement plan: which tensors of a model go to the GPU under a budget. Pure logic over a
 * tensor list (no device), so every rule is unit-testable; see include/vkquant/model.h for the
 * policy and why the GPU run is the last layers. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "model/placement.h"

#define MAX_LAYER (1 << 20) /* blk.N with a larger N is treated as a non-layer name */

typedef struct plan_entry {
    char *name;
    vkq_type type;
    uint32_t n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    vkq_place place;
    int32_t layer;
    int32_t rule;
    int demoted;
} plan_entry;

struct vkq_plan_s {
    uint32_t n;
    plan_entry *t;
    uint32_t n_layers;
    vkq_plan_layer *layers;
    vkq_plan_totals totals;
    uint64_t layer_reserve; /* per GPU layer, vkq_plan_options.layer_reserve */
    uint32_t n_rules;
    char **rules; /* the rule strings, for printing */
};

const char *vkq_place_name(vkq_place place)
{
    switch (place) {
    case VKQ_PLACE_CPU:
        return "cpu";
    case VKQ_PLACE_GPU:
        return "gpu";
    case VKQ_PLACE_HOST_VISIBLE:
        return "host";
    }
    return "?";
}

vkq_status vkq_place_from_name(const char *name, vkq_place *out)
{
    if (!name || !out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (!strcasecmp(name, "cpu"))
        *out = VKQ_PLACE_CPU;
    else if (!strcasecmp(name, "gpu"))
        *out = VKQ_PLACE_GPU;
    else if (!strcasecmp(name, "host") || !strcasecmp(name, "host-visible"))
        *out = VKQ_PLACE_HOST_VISIBLE;
    else
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    return VKQ_SUCCESS;
}

const char *vkq_format_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    double v = (double)bytes / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        ++u;
    }
    snprintf(buf, size, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

/* N of "blk.N.<rest>", else -1. */
static int32_t layer_of(const char *name)
{
    if (strncmp(name, "blk.", 4) != 0) return -1;
    const char *p = name + 4;
    int32_t v = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; ++p) {
        v = v * 10 + (*p - '0');
        if (v >= MAX_LAYER) return -1;
    }
    return *p == '.' ? v : -1;
}

static int is_gpu_place(vkq_place p)
{
    return p == VKQ_PLACE_GPU;
}

/* Per-layer sums and totals from the entries' current places. */
static void recompute(vkq_plan p)
{
    vkq_plan_totals *t = &p->totals;
    t->gpu_bytes = t->host_bytes = t->cpu_bytes = t->total_bytes = 0;
    t->n_demoted = 0;
    for (uint32_t l = 0; l < p->n_layers; ++l) {
        p->layers[l].n_tensors = 0;
        p->layers[l].bytes = p->layers[l].gpu_bytes = p->layers[l].host_bytes = 0;
    }
    for (uint32_t i = 0; i < p->n; ++i) {
        const plan_entry *e = &p->t[i];
        t->total_bytes += e->nbytes;
        if (e->place == VKQ_PLACE_GPU)
            t->gpu_bytes += e->nbytes;
        else if (e->place == VKQ_PLACE_HOST_VISIBLE)
            t->host_bytes += e->nbytes;
        else
            t->cpu_bytes += e->nbytes;
        t->n_demoted += e->demoted != 0;
        if (e->layer >= 0) {
            vkq_plan_layer *L = &p->layers[e->layer];
            L->n_tensors++;
            L->bytes += e->nbytes;
            if (e->place == VKQ_PLACE_GPU) L->gpu_bytes += e->nbytes;
            if (e->place == VKQ_PLACE_HOST_VISIBLE) L->host_bytes += e->nbytes;
        }
    }
    t->n_gpu_layers = 0;
    t->first_gpu_layer = (int32_t)p->n_layers;
    for (uint32_t l = 0; l < p->n_layers; ++l)
        if (p->layers[l].on_gpu) {
            if (t->n_gpu_layers == 0) t->first_gpu_layer = (int32_t)l;
            t->n_gpu_layers++;
        }
    t->reserve_bytes = p->layer_reserve * t->n_gpu_layers;
    t->over_budget = t->gpu_bytes + t->reserve_bytes > t->budget;
}

static vkq_status parse_rules(const vkq_plan_options *opt, regex_t *re, vkq_place *places,
                              uint32_t *n_compiled)
{
    for (uint32_t r = 0; r < opt->n_overrides; ++r) {
        const char *s = opt->overrides[r];
        if (!s) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "override %u is NULL", r);
        const char *eq = strrchr(s, '=');
        if (!eq || eq == s)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "override \"%s\": expected PATTERN=PLACE (PLACE: cpu, gpu or host)", s);
        if (vkq_place_from_name(eq + 1, &places[r]) != VKQ_SUCCESS)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "override \"%s\": unknown place \"%s\" (cpu, gpu or host)", s, eq + 1);
        size_t len = (size_t)(eq - s);
        char *pat = malloc(len + 1);
        if (!pat) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
        memcpy(pat, s, len);
        pat[len] = '\0';
        int rc = regcomp(&re[r], pat, REG_EXTENDED | REG_NOSUB);
        free(pat);
        if (rc != 0) {
            char why[128];
            regerror(rc, &re[r], why, sizeof why);
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "override \"%s\": bad regex: %s", s, why);
        }
        *n_compiled = r + 1;
    }
    return VKQ_SUCCESS;
}

/* Everything except the copies: places from rules, layers and budget. */
static vkq_status place_all(vkq_plan p, const vkq_plan_options *opt, regex_t *re,
                            const vkq_place *rule_place)
{
    uint64_t forced = 0; /* GPU bytes placed by rules: taken from the budget first */
    for (uint32_t i = 0; i < p->n; ++i) {
        plan_entry *e = &p->t[i];
        e->rule = -1;
        e->place = VKQ_PLACE_CPU;
        for (uint32_t r = 0; r < opt->n_overrides; ++r)
            if (regexec(&re[r], e->name, 0, NULL, 0) == 0) {
                e->rule = (int32_t)r;
                e->place = opt->cpu_only ? VKQ_PLACE_CPU : rule_place[r];
                break;
            }
        if (is_gpu_place(e->place)) forced += e->nbytes;
    }
    uint64_t left = opt->budget > forced ? opt->budget - forced : 0;

    /* Bytes each layer would put on the GPU (rule-placed tensors excluded). */
    uint32_t run = 0;
    if (!opt->cpu_only && p->n_layers) {
        uint64_t *lb = calloc(p->n_layers, sizeof *lb);
        if (!lb) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
        for (uint32_t i = 0; i < p->n; ++i)
            if (p->t[i].layer >= 0 && p->t[i].rule < 0) lb[p->t[i].layer] += p->t[i].nbytes;
        for (uint32_t l = 0; l < p->n_layers; ++l) lb[l] += opt->layer_reserve;
        if (opt->n_gpu_layers < 0) {
            while (run < p->n_layers && lb[p->n_layers - 1 - run] <= left) {
                left -= lb[p->n_layers - 1 - run];
                ++run;
            }
        } else {
            run = (uint32_t)opt->n_gpu_layers < p->n_layers ? (uint32_t)opt->n_gpu_layers : p->n_layers;
            for (uint32_t l = p->n_layers - run; l < p->n_layers; ++l)
                left = left > lb[l] ? left - lb[l] : 0;
        }
        free(lb);
    }
    for (uint32_t l = 0; l < p->n_layers; ++l) {
        p->layers[l].index = (int32_t)l;
        p->layers[l].on_gpu = l >= p->n_layers - run;
    }
    for (uint32_t i = 0; i < p->n; ++i) {
        plan_entry *e = &p->t[i];
        if (e->rule < 0 && e->layer >= 0 && p->layers[e->layer].on_gpu) e->place = VKQ_PLACE_GPU;
    }
    /* The head follows the run so the pass ends on the GPU; a model without layers (a bare
     * list of tensors) puts them on the GPU unless asked for none. */
    int head_on_gpu = !opt->cpu_only && (run > 0 || (p->n_layers == 0 && opt->n_gpu_layers != 0));
    /* Without output.weight the embedding is the head too (tied), and goes where the head goes. */
    int tied = 1;
    for (uint32_t i = 0; i < p->n; ++i)
        if (!strcmp(p->t[i].name, "output.weight")) tied = 0;
    for (uint32_t i = 0; head_on_gpu && i < p->n; ++i) {
        plan_entry *e = &p->t[i];
        if (e->rule >= 0 || e->layer >= 0 || (!tied && strncmp(e->name, "token_embd", 10) == 0)) continue;
        if (e->nbytes <= left) {
            e->place = VKQ_PLACE_GPU;
            left -= e->nbytes;
        }
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_plan_create(const vkq_plan_tensor *tensors, uint32_t n, const vkq_plan_options *opt,
                           vkq_plan *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL output");
    *out = NULL;
    if (!opt || (n && !tensors) || (opt->n_overrides && !opt->overrides))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL tensors, options or overrides");
    vkq_plan p = calloc(1, sizeof *p);
    regex_t *re = calloc(opt->n_overrides ? opt->n_overrides : 1, sizeof *re);
    vkq_place *rule_place = calloc(opt->n_overrides ? opt->n_overrides : 1, sizeof *rule_place);
    uint32_t n_re = 0;
    vkq_status st = VKQ_ERROR_OUT_OF_HOST_MEMORY;
    if (!p || !re || !rule_place) goto done;
    p->t = calloc(n ? n : 1, sizeof *p->t);
    p->rules = calloc(opt->n_overrides ? opt->n_overrides : 1, sizeof *p->rules);
    if (!p->t || !p->rules) goto done;
    st = parse_rules(opt, re, rule_place, &n_re);
    if (st != VKQ_SUCCESS) goto done;
    st = VKQ_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t r = 0; r < opt->n_overrides; ++r) {
        if (!(p->rules[r] = strdup(opt->overrides[r]))) goto done;
        p->n_rules = r + 1;
    }
    int32_t max_layer = -1;
    for (uint32_t i = 0; i < n; ++i) {
        const vkq_plan_tensor *in = &tensors[i];
        if (!in->name || !in->name[0]) {
            st = vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "tensor %u has no name", i);
            goto done;
        }
        plan_entry *e = &p->t[i];
        if (!(e->name = strdup(in->name))) goto done;
        p->n = i + 1;
        e->type = in->type;
        e->n_dims = in->n_dims;
        memcpy(e->ne, in->ne, sizeof e->ne);
        e->nbytes = in->nbytes;
        e->layer = layer_of(in->name);
        if (e->layer > max_layer) max_layer = e->layer;
    }
    /* Names must be unique: rules and the model look tensors up by name. O(n^2) is fine for
     * the few thousand tensors of a model. */
    for (uint32_t i = 0; i < p->n; ++i)
        for (uint32_t j = i + 1; j < p->n; ++j)
            if (strcmp(p->t[i].name, p->t[j].name) == 0) {
                st = vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "tensor \"%s\" is listed twice",
                          p->t[i].name);
                goto done;
            }
    p->n_layers = (uint32_t)(max_layer + 1);
    p->layers = calloc(p->n_layers ? p->n_layers : 1, sizeof *p->layers);
    if (!p->layers) goto done;
    p->totals.budget = opt->budget;
    p->layer_reserve = opt->layer_reserve;
    p->totals.n_layers = p->n_layers;
    p->totals.requested_gpu_layers = opt->n_gpu_layers < 0 ? VKQ_GPU_LAYERS_AUTO : opt->n_gpu_layers;
    if (place_all(p, opt, re, rule_place) != VKQ_SUCCESS) goto done;
    recompute(p);
    *out = p;
    p = NULL;
    st = VKQ_SUCCESS;
done:
    for (uint32_t r = 0; r < n_re; ++r)
        regfree(&re[r]);
    free(re);
    free(rule_place);
    vkq_plan_destroy(p);
    return st;
}

void vkq_plan_destroy(vkq_plan p)
{
    if (!p) return;
    for (uint32_t i = 0; i < p->n; ++i)
        free(p->t[i].name);
    for (uint32_t r = 0; r < p->n_rules; ++r)
        free(p->rules[r]);
    free(p->rules);
    free(p->t);
    free(p->layers);
    free(p);
}

uint32_t vkq_plan_tensor_count(vkq_plan p)
{
    return p ? p->n : 0;
}

vkq_place vkq_plan_tensor_place(vkq_plan p, uint32_t i)
{
    return p && i < p->n ? p->t[i].place : VKQ_PLACE_CPU;
}

int32_t vkq_plan_tensor_layer(vkq_plan p, uint32_t i)
{
    return p && i < p->n ? p->t[i].layer : -1;
}

int32_t vkq_plan_tensor_rule(vkq_plan p, uint32_t i)
{
    return p && i < p->n ? p->t[i].rule : -1;
}

vkq_status vkq_plan_layer_info(vkq_plan p, uint32_t layer, vkq_plan_layer *out)
{
    if (!p || !out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (layer >= p->n_layers) return vkq_fail_status(VKQ_ERROR_OUT_OF_RANGE);
    *out = p->layers[layer];
    return VKQ_SUCCESS;
}

void vkq_plan_get_totals(vkq_plan p, vkq_plan_totals *out)
{
    if (!out) return;
    if (!p) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = p->totals;
}

uint64_t vkq_plan_demote_layers_upto(vkq_plan p, int32_t layer, uint32_t *n_layers)
{
    uint64_t moved = 0;
    uint32_t count = 0;
    for (int32_t l = 0; l <= layer && l < (int32_t)p->n_layers; ++l) {
        if (!p->layers[l].on_gpu) continue;
        p->layers[l].on_gpu = 0;
        p->layers[l].demoted = 1;
        ++count;
        for (uint32_t i = 0; i < p->n; ++i) {
            plan_entry *e = &p->t[i];
            if (e->layer == l && e->rule < 0 && e->place != VKQ_PLACE_CPU) {
                e->place = VKQ_PLACE_CPU;
                e->demoted = 1;
                moved += e->nbytes;
            }
        }
    }
    recompute(p);
    if (n_layers) *n_layers = count;
    return moved;
}

uint64_t vkq_plan_demote_tensor(vkq_plan p, uint32_t i)
{
    if (i >= p->n || p->t[i].place == VKQ_PLACE_CPU) return 0;
    p->t[i].place = VKQ_PLACE_CPU;
    p->t[i].demoted = 1;
    recompute(p);
    return p->t[i].nbytes;
}

static void print_tensor(FILE *f, vkq_plan p, const plan_entry *e)
{
    char b[32], shape[64];
    int len = snprintf(shape, sizeof shape, "[%lld", (long long)e->ne[0]);
    for (uint32_t d = 1; d < e->n_dims && d < 4 && len > 0 && len < (int)sizeof shape; ++d)
        len += snprintf(shape + len, sizeof shape - (size_t)len, ", %lld", (long long)e->ne[d]);
    if (len > 0 && len < (int)sizeof shape) snprintf(shape + len, sizeof shape - (size_t)len, "]");
    const vkq_type_info *ti = vkq_type_get(e->type);
    fprintf(f, "  %-36s %-8s %-20s %11s  %s", e->name, ti ? ti->name : "?", shape,
            vkq_format_bytes(e->nbytes, b, sizeof b), vkq_place_name(e->place));
    if (e->rule >= 0) fprintf(f, "  (rule %d: %s)", e->rule + 1, p->rules[e->rule]);
    if (e->demoted) fprintf(f, "  (demoted)");
    fputc('\n', f);
}

void vkq_plan_print(vkq_plan p, FILE *f)
{
    if (!p || !f) return;
    const vkq_plan_totals *t = &p->totals;
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    fprintf(f, "placement plan: %u tensors, %u layers, budget %s\n", p->n, p->n_layers,
            vkq_format_bytes(t->budget, b1, sizeof b1));
    if (t->requested_gpu_layers < 0)
        fprintf(f, "gpu layers: %u (auto: the last layers that fit)", t->n_gpu_layers);
    else
        fprintf(f, "gpu layers: %u (requested %d)", t->n_gpu_layers, (int)t->requested_gpu_layers);
    if (t->n_gpu_layers > 1)
        fprintf(f, ", blk.%d..blk.%u", (int)t->first_gpu_layer, p->n_layers - 1);
    else if (t->n_gpu_layers == 1)
        fprintf(f, ", blk.%u", p->n_layers - 1);
    fputc('\n', f);
    for (uint32_t r = 0; r < p->n_rules; ++r)
        fprintf(f, "rule %u: %s\n", r + 1, p->rules[r]);
    if (p->n_layers) fprintf(f, "\n  %-8s %-7s %11s %11s %11s\n", "layer", "place", "bytes", "gpu", "host");
    for (uint32_t l = 0; l < p->n_layers; ++l) {
        const vkq_plan_layer *L = &p->layers[l];
        char name[24];
        snprintf(name, sizeof name, "blk.%u", l);
        fprintf(f, "  %-8s %-7s %11s %11s %11s%s\n", name,
                L->on_gpu                       ? "gpu"
                : L->gpu_bytes || L->host_bytes ? "mixed"
                                                : "cpu",
                vkq_format_bytes(L->bytes, b1, sizeof b1), vkq_format_bytes(L->gpu_bytes, b2, sizeof b2),
                vkq_format_bytes(L->host_bytes, b3, sizeof b3),
                L->demoted          ? "  demoted"
                : L->n_tensors == 0 ? "  (no tensors)"
                                    : "");
    }
    int header = 0;
    for (uint32_t i = 0; i < p->n; ++i) {
        const plan_entry *e = &p->t[i];
        if (e->layer >= 0 && e->rule < 0 && !e->demoted) continue;
        if (!header) fprintf(f, "\nnon-layer tensors, and tensors placed by a rule or demoted:\n");
        header = 1;
        print_tensor(f, p, e);
    }
    fprintf(f, "\ntotals: gpu %s of budget %s (%.1f%%)%s, host-visible %s, cpu %s, model %s\n",
            vkq_format_bytes(t->gpu_bytes, b1, sizeof b1), vkq_format_bytes(t->budget, b2, sizeof b2),
            t->budget ? 100.0 * (double)t->gpu_bytes / (double)t->budget : 0.0,
            t->over_budget ? " OVER BUDGET" : "", vkq_format_bytes(t->host_bytes, b3, sizeof b3),
            vkq_format_bytes(t->cpu_bytes, b4, sizeof b4), vkq_format_bytes(t->total_bytes, b5, sizeof b5));
    if (t->reserve_bytes)
        fprintf(f, "reserved in the budget for the KV cache of %u gpu layer(s): %s (%s each)\n", t->n_gpu_layers,
                vkq_format_bytes(t->reserve_bytes, b1, sizeof b1), vkq_format_bytes(p->layer_reserve, b2, sizeof b2));
    if (t->n_demoted) fprintf(f, "demoted to the cpu after planning: %u tensors\n", t->n_demoted);
}
