/* The evaluation pass (pass.h): chunk i is evaluated from an empty KV cache in batches of up to
 * 512 tokens, its first token replaced by BOS when the model adds BOS; only the logits of the
 * second half are computed, as only they are scored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pass.h"
#include "vkquant/tokenizer.h"

#define MAX_BATCH 512

double eval_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void log_demotion(void *user, const char *message)
{
    (void)user;
    fprintf(stderr, "vkq-eval: %s\n", message);
}

static int fail(const char *what)
{
    fprintf(stderr, "vkq-eval: %s: %s\n", what, vkq_last_error());
    return 1;
}

static void progress(uint32_t done, uint32_t total, double elapsed)
{
    enum { W = 30 };
    char bar[W + 1];
    uint32_t fill = (uint32_t)((uint64_t)done * W / total);
    for (uint32_t i = 0; i < W; ++i) bar[i] = i < fill ? '#' : '-';
    bar[W] = 0;
    fprintf(stderr, "\r\033[K[%s] %u/%u chunks", bar, done, total);
    if (done) {
        int eta = (int)(elapsed / done * (total - done) + 0.5);
        fprintf(stderr, ", ETA %d:%02d", eta / 60, eta % 60);
    }
    fflush(stderr);
}

/* The model's hyper-parameters and whether (and which) BOS it puts first. */
static int read_model(const char *path, vkq_llm_params *lp, char *arch, size_t arch_cap, int32_t *bos)
{
    vkq_gguf g = NULL;
    vkq_tokenizer tok = NULL;
    int rc = 0;
    if (vkq_gguf_create(path, &g) != VKQ_SUCCESS || vkq_llm_params_read(g, lp) != VKQ_SUCCESS ||
        vkq_tokenizer_create(g, &tok) != VKQ_SUCCESS)
        rc = fail(path);
    else {
        snprintf(arch, arch_cap, "%s", lp->arch);
        lp->arch = NULL; /* points into g */
        *bos = vkq_tokenizer_add_bos(tok) ? vkq_tokenizer_bos(tok) : -1;
    }
    vkq_tokenizer_destroy(tok);
    vkq_gguf_destroy(g);
    return rc;
}

/* The device, or NULL for the CPU: with -ngl auto a missing device is a note, not an error. */
static int open_device(const eval_placement *pl, vkq_instance *inst, vkq_device *dev)
{
    *inst = NULL;
    *dev = NULL;
    if (pl->ngl == 0) return 0;
    uint32_t idx = 0;
    if (vkq_instance_create(NULL, inst) == VKQ_SUCCESS && vkq_instance_select_device(*inst, pl->device, &idx) == VKQ_SUCCESS &&
        vkq_device_create(*inst, idx, NULL, dev) == VKQ_SUCCESS)
        return 0;
    if (pl->device || pl->ngl > 0) return fail("the Vulkan device");
    fprintf(stderr, "vkq-eval: no Vulkan device (%s): running on the CPU\n", vkq_last_error());
    vkq_device_destroy(*dev);
    *dev = NULL;
    return 0;
}

