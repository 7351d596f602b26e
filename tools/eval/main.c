/* vkq-eval: perplexity of a GGUF language model over a text, and the KL divergence of its
 * predictions from a base run's, computed the way llama.cpp's llama-perplexity computes them, so
 * that the two programs' figures can be compared directly (and their logits files exchanged):
 * - the whole text (less one trailing newline) is tokenized once, BOS added as the metadata says;
 * - chunk i is tokens [i*ctx, (i+1)*ctx), its first token replaced by BOS when the model adds BOS,
 *   evaluated from an empty KV cache in batches of up to 512 tokens (pass.c);
 * - with first = ctx/2, the logits at positions first .. ctx-2 score the tokens that follow them
 *   (ctx - first - 1 tokens a chunk): the first half only gives the model something to read.
 * Perplexity: the running value after each chunk goes to stdout as "[1]12.9953,[2]13.9358,...",
 * then the final estimate with the standard error of the mean negative log-likelihood carried
 * through exp(): PPL * sqrt((E[nll^2] - E[nll]^2) / (N - 1)). --kl-divergence-base FILE also
 * saves every scored position's log-probabilities (docs/FORMATS.md §16).
 * KL divergence (--kl-divergence FILE): the tokens, context and chunk count come from the file
 * (no -f); each chunk prints a line of running figures, the end the statistics of report.c.
 *
 * Exit status: 0 on success, 1 when the model, text or file cannot be loaded or run (message on
 * stderr), 2 for bad options. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ladder.h"
#include "pass.h"
#include "report.h"
#include "vkquant/tokenizer.h"
#include "vkquant/vkquant.h"


typedef struct options {
    const char *model, *text, *json, *kld_base, *kld, *imatrix;
    ladder_args ladder; /* --quant, --recipe, -ctk/-ctv lists */
    char quant_list[1024];
    int is_ladder;
    uint32_t n_ctk, n_ctv;
    cli_placement cli; /* the placement options as given, copied into pl */
    eval_placement pl;
    uint32_t n_ctx, n_chunks;
    int ctx_given;
} options;

/* --imatrix-collect: every layer matmul's input rows summed into the imatrix. The output head is
 * left out, as llama-imatrix leaves it out by default (it is quantized by its own rule). */
typedef struct imatrix_state {
    vkq_imatrix m;
    uint32_t n_expert;
    vkq_status st;
    char error[256];
} imatrix_state;

static void imatrix_observe(void *user, const char *tensor, int32_t expert, const float *x, uint32_t n, uint64_t k)
{
    imatrix_state *s = user;
    if (s->st != VKQ_SUCCESS || !strncmp(tensor, "output.", 7) || !strncmp(tensor, "token_embd.", 11)) return;
    s->st = vkq_imatrix_accumulate(s->m, tensor, k, expert < 0 ? 1 : s->n_expert, expert < 0 ? 0 : (uint32_t)expert,
                                   x, n);
    if (s->st != VKQ_SUCCESS) snprintf(s->error, sizeof s->error, "%s: %s", tensor, vkq_last_error());
}

