/* vkq-eval --quant / -ctk LIST: the ladder (ladder.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ladder.h"
#include "svg_chart.h"

const char ladder_default[] = "Q2_K,Q3_K,IQ4_XS,Q4_0,Q4_K,Q4_K_M,Q5_K,Q6_K,Q8_0";

typedef struct variant {
    char name[96];
    int kv;                 /* a KV-cache variant */
    uint64_t bytes;         /* weight tensor bytes */
    double bpw;             /* weights: bits per weight; KV: bits per cached element (K and V mean) */
    double quant_s, eval_s;
    vkq_kld_summary s;
} variant;

static int fail(const char *what)
{
    fprintf(stderr, "vkq-eval: %s: %s\n", what, vkq_last_error());
    return 1;
}

/* ---- the base run: its log-probabilities to the temporary file ---- */
typedef struct base_state {
    vkq_logits_writer w;
} base_state;

static int base_chunk(void *user, uint32_t c, const int32_t *tokens, const float *logits)
{
    (void)c;
    (void)tokens;
    base_state *s = user;
    return vkq_logits_writer_add_chunk(s->w, logits) == VKQ_SUCCESS ? 0 : fail("the base's log-probabilities");
}

/* ---- a variant against the base ---- */
typedef struct cmp_state {
    vkq_logits_file file;
    vkq_logits_file_info fi;
    vkq_kld kld;
    float *base;
} cmp_state;

static int cmp_chunk(void *user, uint32_t c, const int32_t *chunk, const float *logits)
{
    cmp_state *s = user;
    for (uint32_t j = 0; j < s->fi.n_scored; ++j)
        if (vkq_logits_file_log_probs(s->file, c, j, s->base) != VKQ_SUCCESS ||
            vkq_kld_add(s->kld, s->base, logits + (size_t)j * s->fi.n_vocab, chunk[s->fi.first + j + 1], NULL) !=
                VKQ_SUCCESS)
            return fail("comparing with the base");
    return 0;
}

static int run_variant(const ladder_args *a, cmp_state *cs, const char *model, const eval_placement *pl,
                       variant *v)
{
    vkq_kld_destroy(cs->kld);
    cs->kld = NULL;
    if (vkq_kld_create(cs->fi.n_vocab, &cs->kld) != VKQ_SUCCESS) return fail("KL divergence");
    eval_pass_args pa = {.model = model, .placement = pl, .tokens = a->tokens, .n_ctx = a->n_ctx,
                         .n_chunk = a->n_chunk, .n_vocab = cs->fi.n_vocab, .vocab_source = a->model,
                         .on_chunk = cmp_chunk, .user = cs};
    eval_run_info ri;
    if (eval_pass(&pa, &ri)) return 1;
    v->eval_s = ri.eval_s;
    return vkq_kld_get_summary(cs->kld, &v->s) == VKQ_SUCCESS ? 0 : fail("KL divergence");
}

