/* Writes LLM-like test weights and vkquant's quantization of them, for tests/check_quant_gguf.py.
 *
 * Usage: quant_dump SEED ROWS K OUTDIR TYPE...
 * Writes OUTDIR/x.f32 (ROWS x K binary32, tests/test_util.c's vkq_test_llm_weights) and
 * OUTDIR/<TYPE>.bin (vkq_quantize's bytes) for each TYPE name. Exit 0 on success, 2 on error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "vkquant/quant.h"

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    const int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: quant_dump SEED ROWS K OUTDIR TYPE...\n");
        return 2;
    }
    uint64_t rng = strtoull(argv[1], NULL, 0);
    const uint64_t rows = strtoull(argv[2], NULL, 0), k = strtoull(argv[3], NULL, 0);
    if (rows == 0 || k == 0 || rows * k > (1u << 26)) {
        fprintf(stderr, "quant_dump: bad ROWS/K\n");
        return 2;
    }
    float *x = malloc(sizeof(float) * rows * k);
    uint8_t *q = malloc(sizeof(float) * rows * k + 64); /* no type is larger than f32 */
    if (!x || !q) return 2;
    vkq_test_llm_weights(&rng, x, rows, k);
    if (!write_file(argv[4], "x.f32", x, sizeof(float) * rows * k)) {
        fprintf(stderr, "quant_dump: cannot write to %s\n", argv[4]);
        return 2;
    }
    for (int a = 5; a < argc; a++) {
        vkq_type t;
        uint64_t row_bytes;
        if (vkq_type_from_name(argv[a], &t) != VKQ_SUCCESS ||
            vkq_type_bytes(t, k, &row_bytes) != VKQ_SUCCESS) {
            fprintf(stderr, "quant_dump: bad type %s for k %" PRIu64 "\n", argv[a], k);
            return 2;
        }
        const vkq_quantize_desc d = {
            .type = t, .rows = rows, .k = k, .src = x, .dst = q, .dst_size = sizeof(float) * rows * k + 64};
        const vkq_status st = vkq_quantize(&d);
        char name[64];
        snprintf(name, sizeof name, "%s.bin", argv[a]);
        if (st != VKQ_SUCCESS || !write_file(argv[4], name, q, row_bytes * rows)) {
            fprintf(stderr, "quant_dump: %s: %s\n", argv[a], vkq_status_string(st));
            return 2;
        }
    }
    free(x);
    free(q);
    return 0;
}
