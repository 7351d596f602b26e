/* vkq-bench --model FILE.gguf: partial-offload benchmark. Loads the model with a GPU layer count
 * and times a "decode step": every 2-D weight of every layer in order, then the output head
 * (token_embd is only indexed, never multiplied), each through vkq_model_matmul on one random
 * activation vector of its input width. Reports the step time (median of --reps), split into
 * the time spent in CPU and GPU tensors, tokens/s-equivalent (1 / step) and the weight bytes
 * read per second. --sweep-gpu-layers repeats it for 0..all layers.
 *
 * Mixture of experts: a token runs only K of a layer's experts, so for the 3-D expert tensors
 * (blk.N.ffn_{gate,up,down}_exps) the step runs K experts per layer through
 * vkq_model_matmul_expert, the same K experts for the gate, up and down tensors of a layer (as
 * a router picks them), drawn at random for every layer and every step from the printed seed.
 * K is --experts-per-token, else the file's <arch>.expert_used_count, else 2. Bytes and GB/s
 * count the experts run, not the whole tensors.
 *
 * What it measures is the one-call API: each GPU matmul uploads X, runs, waits and downloads Y,
 * so small layers are dominated by submit and transfer latency rather than by bandwidth.
 *
 * Whole model (language models vkquant runs, vkquant/llm.h): for each split the model is loaded
 * again with room for its KV cache and run through the executor as llama-bench runs it: "pp" =
 * one batch of --pp random token ids into an empty context (logits of the last token only),
 * "tg" = --tg single-token evals from an empty context; each --reps times after one warm-up,
 * tokens/s mean and standard deviation. Time to first token = load + the first (cold) prompt
 * batch. A file that is not such a model gets the decode-step table only. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "test_util.h"
#include "timing.h"
#include "vkquant/vkquant.h"
#include "vkquant/llm.h"
#include "vkquant/model.h"

#define MAX_OVERRIDES 32

typedef struct bench_opts {
    const char *path, *device;
    int32_t gpu_layers;
    int sweep;
    int reps;
    uint64_t budget;
    uint32_t threads;
    uint32_t experts_per_token; /* 0: from the file, else 2 */
    const char *overrides[MAX_OVERRIDES];
    uint32_t n_overrides;
    int reps_given, quick; /* quick: 1 --quick, -1 --full, 0 from the device type */
    long pp, tg;           /* -1: the default (512/128, quick 64/16) */
    int exec_reps;
    const char *json;
} bench_opts;

/* One split's figures, for the whole-model table and --json. */
typedef struct split_row {
    uint32_t gpu_layers, n_layers, demoted;
    uint64_t gpu_bytes, cpu_bytes; /* of the decode step */
    double step_s, load_s;
    int exec; /* the whole-model figures below are valid */
    uint64_t w_gpu_bytes, kv_gpu_bytes, kv_cpu_bytes;
    uint32_t exec_gpu_layers;
    double exec_load_s, ttft_s, pp_mean, pp_sd, tg_mean, tg_sd;
    double *pp_s, *tg_s; /* tokens/s of every run (reps), for --json */
} split_row;

static double now_s(void) { return 1e-6 * bench_now_us(); }

