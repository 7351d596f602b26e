/* vkq-run: runs a GGUF language model on a prompt and streams the generated text, then prints
 * what llama.cpp users read off llama-cli and llama-bench: load time, time to the first token,
 * prompt and generation tokens/s, and where the model lives (GPU layers, GPU bytes of weights
 * and KV cache, demotions).
 *
 * Exit status: 0 on success, 1 when the model cannot be loaded or run (message on stderr),
 * 2 for bad options. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vkquant/tokenizer.h"
#include "vkquant/vkquant.h"


typedef struct options {
    const char *model, *prompt, *json;
    cli_placement pl;
    int n_predict;
    uint32_t n_ctx, top_k;
    float temp;
    uint64_t seed;
    vkq_type ctk, ctv;
    int quiet;
} options;

static int usage(FILE *f)
{
    fprintf(f,
            "usage: vkq-run MODEL.gguf -p TEXT [options]\n"
            "  -p, --prompt TEXT     the prompt (required)\n"
            "  -n N                  tokens to generate (default 64; stops early at end of generation)\n"
            "  -ngl N|auto           layers on the GPU: the last N, or as many as fit (default auto); 0 = CPU only\n"
            "  --budget SIZE         VRAM budget for weights and KV cache (512M, 6G); default from the device\n"
            "  --override R=PLACE    tensors whose name matches the regex R go to cpu|gpu|host (repeatable)\n"
            "  --ctx N               context length (default: prompt + n, at least 512)\n"
            "  -ctk TYPE, -ctv TYPE  KV cache types: F16 (default), F32, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL\n"
            "  --temp T              sampling temperature (default 0: greedy)\n"
            "  --top-k K             sample among the K most likely tokens (default 40; 0 = all)\n"
            "  --seed S              sampling seed (default: from the clock, printed)\n"
            "  --device N|NAME       Vulkan device (default: VKQ_DEVICE, else the best one)\n"
            "  -t N                  CPU threads (default: VKQ_CPU_THREADS, else every core)\n"
            "  --cpu-matmul int8|f32 CPU matmuls: int8 (default; X rounded to int8 per block) or f32\n"
            "                        (weights decoded exactly, fp32 products: the GPU's arithmetic)\n"
            "  --json FILE           the figures and the text as JSON ('-' = stdout, text then not streamed)\n"
            "  -q                    no placement report\n");
    return f == stderr ? 2 : 0;
}

static int bad(const char *opt, const char *v, const char *why)
{
    return cli_bad("vkq-run", opt, v, why);
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.n_predict = 64, .top_k = 40, .ctk = VKQ_TYPE_F16, .ctv = VKQ_TYPE_F16,
                   .seed = (uint64_t)time(NULL)};
    cli_placement_init(&o->pl);
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout) - 1;
        if (!strcmp(a, "-q")) {
            o->quiet = 1;
            continue;
        }
        if (a[0] != '-') {
            if (o->model) return bad("MODEL", a, "one model only");
            o->model = a;
            continue;
        }
        if (i + 1 >= argc) return bad(a, "", "needs a value");
        const char *v = argv[++i];
        unsigned long u;
        int pr;
        if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) o->prompt = v;
        else if (!strcmp(a, "-n")) {
            if (!cli_parse_uint(v, 1u << 24, &u)) return bad(a, v, "not a token count");
            o->n_predict = (int)u;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            if (!cli_parse_uint(v, 1u << 24, &u) || !u) return bad(a, v, "not a context length (1 .. 16777216)");
            o->n_ctx = (uint32_t)u;
        } else if (!strcmp(a, "-ctk") || !strcmp(a, "-ctv") || !strcmp(a, "--cache-type-k") ||
                   !strcmp(a, "--cache-type-v")) {
            vkq_type t;
            if (vkq_type_from_name(v, &t) != VKQ_SUCCESS) return bad(a, v, "not a type name");
            if (a[strlen(a) - 1] == 'k') o->ctk = t;
            else o->ctv = t;
        } else if (!strcmp(a, "--temp")) {
            char *end;
            double t = strtod(v, &end);
            if (!*v || *end || !(t >= 0) || t > 100) return bad(a, v, "not a temperature (0 .. 100)");
            o->temp = (float)t;
        } else if (!strcmp(a, "--top-k")) {
            if (!cli_parse_uint(v, 1u << 24, &u)) return bad(a, v, "not a count");
            o->top_k = (uint32_t)u;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (!*v || *end || errno || *v == '-') return bad(a, v, "not a seed");
        } else if (!strcmp(a, "--json")) o->json = v;
        else if ((pr = cli_placement_option("vkq-run", a, v, &o->pl)) == 2) return 2;
        else if (!pr) {
            fprintf(stderr, "vkq-run: unknown option '%s'\n", a);
            return usage(stderr);
        }
    }
    if (!o->model) return bad("MODEL", "", "missing (vkq-run MODEL.gguf -p TEXT)");
    if (!o->prompt) return bad("-p", "", "missing: give a prompt");
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct cand {
    float logit;
    int32_t id;
} cand;

static int cand_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

/* Greedy at temperature 0 (the lowest id among equal maxima); else softmax(logits / T) over
 * the top_k most likely tokens, drawn with the seeded generator. */
