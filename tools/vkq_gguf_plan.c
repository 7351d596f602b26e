/* vkq-gguf --plan: prints where each layer of a GGUF model would live under a VRAM budget.
 * With --budget no device is opened (the plan is pure logic); without it the default device's
 * budget is used (vkq_vram_budget_get, which also reads VKQ_VRAM_BUDGET). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/vkquant.h"
#include "vkquant/gguf.h"
#include "vkquant/model.h"

#define MAX_OVERRIDES 64

static int usage(void)
{
    fprintf(stderr,
            "usage: vkq-gguf --plan [--budget SIZE] [--gpu-layers N|auto] [--override REGEX=PLACE]... [--ctx N] FILE\n"
            "Prints the placement plan: per layer where it goes and its bytes, totals vs the budget.\n"
            "  --budget SIZE       VRAM budget for weights (512M, 6G, bytes); no device is opened\n"
            "  --gpu-layers N      the last N layers on the GPU (default auto: as many as fit)\n"
            "  --override R=PLACE  tensors whose name matches the POSIX regex R go to PLACE\n"
            "  --ctx N             reserve the KV cache of N positions for each GPU layer\n"
            "  -ctk T, -ctv T      KV cache types for --ctx (default F16)\n"
            "                      (cpu, gpu or host); repeatable, the first match wins\n");
    return 2;
}

/* Budget from the default device (or VKQ_VRAM_BUDGET); returns non-zero on failure. */
static int device_budget(vkq_vram_budget *b)
{
    vkq_instance inst = NULL;
    vkq_device dev = NULL;
    uint32_t index;
    vkq_status st = vkq_instance_create(NULL, &inst);
    if (st == VKQ_SUCCESS) st = vkq_instance_default_device(inst, &index);
    if (st == VKQ_SUCCESS) st = vkq_device_create(inst, index, NULL, &dev);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-gguf: no device for the budget (%s); pass --budget SIZE\n",
                vkq_status_string(st));
        vkq_instance_destroy(inst);
        return 1;
    }
    st = vkq_vram_budget_get(dev, 0, 0, b);
    if (st == VKQ_SUCCESS) printf("device: %s\n", vkq_device_get_info(dev)->name);
    vkq_device_destroy(dev);
    vkq_instance_destroy(inst);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-gguf: %s\n", vkq_last_error());
        return 1;
    }
    return 0;
}

