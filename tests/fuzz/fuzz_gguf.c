/* libFuzzer target of the GGUF reader (include/vkquant/gguf.h). Each input is opened with
 * vkq_gguf_create_from_memory. A refusal must leave no handle, a documented status and a
 * non-empty sentence in vkq_last_error, the same status and sentence when opened again. An
 * accepted file is walked through every public getter: each key and value, each typed getter (exactly the one of
 * the value's type succeeds), every array element, every tensor (its invariants as the header
 * promises them, its bytes inside the input, no two overlapping) and the CPU decode of small
 * tensors. Any broken promise traps; ASan and UBSan catch the rest (libFuzzer passes an
 * exact-size heap copy, so a read past the input is caught).
 *   scripts/fuzz.sh gguf SECONDS   builds build-fuzz/ and runs from tests/fuzz/corpus/gguf/ */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) __builtin_trap();                                                                       \
    } while (0)

static int inside(const void *p, uint64_t n, const uint8_t *data, size_t size)
{
    const uint8_t *b = p;
    return b >= data && (uint64_t)(b - data) <= size && n <= size - (uint64_t)(b - data);
}

static void check_refusal(const uint8_t *data, size_t size, vkq_status st)
{
    CHECK(st == VKQ_ERROR_MALFORMED || st == VKQ_ERROR_UNKNOWN_TYPE || st == VKQ_ERROR_OUT_OF_HOST_MEMORY);
    const char *msg = vkq_last_error();
    CHECK(msg && msg[0]);
    char first[1024];
    const size_t len = strlen(msg);
    CHECK(len < sizeof first);
    memcpy(first, msg, len + 1);
    /* The same refusal and sentence when asked again (nothing left over from the first try). */
    vkq_gguf g = (vkq_gguf)(void *)first;
    CHECK(vkq_gguf_create_from_memory(data, size, &g) == st && !g);
    CHECK(strcmp(vkq_last_error(), first) == 0);
}

/* Exactly the typed getter of the value's own type succeeds (no conversions). */
#define GETTER_MATCHES(fn, ctype, gtype)                                                                     \
    do {                                                                                                     \
        ctype out_;                                                                                          \
        CHECK((fn(g, i, &out_) == VKQ_SUCCESS) == (type == (gtype)));                                        \
    } while (0)

static void check_typed_getters(vkq_gguf g, int64_t i, vkq_gguf_type type)
{
    GETTER_MATCHES(vkq_gguf_get_u8, uint8_t, VKQ_GGUF_UINT8);
    GETTER_MATCHES(vkq_gguf_get_i8, int8_t, VKQ_GGUF_INT8);
    GETTER_MATCHES(vkq_gguf_get_u16, uint16_t, VKQ_GGUF_UINT16);
    GETTER_MATCHES(vkq_gguf_get_i16, int16_t, VKQ_GGUF_INT16);
    GETTER_MATCHES(vkq_gguf_get_u32, uint32_t, VKQ_GGUF_UINT32);
    GETTER_MATCHES(vkq_gguf_get_i32, int32_t, VKQ_GGUF_INT32);
    GETTER_MATCHES(vkq_gguf_get_u64, uint64_t, VKQ_GGUF_UINT64);
    GETTER_MATCHES(vkq_gguf_get_i64, int64_t, VKQ_GGUF_INT64);
    GETTER_MATCHES(vkq_gguf_get_f32, float, VKQ_GGUF_FLOAT32);
    GETTER_MATCHES(vkq_gguf_get_f64, double, VKQ_GGUF_FLOAT64);
    GETTER_MATCHES(vkq_gguf_get_bool, int, VKQ_GGUF_BOOL);
    GETTER_MATCHES(vkq_gguf_get_string, vkq_gguf_string, VKQ_GGUF_STRING);
}

static uint64_t value_sum(const vkq_gguf_value *v, const uint8_t *data, size_t size)
{
    uint64_t acc = v->u + (uint64_t)v->i + (uint64_t)v->b + (uint64_t)(v->f == v->f);
    if (v->type == VKQ_GGUF_BOOL) CHECK(v->b == 0 || v->b == 1);
    if (v->type == VKQ_GGUF_STRING) {
        CHECK(inside(v->str.data, v->str.len, data, size));
        if (v->str.len) acc += (uint8_t)v->str.data[0] + (uint8_t)v->str.data[v->str.len - 1];
    }
    return acc;
}

static uint64_t walk_kv(vkq_gguf g, int64_t i, const uint8_t *data, size_t size)
{
    const char *key = vkq_gguf_kv_key(g, i);
    CHECK(key && key[0] && vkq_gguf_find_key(g, key) == i);
    const vkq_gguf_type type = vkq_gguf_kv_type(g, i);
    CHECK((unsigned)type <= VKQ_GGUF_FLOAT64);
    uint64_t acc = strlen(key);
    vkq_gguf_value v;
    CHECK(vkq_gguf_get_value(g, i, &v) == VKQ_SUCCESS && v.type == type);
    acc += value_sum(&v, data, size);

    check_typed_getters(g, i, type);

    vkq_gguf_type et;
    uint64_t n;
    const void *p;
    const vkq_status st = vkq_gguf_get_array(g, i, &et, &n, &p);
    CHECK((st == VKQ_SUCCESS) == (type == VKQ_GGUF_ARRAY));
    if (st != VKQ_SUCCESS) return acc;
    CHECK(n == v.count && et == v.elem_type && (unsigned)et <= VKQ_GGUF_FLOAT64 && et != VKQ_GGUF_ARRAY);
    CHECK(et == VKQ_GGUF_STRING ? p == NULL : (n == 0 || inside(p, n, data, size)));
    for (uint64_t j = 0; j < n; ++j) {
        vkq_gguf_value e;
        CHECK(vkq_gguf_get_array_value(g, i, j, &e) == VKQ_SUCCESS && e.type == et);
        acc += value_sum(&e, data, size);
    }
    vkq_gguf_value e;
    CHECK(vkq_gguf_get_array_value(g, i, n, &e) != VKQ_SUCCESS);
    return acc;
}