static int usage(int rc)
{
    printf("usage: vkq-bench --model FILE.gguf [--gpu-layers N|auto] [--sweep-gpu-layers] [--reps R]\n"
           "                 [--budget SIZE] [--override REGEX=PLACE]... [--threads N] [--device SEL]\n"
           "                 [--experts-per-token K] [--pp N] [--tg N] [--quick|--full] [--json FILE]\n"
           "Times a decode step (every 2-D weight of every layer in order, then the output head, each on\n"
           "one activation vector) with the chosen CPU/GPU split; --sweep-gpu-layers prints the curve\n"
           "from 0 to all layers. SIZE like 512M or 6G (default: the device's budget).\n"
           "Mixture-of-experts models: of each layer's 3-D expert tensors only K experts run per step\n"
           "(the same ones for gate, up and down, drawn at random per layer and step; the seed is printed,\n"
           "VKQ_SEED replays), and only their bytes count in GB/s. K: --experts-per-token, else the\n"
           "file's <arch>.expert_used_count, else 2.\n"
           "Language models vkquant runs (vkquant/llm.h) are then run whole at each split, as llama-bench\n"
           "does: pp = --pp random tokens in one batch (default 512), tg = --tg single-token evals from an\n"
           "empty context (default 128), --reps times each (default 3), tokens/s mean +- stddev, time to\n"
           "first token (load + first batch) and the placement. --quick (the default on CPU Vulkan drivers\n"
           "such as lavapipe; --full turns it off): pp 64, tg 16, 1 rep. --pp 0 / --tg 0 leave a test out.\n"
           "With --sweep-gpu-layers the whole-model rows end with the split rule: whether every split\n"
           "is at least as fast as the slower of the all-CPU and all-GPU runs (within their stddevs).\n"
           "--json FILE writes every row as JSON ('-' = stdout).\n");
    return rc;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.gpu_layers = VKQ_GPU_LAYERS_AUTO, .reps = 7, .pp = -1, .tg = -1};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = NULL;
        long long n;
        if (!strcmp(a, "--sweep-gpu-layers")) {
            o->sweep = 1;
            continue;
        }
        if (!strcmp(a, "--quick") || !strcmp(a, "--full")) {
            o->quick = a[2] == 'q' ? 1 : -1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(2);
        if (strncmp(a, "--", 2)) {
            fprintf(stderr, "vkq-bench: unexpected argument '%s' (the model is given with --model FILE)\n",
                    a);
            return 2;
        }
        /* Every other option takes a value; "--reps --device x" lacks one. */
        if (i + 1 == argc || !strncmp(argv[i + 1], "--", 2)) {
            fprintf(stderr, "vkq-bench: %s needs a value or is unknown (see vkq-bench --model FILE --help)\n",
                    a);
            return 2;
        }
        v = argv[++i];
        if (!strcmp(a, "--model")) {
            if (o->path) {
                fprintf(stderr, "vkq-bench: --model given twice ('%s', '%s')\n", o->path, v);
                return 2;
            }
            o->path = v;
        } else if (!strcmp(a, "--device")) {
            o->device = v;
        } else if (!strcmp(a, "--reps")) {
            if (bench_parse_int(a, v, 1, 100000, &n)) return 2;
            o->reps = (int)n;
            o->reps_given = 1;
        } else if (!strcmp(a, "--pp") || !strcmp(a, "--tg")) {
            if (bench_parse_int(a, v, 0, 1 << 20, &n)) return 2;
            if (a[2] == 'p')
                o->pp = (long)n;
            else
                o->tg = (long)n;
        } else if (!strcmp(a, "--json")) {
            o->json = v;
        } else if (!strcmp(a, "--threads")) {
            if (bench_parse_int(a, v, 0, 4096, &n)) return 2;
            o->threads = (uint32_t)n;
        } else if (!strcmp(a, "--experts-per-token")) {
            char *end;
            long k = strtol(v, &end, 10);
            if (!*v || *end || k < 1 || k > 1024) {
                fprintf(stderr, "vkq-bench: --experts-per-token: \"%s\" is not a count from 1 to 1024\n", v);
                return 2;
            }
            o->experts_per_token = (uint32_t)k;
        } else if (!strcmp(a, "--gpu-layers")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!strcmp(v, "auto"))
                o->gpu_layers = VKQ_GPU_LAYERS_AUTO;
            else if (*v && !*end && n >= 0 && n < (1L << 30))
                o->gpu_layers = (int32_t)n;
            else {
                fprintf(stderr, "vkq-bench: --gpu-layers: \"%s\" is not a count or auto\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--budget")) {
            if (vkq_size_parse(v, &o->budget) != VKQ_SUCCESS) {
                fprintf(stderr, "vkq-bench: --budget: %s\n", vkq_last_error());
                return 2;
            }
        } else if (!strcmp(a, "--override")) {
            if (o->n_overrides == MAX_OVERRIDES) {
                fprintf(stderr, "vkq-bench: more than %d --override rules\n", MAX_OVERRIDES);
                return 2;
            }
            o->overrides[o->n_overrides++] = v;
        } else {
            fprintf(stderr, "vkq-bench: unknown option '%s' (see vkq-bench --model FILE --help)\n", a);
            return 2;
        }
    }
    if (!o->path) return usage(2);
    return 0;
}

/* The model's messages (from the GGUF reader and the loader) mostly begin with the path already. */
static void model_error(const char *path, const char *err)
{
    if (!strncmp(err, path, strlen(path)))
        fprintf(stderr, "vkq-bench: %s\n", err);
    else
        fprintf(stderr, "vkq-bench: %s: %s\n", path, err);
}

/* A rule that places no tensor is almost always a typo in the regex: an error, not a silent
 * no-op. Returns non-zero after printing which rules. */
static int unused_rules(const bench_opts *o, vkq_plan plan, uint32_t n_tensors)
{
    int bad = 0;
    for (uint32_t r = 0; r < o->n_overrides; ++r) {
        int used = 0;
        for (uint32_t i = 0; i < n_tensors && !used; ++i)
            used = vkq_plan_tensor_rule(plan, i) == (int32_t)r;
        if (!used) {
            fprintf(
                stderr,
                "vkq-bench: --override '%s' places no tensor of %s (its regex matches none, or an earlier "
                "rule takes every tensor it matches)\n",
                o->overrides[r], o->path);
            bad = 1;
        }
    }
    return bad;
}

typedef struct step_tensor {
    int64_t index;
    int32_t layer;
    uint32_t n_expert;    /* 0: a 2-D weight; else a 3-D expert tensor of this many experts */
    uint64_t m, k, bytes; /* bytes: of one matmul (one expert's slice for expert tensors) */
    float *x, *y;
} step_tensor;

