/* vkq-quantize IN.gguf OUT.gguf TYPE|--recipe R [--imatrix FILE] [--dry-run] [-t N]: re-quantizes
 * a GGUF model tensor by tensor (include/vkquant/convert.h). Exit 0 on success, 1 for errors
 * (message on stderr; OUT is then untouched: the data goes to a temporary beside it that is
 * renamed at the end), 2 for bad options or recipes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkquant/vkquant.h"

static int usage(FILE *f)
{
    fprintf(f,
            "usage: vkq-quantize IN.gguf OUT.gguf TYPE [options]\n"
            "       vkq-quantize IN.gguf OUT.gguf --recipe 'REGEX=TYPE,...[,BASE]' [options]\n"
            "  TYPE / BASE   a named mix (%s) or a type name (Q8_0, Q4_K, IQ4_NL, ...)\n"
            "  --recipe R    rules REGEX=TYPE (POSIX ERE searched in the tensor name, first match wins)\n"
            "                and at most one base; with TYPE too, TYPE is the base\n"
            "  --imatrix F   importance matrix (llama.cpp's imatrix GGUF) for every quantizer\n"
            "  --dry-run     print the plan (type of every tensor) and sizes, write nothing\n"
            "  -t N          threads (default: VKQ_CPU_THREADS or every core)\n",
            vkq_recipe_mix_names());
    return 2;
}

typedef struct bar {
    int tty;
    int last;
} bar;

static void on_progress(void *user, int64_t i, int64_t n, const char *name, uint64_t done, uint64_t total)
{
    bar *b = user;
    if (!b->tty)
        return;
    int pct = total ? (int)(100.0 * (double)done / (double)total) : 100;
    if (pct == b->last && done != total)
        return;
    b->last = pct;
    int fill = pct * 30 / 100;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %4lld/%lld %-40.40s", fill, "##############################", 30 - fill, "", pct,
            (long long)i + 1, (long long)n, name);
    fflush(stderr);
}

static void print_plan(vkq_gguf g, const vkq_tensor_plan *p)
{
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g); i++) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        char shape[64];
        int n = snprintf(shape, sizeof shape, "%lld", (long long)t.ne[0]);
        for (uint32_t d = 1; d < t.n_dims && n > 0 && (size_t)n < sizeof shape; d++)
            n += snprintf(shape + n, sizeof shape - (size_t)n, "x%lld", (long long)t.ne[d]);
        printf("%-40s %-18s %-8s -> %-8s %-6s %s\n", t.name, shape, vkq_type_get(p[i].in_type)->name,
               vkq_type_get(p[i].type)->name, p[i].quantize ? "quant" : "copy", p[i].why);
    }
}

int main(int argc, char **argv)
{
    const char *pos[3] = {0};
    int n_pos = 0, dry = 0;
    const char *recipe_spec = NULL, *imatrix_path = NULL;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout) - 2;
        if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--recipe") || !strcmp(a, "--imatrix") || !strcmp(a, "-t")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vkq-quantize: %s needs a value\n", a);
                return usage(stderr);
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--recipe"))
                recipe_spec = v;
            else if (!strcmp(a, "--imatrix"))
                imatrix_path = v;
            else {
                char *end;
                threads = strtol(v, &end, 10);
                if (*end || threads < 1 || threads > 1024) {
                    fprintf(stderr, "vkq-quantize: -t wants a thread count 1..1024, not '%s'\n", v);
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vkq-quantize: unknown option %s\n", a);
            return usage(stderr);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            fprintf(stderr, "vkq-quantize: too many arguments (%s)\n", a);
            return usage(stderr);
        }
    }
    if (n_pos < 2 || (n_pos == 2 && !recipe_spec)) {
        fprintf(stderr, "vkq-quantize: need IN.gguf OUT.gguf and a TYPE or --recipe\n");
        return usage(stderr);
    }
    /* TYPE joins the recipe as its base */
    char *spec = NULL;
    size_t len = (recipe_spec ? strlen(recipe_spec) : 0) + (n_pos == 3 ? strlen(pos[2]) : 0) + 2;
    spec = malloc(len);
    if (!spec)
        return 1;
    snprintf(spec, len, "%s%s%s", recipe_spec ? recipe_spec : "", recipe_spec && n_pos == 3 ? "," : "",
             n_pos == 3 ? pos[2] : "");
    vkq_recipe recipe;
    if (vkq_recipe_create(spec, &recipe) != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-quantize: %s\n", vkq_last_error());
        free(spec);
        return 2;
    }
    free(spec);
    int rc = 1;
    vkq_gguf in = NULL;
    vkq_imatrix im = NULL;
    vkq_tensor_plan *plans = NULL;
    if (vkq_gguf_create(pos[0], &in) != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-quantize: %s: %s\n", pos[0], vkq_last_error());
        goto done;
    }
    if (imatrix_path && vkq_imatrix_read(imatrix_path, &im) != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-quantize: %s\n", vkq_last_error());
        goto done;
    }
    if (dry) {
        int64_t n = vkq_gguf_tensor_count(in);
        plans = calloc(n ? (size_t)n : 1, sizeof *plans);
        if (!plans || vkq_recipe_plan(recipe, in, plans) != VKQ_SUCCESS) {
            fprintf(stderr, "vkq-quantize: %s\n", plans ? vkq_last_error() : "out of memory");
            goto done;
        }
        print_plan(in, plans);
        uint64_t before = 0, after = 0, elems = 0;
        for (int64_t i = 0; i < n; i++) {
            vkq_gguf_tensor t;
            vkq_gguf_tensor_info(in, i, &t);
            before += plans[i].in_bytes;
            after += plans[i].out_bytes;
            elems += (uint64_t)t.n_elems;
        }
        printf("tensor data: %.2f MiB -> %.2f MiB (%.3f -> %.3f bits per weight), general.file_type %d\n",
               before / 1048576.0, after / 1048576.0, elems ? 8.0 * before / elems : 0.0,
               elems ? 8.0 * after / elems : 0.0, vkq_recipe_file_type(recipe, in, plans));
        rc = 0;
        goto done;
    }
    bar b = {isatty(STDERR_FILENO), -1};
    vkq_quantize_model_options opt = {.recipe = recipe, .imatrix = im, .n_threads = (uint32_t)threads,
                                      .progress = on_progress, .progress_user = &b};
    vkq_quantize_model_result res;
    vkq_status st = vkq_quantize_model_to_path(in, pos[0], pos[1], &opt, &res);
    if (b.tty)
        fprintf(stderr, "\n");
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-quantize: %s\n", vkq_last_error());
        goto done;
    }
    printf("%s: %lld tensors quantized (%lld with the imatrix), %lld copied; general.file_type %d\n", pos[1],
           (long long)res.n_quantized, (long long)res.n_with_imatrix, (long long)res.n_copied, res.file_type);
    printf("tensor data: %.2f MiB -> %.2f MiB (%.3f -> %.3f bits per weight); file %.2f MiB\n",
           res.in_tensor_bytes / 1048576.0, res.out_tensor_bytes / 1048576.0,
           res.n_weights ? 8.0 * res.in_tensor_bytes / res.n_weights : 0.0,
           res.n_weights ? 8.0 * res.out_tensor_bytes / res.n_weights : 0.0, res.file_bytes / 1048576.0);
    rc = 0;
done:
    free(plans);
    vkq_imatrix_destroy(im);
    vkq_gguf_destroy(in);
    vkq_recipe_destroy(recipe);
    return rc;
}
