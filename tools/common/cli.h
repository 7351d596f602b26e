/* Command-line pieces the model-running tools (vkq-run, vkq-eval) share: the placement options
 * (-ngl, --budget, --override, --device, -t) read the same way, with the same messages. */
#ifndef VKQ_TOOLS_CLI_H
#define VKQ_TOOLS_CLI_H

#include <stdint.h>

#include "vkquant/vkquant.h"

#define CLI_MAX_OVERRIDES 64

typedef struct cli_placement {
    const char *device;                          /* --device; NULL: VKQ_DEVICE, else the best */
    const char *overrides[CLI_MAX_OVERRIDES];    /* --override rules, in order */
    uint32_t n_overrides;
    int32_t ngl;                                 /* -ngl: VKQ_GPU_LAYERS_AUTO (default) or N */
    uint64_t budget;                             /* --budget; 0 given: CPU only */
    uint32_t threads;                            /* -t; 0: VKQ_CPU_THREADS, else every core */
    uint32_t cpu_flags;                          /* --cpu-matmul f32: VKQ_CPU_EXACT_F32 */
} cli_placement;

/* The defaults: -ngl auto, nothing else set. */
void cli_placement_init(cli_placement *p);

/* Takes option `opt` with value `val` when it is a placement option: returns 1 (applied), 0 (not
 * one of them) or 2 (a bad value, reported on stderr as "PROG: OPT 'VAL': why"). */
int cli_placement_option(const char *prog, const char *opt, const char *val, cli_placement *p);

/* Prints "PROG: OPT 'VAL': WHY" on stderr; returns 2, the tools' status for bad options. */
int cli_bad(const char *prog, const char *opt, const char *val, const char *why);

/* A decimal number 0 .. max, nothing else: 1 and *out, or 0. */
int cli_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* When K and V cache types differ, layers were asked for on a device and none runs there, says
 * on stderr why: the GPU attention reads K and V through one decode function, so a GPU layer
 * needs one type for both. */
void cli_kv_mix_note(const char *prog, int on_device, int32_t ngl, uint32_t n_gpu_layers, vkq_type k, vkq_type v);

#endif