/* The decode step's weights: layer by layer in order (2-D weights and 3-D expert tensors), then
 * the non-layer 2-D weights. */
static uint32_t build_step(vkq_model m, step_tensor *st, uint64_t *rng)
{
    uint32_t n = 0;
    vkq_plan_totals tot;
    vkq_plan_get_totals(vkq_model_plan(m), &tot);
    for (int32_t layer = 0; layer <= (int32_t)tot.n_layers; ++layer) {
        int32_t want = layer < (int32_t)tot.n_layers ? layer : -1;
        for (int64_t i = 0; i < vkq_model_tensor_count(m); ++i) {
            vkq_model_tensor t;
            vkq_model_tensor_info(m, i, &t);
            if (t.layer != want || !strncmp(t.name, "token_embd", 10)) continue;
            if (t.n_dims != 2 && !(t.n_dims == 3 && want >= 0 && t.ne[3] == 1)) continue;
            step_tensor *s = &st[n++];
            s->index = i;
            s->layer = t.layer;
            s->n_expert = t.n_dims == 3 ? (uint32_t)t.ne[2] : 0;
            s->k = (uint64_t)t.ne[0];
            s->m = (uint64_t)t.ne[1];
            s->bytes = t.nbytes / (uint64_t)t.ne[2];
            s->x = malloc(s->k * sizeof(float));
            s->y = malloc(s->m * sizeof(float));
            for (uint64_t j = 0; s->x && j < s->k; ++j)
                s->x[j] = (float)((double)vkq_test_rand_below(rng, 1u << 24) / (1u << 23) - 1.0);
        }
    }
    return n;
}

/* Experts per token: the option, else <general.architecture>.expert_used_count (an integer of
 * any width, 1..1024), else 2. `source` says which. */
static uint32_t experts_per_token(const bench_opts *o, vkq_gguf g, char *source, size_t source_size)
{
    snprintf(source, source_size, "--experts-per-token");
    if (o->experts_per_token) return o->experts_per_token;
    snprintf(source, source_size, "default");
    vkq_gguf_string arch;
    int64_t a = vkq_gguf_find_key(g, "general.architecture");
    if (a < 0 || vkq_gguf_get_string(g, a, &arch) != VKQ_SUCCESS || arch.len > 100) return 2;
    char key[128];
    snprintf(key, sizeof key, "%.*s.expert_used_count", (int)arch.len, arch.data);
    vkq_gguf_value v;
    int64_t k = vkq_gguf_find_key(g, key);
    if (k < 0 || vkq_gguf_get_value(g, k, &v) != VKQ_SUCCESS) return 2;
    uint64_t used;
    switch (v.type) {
    case VKQ_GGUF_UINT8:
    case VKQ_GGUF_UINT16:
    case VKQ_GGUF_UINT32:
    case VKQ_GGUF_UINT64:
        used = v.u;
        break;
    case VKQ_GGUF_INT8:
    case VKQ_GGUF_INT16:
    case VKQ_GGUF_INT32:
    case VKQ_GGUF_INT64:
        used = v.i > 0 ? (uint64_t)v.i : 0;
        break;
    default:
        return 2;
    }
    if (used == 0 || used > 1024) return 2;
    snprintf(source, source_size, "%s", key);
    return (uint32_t)used;
}