int vkq_gguf_plan_main(int argc, char **argv)
{
    const char *path = NULL, *overrides[MAX_OVERRIDES];
    uint32_t n_overrides = 0;
    uint64_t budget = 0;
    int have_budget = 0;
    int32_t gpu_layers = VKQ_GPU_LAYERS_AUTO;
    uint32_t n_ctx = 0;
    vkq_type kv_type[2] = {VKQ_TYPE_F16, VKQ_TYPE_F16};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--plan")) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (a[0] != '-') {
            if (path) {
                fprintf(stderr, "vkq-gguf: one FILE only, got '%s' and '%s'\n", path, a);
                return 2;
            }
            path = a;
            continue;
        }
        if (strcmp(a, "--budget") && strcmp(a, "--gpu-layers") && strcmp(a, "--override") && strcmp(a, "--ctx") &&
            strcmp(a, "-ctk") && strcmp(a, "-ctv")) {
            fprintf(stderr, "vkq-gguf: unknown option '%s'\n", a);
            return usage();
        }
        /* "--budget --override x" lacks the budget rather than naming "--override" as one. */
        if (i + 1 == argc || !strncmp(argv[i + 1], "--", 2)) {
            fprintf(stderr, "vkq-gguf: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--budget")) {
            if (vkq_size_parse(v, &budget) != VKQ_SUCCESS) {
                fprintf(stderr, "vkq-gguf: --budget: %s\n", vkq_last_error());
                return 2;
            }
            have_budget = 1;
        } else if (!strcmp(a, "--ctx")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > (1L << 24)) {
                fprintf(stderr, "vkq-gguf: --ctx: \"%s\" is not a context length (1 .. 16777216)\n", v);
                return 2;
            }
            n_ctx = (uint32_t)n;
        } else if (!strcmp(a, "-ctk") || !strcmp(a, "-ctv")) {
            if (vkq_type_from_name(v, &kv_type[a[3] == 'v']) != VKQ_SUCCESS) {
                fprintf(stderr, "vkq-gguf: %s: \"%s\" is not a type name\n", a, v);
                return 2;
            }
        } else if (!strcmp(a, "--gpu-layers")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!strcmp(v, "auto") || !strcmp(v, "-1"))
                gpu_layers = VKQ_GPU_LAYERS_AUTO;
            else if (*v && !*end && n >= 0 && n < (1L << 30))
                gpu_layers = (int32_t)n;
            else {
                fprintf(stderr, "vkq-gguf: --gpu-layers: \"%s\" is not a layer count or auto\n", v);
                return 2;
            }
        } else {
            if (n_overrides == MAX_OVERRIDES) {
                fprintf(stderr, "vkq-gguf: more than %d --override\n", MAX_OVERRIDES);
                return 2;
            }
            overrides[n_overrides++] = v;
        }
    }
    if (!path) return usage();

    vkq_gguf g = NULL;
    vkq_status st = vkq_gguf_create(path, &g);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-gguf: %s\n", vkq_last_error()[0] ? vkq_last_error() : vkq_status_string(st));
        return 1;
    }
    vkq_vram_budget b = {.budget = budget, .source = VKQ_BUDGET_API};
    if (!have_budget && device_budget(&b)) {
        vkq_gguf_destroy(g);
        return 1;
    }
    const int64_t n = vkq_gguf_tensor_count(g);
    vkq_plan_tensor *pt = calloc(n ? (size_t)n : 1, sizeof *pt);
    if (!pt) {
        vkq_gguf_destroy(g);
        return 1;
    }
    for (int64_t i = 0; i < n; ++i) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        pt[i] = (vkq_plan_tensor){.name = t.name, .type = t.type, .n_dims = t.n_dims, .nbytes = t.nbytes};
        memcpy(pt[i].ne, t.ne, sizeof pt[i].ne);
    }
    vkq_plan_options po = {
        .budget = b.budget, .n_gpu_layers = gpu_layers, .overrides = overrides, .n_overrides = n_overrides};
    if (n_ctx) {
        /* The KV cache of each GPU layer is reserved before the weights. */
        vkq_llm_params lp;
        if (vkq_llm_params_read(g, &lp) != VKQ_SUCCESS) {
            fprintf(stderr, "vkq-gguf: --ctx: %s\n", vkq_last_error());
            free(pt);
            vkq_gguf_destroy(g);
            return 1;
        }
        po.layer_reserve = vkq_llm_kv_bytes_per_layer(&lp, n_ctx, kv_type[0], kv_type[1]);
    }
    vkq_plan plan = NULL;
    st = vkq_plan_create(pt, (uint32_t)n, &po, &plan);
    int rc = 0;
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-gguf: %s\n", vkq_last_error());
        rc = 2;
    }
    /* A rule that places nothing is almost always a typo in its regex. */
    for (uint32_t r = 0; r < n_overrides && !rc; ++r) {
        int used = 0;
        for (int64_t i = 0; i < n && !used; ++i)
            used = vkq_plan_tensor_rule(plan, (uint32_t)i) == (int32_t)r;
        if (!used) {
            fprintf(stderr,
                    "vkq-gguf: --override '%s' places no tensor of %s (its regex matches none, or an earlier "
                    "rule takes every tensor it matches)\n",
                    overrides[r], path);
            rc = 2;
        }
    }
    if (!rc) {
        printf("file: %s\nbudget: %llu bytes from %s", path, (unsigned long long)b.budget,
               have_budget ? "--budget" : vkq_budget_source_name(b.source));
        if (b.source == VKQ_BUDGET_MEMORY_EXT || b.source == VKQ_BUDGET_HEAP_SIZE)
            printf(" (%.1f MiB available minus a reserve of %.1f MiB)", b.available / 1048576.0,
                   b.reserve / 1048576.0);
        printf("\n");
        vkq_plan_print(plan, stdout);
    }
    vkq_plan_destroy(plan);
    free(pt);
    vkq_gguf_destroy(g);
    return rc;
}
