/* The evaluation pass of vkq-eval: one model, placed as asked, run over chunks of tokens the way
 * llama-perplexity runs them, handing each chunk's logits to a callback. Perplexity, the base
 * logits file and the KL divergence are callbacks over it; so can a run over several variants of
 * a model against one base be. */
#ifndef VKQ_TOOLS_EVAL_PASS_H
#define VKQ_TOOLS_EVAL_PASS_H

#include <stdint.h>

#include "vkquant/vkquant.h"

/* Where the weights and the KV cache go (vkq-eval's placement options). */
typedef struct eval_placement {
    const char *device;           /* NULL: VKQ_DEVICE, else the best one */
    const char *const *overrides; /* --override rules */
    uint32_t n_overrides;
    int32_t ngl; /* VKQ_GPU_LAYERS_AUTO, or the last N layers; 0 = CPU only */
    uint64_t budget;
    uint32_t threads;
    uint32_t cpu_flags; /* VKQ_CPU_* of the CPU matmuls (--cpu-matmul) */
    vkq_type ctk, ctv;
    /* Optional: sees every matmul's input (--imatrix-collect); needs ngl 0. */
    vkq_matmul_observer observer;
    void *observer_user;
} eval_placement;

/* What a finished (or failed) pass tells its caller about the run. */
typedef struct eval_run_info {
    char arch[32];
    uint32_t n_vocab;
    int on_device; /* a Vulkan device was used */
    double load_s, eval_s;
    vkq_context_info ctx;
    vkq_plan_totals plan;
} eval_run_info;

/* Called after chunk `chunk` with its n_ctx tokens (as in the input: the BOS put in place of the
 * first is not shown) and the logits of positions n_ctx/2 .. n_ctx-1, n_vocab floats each. Returns
 * 0 to go on, non-zero to stop the pass as failed (having printed why). */
typedef int (*eval_chunk_fn)(void *user, uint32_t chunk, const int32_t *tokens, const float *logits);

typedef struct eval_pass_args {
    const char *model;
    const eval_placement *placement;
    const int32_t *tokens; /* n_chunk * n_ctx */
    uint32_t n_ctx, n_chunk;
    /* When non-zero, the model's vocabulary must have this many tokens; vocab_source names where
     * the number comes from, for the message. */
    uint32_t n_vocab;
    const char *vocab_source;
    eval_chunk_fn on_chunk;
    void *user;
} eval_pass_args;

/* 0 on success; 1 after printing "vkq-eval: ..." on stderr. Draws a progress bar on stderr when
 * it is a terminal, cleared before each callback. `info` is filled as far as the run got. */
int eval_pass(const eval_pass_args *a, eval_run_info *info);

/* Seconds on the monotonic clock. */
double eval_now(void);

#endif