/* Draws `k` distinct experts of `n` into perm[0..k) (a partial Fisher-Yates over n slots). */
static void draw_experts(uint32_t *perm, uint32_t n, uint32_t k, uint64_t *rng)
{
    for (uint32_t i = 0; i < n; ++i)
        perm[i] = i;
    for (uint32_t i = 0; i < k; ++i) {
        uint32_t j = i + vkq_test_rand_below(rng, n - i);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Loads with `ngl` GPU layers, times the step; prints one row. Returns non-zero on failure. */
static int bench_one(vkq_device dev, const bench_opts *o, int32_t ngl, uint32_t k_experts, uint64_t *rng,
                     split_row *row)
{
    vkq_model_desc d = vkq_model_desc_default();
    d.n_gpu_layers = ngl;
    d.vram_budget = o->budget;
    d.overrides = o->overrides;
    d.n_overrides = o->n_overrides;
    d.cpu_threads = o->threads;
    vkq_model m = NULL;
    double t0 = now_s();
    vkq_status st = vkq_model_create(dev, o->path, &d, &m);
    double load_s = now_s() - t0;
    if (st != VKQ_SUCCESS) {
        model_error(o->path, vkq_last_error());
        return 1;
    }
    int64_t nt = vkq_model_tensor_count(m);
    uint32_t *perm = NULL;
    step_tensor *s = calloc(nt ? (size_t)nt : 1, sizeof *s);
    double *step = calloc((size_t)o->reps, sizeof *step), *cpu = calloc((size_t)o->reps, sizeof *cpu),
           *gpu = calloc((size_t)o->reps, sizeof *gpu);
    int rc = 1;
    if (!s || !step || !cpu || !gpu) goto out;
    uint32_t n = build_step(m, s, rng);
    uint64_t bytes = 0, gpu_bytes = 0;
    uint32_t max_expert = 1;
    for (uint32_t i = 0; i < n; ++i) {
        vkq_model_tensor t;
        vkq_model_tensor_info(m, s[i].index, &t);
        if (!s[i].x || !s[i].y) goto out;
        /* the gate, up and down experts of a layer are one router choice: same expert count */
        for (uint32_t j = 0; j < i && s[i].n_expert; ++j)
            if (s[j].layer == s[i].layer && s[j].n_expert && s[j].n_expert != s[i].n_expert) {
                fprintf(stderr,
                        "vkq-bench: %s has %u experts but another expert tensor of its layer has %u: "
                        "one set of experts per layer cannot be drawn\n",
                        t.name, s[i].n_expert, s[j].n_expert);
                goto out;
            }
        if (s[i].n_expert && k_experts > s[i].n_expert) {
            fprintf(stderr, "vkq-bench: %u experts per token, but %s has only %u experts\n", k_experts,
                    t.name, s[i].n_expert);
            goto out;
        }
        uint64_t b = s[i].bytes * (s[i].n_expert ? k_experts : 1);
        bytes += b;
        if (t.place != VKQ_PLACE_CPU) gpu_bytes += b;
        if (s[i].n_expert > max_expert) max_expert = s[i].n_expert;
    }
    if (!(perm = malloc(max_expert * sizeof *perm))) goto out;
    for (int rep = -1; rep < o->reps; ++rep) { /* rep -1 warms caches and pipelines */
        double tc = 0, tg = 0;
        int32_t drawn_for = -2; /* the layer whose experts perm[0..k_experts) holds */
        for (uint32_t i = 0; i < n; ++i) {
            vkq_model_tensor t;
            vkq_model_tensor_info(m, s[i].index, &t);
            if (s[i].n_expert && drawn_for != s[i].layer) {
                draw_experts(perm, s[i].n_expert, k_experts, rng);
                drawn_for = s[i].layer;
            }
            double a = now_s();
            if (s[i].n_expert) {
                st = VKQ_SUCCESS;
                for (uint32_t e = 0; e < k_experts && st == VKQ_SUCCESS; ++e)
                    st = vkq_model_matmul_expert(m, s[i].index, perm[e], s[i].x, s[i].y, 1);
            } else {
                st = vkq_model_matmul(m, s[i].index, s[i].x, s[i].y, 1);
            }
            double b = now_s() - a;
            if (st != VKQ_SUCCESS) {
                fprintf(stderr, "vkq-bench: %s\n", vkq_last_error());
                goto out;
            }
            if (t.place == VKQ_PLACE_CPU)
                tc += b;
            else
                tg += b;
        }
        if (rep >= 0) {
            step[rep] = tc + tg;
            cpu[rep] = tc;
            gpu[rep] = tg;
        }
    }
    double med = bench_median(step, (size_t)o->reps);
    double cpu_med = bench_median(cpu, (size_t)o->reps), gpu_med = bench_median(gpu, (size_t)o->reps);
    vkq_plan_totals tot;
    vkq_plan_get_totals(vkq_model_plan(m), &tot);
    printf("%5u/%-5u %9.2f %9.2f %10.3f %9.3f %9.3f %9.1f %8.2f %7.2f %5u\n", tot.n_gpu_layers, tot.n_layers,
           (double)gpu_bytes / 1048576.0, (double)(bytes - gpu_bytes) / 1048576.0, med * 1e3,
           cpu_med * 1e3, gpu_med * 1e3, 1.0 / med, (double)bytes / med / 1e9, load_s,
           vkq_model_demotion_count(m));
    *row = (split_row){.gpu_layers = tot.n_gpu_layers, .n_layers = tot.n_layers,
                       .demoted = vkq_model_demotion_count(m), .gpu_bytes = gpu_bytes,
                       .cpu_bytes = bytes - gpu_bytes, .step_s = med, .load_s = load_s};
    rc = 0;
out:
    for (int64_t i = 0; s && i < nt; ++i) {
        free(s[i].x);
        free(s[i].y);
    }
    free(s);
    free(perm);
    free(step);
    free(cpu);
    free(gpu);
    vkq_model_destroy(m);
    return rc;
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; ++i)
        s += v[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; ++i)
        q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* Fills tok[0..n) with random token ids of the vocabulary. */
static void random_tokens(int32_t *tok, uint32_t n, uint32_t n_vocab, uint64_t *rng)
{
    for (uint32_t i = 0; i < n; ++i)
        tok[i] = (int32_t)vkq_test_rand_below(rng, n_vocab);
}

/* One pp or tg run from an empty context; its seconds in *secs. */
static vkq_status run_test(vkq_context ctx, int32_t *tok, uint32_t n, int batch, float *logits, double *secs)
{
    vkq_context_reset(ctx);
    double a = now_s();
    vkq_status st = VKQ_SUCCESS;
    if (batch)
        st = vkq_context_eval(ctx, tok, n, n - 1, logits);
    else
        for (uint32_t i = 0; i < n && st == VKQ_SUCCESS; ++i)
            st = vkq_context_eval(ctx, tok + i, 1, 0, logits);
    *secs = now_s() - a;
    return st;
}

/* Loads the model with `ngl` GPU layers and room for its KV cache, then times pp and tg through
 * the executor. A file the executor does not run sets *skip to its reason and returns 0. */
static int bench_exec(vkq_device dev, const bench_opts *o, int32_t ngl, const vkq_llm_params *lp, uint32_t pp,
                      uint32_t tg, int reps, uint64_t *rng, split_row *row, char *skip, size_t skip_size)
{
    const uint32_t n_ctx = pp > tg ? pp : tg;
    vkq_model_desc d = vkq_model_desc_default();
    d.n_gpu_layers = ngl;
    d.vram_budget = o->budget;
    d.overrides = o->overrides;
    d.n_overrides = o->n_overrides;
    d.cpu_threads = o->threads;
    d.layer_reserve = vkq_llm_kv_bytes_per_layer(lp, n_ctx, VKQ_TYPE_F16, VKQ_TYPE_F16);
    vkq_model m = NULL;
    vkq_context ctx = NULL;
    int rc = 1;
    size_t nt = (size_t)(pp > tg ? pp : tg);
    int32_t *tok = malloc(nt * sizeof *tok);
    float *logits = malloc((size_t)lp->n_vocab * sizeof *logits);
    double *t = NULL;
    row->pp_s = calloc((size_t)reps, sizeof *row->pp_s);
    row->tg_s = calloc((size_t)reps, sizeof *row->tg_s);
    if (!tok || !logits || !row->pp_s || !row->tg_s) {
        fprintf(stderr, "vkq-bench: out of host memory\n");
        goto out;
    }
    double t0 = now_s();
    vkq_status st = vkq_model_create(dev, o->path, &d, &m);
    if (st != VKQ_SUCCESS) {
        model_error(o->path, vkq_last_error());
        goto out;
    }
    vkq_context_desc cd = vkq_context_desc_default();
    cd.n_ctx = n_ctx;
    cd.n_batch = pp ? pp : 1;
    st = vkq_context_create(m, &cd, &ctx);
    if (st == VKQ_ERROR_MALFORMED || st == VKQ_ERROR_UNSUPPORTED) {
        snprintf(skip, skip_size, "%s", vkq_last_error());
        rc = 0;
        goto out;
    }
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-bench: creating the context: %s\n", vkq_last_error());
        goto out;
    }
    row->exec_load_s = now_s() - t0;
    double secs;
    if (pp) {
        /* the first batch after loading is the warm-up and the time to the first token */
        random_tokens(tok, pp, lp->n_vocab, rng);
        if ((st = run_test(ctx, tok, pp, 1, logits, &secs)) != VKQ_SUCCESS) goto eval_error;
        row->ttft_s = now_s() - t0;
        t = row->pp_s;
        for (int r = 0; r < reps; ++r) {
            random_tokens(tok, pp, lp->n_vocab, rng);
            if ((st = run_test(ctx, tok, pp, 1, logits, &secs)) != VKQ_SUCCESS) goto eval_error;
            t[r] = pp / secs;
        }
        mean_sd(t, reps, &row->pp_mean, &row->pp_sd);
    }
    if (tg) {
        random_tokens(tok, 1, lp->n_vocab, rng);
        if ((st = run_test(ctx, tok, 1, 0, logits, &secs)) != VKQ_SUCCESS) goto eval_error;
        if (!pp) row->ttft_s = now_s() - t0;
        t = row->tg_s;
        for (int r = 0; r < reps; ++r) {
            random_tokens(tok, tg, lp->n_vocab, rng);
            if ((st = run_test(ctx, tok, tg, 0, logits, &secs)) != VKQ_SUCCESS) goto eval_error;
            t[r] = tg / secs;
        }
        mean_sd(t, reps, &row->tg_mean, &row->tg_sd);
    }
    vkq_context_info ci;
    vkq_context_get_info(ctx, &ci);
    vkq_plan_totals pt;
    vkq_plan_get_totals(vkq_model_plan(m), &pt);
    row->exec = 1;
    row->exec_gpu_layers = ci.n_gpu_layers;
    row->w_gpu_bytes = pt.gpu_bytes;
    row->kv_gpu_bytes = ci.kv_gpu_bytes;
    row->kv_cpu_bytes = ci.kv_cpu_bytes;
    rc = 0;
    goto out;
eval_error:
    fprintf(stderr, "vkq-bench: evaluating: %s\n", vkq_last_error());
out:
    vkq_context_destroy(ctx);
    vkq_model_destroy(m);
    free(tok);
    free(logits);
    return rc;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The split rule: no split is slower than the slower of the two pure runs. A split's
 * crossings are those of the all-GPU run (the activations go up once, the logits come down once;
 * only where the upload happens differs), so the bound needs no allowance for them. Judged on the
 * means; a split less than its stddev plus the pure run's below it counts as within (noise). */
typedef struct split_verdict {
    int valid; /* a sweep with both pure runs and every split measured */
    uint32_t worst_layers;
    double worst_tps, worst_sd, bound_tps, bound_sd;
    int ok;
} split_verdict;

static split_verdict split_check(const split_row *rows, uint32_t n_rows, int tg)
{
    split_verdict v = {0};
    if (n_rows < 3) return v;
    const split_row *cpu = &rows[0], *gpu = &rows[n_rows - 1];
    if (!cpu->exec || !gpu->exec || cpu->exec_gpu_layers != 0 || gpu->exec_gpu_layers != gpu->n_layers) return v;
    const double tc = tg ? cpu->tg_mean : cpu->pp_mean, tgp = tg ? gpu->tg_mean : gpu->pp_mean;
    if (!(tc > 0) || !(tgp > 0)) return v;
    v.bound_tps = tc < tgp ? tc : tgp;
    v.bound_sd = tc < tgp ? (tg ? cpu->tg_sd : cpu->pp_sd) : (tg ? gpu->tg_sd : gpu->pp_sd);
    v.worst_tps = INFINITY;
    for (uint32_t i = 1; i + 1 < n_rows; ++i) {
        const split_row *r = &rows[i];
        const double t = tg ? r->tg_mean : r->pp_mean;
        if (!r->exec || !(t > 0)) return v;
        if (t < v.worst_tps) {
            v.worst_tps = t;
            v.worst_sd = tg ? r->tg_sd : r->pp_sd;
            v.worst_layers = r->exec_gpu_layers;
        }
    }
    v.valid = 1;
    v.ok = v.worst_tps + v.worst_sd >= v.bound_tps - v.bound_sd;
    return v;
}

static void json_verdict(FILE *f, const split_verdict *v)
{
    if (!v->valid) {
        fprintf(f, "null");
        return;
    }
    fprintf(f, "{\"slowest_split_gpu_layers\": %u, \"slowest_split_tps\": %.4f, \"slowest_split_tps_sd\": %.4f, "
               "\"slower_pure_run_tps\": %.4f, \"slower_pure_run_tps_sd\": %.4f, \"ok\": %s}",
            v->worst_layers, v->worst_tps, v->worst_sd, v->bound_tps, v->bound_sd, v->ok ? "true" : "false");
}

static int write_json(const bench_opts *o, const char *device, uint32_t pp, uint32_t tg, int exec_reps,
                      const char *skip, const split_row *rows, uint32_t n_rows)
{
    FILE *f = strcmp(o->json, "-") ? fopen(o->json, "w") : stdout;
    if (!f) {
        fprintf(stderr, "vkq-bench: --json %s: %s\n", o->json, strerror(errno));
        return 1;
    }
    fprintf(f, "{\"model\": ");
    json_string(f, o->path);
    fprintf(f, ", \"device\": ");
    json_string(f, device);
    fprintf(f, ", \"threads\": %u, \"step_reps\": %d, \"pp\": %u, \"tg\": %u, \"reps\": %d, \"kv_type\": \"F16\", ",
            o->threads, o->reps, pp, tg, exec_reps);
    fprintf(f, "\"whole_model_skipped\": ");
    if (skip[0])
        json_string(f, skip);
    else
        fprintf(f, "null");
    const split_verdict vp = split_check(rows, n_rows, 0), vt = split_check(rows, n_rows, 1);
    fprintf(f, ", \"split_rule\": {\"pp\": ");
    json_verdict(f, pp ? &vp : &(split_verdict){0});
    fprintf(f, ", \"tg\": ");
    json_verdict(f, tg ? &vt : &(split_verdict){0});
    fprintf(f, "}, \"rows\": [");
    for (uint32_t i = 0; i < n_rows; ++i) {
        const split_row *r = &rows[i];
        fprintf(f,
                "%s\n  {\"gpu_layers\": %u, \"n_layers\": %u, \"step_gpu_bytes\": %" PRIu64
                ", \"step_cpu_bytes\": %" PRIu64 ", \"step_ms\": %.4f, \"step_load_s\": %.4f, \"demoted\": %u",
                i ? "," : "", r->gpu_layers, r->n_layers, r->gpu_bytes, r->cpu_bytes, r->step_s * 1e3, r->load_s,
                r->demoted);
        if (r->exec)
            fprintf(f,
                    ", \"exec_gpu_layers\": %u, \"gpu_weight_bytes\": %" PRIu64 ", \"kv_gpu_bytes\": %" PRIu64
                    ", \"kv_cpu_bytes\": %" PRIu64 ", \"load_s\": %.4f, \"ttft_s\": %.4f, \"pp_tps\": %.4f, "
                    "\"pp_tps_sd\": %.4f, \"tg_tps\": %.4f, \"tg_tps_sd\": %.4f",
                    r->exec_gpu_layers, r->w_gpu_bytes, r->kv_gpu_bytes, r->kv_cpu_bytes, r->exec_load_s,
                    r->ttft_s, r->pp_mean, r->pp_sd, r->tg_mean, r->tg_sd);
        for (int test = 0; r->exec && test < 2; ++test) {
            const double *v = test ? r->tg_s : r->pp_s;
            fprintf(f, ", \"%s_samples\": [", test ? "tg" : "pp");
            for (int k = 0; k < (test ? (tg ? exec_reps : 0) : (pp ? exec_reps : 0)); ++k)
                fprintf(f, "%s%.4f", k ? ", " : "", v[k]);
            fprintf(f, "]");
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n]}\n");
    if (f != stdout && fclose(f)) {
        fprintf(stderr, "vkq-bench: --json %s: %s\n", o->json, strerror(errno));
        return 1;
    }
    return 0;
}

int vkq_bench_model_main(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    /* The file first, without a device: a bad file or rule is reported before Vulkan starts. */
    vkq_model probe = NULL;
    vkq_model_desc pd = vkq_model_desc_default();
    pd.n_gpu_layers = o.gpu_layers;
    pd.vram_budget = o.budget;
    pd.overrides = o.overrides;
    pd.n_overrides = o.n_overrides;
    vkq_status st =
        vkq_model_create(NULL, o.path, &pd, &probe); /* layer count, sizes; no upload */
    if (st != VKQ_SUCCESS) {
        model_error(o.path, vkq_last_error());
        return st == VKQ_ERROR_INVALID_ARGUMENT ? 2 : 1;
    }
    if (unused_rules(&o, vkq_model_plan(probe), (uint32_t)vkq_model_tensor_count(probe))) {
        vkq_model_destroy(probe);
        return 2;
    }
    vkq_plan_totals tot;
    vkq_plan_get_totals(vkq_model_plan(probe), &tot);
    char k_source[160];
    const uint32_t k_experts = experts_per_token(&o, vkq_model_gguf(probe), k_source, sizeof k_source);
    uint32_t n_exp_tensors = 0, n_expert = 0;
    for (int64_t i = 0; i < vkq_model_tensor_count(probe); ++i) {
        vkq_model_tensor t;
        vkq_model_tensor_info(probe, i, &t);
        if (t.n_dims != 3 || t.layer < 0) continue;
        if (k_experts > (uint64_t)t.ne[2]) {
            fprintf(stderr, "vkq-bench: %u experts per token (from %s), but %s has only %lld experts\n",
                    k_experts, k_source, t.name, (long long)t.ne[2]);
            vkq_model_destroy(probe);
            return 2;
        }
        ++n_exp_tensors;
        if ((uint32_t)t.ne[2] > n_expert) n_expert = (uint32_t)t.ne[2];
    }
    /* The whole-model measurement needs a language model vkquant runs. */
    vkq_llm_params lp;
    char skip[512] = "";
    if (vkq_llm_params_read(vkq_model_gguf(probe), &lp) != VKQ_SUCCESS)
        snprintf(skip, sizeof skip, "%s", vkq_last_error());
    lp.arch = NULL; /* points into the probe's file */
    vkq_model_destroy(probe);

    vkq_instance inst = NULL;
    vkq_device dev = NULL;
    uint32_t idx;
    st = vkq_instance_create(NULL, &inst);
    if (st == VKQ_SUCCESS)
        st = o.device ? vkq_instance_select_device(inst, o.device, &idx)
                      : vkq_instance_default_device(inst, &idx);
    if (st == VKQ_SUCCESS) st = vkq_device_create(inst, idx, NULL, &dev);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-bench: no device: %s (%s)\n", vkq_status_string(st),
                vkq_last_error());
        vkq_instance_destroy(inst);
        return 1;
    }
    uint64_t seed = vkq_test_seed(), rng = seed;
    vkq_vram_budget b;
    if (vkq_vram_budget_get(dev, o.budget, 0, &b) != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-bench: %s\n", vkq_last_error());
        vkq_device_destroy(dev);
        vkq_instance_destroy(inst);
        return 2;
    }
    const vkq_device_info *di = vkq_device_get_info(dev);
    /* The library calls a budget it was given "API"; here the caller is the command line. */
    printf("# vkq-bench --model %s: %u layers, %.2f MiB, device %s, VRAM budget %.1f MiB (%s), seed %" PRIu64
           "\n",
           o.path, tot.n_layers, (double)tot.total_bytes / 1048576.0, di->name, (double)b.budget / 1048576.0,
           b.source == VKQ_BUDGET_API ? "--budget" : vkq_budget_source_name(b.source), seed);
    printf("# decode step = every 2-D weight of every layer, then the head, each on one activation vector;\n"
           "# times are medians of %d steps; GB/s = weight bytes of the step / step time\n",
           o.reps);
    if (n_exp_tensors)
        printf("# mixture of experts: %u 3-D expert tensors, up to %u experts; %u per token (from %s),\n"
               "# the same for a layer's gate/up/down, drawn at random per layer and step (seed above);\n"
               "# gpu_MiB, cpu_MiB and GB/s count the bytes of the experts run only\n",
               n_exp_tensors, n_expert, k_experts, k_source);
    printf("%11s %9s %9s %10s %9s %9s %9s %8s %7s %5s\n", "gpu_layers", "gpu_MiB", "cpu_MiB", "step_ms",
           "cpu_ms", "gpu_ms", "tok/s", "GB/s", "load_s", "demot");
    /* A CPU-only run does not touch the slow CPU Vulkan driver, so it keeps the full sizes. */
    const int quick =
        o.quick ? o.quick > 0 : di->type == VKQ_DEVICE_CPU && (o.sweep || o.gpu_layers != 0);
    const uint32_t pp = (uint32_t)(o.pp >= 0 ? o.pp : quick ? 64 : 512);
    const uint32_t tg = (uint32_t)(o.tg >= 0 ? o.tg : quick ? 16 : 128);
    const int exec_reps = o.reps_given ? o.reps : quick ? 1 : 3;
    if (!pp && !tg && !skip[0]) snprintf(skip, sizeof skip, "--pp 0 and --tg 0");
    const uint32_t n_rows = o.sweep ? tot.n_layers + 1 : 1;
    split_row *rows = calloc(n_rows, sizeof *rows);
    rc = rows ? 0 : 1;
    for (uint32_t i = 0; i < n_rows && !rc; ++i)
        rc = bench_one(dev, &o, o.sweep ? (int32_t)i : o.gpu_layers, k_experts, &rng, &rows[i]);
    if (!rc && !skip[0]) {
        printf("# whole model through the executor (vkq_context_eval, F16 KV cache of %u positions): pp%u = %u\n"
               "# random tokens in one batch, tg%u = %u single-token evals, each from an empty context; t/s mean\n"
               "# +- stddev of %d run(s) after a warm-up; ttft = load + the first prompt batch%s\n",
               pp > tg ? pp : tg, pp, pp, tg, tg, exec_reps, quick ? " (--quick)" : "");
        printf("%-8s %11s %11s %9s %9s %12s %10s %10s\n", "test", "gpu_layers", "gpu_w_MiB", "kv_gpu_MiB",
               "kv_cpu_MiB", "t/s", "+-", "ttft_ms");
        for (uint32_t i = 0; i < n_rows && !rc && !skip[0]; ++i) {
            split_row *r = &rows[i];
            rc = bench_exec(dev, &o, o.sweep ? (int32_t)i : o.gpu_layers, &lp, pp, tg, exec_reps, &rng, r, skip,
                            sizeof skip);
            if (rc || !r->exec) continue;
            for (int test = 0; test < 2; ++test) {
                uint32_t n = test ? tg : pp;
                if (!n) continue;
                char name[32], layers[32];
                snprintf(name, sizeof name, "%s%u", test ? "tg" : "pp", n);
                snprintf(layers, sizeof layers, "%u/%u", r->exec_gpu_layers, r->n_layers);
                printf("%-8s %11s %11.2f %9.2f %9.2f %12.2f %10.2f %10.1f\n", name, layers,
                       (double)r->w_gpu_bytes / 1048576.0, (double)r->kv_gpu_bytes / 1048576.0,
                       (double)r->kv_cpu_bytes / 1048576.0, test ? r->tg_mean : r->pp_mean,
                       test ? r->tg_sd : r->pp_sd, r->ttft_s * 1e3);
            }
            fflush(stdout);
        }
    }
    for (int test = 0; !rc && !skip[0] && o.sweep && test < 2; ++test) {
        const split_verdict v = split_check(rows, n_rows, test);
        if (!v.valid || !(test ? tg : pp)) continue;
        printf("# split rule, %s%u: %s: slowest split %u/%u at %.2f +- %.2f t/s, slower pure run %.2f +- %.2f t/s\n",
               test ? "tg" : "pp", test ? tg : pp, v.ok ? "ok" : "SLOWER", v.worst_layers, rows[0].n_layers,
               v.worst_tps, v.worst_sd, v.bound_tps, v.bound_sd);
    }
    if (!rc && skip[0]) printf("# whole model not run: %s\n", skip);
    if (!rc && o.json) rc = write_json(&o, di->name, pp, tg, exec_reps, skip, rows, n_rows);
    for (uint32_t i = 0; rows && i < n_rows; ++i) {
        free(rows[i].pp_s);
        free(rows[i].tg_s);
    }
    free(rows);
    vkq_device_destroy(dev);
    vkq_instance_destroy(inst);
    return rc;
}