static void progress_note(void *user, int64_t i, int64_t n, const char *name, uint64_t done, uint64_t total)
{
    (void)i, (void)n, (void)name;
    const char *what = user;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[Kvkq-eval: quantizing %s %3.0f %%", what, total ? 100.0 * done / total : 100.0);
}

/* Re-quantizes the model into a memfd; *fd_out open on success. */
static int quantize_variant(const ladder_args *a, vkq_gguf g, vkq_imatrix im, const char *spec, int *fd_out,
                            variant *v)
{
    vkq_recipe r = NULL;
    if (vkq_recipe_create(spec, &r) != VKQ_SUCCESS) return fail(spec);
    int fd = memfd_create("vkq-eval-variant", MFD_CLOEXEC);
    if (fd < 0) {
        vkq_recipe_destroy(r);
        fprintf(stderr, "vkq-eval: %s: memfd_create: %s\n", spec, strerror(errno));
        return 1;
    }
    vkq_quantize_model_options qo = {.recipe = r, .imatrix = im, .n_threads = a->pl.threads,
                                     .progress = progress_note, .progress_user = (void *)spec};
    vkq_quantize_model_result res;
    const double t0 = eval_now();
    vkq_status st = vkq_quantize_model_to_fd(g, fd, &qo, &res);
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
    vkq_recipe_destroy(r);
    if (st != VKQ_SUCCESS) {
        close(fd);
        return fail(spec);
    }
    v->quant_s = eval_now() - t0;
    v->bytes = res.out_tensor_bytes;
    v->bpw = res.n_weights ? 8.0 * (double)res.out_tensor_bytes / (double)res.n_weights : 0;
    *fd_out = fd;
    return 0;
}

static int by_bpw(const void *x, const void *y)
{
    const variant *a = x, *b = y;
    if (a->kv != b->kv) return a->kv - b->kv;
    return (a->bpw > b->bpw) - (a->bpw < b->bpw);
}

static double kv_bits(vkq_type k, vkq_type v)
{
    return (vkq_type_get(k)->bits_per_weight + vkq_type_get(v)->bits_per_weight) / 2;
}

static void print_table(FILE *f, const variant *vs, uint32_t n, double ppl_base)
{
    fprintf(f, "\n| variant | weight MiB | bpw | PPL | ΔPPL | mean KLD | 99 %% KLD | top-1 %% | quantize s | eval s |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|\n");
    for (uint32_t i = 0; i < n; ++i) {
        const variant *v = &vs[i];
        if (v->kv)
            fprintf(f, "| %s | - | %.2f (KV) |", v->name, v->bpw);
        else
            fprintf(f, "| %s | %.1f | %.3f |", v->name, v->bytes / 1048576.0, v->bpw);
        fprintf(f, " %.4f ± %.4f | %+.4f | %.6f ± %.6f | %.5f | %.2f ± %.2f | %.1f | %.1f |\n", v->s.ppl, v->s.ppl_err,
                v->s.ppl - ppl_base, v->s.kld, v->s.kld_err, v->s.kld_percentile[1], 100 * v->s.same_top,
                100 * v->s.same_top_err, v->quant_s, v->eval_s);
    }
}

static int write_json(const ladder_args *a, const variant *vs, uint32_t n, double ppl_base, double base_s)
{
    FILE *f = !strcmp(a->json, "-") ? stdout : fopen(a->json, "w");
    if (!f) {
        fprintf(stderr, "vkq-eval: --json %s: %s\n", a->json, strerror(errno));
        return 1;
    }
    fprintf(f, "{\"model\": \"%s\", \"ctx\": %u, \"chunks\": %u, \"base\": {\"ppl\": %.6f, \"seconds\": %.3f}, "
               "\"variants\": [", a->model, a->n_ctx, a->n_chunk, ppl_base, base_s);
    for (uint32_t i = 0; i < n; ++i) {
        const variant *v = &vs[i];
        fprintf(f,
                "%s\n  {\"name\": \"%s\", \"kind\": \"%s\", \"weight_bytes\": %llu, \"bpw\": %.6f, \"ppl\": %.6f, "
                "\"ppl_err\": %.6f, \"delta_ppl\": %.6f, \"kld\": %.8f, \"kld_err\": %.8f, \"kld_99\": %.8f, "
                "\"kld_max\": %.8f, \"top1\": %.6f, \"top1_err\": %.6f, \"quantize_seconds\": %.3f, "
                "\"eval_seconds\": %.3f}",
                i ? "," : "", v->name, v->kv ? "kv" : "weights", (unsigned long long)v->bytes, v->bpw, v->s.ppl,
                v->s.ppl_err, v->s.ppl - ppl_base, v->s.kld, v->s.kld_err, v->s.kld_percentile[1], v->s.kld_max,
                v->s.same_top, v->s.same_top_err, v->quant_s, v->eval_s);
    }
    fprintf(f, "\n]}\n");
    if (f != stdout && fclose(f)) {
        fprintf(stderr, "vkq-eval: --json %s: %s\n", a->json, strerror(errno));
        return 1;
    }
    return 0;
}

static int write_csv(const ladder_args *a, const variant *vs, uint32_t n, double ppl_base)
{
    FILE *f = fopen(a->csv, "w");
    if (!f) {
        fprintf(stderr, "vkq-eval: --csv %s: %s\n", a->csv, strerror(errno));
        return 1;
    }
    fprintf(f, "name,kind,weight_bytes,bpw,ppl,ppl_err,delta_ppl,kld,kld_err,kld_99,top1,top1_err\n");
    for (uint32_t i = 0; i < n; ++i) {
        const variant *v = &vs[i];
        fprintf(f, "%s,%s,%llu,%.6f,%.6f,%.6f,%.6f,%.8f,%.8f,%.8f,%.6f,%.6f\n", v->name, v->kv ? "kv" : "weights",
                (unsigned long long)v->bytes, v->bpw, v->s.ppl, v->s.ppl_err, v->s.ppl - ppl_base, v->s.kld,
                v->s.kld_err, v->s.kld_percentile[1], v->s.same_top, v->s.same_top_err);
    }
    if (fclose(f)) {
        fprintf(stderr, "vkq-eval: --csv %s: %s\n", a->csv, strerror(errno));
        return 1;
    }
    return 0;
}

/* kld.svg (mean KLD vs bpw, log y) and top1.svg (top-1 agreement vs bpw), weight variants. */
static int write_plots(const ladder_args *a, const variant *vs, uint32_t n)
{
    svg_chart *c = calloc(1, sizeof *c);
    if (!c) return 1;
    int rc = 0;
    for (int which = 0; which < 2; ++which) {
        memset(c, 0, sizeof *c);
        snprintf(c->title, sizeof c->title, "%s vs bits per weight", which ? "Top-1 agreement" : "Mean KL divergence");
        snprintf(c->subtitle, sizeof c->subtitle, "%s against its own run; ctx %u, %u chunks of %s", a->model, a->n_ctx,
                 a->n_chunk, a->text);
        c->xlabel = "bits per weight";
        c->ylabel = which ? "top-1 agreement (%)" : "mean KLD (nats)";
        c->xscale = SVG_LIN;
        c->yscale = which ? SVG_LIN : SVG_LOG10;
        c->ns = 1;
        snprintf(c->s[0].name, sizeof c->s[0].name, "re-quantized");
        c->s[0].color = svg_colors[0];
        for (uint32_t i = 0; i < n && c->s[0].n < SVG_MAX_POINTS; ++i) {
            if (vs[i].kv) continue;
            int j = c->s[0].n++;
            c->s[0].x[j] = vs[i].bpw;
            c->s[0].y[j] = which ? 100 * vs[i].s.same_top : vs[i].s.kld;
            c->s[0].label[j] = vs[i].name;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", a->plot, which ? "top1.svg" : "kld.svg");
        rc |= svg_chart_write("vkq-eval", path, c);
    }
    free(c);
    return rc;
}

/* The base's log-probabilities (0.5 GB for 4 chunks of a 262k vocabulary) go to a file without a
 * name, read back through /proc/self/fd: however the run ends, even killed, nothing stays in
 * dir. O_TMPFILE where the file system has it, else a file unlinked at once. */
static int open_unnamed(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    char p[512];
    snprintf(p, sizeof p, "%s/vkq-eval-base-XXXXXX", dir);
    fd = mkostemp(p, O_CLOEXEC);
    if (fd >= 0) unlink(p);
    return fd;
}

int run_ladder(const ladder_args *a)
{
    const uint32_t n = a->n_weights + a->n_kv;
    variant *vs = calloc(n ? n : 1, sizeof *vs);
    vkq_gguf g = NULL;
    vkq_imatrix im = NULL;
    cmp_state cs = {0};
    base_state bs = {0};
    const char *dir = getenv("TMPDIR");
    const int base_fd = open_unnamed(dir && *dir ? dir : "/tmp");
    char base_path[64];
    snprintf(base_path, sizeof base_path, "/proc/self/fd/%d", base_fd);
    int rc = 0;
    if (!vs || base_fd < 0) {
        if (base_fd < 0)
            fprintf(stderr, "vkq-eval: a temporary file in %s: %s\n", dir && *dir ? dir : "/tmp", strerror(errno));
        else
            fprintf(stderr, "vkq-eval: out of memory\n");
        if (base_fd >= 0) close(base_fd);
        free(vs);
        return 1;
    }
    if (vkq_gguf_create(a->model, &g) != VKQ_SUCCESS) rc = fail(a->model);
    vkq_llm_params lp;
    if (!rc && vkq_llm_params_read(g, &lp) != VKQ_SUCCESS) rc = fail(a->model);
    if (!rc && a->imatrix && vkq_imatrix_read(a->imatrix, &im) != VKQ_SUCCESS) rc = fail(a->imatrix);
    /* The base run. */
    double ppl_base = 0, base_s = 0;
    if (!rc) {
        if (vkq_logits_writer_create_fd(base_fd, a->n_ctx, lp.n_vocab, a->n_chunk, a->tokens, &bs.w) != VKQ_SUCCESS)
            rc = fail("the base's log-probabilities");
        eval_run_info ri;
        eval_pass_args pa = {.model = a->model, .placement = &a->pl, .tokens = a->tokens, .n_ctx = a->n_ctx,
                             .n_chunk = a->n_chunk, .n_vocab = lp.n_vocab, .vocab_source = a->model,
                             .on_chunk = base_chunk, .user = &bs};
        fprintf(stderr, "vkq-eval: base: %s as it is, KV cache %s/%s\n", a->model, vkq_type_get(a->pl.ctk)->name,
                vkq_type_get(a->pl.ctv)->name);
        if (!rc && !(rc = eval_pass(&pa, &ri))) base_s = ri.eval_s;
        /* The int8 rounding of X re-rounds differently as soon as a weight moves: noise of its
         * own in every variant's figures (Q8_0 on Gemma 3 270M: KLD 0.0062 with it, 0.00055
         * without, bench/RESULTS.md). */
        if (!rc && ri.ctx.n_gpu_layers < ri.ctx.n_layer && !(a->pl.cpu_flags & VKQ_CPU_EXACT_F32))
            fprintf(stderr, "vkq-eval: note: CPU layers round activations to int8 (--cpu-matmul int8), which adds "
                            "its own noise to every variant's KLD and top-1; --cpu-matmul f32 measures the "
                            "weights alone\n");
        if (!rc && vkq_logits_writer_finish(bs.w) != VKQ_SUCCESS) rc = fail("the base's log-probabilities");
        vkq_logits_writer_destroy(bs.w);
    }
    if (!rc && vkq_logits_file_create(base_path, &cs.file) != VKQ_SUCCESS) rc = fail("the base's log-probabilities");
    if (!rc) {
        vkq_logits_file_get_info(cs.file, &cs.fi);
        if (!(cs.base = malloc((size_t)cs.fi.n_vocab * sizeof *cs.base))) rc = fail("out of memory");
    }
    for (uint32_t i = 0; !rc && i < a->n_weights; ++i) {
        variant *v = &vs[i];
        snprintf(v->name, sizeof v->name, "%s", a->weights[i]);
        int fd = -1;
        if ((rc = quantize_variant(a, g, im, a->weights[i], &fd, v))) break;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        rc = run_variant(a, &cs, path, &a->pl, v);
        close(fd);
        if (!rc)
            fprintf(stderr, "vkq-eval: %-12s %.3f bpw  PPL %.4f  KLD %.6f  top-1 %.2f %%  (quantize %.1f s, eval %.1f s)\n",
                    v->name, v->bpw, v->s.ppl, v->s.kld, 100 * v->s.same_top, v->quant_s, v->eval_s);
    }
    for (uint32_t i = 0; !rc && i < a->n_kv; ++i) {
        variant *v = &vs[a->n_weights + i];
        v->kv = 1;
        snprintf(v->name, sizeof v->name, "KV %s/%s", vkq_type_get(a->kv_k[i])->name, vkq_type_get(a->kv_v[i])->name);
        v->bpw = kv_bits(a->kv_k[i], a->kv_v[i]);
        eval_placement pl = a->pl;
        pl.ctk = a->kv_k[i];
        pl.ctv = a->kv_v[i];
        rc = run_variant(a, &cs, a->model, &pl, v);
        if (!rc)
            fprintf(stderr, "vkq-eval: %-12s PPL %.4f  KLD %.6f  top-1 %.2f %%  (eval %.1f s)\n", v->name, v->s.ppl,
                    v->s.kld, 100 * v->s.same_top, v->eval_s);
    }
    if (!rc) {
        qsort(vs, n, sizeof *vs, by_bpw);
        ppl_base = n ? vs[0].s.ppl_base : 0;
        fprintf(stdout, "base %s: PPL %.4f (ctx %u, %u chunks, %s)\n", a->model, ppl_base, a->n_ctx, a->n_chunk,
                a->text);
        if (!a->json || strcmp(a->json, "-")) print_table(stdout, vs, n, ppl_base);
        if (a->json) rc |= write_json(a, vs, n, ppl_base, base_s);
        if (a->csv) rc |= write_csv(a, vs, n, ppl_base);
        if (a->plot) rc |= write_plots(a, vs, n);
    }
    free(cs.base);
    vkq_kld_destroy(cs.kld);
    vkq_logits_file_destroy(cs.file);
    close(base_fd);
    vkq_imatrix_destroy(im);
    vkq_gguf_destroy(g);
    free(vs);
    return rc;
}