static uint64_t walk_tensor(vkq_gguf g, int64_t i, vkq_gguf_tensor *t, const uint8_t *data,
                            size_t size)
{
    CHECK(vkq_gguf_tensor_info(g, i, t) == VKQ_SUCCESS);
    CHECK(t->name && t->name_len == strlen(t->name) && t->name_len > 0 && t->name_len < 64);
    CHECK(vkq_gguf_find_tensor(g, t->name) == i);
    CHECK(t->n_dims >= 1 && t->n_dims <= 4);
    uint64_t n = 1;
    for (uint32_t d = 0; d < 4; ++d) {
        CHECK(t->ne[d] >= 0 && (d < t->n_dims || t->ne[d] == 1));
        CHECK(t->ne[d] == 0 || n <= UINT64_MAX / (uint64_t)t->ne[d]);
        n *= (uint64_t)t->ne[d];
    }
    CHECK((uint64_t)t->n_elems == n);
    const vkq_type_info *info = vkq_type_get(t->type);
    CHECK(info && t->ne[0] % info->block_elems == 0);
    uint64_t bytes;
    CHECK(vkq_type_bytes(t->type, n, &bytes) == VKQ_SUCCESS && bytes == t->nbytes);
    CHECK(t->offset >= vkq_gguf_data_offset(g) && t->offset % vkq_gguf_alignment(g) == 0);
    CHECK(t->data == data + t->offset && inside(t->data, t->nbytes, data, size));
    uint64_t acc = t->offset;
    const uint8_t *p = t->data;
    if (t->nbytes) acc += p[0] + p[t->nbytes - 1];
    /* Arbitrary payload bytes decode to some floats (NaN allowed), never to a fault. */
    if (n && n <= 4096) {
        float *out = malloc(n * sizeof *out);
        CHECK(out);
        CHECK(vkq_decode_cpu(t->type, t->data, t->nbytes, out, n) == VKQ_SUCCESS);
        acc += (uint64_t)(out[0] == out[0]) + (uint64_t)(out[n - 1] == out[n - 1]);
        free(out);
    }
    return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sentinel[8];
    vkq_gguf g = (vkq_gguf)(void *)sentinel; /* must come back NULL on failure */
    const vkq_status st = vkq_gguf_create_from_memory(data, size, &g);
    if (st != VKQ_SUCCESS) {
        CHECK(!g);
        check_refusal(data, size, st);
        return 0;
    }
    CHECK(g);
    const uint32_t align = vkq_gguf_alignment(g);
    CHECK(vkq_gguf_version(g) == 2 || vkq_gguf_version(g) == 3);
    CHECK(align && (align & (align - 1)) == 0);
    CHECK(vkq_gguf_file_size(g) == size && vkq_gguf_file_data(g) == data);
    CHECK(vkq_gguf_data_offset(g) % align == 0);
    uint64_t acc = 0;

    const int64_t n_kv = vkq_gguf_kv_count(g);
    CHECK(n_kv >= 0);
    for (int64_t i = 0; i < n_kv; ++i)
        acc += walk_kv(g, i, data, size);
    vkq_gguf_value v;
    CHECK(!vkq_gguf_kv_key(g, n_kv) && !vkq_gguf_kv_key(g, -1));
    CHECK(vkq_gguf_get_value(g, n_kv, &v) != VKQ_SUCCESS && vkq_gguf_get_value(g, -1, &v) != VKQ_SUCCESS);

    const int64_t n_t = vkq_gguf_tensor_count(g);
    CHECK(n_t >= 0);
    vkq_gguf_tensor *ts = calloc(n_t ? (size_t)n_t : 1, sizeof *ts);
    CHECK(ts);
    for (int64_t i = 0; i < n_t; ++i)
        acc += walk_tensor(g, i, &ts[i], data, size);
    for (int64_t i = 0; i < n_t && n_t <= 512; ++i)
        for (int64_t j = i + 1; j < n_t; ++j)
            CHECK(!ts[i].nbytes || !ts[j].nbytes || ts[i].offset + ts[i].nbytes <= ts[j].offset ||
                  ts[j].offset + ts[j].nbytes <= ts[i].offset);
    vkq_gguf_tensor t;
    CHECK(vkq_gguf_tensor_info(g, n_t, &t) != VKQ_SUCCESS && vkq_gguf_tensor_info(g, -1, &t) != VKQ_SUCCESS);
    free(ts);
    sink = acc;
    vkq_gguf_destroy(g);
    return 0;
}
