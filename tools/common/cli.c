/* The placement options of vkq-run and vkq-eval (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/vkquant.h"

void cli_placement_init(cli_placement *p)
{
    *p = (cli_placement){.ngl = VKQ_GPU_LAYERS_AUTO};
}

int cli_bad(const char *prog, const char *opt, const char *val, const char *why)
{
    fprintf(stderr, "%s: %s '%s': %s\n", prog, opt, val, why);
    return 2;
}

int cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v > max || *s == '-') return 0;
    *out = v;
    return 1;
}

int cli_placement_option(const char *prog, const char *a, const char *v, cli_placement *p)
{
    unsigned long u;
    if (!strcmp(a, "-ngl") || !strcmp(a, "--gpu-layers")) {
        if (!strcmp(v, "auto") || !strcmp(v, "-1")) p->ngl = VKQ_GPU_LAYERS_AUTO;
        else if (cli_parse_uint(v, 1u << 20, &u)) p->ngl = (int32_t)u;
        else return cli_bad(prog, a, v, "not a layer count or auto");
    } else if (!strcmp(a, "--budget")) {
        if (vkq_size_parse(v, &p->budget) != VKQ_SUCCESS) return cli_bad(prog, a, v, vkq_last_error());
        if (!p->budget) p->ngl = 0;
    } else if (!strcmp(a, "--override")) {
        if (p->n_overrides == CLI_MAX_OVERRIDES) return cli_bad(prog, a, v, "too many rules");
        p->overrides[p->n_overrides++] = v;
    } else if (!strcmp(a, "--device")) {
        p->device = v;
    } else if (!strcmp(a, "--cpu-matmul")) {
        /* int8 rounds X per block (the fast path, llama.cpp's habit too); f32 is the GPU's
         * arithmetic, for measuring a quantization without the activations' rounding. */
        if (!strcmp(v, "int8")) p->cpu_flags &= ~(uint32_t)VKQ_CPU_EXACT_F32;
        else if (!strcmp(v, "f32")) p->cpu_flags |= VKQ_CPU_EXACT_F32;
        else return cli_bad(prog, a, v, "not int8 or f32");
    } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        if (!cli_parse_uint(v, 256, &u) || !u) return cli_bad(prog, a, v, "not a thread count (1 .. 256)");
        p->threads = (uint32_t)u;
    } else {
        return 0;
    }
    return 1;
}

void cli_kv_mix_note(const char *prog, int on_device, int32_t ngl, uint32_t n_gpu_layers, vkq_type k, vkq_type v)
{
    if (!on_device || ngl == 0 || n_gpu_layers || k == v) return;
    fprintf(stderr,
            "%s: note: -ctk %s and -ctv %s differ; the GPU attention reads K and V with one kernel, so every "
            "layer runs on the CPU (give both one type to offload layers)\n",
            prog, vkq_type_get(k)->name, vkq_type_get(v)->name);
}