static int usage(FILE *f)
{
    fprintf(f,
            "usage: vkq-eval MODEL.gguf -f TEXT [options]           perplexity over TEXT\n"
            "       vkq-eval MODEL.gguf --kl-divergence FILE [options] KL divergence from a base run\n"
            "  -f, --file TEXT       the text to measure perplexity over\n"
            "  --imatrix-collect FILE  with -f: also collect an importance matrix (mean squared input of every\n"
            "                        matmul's columns, llama.cpp's imatrix GGUF layout) into FILE; runs on the CPU\n"
            "  --ctx N               tokens per chunk (default 512); the second half of each chunk is scored\n"
            "  --chunks N            evaluate the first N chunks only (default: all)\n"
            "  --kl-divergence-base FILE\n"
            "                        also save the log-probabilities of the scored positions to FILE,\n"
            "                        in llama-perplexity's format (a base for --kl-divergence)\n"
            "  --kl-divergence FILE  compare with the base in FILE (written by vkq-eval or llama-perplexity):\n"
            "                        tokens, context and chunks come from FILE; prints KLD, Δp, same top p\n"
            "  --quant LIST|all      the ladder: re-quantize the model in memory to each type or named mix of the\n"
            "                        comma-separated LIST (all = %s) and compare each\n"
            "                        with the model as it is: bpw, PPL, KLD, top-1 in one table sorted by bpw\n"
            "  --recipe SPEC         one more ladder variant: 'REGEX=TYPE,...[,BASE]' (vkq-quantize's recipes; repeatable)\n"
            "  --imatrix FILE        importance matrix for the ladder's quantizers (llama.cpp's imatrix GGUF)\n"
            "  -ctk A,B.. -ctv A,B.. a list makes the KV-cache ladder: each K/V pair against the F16 base\n"
            "  --csv FILE, --plot DIR  the ladder as CSV; kld.svg and top1.svg (vs bits per weight) in DIR\n"
            "  -ngl N|auto           layers on the GPU: the last N, or as many as fit (default auto); 0 = CPU only\n"
            "  --budget SIZE         VRAM budget for weights and KV cache (512M, 6G); default from the device\n"
            "  --override R=PLACE    tensors whose name matches the regex R go to cpu|gpu|host (repeatable)\n"
            "  -ctk TYPE, -ctv TYPE  KV cache types: F16 (default), F32, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL\n"
            "  --device N|NAME       Vulkan device (default: VKQ_DEVICE, else the best one)\n"
            "  -t N                  CPU threads (default: VKQ_CPU_THREADS, else every core)\n"
            "  --cpu-matmul int8|f32 CPU matmuls: int8 (default; X rounded to int8 per block) or f32\n"
            "                        (weights decoded exactly, fp32 products: the GPU's arithmetic)\n"
            "  --json FILE           the figures as JSON ('-' = stdout, instead of the running values)\n",
            ladder_default);
    return f == stderr ? 2 : 0;
}

