/* libFuzzer target of vkq-bench's .safetensors reader (bench/safetensors.c, safetensors_parse on
 * the bytes, as bench/weights.c calls it on a mapped file). A refusal must return -1, no tensors
 * and one non-empty printable-ASCII sentence. An accepted header must give tensors with distinct
 * NUL-terminated names, a known dtype, at most 8 dimensions, and bytes (shape x element size)
 * that lie in the data section after the header. Any broken promise traps; ASan and UBSan catch
 * the rest (libFuzzer passes an exact-size heap copy). An accepted header must also be free of
 * NUL bytes, which no JSON text holds.
 *   scripts/fuzz.sh safetensors SECONDS */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) __builtin_trap();                                                                       \
    } while (0)

static uint32_t dtype_size(const char *dtype)
{
    static const struct {
        const char *name;
        uint32_t size;
    } k[] = {{"F64", 8}, {"I64", 8}, {"U64", 8},  {"F32", 4},     {"I32", 4},
             {"U32", 4}, {"F16", 2}, {"BF16", 2}, {"I16", 2},     {"U16", 2},
             {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; ++i)
        if (!strcmp(dtype, k[i].name)) return k[i].size;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    memset(err, 'x', sizeof err);
    err[sizeof err - 1] = 0;
    st_tensor *ts = (st_tensor *)&err; /* must come back NULL on failure */
    const int n = safetensors_parse(data, size, &ts, err, sizeof err);
    if (n < 0) {
        CHECK(n == -1 && !ts && err[0]);
        for (const char *e = err; *e; ++e)
            CHECK(*e >= 0x20 && *e <= 0x7e);
        return 0;
    }
    /* Accepted: the 8-byte length and a header of at least "{}" precede the data section. */
    CHECK(size >= 10);
    uint64_t hdr = 0;
    for (int i = 7; i >= 0; --i)
        hdr = hdr << 8 | data[i];
    CHECK(hdr >= 2 && hdr <= size - 8);
    /* JSON has no raw NUL byte (U+0000 is the escape \u0000). */
    CHECK(!memchr(data + 8, 0, hdr));
    const uint8_t *section = data + 8 + hdr;
    const uint64_t section_size = size - 8 - hdr;
    uint64_t acc = (uint64_t)n;
    for (int i = 0; i < n; ++i) {
        const st_tensor *t = &ts[i];
        CHECK(memchr(t->name, 0, sizeof t->name) && memchr(t->dtype, 0, sizeof t->dtype));
        for (int j = 0; j < i; ++j)
            CHECK(strcmp(ts[j].name, t->name) != 0);
        CHECK(strcmp(t->name, "__metadata__") != 0);
        const uint32_t es = dtype_size(t->dtype);
        CHECK(es && t->n_dims <= 8);
        CHECK(t->type == VKQ_TYPE_F32 || t->type == VKQ_TYPE_F16 || t->type == VKQ_TYPE_BF16 ||
              t->type == VKQ_TYPE_MAX_ID);
        uint64_t bytes = es;
        for (uint32_t d = 0; d < t->n_dims; ++d) {
            CHECK(!t->shape[d] || bytes <= UINT64_MAX / t->shape[d]);
            bytes *= t->shape[d];
        }
        CHECK(bytes == t->nbytes);
        CHECK(t->data >= section && (uint64_t)(t->data - section) <= section_size &&
              t->nbytes <= section_size - (uint64_t)(t->data - section));
        if (t->nbytes) acc += t->data[0] + t->data[t->nbytes - 1];
    }
    sink = acc;
    free(ts);
    return 0;
}