static int32_t sample(const float *logits, uint32_t n_vocab, const options *o, uint64_t *rng, cand *scratch)
{
    if (o->temp <= 0) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < n_vocab; ++i)
            if (logits[i] > logits[best]) best = i;
        return (int32_t)best;
    }
    for (uint32_t i = 0; i < n_vocab; ++i) scratch[i] = (cand){logits[i], (int32_t)i};
    qsort(scratch, n_vocab, sizeof *scratch, cand_desc);
    uint32_t k = o->top_k && o->top_k < n_vocab ? o->top_k : n_vocab;
    double sum = 0;
    for (uint32_t i = 0; i < k; ++i) sum += exp((double)(scratch[i].logit - scratch[0].logit) / o->temp);
    double r = (double)(splitmix(rng) >> 11) / 9007199254740992.0 * sum;
    for (uint32_t i = 0; i < k; ++i) {
        r -= exp((double)(scratch[i].logit - scratch[0].logit) / o->temp);
        if (r <= 0) return scratch[i].id;
    }
    return scratch[k - 1].id;
}

static void json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

typedef struct run_result {
    double load_s, prompt_s, gen_s, ttft_s;
    uint32_t n_prompt, n_gen;
    char *text;
    size_t text_len, text_cap;
} run_result;

static void append(run_result *r, const char *s, size_t n)
{
    if (r->text_len + n + 1 > r->text_cap) {
        size_t cap = (r->text_len + n + 1) * 2;
        char *t = realloc(r->text, cap);
        if (!t) return;
        r->text = t;
        r->text_cap = cap;
    }
    memcpy(r->text + r->text_len, s, n);
    r->text_len += n;
    r->text[r->text_len] = 0;
}

static int fail(const char *what)
{
    const char *err = vkq_last_error();
    /* The GGUF reader's messages already start with the file's path. */
    if (!strncmp(err, what, strlen(what))) fprintf(stderr, "vkq-run: %s\n", err);
    else fprintf(stderr, "vkq-run: %s: %s\n", what, err);
    return 1;
}

static void log_demotion(void *user, const char *message)
{
    (void)user;
    fprintf(stderr, "vkq-run: %s\n", message);
}

/* What a run holds, released by main on every exit (error exits included). */
static vkq_tokenizer tok;
static int32_t *ids;
static vkq_instance inst;
static vkq_device dev;
static vkq_model model;
static vkq_context ctx;
static float *logits;
static cand *scratch;

static void release(void)
{
    free(logits);
    free(scratch);
    free(ids);
    vkq_context_destroy(ctx);
    vkq_model_destroy(model);
    vkq_tokenizer_destroy(tok);
    vkq_device_destroy(dev);
    vkq_instance_destroy(inst);
}