static int bad(const char *opt, const char *v, const char *why)
{
    return cli_bad("vkq-eval", opt, v, why);
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.n_ctx = 512};
    o->pl = (eval_placement){.ngl = VKQ_GPU_LAYERS_AUTO, .ctk = VKQ_TYPE_F16, .ctv = VKQ_TYPE_F16};
    cli_placement_init(&o->cli);
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout) - 1;
        if (a[0] != '-') {
            if (o->model) return bad("MODEL", a, "one model only");
            o->model = a;
            continue;
        }
        if (i + 1 >= argc) return bad(a, "", "needs a value");
        const char *v = argv[++i];
        unsigned long u;
        int pr;
        if (!strcmp(a, "-f") || !strcmp(a, "--file")) o->text = v;
        else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            /* At least 4 so that every chunk scores one token or more. */
            if (!cli_parse_uint(v, 1u << 24, &u) || u < 4) return bad(a, v, "not a context length (4 .. 16777216)");
            o->n_ctx = (uint32_t)u;
            o->ctx_given = 1;
        } else if (!strcmp(a, "--chunks")) {
            if (!cli_parse_uint(v, 1u << 30, &u) || !u) return bad(a, v, "not a chunk count (1 or more)");
            o->n_chunks = (uint32_t)u;
        } else if (!strcmp(a, "--kl-divergence-base")) o->kld_base = v;
        else if (!strcmp(a, "--kl-divergence")) o->kld = v;
        else if (!strcmp(a, "--imatrix-collect")) o->imatrix = v;
        else if (!strcmp(a, "--quant")) snprintf(o->quant_list, sizeof o->quant_list, "%s", !strcmp(v, "all") ? ladder_default : v);
        else if (!strcmp(a, "--recipe")) {
            if (o->ladder.n_weights == LADDER_MAX) return bad(a, v, "too many variants");
            o->ladder.weights[o->ladder.n_weights++] = v;
        } else if (!strcmp(a, "--imatrix")) o->ladder.imatrix = v;
        else if (!strcmp(a, "--csv")) o->ladder.csv = v;
        else if (!strcmp(a, "--plot")) o->ladder.plot = v;
        else if (!strcmp(a, "-ctk") || !strcmp(a, "-ctv") || !strcmp(a, "--cache-type-k") ||
                   !strcmp(a, "--cache-type-v")) {
            const int is_k = a[strlen(a) - 1] == 'k';
            vkq_type *list = is_k ? o->ladder.kv_k : o->ladder.kv_v;
            uint32_t n = 0;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *sv = NULL, *it = strtok_r(buf, ",", &sv); it; it = strtok_r(NULL, ",", &sv)) {
                if (n == LADDER_MAX) return bad(a, v, "too many types");
                if (vkq_type_from_name(it, &list[n++]) != VKQ_SUCCESS) return bad(a, it, "not a type name");
            }
            if (!n) return bad(a, v, "not a type name");
            if (is_k) o->n_ctk = n;
            else o->n_ctv = n;
        } else if (!strcmp(a, "--json")) o->json = v;
        else if ((pr = cli_placement_option("vkq-eval", a, v, &o->cli)) == 2) return 2;
        else if (!pr) {
            fprintf(stderr, "vkq-eval: unknown option '%s'\n", a);
            return usage(stderr);
        }
    }
    if (!o->model) return bad("MODEL", "", "missing (vkq-eval MODEL.gguf -f TEXT)");
    o->pl.device = o->cli.device;
    o->pl.overrides = o->cli.overrides;
    o->pl.n_overrides = o->cli.n_overrides;
    o->pl.ngl = o->cli.ngl;
    o->pl.budget = o->cli.budget;
    o->pl.threads = o->cli.threads;
    o->pl.cpu_flags = o->cli.cpu_flags;
    /* --quant items become ladder variants after the --recipe ones' slots */
    if (o->quant_list[0]) {
        const uint32_t n_rec = o->ladder.n_weights;
        const char *rec[LADDER_MAX];
        memcpy(rec, o->ladder.weights, n_rec * sizeof *rec);
        o->ladder.n_weights = 0;
        for (char *sv = NULL, *it = strtok_r(o->quant_list, ",", &sv); it; it = strtok_r(NULL, ",", &sv)) {
            if (o->ladder.n_weights == LADDER_MAX) return bad("--quant", it, "too many variants");
            o->ladder.weights[o->ladder.n_weights++] = it;
        }
        for (uint32_t i = 0; i < n_rec; ++i) {
            if (o->ladder.n_weights == LADDER_MAX) return bad("--recipe", rec[i], "too many variants");
            o->ladder.weights[o->ladder.n_weights++] = rec[i];
        }
    }
    if (o->n_ctk > 1 || o->n_ctv > 1) {
        if (o->n_ctk > 1 && o->n_ctv > 1 && o->n_ctk != o->n_ctv)
            return bad("-ctv", "", "a list as long as -ctk's (pairs), or one type");
        o->ladder.n_kv = o->n_ctk > o->n_ctv ? o->n_ctk : o->n_ctv;
        for (uint32_t i = 0; i < o->ladder.n_kv; ++i) {
            o->ladder.kv_k[i] = o->ladder.kv_k[o->n_ctk > 1 ? i : 0];
            o->ladder.kv_v[i] = o->ladder.kv_v[o->n_ctv > 1 ? i : 0];
        }
        if (o->n_ctk == 0) for (uint32_t i = 0; i < o->ladder.n_kv; ++i) o->ladder.kv_k[i] = VKQ_TYPE_F16;
        if (o->n_ctv == 0) for (uint32_t i = 0; i < o->ladder.n_kv; ++i) o->ladder.kv_v[i] = VKQ_TYPE_F16;
    } else {
        if (o->n_ctk) o->pl.ctk = o->ladder.kv_k[0];
        if (o->n_ctv) o->pl.ctv = o->ladder.kv_v[0];
    }
    for (uint32_t i = 0; i < o->ladder.n_weights; ++i) { /* a bad name fails now, not after the base run */
        vkq_recipe r = NULL;
        if (vkq_recipe_create(o->ladder.weights[i], &r) != VKQ_SUCCESS)
            return bad("--quant/--recipe", o->ladder.weights[i], vkq_last_error());
        vkq_recipe_destroy(r);
    }
    o->is_ladder = o->ladder.n_weights || o->ladder.n_kv;
    if ((o->ladder.imatrix || o->ladder.csv || o->ladder.plot) && !o->is_ladder)
        return bad("--imatrix/--csv/--plot", "", "belong to the ladder: give --quant, --recipe or a -ctk list");
    if (o->is_ladder && (o->kld || o->kld_base || o->imatrix))
        return bad("--quant", "", "the ladder runs its own base: not with --kl-divergence(-base) or --imatrix-collect");
    if (o->kld && o->kld_base)
        return bad("--kl-divergence", o->kld, "reads a base file; --kl-divergence-base writes one: give one of them");
    if (o->imatrix && o->kld) return bad("--imatrix-collect", o->imatrix, "collects over -f TEXT, not with --kl-divergence");
    if (!o->text && !o->kld) return bad("-f", "", "missing: give a text file (or --kl-divergence FILE)");
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "vkq-eval: %s: %s\n", what, vkq_last_error());
    return 1;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* The whole file; one trailing newline dropped, as llama.cpp's -f does, so that both programs
 * see the same token stream. NULL with errno set on failure. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int err = 0;
    while (buf) {
        errno = 0;
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) err = errno ? errno : EIO;
        if (n < cap) break;
        char *b = realloc(buf, cap * 2);
        if (!b) {
            err = ENOMEM;
            break;
        }
        buf = b;
        cap *= 2;
    }
    fclose(f);
    if (!buf || err) {
        free(buf);
        errno = err ? err : ENOMEM;
        return NULL;
    }
    if (n && buf[n - 1] == '\n') --n;
    *len = n;
    return buf;
}

