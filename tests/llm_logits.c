/* Runs a model through vkq_context and writes its logits, for tests/check_llm_forward.py to
 * compare against the NumPy f64 reference (tests/ref_forward.py).
 *
 * usage: llm_logits MODEL.gguf OUT.f32 --tokens 1,2,3 [--ngl N|-1] [--ctk TYPE] [--ctv TYPE]
 *                   [--batch N] [--from F] [--ctx N] [--cpu-matmul int8|f32]
 * --ngl: GPU layers (default 0: no device at all; -1: as many as fit); --batch: the tokens go in
 * calls of at most N (default all at once), the logits of every call from token F of the whole
 * sequence on are written as float32 [n - F][vocab]. Prints the placement. Exit 0 on success,
 * 1 with the error otherwise; the Khronos validation layer (VKQ_VALIDATION=1) counts as an error
 * when it printed anything. --errors 1: instead of writing logits, checks that bad calls of the
 * context API return their documented status and a sentence, and change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/vkquant.h"

static int fail(const char *what, vkq_status st);

static int expect(const char *what, vkq_status got, vkq_status want)
{
    const char *msg = vkq_last_error();
    int ok = got == want && msg && msg[0];
    printf("llm_logits: %s %s: %s (%s)\n", ok ? "ok  " : "FAIL", what, vkq_status_string(got), msg ? msg : "");
    return !ok;
}

/* Bad calls of the context API on a loaded model. */
static int check_errors(vkq_model model)
{
    int bad = 0;
    vkq_context_desc cd = vkq_context_desc_default();
    vkq_context ctx = NULL;
    cd.k_type = VKQ_TYPE_Q4_K;
    bad += expect("K cache type Q4_K", vkq_context_create(model, &cd, &ctx), VKQ_ERROR_UNSUPPORTED);
    bad += ctx != NULL;
    cd = vkq_context_desc_default();
    cd.n_ctx = 1u << 25;
    bad += expect("context of 2^25 positions", vkq_context_create(model, &cd, &ctx), VKQ_ERROR_TOO_LARGE);
    cd = vkq_context_desc_default();
    cd.n_ctx = 8;
    cd.n_batch = 4;
    if (vkq_context_create(model, &cd, &ctx) != VKQ_SUCCESS) return fail("context", VKQ_ERROR_INVALID_ARGUMENT);
    const uint32_t V = vkq_context_params(ctx)->n_vocab;
    int32_t toks[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float *logits = malloc((size_t)8 * V * sizeof(float));
    bad += expect("no tokens", vkq_context_eval(ctx, toks, 0, 0, logits), VKQ_ERROR_INVALID_ARGUMENT);
    bad += expect("more tokens than the batch", vkq_context_eval(ctx, toks, 5, 0, logits), VKQ_ERROR_INVALID_ARGUMENT);
    int32_t out_of_vocab[2] = {1, (int32_t)V};
    bad += expect("token id = vocabulary size", vkq_context_eval(ctx, out_of_vocab, 2, 0, logits),
                  VKQ_ERROR_INVALID_ARGUMENT);
    int32_t negative[1] = {-1};
    bad += expect("negative token id", vkq_context_eval(ctx, negative, 1, 0, logits), VKQ_ERROR_INVALID_ARGUMENT);
    bad += expect("logits_from past the tokens", vkq_context_eval(ctx, toks, 2, 3, logits), VKQ_ERROR_INVALID_ARGUMENT);
    bad += vkq_context_pos(ctx) != 0;
    bad += vkq_context_eval(ctx, toks, 4, 4, NULL) != VKQ_SUCCESS;
    bad += vkq_context_eval(ctx, toks, 3, 2, logits) != VKQ_SUCCESS;
    bad += vkq_context_pos(ctx) != 7;
    bad += expect("2 tokens into 1 free position", vkq_context_eval(ctx, toks, 2, 0, logits), VKQ_ERROR_TOO_LARGE);
    bad += vkq_context_pos(ctx) != 7; /* nothing changed */
    bad += vkq_context_eval(ctx, toks, 1, 0, logits) != VKQ_SUCCESS;
    bad += vkq_context_pos(ctx) != 8;
    vkq_context_reset(ctx);
    bad += vkq_context_pos(ctx) != 0;
    bad += expect("NULL tokens", vkq_context_eval(ctx, NULL, 1, 0, logits), VKQ_ERROR_INVALID_ARGUMENT);
    bad += expect("NULL model", vkq_context_create(NULL, NULL, &ctx), VKQ_ERROR_INVALID_ARGUMENT);
    free(logits);
    vkq_context_destroy(ctx);
    printf("llm_logits: error checks %s\n", bad ? "FAILED" : "passed");
    return bad != 0;
}

static int fail(const char *what, vkq_status st)
{
    fprintf(stderr, "llm_logits: %s: %s: %s\n", what, vkq_status_string(st), vkq_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: llm_logits MODEL.gguf OUT.f32 --tokens 1,2,3 [--ngl N] [--ctk T] [--ctv T] "
                        "[--batch N] [--from F] [--ctx N]\n");
        return 2;
    }
    const char *model_path = argv[1], *out_path = argv[2];
    int32_t tokens[4096];
    uint32_t n = 0, batch = 0, from = 0;
    int ngl = 0, errors = 0, exact = 0;
    vkq_context_desc cd = vkq_context_desc_default();
    for (int i = 3; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--tokens")) {
            for (char *s = (char *)v; *s && n < 4096;) {
                tokens[n++] = (int32_t)strtol(s, &s, 10);
                if (*s == ',') ++s;
            }
        } else if (!strcmp(o, "--ngl")) ngl = atoi(v);
        else if (!strcmp(o, "--batch")) batch = (uint32_t)atoi(v);
        else if (!strcmp(o, "--errors")) errors = atoi(v);
        else if (!strcmp(o, "--cpu-matmul")) exact = !strcmp(v, "f32");
        else if (!strcmp(o, "--from")) from = (uint32_t)atoi(v);
        else if (!strcmp(o, "--ctx")) cd.n_ctx = (uint32_t)atoi(v);
        else if (!strcmp(o, "--ctk") || !strcmp(o, "--ctv")) {
            vkq_type t;
            if (vkq_type_from_name(v, &t) != VKQ_SUCCESS) return fail(v, VKQ_ERROR_INVALID_ARGUMENT);
            if (o[4] == 'k') cd.k_type = t;
            else cd.v_type = t;
        } else {
            fprintf(stderr, "llm_logits: unknown option %s\n", o);
            return 2;
        }
    }
    if (!errors && (!n || from >= n)) {
        fprintf(stderr, "llm_logits: no tokens (or --from past them)\n");
        return 2;
    }
    if (!batch) batch = n;
    cd.n_batch = batch;
    if (!cd.n_ctx) cd.n_ctx = n < 64 ? 64 : n;

    vkq_instance inst = NULL;
    vkq_device dev = NULL;
    vkq_status st;
    if (ngl != 0) {
        if ((st = vkq_instance_create(NULL, &inst)) != VKQ_SUCCESS) return fail("instance", st);
        uint32_t idx = 0;
        if ((st = vkq_instance_default_device(inst, &idx)) != VKQ_SUCCESS) return fail("device", st);
        if ((st = vkq_device_create(inst, idx, NULL, &dev)) != VKQ_SUCCESS) return fail("device", st);
    }
    vkq_model_desc md = vkq_model_desc_default();
    md.n_gpu_layers = ngl;
    if (exact) md.cpu_flags |= VKQ_CPU_EXACT_F32;
    vkq_model model;
    if ((st = vkq_model_create(dev, model_path, &md, &model)) != VKQ_SUCCESS) return fail(model_path, st);
    if (errors) {
        int rc = check_errors(model);
        vkq_model_destroy(model);
        vkq_device_destroy(dev);
        uint64_t msgs = inst ? vkq_instance_validation_count(inst) : 0;
        vkq_instance_destroy(inst);
        return rc || msgs;
    }
    vkq_context ctx;
    if ((st = vkq_context_create(model, &cd, &ctx)) != VKQ_SUCCESS) return fail("context", st);
    vkq_context_info info;
    vkq_context_get_info(ctx, &info);
    const uint32_t V = vkq_context_params(ctx)->n_vocab;
    printf("llm_logits: %s, %u tokens in calls of %u, %u/%u layers on the gpu, head on the %s, kv %llu gpu + %llu cpu bytes\n",
           vkq_context_params(ctx)->arch, n, batch, info.n_gpu_layers, info.n_layer, info.head_on_gpu ? "gpu" : "cpu",
           (unsigned long long)info.kv_gpu_bytes, (unsigned long long)info.kv_cpu_bytes);
    float *logits = malloc((size_t)(n - from) * V * sizeof(float));
    if (!logits) return fail("logits", VKQ_ERROR_OUT_OF_HOST_MEMORY);
    for (uint32_t i = 0; i < n; i += batch) {
        uint32_t m = n - i < batch ? n - i : batch;
        uint32_t lf = from > i ? (from - i < m ? from - i : m) : 0;
        float *dst = logits + (size_t)(i + lf - from) * V;
        if ((st = vkq_context_eval(ctx, tokens + i, m, lf, lf < m ? dst : NULL)) != VKQ_SUCCESS)
            return fail("eval", st);
    }
    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(logits, sizeof(float), (size_t)(n - from) * V, f) != (size_t)(n - from) * V || fclose(f))
        return fail(out_path, VKQ_ERROR_IO);
    free(logits);
    vkq_context_destroy(ctx);
    vkq_model_destroy(model);
    vkq_device_destroy(dev);
    uint64_t msgs = inst ? vkq_instance_validation_count(inst) : 0;
    vkq_instance_destroy(inst);
    if (msgs) {
        fprintf(stderr, "llm_logits: %llu validation message(s)\n", (unsigned long long)msgs);
        return 1;
    }
    return 0;
}