int eval_pass(const eval_pass_args *a, eval_run_info *info)
{
    memset(info, 0, sizeof *info);
    const eval_placement *pl = a->placement;
    const double t0 = eval_now();
    vkq_llm_params lp;
    int32_t bos = -1;
    if (read_model(a->model, &lp, info->arch, sizeof info->arch, &bos)) return 1;
    info->n_vocab = lp.n_vocab;
    if (a->n_vocab && a->n_vocab != lp.n_vocab) {
        fprintf(stderr, "vkq-eval: %s has a vocabulary of %u tokens, %s has %u: not the same vocabulary\n", a->model,
                lp.n_vocab, a->vocab_source ? a->vocab_source : "the input", a->n_vocab);
        return 1;
    }
    const uint64_t n_tok = (uint64_t)a->n_ctx * a->n_chunk;
    for (uint64_t i = 0; i < n_tok; ++i)
        if (a->tokens[i] < 0 || (uint32_t)a->tokens[i] >= lp.n_vocab) {
            fprintf(stderr, "vkq-eval: token %llu is %d, outside the vocabulary of %s (%u tokens)\n",
                    (unsigned long long)i, a->tokens[i], a->model, lp.n_vocab);
            return 1;
        }

    vkq_instance inst = NULL;
    vkq_device dev = NULL;
    vkq_model model = NULL;
    vkq_context ctx = NULL;
    float *logits = NULL;
    int32_t *batch = NULL;
    int rc = open_device(pl, &inst, &dev);
    if (rc) goto done;
    info->on_device = dev != NULL;
    vkq_model_desc md = vkq_model_desc_default();
    md.n_gpu_layers = pl->ngl;
    md.vram_budget = pl->budget;
    md.overrides = pl->overrides;
    md.n_overrides = pl->n_overrides;
    md.cpu_threads = pl->threads;
    md.cpu_flags = pl->cpu_flags;
    md.log = log_demotion;
    md.layer_reserve = vkq_llm_kv_bytes_per_layer(&lp, a->n_ctx, pl->ctk, pl->ctv);
    if (vkq_model_create(dev, a->model, &md, &model) != VKQ_SUCCESS) {
        rc = fail(a->model);
        goto done;
    }
    const uint32_t n_ctx = a->n_ctx, nb = n_ctx < MAX_BATCH ? n_ctx : MAX_BATCH;
    vkq_context_desc cd = vkq_context_desc_default();
    cd.n_ctx = n_ctx;
    cd.n_batch = nb;
    cd.k_type = pl->ctk;
    cd.v_type = pl->ctv;
    cd.observer = pl->observer;
    cd.observer_user = pl->observer_user;
    if (vkq_context_create(model, &cd, &ctx) != VKQ_SUCCESS) {
        rc = fail("creating the context");
        goto done;
    }
    vkq_context_get_info(ctx, &info->ctx);
    vkq_plan_get_totals(vkq_model_plan(model), &info->plan);

    const uint32_t V = lp.n_vocab, first = n_ctx / 2;
    logits = malloc((size_t)(n_ctx - first) * V * sizeof *logits);
    batch = malloc((size_t)nb * sizeof *batch);
    if (!logits || !batch) {
        fprintf(stderr, "vkq-eval: out of memory for the logits of %u positions\n", n_ctx - first);
        rc = 1;
        goto done;
    }
    info->load_s = eval_now() - t0;
    const int bar = isatty(STDERR_FILENO);
    const double te = eval_now();
    if (bar) progress(0, a->n_chunk, 0);
    for (uint32_t c = 0; c < a->n_chunk && !rc; ++c) {
        const int32_t *chunk = a->tokens + (size_t)c * n_ctx;
        vkq_context_reset(ctx);
        for (uint32_t p = 0; p < n_ctx; p += nb) {
            uint32_t m = n_ctx - p < nb ? n_ctx - p : nb;
            memcpy(batch, chunk + p, m * sizeof *batch);
            if (p == 0 && bos >= 0) batch[0] = bos;
            /* Only positions >= first have their logits kept; a batch wholly before it skips
             * the output head. */
            uint32_t from = first > p ? (first - p < m ? first - p : m) : 0;
            float *dst = from < m ? logits + (size_t)(p + from - first) * V : NULL;
            if (vkq_context_eval(ctx, batch, m, from, dst) != VKQ_SUCCESS) {
                if (bar) fprintf(stderr, "\r\033[K");
                rc = fail("evaluating the text");
                goto done;
            }
        }
        if (bar) fprintf(stderr, "\r\033[K");
        rc = a->on_chunk(a->user, c, chunk, logits);
        if (bar && !rc && c + 1 < a->n_chunk) progress(c + 1, a->n_chunk, eval_now() - te);
    }
    info->eval_s = eval_now() - te;
done:
    free(batch);
    free(logits);
    vkq_context_destroy(ctx);
    vkq_model_destroy(model);
    vkq_device_destroy(dev);
    vkq_instance_destroy(inst);
    return rc;
}
