/* The convert API driven from tests/check_vkq_quantize.py:
 *   convert_tool write OUT.gguf DATASET  (NAME N_COLS N_EXPERTS EXPERT ROWS ACT.f32)...
 *     accumulates each group of raw f32 activations and writes the file;
 *   convert_tool read IN.gguf NAME EXPERT
 *     prints "n_cols n_experts count" then the importances, one per line (%.9g);
 *   convert_tool fd IN.gguf OUT.gguf RECIPE
 *     vkq_quantize_model_to_fd into a memfd, whose bytes are then copied to OUT.
 * Exit 1 with the library's message on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vkquant/convert.h"

static int fail(const char *what)
{
    fprintf(stderr, "convert_tool: %s: %s\n", what, vkq_last_error());
    return 1;
}

static int do_write(int argc, char **argv)
{
    vkq_imatrix m;
    if (vkq_imatrix_create(&m) != VKQ_SUCCESS)
        return fail("create");
    for (int i = 4; i + 5 < argc; i += 6) {
        unsigned long long cols = strtoull(argv[i + 1], NULL, 10), rows = strtoull(argv[i + 4], NULL, 10);
        unsigned experts = (unsigned)strtoul(argv[i + 2], NULL, 10), expert = (unsigned)strtoul(argv[i + 3], NULL, 10);
        float *x = malloc(cols * rows * sizeof *x + 1);
        FILE *f = fopen(argv[i + 5], "rb");
        if (!x || !f || fread(x, sizeof *x, cols * rows, f) != cols * rows) {
            fprintf(stderr, "convert_tool: cannot read %s\n", argv[i + 5]);
            return 1;
        }
        fclose(f);
        vkq_status st = vkq_imatrix_accumulate(m, argv[i], cols, experts, expert, x, rows);
        free(x);
        if (st != VKQ_SUCCESS)
            return fail("accumulate");
    }
    if (vkq_imatrix_write(m, argv[2], argv[3], 3, 512) != VKQ_SUCCESS)
        return fail("write");
    vkq_imatrix_destroy(m);
    return 0;
}

static int do_read(char **argv)
{
    vkq_imatrix m;
    if (vkq_imatrix_read(argv[2], &m) != VKQ_SUCCESS)
        return fail("read");
    int64_t i = vkq_imatrix_find(m, argv[3]);
    vkq_imatrix_entry e;
    if (vkq_imatrix_get(m, i, &e) != VKQ_SUCCESS)
        return fail("find");
    unsigned expert = (unsigned)strtoul(argv[4], NULL, 10);
    float *imp = malloc(e.n_cols * sizeof *imp);
    if (!imp || vkq_imatrix_importance(m, i, expert, imp) != VKQ_SUCCESS)
        return fail("importance");
    printf("%llu %u %.9g\n", (unsigned long long)e.n_cols, e.n_experts, e.counts[expert]);
    for (uint64_t j = 0; j < e.n_cols; j++)
        printf("%.9g\n", imp[j]);
    free(imp);
    vkq_imatrix_destroy(m);
    return 0;
}

static int do_fd(char **argv)
{
    vkq_gguf in;
    vkq_recipe r;
    if (vkq_gguf_create(argv[2], &in) != VKQ_SUCCESS)
        return fail("open");
    if (vkq_recipe_create(argv[4], &r) != VKQ_SUCCESS)
        return fail("recipe");
    int fd = memfd_create("convert_tool", 0);
    vkq_quantize_model_options opt = {.recipe = r};
    vkq_quantize_model_result res;
    if (fd < 0 || vkq_quantize_model_to_fd(in, fd, &opt, &res) != VKQ_SUCCESS)
        return fail("quantize to a memfd");
    uint8_t *p = mmap(NULL, res.file_bytes, PROT_READ, MAP_SHARED, fd, 0);
    FILE *f = fopen(argv[3], "wb");
    if (p == MAP_FAILED || !f || fwrite(p, 1, res.file_bytes, f) != res.file_bytes || fclose(f) != 0) {
        fprintf(stderr, "convert_tool: cannot copy the memfd to %s\n", argv[3]);
        return 1;
    }
    munmap(p, res.file_bytes);
    close(fd);
    vkq_recipe_destroy(r);
    vkq_gguf_destroy(in);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && argv[1][0] == 'f')
        return do_fd(argv);
    if (argc >= 4 && argv[1][0] == 'w')
        return do_write(argc, argv);
    if (argc == 5 && argv[1][0] == 'r')
        return do_read(argv);
    fprintf(stderr, "usage: convert_tool write OUT DATASET (NAME COLS EXPERTS EXPERT ROWS FILE)... | "
                    "read IN NAME EXPERT | fd IN OUT RECIPE\n");
    return 2;
}
