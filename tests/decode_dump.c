/* decode_dump: random valid blocks of one type and their CPU decode, for tests/oracle_gguf.py.
 *
 *   decode_dump --list                          one "NAME oracle_flag" line per type, id order
 *   decode_dump TYPE N_BLOCKS SEED OUT_PREFIX   writes OUT_PREFIX.blocks (raw blocks) and
 *                                               OUT_PREFIX.f32 (vkq_decode_cpu output, LE f32)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp_convert.h"
#include "test_util.h"
#include "core/types.h"

static int write_file(const char *prefix, const char *suffix, const void *data, size_t size)
{
    const size_t len = strlen(prefix) + strlen(suffix) + 1;
    char *path = malloc(len);
    if (path == NULL) {
        return -1;
    }
    snprintf(path, len, "%s%s", prefix, suffix);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, size, f) == size;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "decode_dump: cannot write %s\n", path);
    }
    free(path);
    return ok ? 0 : -1;
}

static unsigned long long parse_u64(const char *s, int *ok)
{
    char *end = NULL;
    const unsigned long long v = strtoull(s, &end, 0);
    *ok = end != s && *end == '\0' && s[0] != '-';
    return v;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (uint32_t k = 0; k < vkq_type_count(); k++) {
            const vkq_type_traits *t = vkq_traits(vkq_type_at(k));
            printf("%s %d\n", t->info.name, t->oracle_gguf_py);
        }
        return 0;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: %s TYPE N_BLOCKS SEED OUT_PREFIX\n       %s --list\n", argv[0],
                argv[0]);
        return 2;
    }
    vkq_type type;
    if (vkq_type_from_name(argv[1], &type) != VKQ_SUCCESS) {
        fprintf(stderr, "decode_dump: unknown type '%s'\n", argv[1]);
        return 2;
    }
    int ok_n, ok_seed;
    const uint64_t n_blocks = parse_u64(argv[2], &ok_n);
    uint64_t rng = parse_u64(argv[3], &ok_seed);
    if (!ok_n || !ok_seed || n_blocks == 0 || n_blocks > (1u << 24)) {
        fprintf(stderr, "decode_dump: bad N_BLOCKS (1..2^24) or SEED\n");
        return 2;
    }
    const vkq_type_info *info = vkq_type_get(type);
    const uint64_t n_elems = n_blocks * info->block_elems;
    uint64_t n_bytes = 0;
    vkq_status st = vkq_type_bytes(type, n_elems, &n_bytes);
    uint8_t *blocks = malloc((size_t)n_bytes);
    float *values = malloc((size_t)n_elems * sizeof(float));
    uint8_t *le = malloc((size_t)n_elems * 4);
    if (st != VKQ_SUCCESS || blocks == NULL || values == NULL || le == NULL) {
        fprintf(stderr, "decode_dump: out of memory\n");
        free(blocks), free(values), free(le);
        return 1;
    }
    vkq_test_random_blocks(type, n_blocks, &rng, blocks);
    st = vkq_decode_cpu(type, blocks, (size_t)n_bytes, values, n_elems);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "decode_dump: vkq_decode_cpu: %s\n", vkq_status_string(st));
        free(blocks), free(values), free(le);
        return 1;
    }
    for (uint64_t i = 0; i < n_elems; i++) { /* little-endian whatever the host */
        const uint32_t u = vkq_f32_to_bits(values[i]);
        for (int k = 0; k < 4; k++) {
            le[4 * i + (uint64_t)k] = (uint8_t)(u >> (8 * k));
        }
    }
    const int rc = write_file(argv[4], ".blocks", blocks, (size_t)n_bytes) ||
                   write_file(argv[4], ".f32", le, (size_t)n_elems * 4);
    free(blocks);
    free(values);
    free(le);
    return rc ? 1 : 0;
}