/* The text's tokens with the model's tokenizer; 1 after a message on failure. */
static int tokenize_text(const options *o, int32_t **ids_out, uint32_t *n_out)
{
    size_t text_len = 0;
    char *text = read_text(o->text, &text_len);
    if (!text) {
        fprintf(stderr, "vkq-eval: -f %s: %s\n", o->text, strerror(errno));
        return 1;
    }
    vkq_gguf g = NULL;
    vkq_tokenizer tok = NULL;
    if (vkq_gguf_create(o->model, &g) != VKQ_SUCCESS || vkq_tokenizer_create(g, &tok) != VKQ_SUCCESS) {
        vkq_gguf_destroy(g);
        free(text);
        return fail(o->model);
    }
    vkq_gguf_destroy(g);
    uint32_t n = 0;
    vkq_tokenize(tok, text, text_len, VKQ_TOKENIZE_ADD_SPECIAL, NULL, 0, &n);
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    vkq_status st = ids ? vkq_tokenize(tok, text, text_len, VKQ_TOKENIZE_ADD_SPECIAL, ids, n, &n)
                        : VKQ_ERROR_OUT_OF_HOST_MEMORY;
    free(text);
    vkq_tokenizer_destroy(tok);
    if (st != VKQ_SUCCESS) {
        free(ids);
        return fail("tokenizing the text");
    }
    *ids_out = ids;
    *n_out = n;
    return 0;
}

/* -log softmax(logits)[tok], in double: the sum over a large vocabulary of exp() terms that
 * differ by many orders of magnitude loses digits in float. */
static double nll_of(const float *logits, uint32_t n_vocab, int32_t tok)
{
    float mx = logits[0];
    for (uint32_t i = 1; i < n_vocab; ++i)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (uint32_t i = 0; i < n_vocab; ++i) sum += exp((double)logits[i] - mx);
    return log(sum) - ((double)logits[tok] - mx);
}