static int run(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    const int stream = !(o.json && !strcmp(o.json, "-"));
    const double t0 = now_s();

    /* The tokenizer and hyper-parameters first: the KV cache's size is part of the placement. */
    vkq_gguf g = NULL;
    if (vkq_gguf_create(o.model, &g) != VKQ_SUCCESS) return fail(o.model);
    vkq_llm_params lp;
    if (vkq_llm_params_read(g, &lp) != VKQ_SUCCESS || vkq_tokenizer_create(g, &tok) != VKQ_SUCCESS) {
        vkq_gguf_destroy(g);
        return fail(o.model);
    }
    vkq_gguf_destroy(g);
    size_t plen = strlen(o.prompt);
    uint32_t n_prompt = 0;
    vkq_tokenize(tok, o.prompt, plen, VKQ_TOKENIZE_ADD_SPECIAL | VKQ_TOKENIZE_PARSE_SPECIAL, NULL, 0, &n_prompt);
    ids = malloc(((size_t)n_prompt + o.n_predict + 1) * sizeof *ids);
    if (!ids) return fail("tokens");
    if (vkq_tokenize(tok, o.prompt, plen, VKQ_TOKENIZE_ADD_SPECIAL | VKQ_TOKENIZE_PARSE_SPECIAL, ids, n_prompt,
                     &n_prompt) != VKQ_SUCCESS)
        return fail("tokenizing the prompt");
    if (!n_prompt) return bad("-p", o.prompt, "gives no tokens");
    uint32_t n_ctx = o.n_ctx ? o.n_ctx : n_prompt + (uint32_t)o.n_predict;
    if (!o.n_ctx && n_ctx < 512) n_ctx = 512;
    if (n_prompt + (uint64_t)o.n_predict > n_ctx) {
        fprintf(stderr, "vkq-run: the prompt (%u tokens) and -n %d do not fit in a context of %u; raise --ctx\n",
                n_prompt, o.n_predict, n_ctx);
        return 2;
    }

    if (o.pl.ngl != 0) {
        uint32_t idx = 0;
        if (vkq_instance_create(NULL, &inst) != VKQ_SUCCESS ||
            vkq_instance_select_device(inst, o.pl.device, &idx) != VKQ_SUCCESS ||
            vkq_device_create(inst, idx, NULL, &dev) != VKQ_SUCCESS) {
            if (o.pl.device || o.pl.ngl > 0) return fail("the Vulkan device");
            fprintf(stderr, "vkq-run: no Vulkan device (%s): running on the CPU\n", vkq_last_error());
            vkq_device_destroy(dev);
            dev = NULL;
        }
    }
    vkq_model_desc md = vkq_model_desc_default();
    md.n_gpu_layers = o.pl.ngl;
    md.vram_budget = o.pl.budget;
    md.overrides = o.pl.overrides;
    md.n_overrides = o.pl.n_overrides;
    md.cpu_threads = o.pl.threads;
    md.cpu_flags = o.pl.cpu_flags;
    md.log = log_demotion;
    md.layer_reserve = vkq_llm_kv_bytes_per_layer(&lp, n_ctx, o.ctk, o.ctv);
    if (vkq_model_create(dev, o.model, &md, &model) != VKQ_SUCCESS) return fail(o.model);
    vkq_context_desc cd = vkq_context_desc_default();
    cd.n_ctx = n_ctx;
    cd.k_type = o.ctk;
    cd.v_type = o.ctv;
    if (vkq_context_create(model, &cd, &ctx) != VKQ_SUCCESS) return fail("creating the context");
    const uint32_t V = lp.n_vocab;
    logits = malloc((size_t)V * sizeof *logits);
    scratch = malloc((size_t)V * sizeof *scratch);
    if (!logits || !scratch) return fail("logits");
    run_result r = {.load_s = now_s() - t0, .n_prompt = n_prompt};
    uint64_t rng = o.seed;

    const double tp = now_s();
    const uint32_t nb = vkq_context_n_ctx(ctx) < 512 ? vkq_context_n_ctx(ctx) : 512;
    for (uint32_t i = 0; i < n_prompt; i += nb) {
        uint32_t m = n_prompt - i < nb ? n_prompt - i : nb;
        if (vkq_context_eval(ctx, ids + i, m, m - 1, i + m == n_prompt ? logits : NULL) != VKQ_SUCCESS)
            return fail("evaluating the prompt");
    }
    r.prompt_s = now_s() - tp;
    if (stream) {
        fwrite(o.prompt, 1, plen, stdout);
        fflush(stdout);
    }
    const double tg = now_s();
    char piece[256];
    for (int i = 0; i < o.n_predict; ++i) {
        int32_t id = sample(logits, V, &o, &rng, scratch);
        if (i == 0) r.ttft_s = now_s() - t0;
        if (vkq_tokenizer_is_eog(tok, id)) break;
        ids[n_prompt + r.n_gen++] = id;
        int32_t len = vkq_token_to_piece(tok, id, 0, piece, sizeof piece);
        if (len > 0 && len <= (int32_t)sizeof piece) {
            append(&r, piece, (size_t)len);
            if (stream) {
                fwrite(piece, 1, (size_t)len, stdout);
                fflush(stdout);
            }
        }
        if (i + 1 == o.n_predict) break;
        if (vkq_context_eval(ctx, &id, 1, 0, logits) != VKQ_SUCCESS) {
            free(r.text);
            return fail("generating");
        }
    }
    r.gen_s = now_s() - tg;
    if (stream) printf("\n");

    vkq_context_info ci;
    vkq_context_get_info(ctx, &ci);
    vkq_plan_totals pt;
    vkq_plan_get_totals(vkq_model_plan(model), &pt);
    const double pp = r.n_prompt / (r.prompt_s > 0 ? r.prompt_s : 1e-9);
    const double tgs = r.n_gen > 1 ? (r.n_gen - 1) / (r.gen_s > 0 ? r.gen_s : 1e-9) : 0;
    FILE *rep = stream ? stderr : NULL;
    if (rep && !o.quiet) {
        fprintf(rep, "\n");
        cli_kv_mix_note("vkq-run", dev != NULL, o.pl.ngl, ci.n_gpu_layers, o.ctk, o.ctv);
        fprintf(rep, "vkq-run: %s (%s), %u layers: %u on the GPU%s, head on the %s\n", o.model, lp.arch, ci.n_layer,
                ci.n_gpu_layers, dev ? "" : " (no device)", ci.head_on_gpu ? "GPU" : "CPU");
        fprintf(rep, "vkq-run: GPU memory: weights %.1f MiB, KV cache %.1f MiB (%s/%s, %u positions); CPU: weights "
                     "%.1f MiB, KV cache %.1f MiB; %u tensor(s) demoted\n",
                pt.gpu_bytes / 1048576.0, ci.kv_gpu_bytes / 1048576.0, vkq_type_get(o.ctk)->name,
                vkq_type_get(o.ctv)->name, n_ctx, pt.cpu_bytes / 1048576.0, ci.kv_cpu_bytes / 1048576.0, pt.n_demoted);
    }
    if (rep)
        fprintf(rep, "vkq-run: load %.0f ms, first token after %.0f ms; prompt %u tokens %.1f t/s; generation %u "
                     "tokens %.1f t/s; seed %llu\n",
                r.load_s * 1e3, r.ttft_s * 1e3, r.n_prompt, pp, r.n_gen, tgs, (unsigned long long)o.seed);
    if (o.json) {
        FILE *f = strcmp(o.json, "-") ? fopen(o.json, "w") : stdout;
        if (!f) {
            fprintf(stderr, "vkq-run: --json %s: %s\n", o.json, strerror(errno));
            free(r.text);
            return 1;
        }
        fprintf(f, "{\"model\": ");
        json_string(f, o.model, strlen(o.model));
        fprintf(f, ", \"arch\": \"%s\", \"n_layer\": %u, \"gpu_layers\": %u, \"head_on_gpu\": %s, "
                   "\"gpu_weight_bytes\": %llu, \"kv_gpu_bytes\": %llu, \"kv_cpu_bytes\": %llu, \"demoted_tensors\": %u, "
                   "\"ctk\": \"%s\", \"ctv\": \"%s\", \"n_ctx\": %u, \"seed\": %llu, \"load_ms\": %.3f, \"ttft_ms\": %.3f, "
                   "\"prompt_tokens\": %u, \"prompt_tps\": %.3f, \"gen_tokens\": %u, \"gen_tps\": %.3f, \"tokens\": [",
                lp.arch, ci.n_layer, ci.n_gpu_layers, ci.head_on_gpu ? "true" : "false",
                (unsigned long long)pt.gpu_bytes, (unsigned long long)ci.kv_gpu_bytes,
                (unsigned long long)ci.kv_cpu_bytes, pt.n_demoted, vkq_type_get(o.ctk)->name,
                vkq_type_get(o.ctv)->name, n_ctx, (unsigned long long)o.seed, r.load_s * 1e3, r.ttft_s * 1e3,
                r.n_prompt, pp, r.n_gen, tgs);
        for (uint32_t i = 0; i < r.n_gen; ++i) fprintf(f, "%s%d", i ? ", " : "", ids[n_prompt + i]);
        fprintf(f, "], \"text\": ");
        json_string(f, r.text ? r.text : "", r.text_len);
        fprintf(f, "}\n");
        if (f != stdout && fclose(f)) {
            fprintf(stderr, "vkq-run: --json %s: %s\n", o.json, strerror(errno));
            free(r.text);
            return 1;
        }
    }
    free(r.text);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    release();
    return rc;
}
