/* vkq-eval's ladder: one base run of the model as it is, then every variant against it in one
 * command. A weight variant re-quantizes every weight tensor of the model with vkquant's
 * quantizers (src/convert: a plain type, a named mix or a recipe, with an optional imatrix) into
 * an anonymous in-memory file (memfd) that the pass loads like any GGUF; a KV-cache variant runs
 * the unmodified model with another cache type. Each variant's figures (model bytes, bits per
 * weight, PPL, ΔPPL, KLD mean and 99 %, top-1 agreement) come from the base's log-probabilities,
 * kept in a temporary logits file (llama-perplexity's layout, src/eval) that is removed at the
 * end. One table sorted by bits per weight (KV variants by cache bits), --json, --csv, --plot. */
#ifndef VKQ_TOOLS_EVAL_LADDER_H
#define VKQ_TOOLS_EVAL_LADDER_H

#include "pass.h"

#define LADDER_MAX 32

typedef struct ladder_args {
    const char *model, *text;
    const char *json, *csv, *plot; /* NULL: not written */
    const char *imatrix;           /* --imatrix FILE for the quantizers, or NULL */
    const char *weights[LADDER_MAX]; /* recipe specs, one variant each */
    uint32_t n_weights;
    vkq_type kv_k[LADDER_MAX], kv_v[LADDER_MAX]; /* KV-cache variants */
    uint32_t n_kv;
    eval_placement pl; /* the base's placement (its KV types are the base's) */
    const int32_t *tokens;
    uint32_t n_ctx, n_chunk, n_text_tokens;
} ladder_args;

/* The names --quant all stands for, comma-separated. */
extern const char ladder_default[];

/* 0 on success; 1 after a message on stderr. */
int run_ladder(const ladder_args *a);

#endif