/* ---- perplexity ------------------------------------------------------------------------ */

typedef struct ppl_state {
    const options *o;
    uint32_t n_ctx, n_vocab;
    double nll, nll2;
    uint64_t count;
    double *running;
    int print, values_on_tty;
    vkq_logits_writer writer; /* --kl-divergence-base */
} ppl_state;

static int ppl_chunk(void *user, uint32_t c, const int32_t *chunk, const float *logits)
{
    ppl_state *s = user;
    const uint32_t first = s->n_ctx / 2, n_scored = vkq_logits_scored_per_chunk(s->n_ctx), V = s->n_vocab;
    double sum = 0, sum2 = 0;
    for (uint32_t j = 0; j < n_scored; ++j) {
        double v = nll_of(logits + (size_t)j * V, V, chunk[first + j + 1]);
        sum += v;
        sum2 += v * v;
    }
    if (s->writer && vkq_logits_writer_add_chunk(s->writer, logits) != VKQ_SUCCESS)
        return fail("--kl-divergence-base");
    s->nll += sum;
    s->nll2 += sum2;
    s->count += n_scored;
    s->running[c] = exp(s->nll / (double)s->count);
    if (s->print) {
        printf(s->values_on_tty ? "[%u]%.4f,\n" : "[%u]%.4f,", c + 1, s->running[c]);
        fflush(stdout);
    }
    return 0;
}

static void json_placement(FILE *f, const eval_run_info *ri, const options *o)
{
    fprintf(f,
            "\"seconds\": %.3f, \"load_seconds\": %.3f, \"placement\": {\"n_layer\": %u, \"gpu_layers\": %u, "
            "\"head_on_gpu\": %s, \"gpu_weight_bytes\": %llu, \"cpu_weight_bytes\": %llu, \"kv_gpu_bytes\": %llu, "
            "\"kv_cpu_bytes\": %llu, \"demoted_tensors\": %u, \"ctk\": \"%s\", \"ctv\": \"%s\", "
            "\"cpu_matmul\": \"%s\"}",
            ri->eval_s, ri->load_s, ri->ctx.n_layer, ri->ctx.n_gpu_layers, ri->ctx.head_on_gpu ? "true" : "false",
            (unsigned long long)ri->plan.gpu_bytes, (unsigned long long)ri->plan.cpu_bytes,
            (unsigned long long)ri->ctx.kv_gpu_bytes, (unsigned long long)ri->ctx.kv_cpu_bytes, ri->plan.n_demoted,
            vkq_type_get(o->pl.ctk)->name, vkq_type_get(o->pl.ctv)->name,
            o->pl.cpu_flags & VKQ_CPU_EXACT_F32 ? "f32" : "int8");
}

static void log_run(const options *o, const eval_run_info *ri, uint32_t n_chunk, uint32_t n_ctx, uint64_t count,
                    const char *source, uint32_t n_source_tokens)
{
    const double tps = (double)n_chunk * n_ctx / (ri->eval_s > 0 ? ri->eval_s : 1e-9);
    fprintf(stderr,
            "vkq-eval: %s (%s): %u chunks of %u tokens (%llu scored) of %u in %s; %.1f s, %.1f tokens/s; "
            "load %.0f ms\n",
            o->model, ri->arch, n_chunk, n_ctx, (unsigned long long)count, n_source_tokens, source, ri->eval_s, tps,
            ri->load_s * 1e3);
    cli_kv_mix_note("vkq-eval", ri->on_device, o->pl.ngl, ri->ctx.n_gpu_layers, o->pl.ctk, o->pl.ctv);
    fprintf(stderr,
            "vkq-eval: %u of %u layers on the GPU%s, head on the %s; GPU weights %.1f MiB, KV cache %s/%s "
            "(GPU %.1f MiB, CPU %.1f MiB); %u tensor(s) demoted\n",
            ri->ctx.n_gpu_layers, ri->ctx.n_layer, ri->on_device ? "" : " (no device)",
            ri->ctx.head_on_gpu ? "GPU" : "CPU", ri->plan.gpu_bytes / 1048576.0, vkq_type_get(o->pl.ctk)->name,
            vkq_type_get(o->pl.ctv)->name, ri->ctx.kv_gpu_bytes / 1048576.0, ri->ctx.kv_cpu_bytes / 1048576.0,
            ri->plan.n_demoted);
}

static FILE *json_open(const options *o)
{
    FILE *f = strcmp(o->json, "-") ? fopen(o->json, "w") : stdout;
    if (!f) fprintf(stderr, "vkq-eval: --json %s: %s\n", o->json, strerror(errno));
    return f;
}

static int json_close(const options *o, FILE *f)
{
    if (f != stdout && fclose(f)) {
        fprintf(stderr, "vkq-eval: --json %s: %s\n", o->json, strerror(errno));
        return 1;
    }
    return 0;
}

static int run_perplexity(const options *o)
{
    const int json_stdout = o->json && !strcmp(o->json, "-");
    int32_t *ids = NULL;
    uint32_t n_tokens = 0;
    if (tokenize_text(o, &ids, &n_tokens)) return 1;
    const uint32_t n_ctx = o->n_ctx;
    if (n_tokens < 2ull * n_ctx) {
        fprintf(stderr,
                "vkq-eval: %s tokenizes to only %u tokens; perplexity with a context of %u needs at least %llu "
                "(two chunks): give a longer text or a smaller --ctx\n",
                o->text, n_tokens, n_ctx, 2ull * n_ctx);
        free(ids);
        return 1;
    }
    const uint32_t n_chunk_max = n_tokens / n_ctx;
    const uint32_t n_chunk = o->n_chunks && o->n_chunks < n_chunk_max ? o->n_chunks : n_chunk_max;
    ppl_state s = {.o = o, .n_ctx = n_ctx, .print = !json_stdout};
    s.values_on_tty = isatty(STDERR_FILENO) && isatty(STDOUT_FILENO);
    s.running = malloc((size_t)n_chunk * sizeof *s.running);
    int rc = 0;
    if (!s.running) {
        fprintf(stderr, "vkq-eval: out of memory\n");
        rc = 1;
    }
    /* The model's vocabulary size, for the writer, before the pass. */
    vkq_gguf g = NULL;
    vkq_llm_params lp;
    if (!rc && (vkq_gguf_create(o->model, &g) != VKQ_SUCCESS || vkq_llm_params_read(g, &lp) != VKQ_SUCCESS))
        rc = fail(o->model);
    if (!rc) s.n_vocab = lp.n_vocab;
    vkq_gguf_destroy(g);
    if (!rc && o->kld_base &&
        vkq_logits_writer_create(o->kld_base, n_ctx, s.n_vocab, n_chunk, ids, &s.writer) != VKQ_SUCCESS)
        rc = fail("--kl-divergence-base");
    imatrix_state im = {.st = VKQ_SUCCESS};
    eval_placement pl = o->pl;
    if (!rc && o->imatrix) {
        if (pl.ngl != 0) fprintf(stderr, "vkq-eval: --imatrix-collect reads host activations: every layer on the CPU\n");
        pl.ngl = 0;
        im.n_expert = lp.n_expert;
        if (vkq_imatrix_create(&im.m) != VKQ_SUCCESS) rc = fail("--imatrix-collect");
        pl.observer = imatrix_observe;
        pl.observer_user = &im;
    }
    eval_run_info ri;
    if (!rc) {
        eval_pass_args a = {.model = o->model, .placement = &pl, .tokens = ids, .n_ctx = n_ctx,
                            .n_chunk = n_chunk, .n_vocab = s.n_vocab, .vocab_source = o->model,
                            .on_chunk = ppl_chunk, .user = &s};
        rc = eval_pass(&a, &ri);
    }
    if (!rc && s.writer && vkq_logits_writer_finish(s.writer) != VKQ_SUCCESS) rc = fail("--kl-divergence-base");
    if (!rc && im.m) {
        if (im.st != VKQ_SUCCESS) {
            fprintf(stderr, "vkq-eval: --imatrix-collect %s\n", im.error);
            rc = 1;
        } else if (vkq_imatrix_write(im.m, o->imatrix, o->text, n_chunk, n_ctx) != VKQ_SUCCESS) {
            rc = fail("--imatrix-collect");
        } else {
            fprintf(stderr, "vkq-eval: importance matrix of %lld tensors over %u chunks saved to %s\n",
                    (long long)vkq_imatrix_count(im.m), n_chunk, o->imatrix);
        }
    }
    vkq_imatrix_destroy(im.m);
    vkq_logits_writer_destroy(s.writer);
    if (!rc) {
        const double mean = s.nll / (double)s.count, ppl = exp(mean);
        const double var = s.nll2 / (double)s.count - mean * mean;
        const double ppl_err = var > 0 && s.count > 1 ? ppl * sqrt(var / (double)(s.count - 1)) : 0;
        if (!json_stdout) printf("%sPPL = %.4f +/- %.5f\n", s.values_on_tty ? "" : "\n", ppl, ppl_err);
        log_run(o, &ri, n_chunk, n_ctx, s.count, o->text, n_tokens);
        if (o->kld_base) fprintf(stderr, "vkq-eval: log-probabilities saved to %s\n", o->kld_base);
        FILE *f = o->json ? json_open(o) : NULL;
        if (o->json && !f) rc = 1;
        if (f) {
            fprintf(f, "{\"model\": ");
            json_string(f, o->model);
            fprintf(f, ", \"text\": ");
            json_string(f, o->text);
            if (o->kld_base) {
                fprintf(f, ", \"kl_divergence_base\": ");
                json_string(f, o->kld_base);
            }
            const double tps = (double)n_chunk * n_ctx / (ri.eval_s > 0 ? ri.eval_s : 1e-9);
            fprintf(f,
                    ", \"arch\": \"%s\", \"ppl\": %.6f, \"ppl_err\": %.6f, \"chunks\": %u, \"ctx\": %u, "
                    "\"text_tokens\": %u, \"tokens_scored\": %llu, \"tokens_per_s\": %.3f, ",
                    ri.arch, ppl, ppl_err, n_chunk, n_ctx, n_tokens, (unsigned long long)s.count, tps);
            json_placement(f, &ri, o);
            fprintf(f, ", \"running_ppl\": [");
            for (uint32_t c = 0; c < n_chunk; ++c) fprintf(f, "%s%.6f", c ? ", " : "", s.running[c]);
            fprintf(f, "]}\n");
            rc = json_close(o, f);
        }
    }
    free(s.running);
    free(ids);
    return rc;
}

/* ---- KL divergence --------------------------------------------------------------------- */

typedef struct kld_state {
    vkq_logits_file file;
    vkq_logits_file_info fi;
    vkq_kld kld;
    float *base;
    FILE *out; /* NULL: no running lines (--json -) */
} kld_state;

static int kld_chunk(void *user, uint32_t c, const int32_t *chunk, const float *logits)
{
    kld_state *s = user;
    const uint32_t V = s->fi.n_vocab;
    for (uint32_t j = 0; j < s->fi.n_scored; ++j) {
        if (vkq_logits_file_log_probs(s->file, c, j, s->base) != VKQ_SUCCESS ||
            vkq_kld_add(s->kld, s->base, logits + (size_t)j * V, chunk[s->fi.first + j + 1], NULL) != VKQ_SUCCESS)
            return fail("--kl-divergence");
    }
    vkq_kld_summary sum;
    if (s->out && vkq_kld_get_running(s->kld, &sum) != VKQ_SUCCESS) return fail("--kl-divergence");
    if (s->out) {
        if (c == 0) kld_report_head(s->out);
        kld_report_chunk(s->out, c, &sum);
    }
    return 0;
}

static int run_kld(const options *o)
{
    const int json_stdout = o->json && !strcmp(o->json, "-");
    kld_state s = {.out = json_stdout ? NULL : stdout};
    if (vkq_logits_file_create(o->kld, &s.file) != VKQ_SUCCESS) return fail("--kl-divergence");
    vkq_logits_file_get_info(s.file, &s.fi);
    int rc = 0;
    if (o->text) fprintf(stderr, "vkq-eval: -f %s ignored: the tokens come from %s\n", o->text, o->kld);
    if (o->ctx_given && o->n_ctx != s.fi.n_ctx) {
        fprintf(stderr, "vkq-eval: %s was computed with a context of %u, not --ctx %u\n", o->kld, s.fi.n_ctx,
                o->n_ctx);
        rc = 1;
    }
    const uint32_t n_chunk = o->n_chunks && o->n_chunks < s.fi.n_chunk ? o->n_chunks : s.fi.n_chunk;
    if (!rc && (vkq_kld_create(s.fi.n_vocab, &s.kld) != VKQ_SUCCESS ||
                !(s.base = malloc((size_t)s.fi.n_vocab * sizeof *s.base))))
        rc = fail("--kl-divergence");
    eval_run_info ri;
    if (!rc) {
        eval_pass_args a = {.model = o->model, .placement = &o->pl, .tokens = vkq_logits_file_tokens(s.file),
                            .n_ctx = s.fi.n_ctx, .n_chunk = n_chunk, .n_vocab = s.fi.n_vocab,
                            .vocab_source = o->kld, .on_chunk = kld_chunk, .user = &s};
        rc = eval_pass(&a, &ri);
    }
    vkq_kld_summary sum;
    if (!rc && vkq_kld_get_summary(s.kld, &sum) != VKQ_SUCCESS) rc = fail("--kl-divergence");
    if (!rc) {
        if (s.out) kld_report_summary(s.out, &sum);
        log_run(o, &ri, n_chunk, s.fi.n_ctx, sum.count, o->kld, s.fi.n_chunk * s.fi.n_ctx);
        FILE *f = o->json ? json_open(o) : NULL;
        if (o->json && !f) rc = 1;
        if (f) {
            fprintf(f, "{\"model\": ");
            json_string(f, o->model);
            fprintf(f, ", \"kl_divergence\": ");
            json_string(f, o->kld);
            fprintf(f, ", \"arch\": \"%s\", \"chunks\": %u, \"ctx\": %u, ", ri.arch, n_chunk, s.fi.n_ctx);
            kld_report_json(f, &sum);
            fprintf(f, ", ");
            json_placement(f, &ri, o);
            fprintf(f, "}\n");
            rc = json_close(o, f);
        }
    }
    free(s.base);
    vkq_kld_destroy(s.kld);
    vkq_logits_file_destroy(s.file);
    return rc;
}

/* ---- the ladder (ladder.c) ------------------------------------------------------------- */

static int run_ladder_mode(options *o)
{
    int32_t *ids = NULL;
    uint32_t n_tokens = 0;
    if (tokenize_text(o, &ids, &n_tokens)) return 1;
    if (n_tokens < 2ull * o->n_ctx) {
        fprintf(stderr, "vkq-eval: %s tokenizes to only %u tokens; a context of %u needs at least %llu\n", o->text,
                n_tokens, o->n_ctx, 2ull * o->n_ctx);
        free(ids);
        return 1;
    }
    const uint32_t n_chunk_max = n_tokens / o->n_ctx;
    ladder_args *a = &o->ladder;
    a->model = o->model;
    a->text = o->text;
    a->json = o->json;
    a->pl = o->pl;
    a->tokens = ids;
    a->n_ctx = o->n_ctx;
    a->n_chunk = o->n_chunks && o->n_chunks < n_chunk_max ? o->n_chunks : n_chunk_max;
    a->n_text_tokens = n_tokens;
    int rc = run_ladder(a);
    free(ids);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.is_ladder) return run_ladder_mode(&o);
    return o.kld ? run_kld(&o) : run_perplexity(&o);
}
