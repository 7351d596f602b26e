/* GGUF reader tests.
 *
 * usage: test_gguf MANIFEST.txt [CORPUS_DIR]
 *
 * 1. Every file listed in MANIFEST.txt (written by tests/make_gguf.py with gguf-py's GGUFWriter)
 *    opens, through vkq_gguf_create and vkq_gguf_create_from_memory, and every metadata value and tensor
 *    (name, type, shape, byte size, FNV-1a hash of the data) matches the manifest.
 * 2. Malformed variants of mixed.gguf built in memory (every truncation, bad header fields, bad
 *    keys/values, bad tensor infos) and files built from scratch are refused with the expected
 *    status and a message that names the problem; none crashes (run it under ASan/UBSan).
 * 3. Every file in CORPUS_DIR (tests/gguf_corpus, from tests/make_gguf_corpus.py) is refused.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h" /* vkq_error_clear: each message checked comes from its own call */
#include "vkquant/core.h"
#include "vkquant/gguf.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        ++checks;                                                                              \
        if (!(cond)) {                                                                         \
            ++failures;                                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                        \
            printf(__VA_ARGS__);                                                               \
            printf("\n");                                                                      \
        }                                                                                      \
    } while (0)

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static uint64_t fnv1a64(const uint8_t *p, uint64_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    if (!strcmp(s, "-")) {
        *len = 0;
        return 1;
    }
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap) return 0;
    for (size_t i = 0; i < n / 2; ++i) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return 1;
}

static vkq_gguf_type type_from_name(const char *s)
{
    for (int t = 0; t <= 12; ++t)
        if (!strcmp(vkq_gguf_type_name((vkq_gguf_type)t), s)) return (vkq_gguf_type)t;
    return (vkq_gguf_type)-1;
}

/* Compares one decoded value with its manifest text. */
static void check_value(const char *key, const vkq_gguf_value *v, vkq_gguf_type type, const char *text)
{
    CHECK(v->type == type, "%s: type %s, expected %s", key, vkq_gguf_type_name(v->type),
          vkq_gguf_type_name(type));
    switch (type) {
    case VKQ_GGUF_UINT8: case VKQ_GGUF_UINT16: case VKQ_GGUF_UINT32: case VKQ_GGUF_UINT64:
        CHECK(v->u == strtoull(text, NULL, 10), "%s: %" PRIu64 " != %s", key, v->u, text);
        break;
    case VKQ_GGUF_INT8: case VKQ_GGUF_INT16: case VKQ_GGUF_INT32: case VKQ_GGUF_INT64:
        CHECK(v->i == strtoll(text, NULL, 10), "%s: %" PRId64 " != %s", key, v->i, text);
        break;
    case VKQ_GGUF_FLOAT32: case VKQ_GGUF_FLOAT64:
        CHECK(v->f == strtod(text, NULL), "%s: %.17g != %s", key, v->f, text);
        break;
    case VKQ_GGUF_BOOL:
        CHECK(v->b == atoi(text), "%s: %d != %s", key, v->b, text);
        break;
    case VKQ_GGUF_STRING: {
        static uint8_t buf[4096];
        size_t n = 0;
        CHECK(unhex(text, buf, sizeof buf, &n), "%s: bad manifest hex", key);
        CHECK(v->str.len == n && (n == 0 || !memcmp(v->str.data, buf, n)), "%s: string differs", key);
        break;
    }
    default:
        CHECK(0, "%s: unexpected type", key);
    }
}

static void check_typed_getter(vkq_gguf g, int64_t i, vkq_gguf_type type, const vkq_gguf_value *v)
{
    vkq_status st = VKQ_ERROR_UNKNOWN_TYPE;
    int ok = 0;
    switch (type) {
    case VKQ_GGUF_UINT8: { uint8_t x; st = vkq_gguf_get_u8(g, i, &x); ok = x == v->u; break; }
    case VKQ_GGUF_INT8: { int8_t x; st = vkq_gguf_get_i8(g, i, &x); ok = x == v->i; break; }
    case VKQ_GGUF_UINT16: { uint16_t x; st = vkq_gguf_get_u16(g, i, &x); ok = x == v->u; break; }
    case VKQ_GGUF_INT16: { int16_t x; st = vkq_gguf_get_i16(g, i, &x); ok = x == v->i; break; }
    case VKQ_GGUF_UINT32: { uint32_t x; st = vkq_gguf_get_u32(g, i, &x); ok = x == v->u; break; }
    case VKQ_GGUF_INT32: { int32_t x; st = vkq_gguf_get_i32(g, i, &x); ok = x == v->i; break; }
    case VKQ_GGUF_UINT64: { uint64_t x; st = vkq_gguf_get_u64(g, i, &x); ok = x == v->u; break; }
    case VKQ_GGUF_INT64: { int64_t x; st = vkq_gguf_get_i64(g, i, &x); ok = x == v->i; break; }
    case VKQ_GGUF_FLOAT32: { float x; st = vkq_gguf_get_f32(g, i, &x); ok = x == (float)v->f; break; }
    case VKQ_GGUF_FLOAT64: { double x; st = vkq_gguf_get_f64(g, i, &x); ok = x == v->f; break; }
    case VKQ_GGUF_BOOL: { int x; st = vkq_gguf_get_bool(g, i, &x); ok = x == v->b; break; }
    case VKQ_GGUF_STRING: {
        vkq_gguf_string x;
        st = vkq_gguf_get_string(g, i, &x);
        ok = x.data == v->str.data && x.len == v->str.len;
        break;
    }
    default: return;
    }
    CHECK(st == VKQ_SUCCESS && ok, "typed getter of %s", vkq_gguf_kv_key(g, i));
    /* a getter of another type refuses */
    uint32_t u32;
    int8_t i8;
    if (type != VKQ_GGUF_UINT32)
        CHECK(vkq_gguf_get_u32(g, i, &u32) == VKQ_ERROR_INVALID_ARGUMENT, "u32 getter accepted %s",
              vkq_gguf_type_name(type));
    else
        CHECK(vkq_gguf_get_i8(g, i, &i8) == VKQ_ERROR_INVALID_ARGUMENT, "i8 getter accepted UINT32");
}

/* Checks one open handle against the manifest section of `fname`. */
static void check_file(vkq_gguf g, FILE *man, long section, const char *fname,
                       unsigned alignment, int64_t n_kv, int64_t n_t)
{
    CHECK(vkq_gguf_version(g) == 3, "%s: version %u", fname, vkq_gguf_version(g));
    CHECK(vkq_gguf_alignment(g) == alignment, "%s: alignment %u != %u", fname,
          vkq_gguf_alignment(g), alignment);
    CHECK(vkq_gguf_data_offset(g) % alignment == 0, "%s: data offset misaligned", fname);
    CHECK(vkq_gguf_kv_count(g) == n_kv, "%s: %lld keys != %lld", fname,
          (long long)vkq_gguf_kv_count(g), (long long)n_kv);
    CHECK(vkq_gguf_tensor_count(g) == n_t, "%s: %lld tensors != %lld", fname,
          (long long)vkq_gguf_tensor_count(g), (long long)n_t);
    CHECK(vkq_gguf_kv_key(g, n_kv) == NULL && vkq_gguf_kv_key(g, -1) == NULL, "key out of range");
    vkq_gguf_tensor tt;
    CHECK(vkq_gguf_tensor_info(g, n_t, &tt) == VKQ_ERROR_INVALID_ARGUMENT, "tensor out of range");
    CHECK(vkq_gguf_find_key(g, "no.such.key") == -1, "found a missing key");
    CHECK(vkq_gguf_find_tensor(g, "no.such.tensor") == -1, "found a missing tensor");

    fseek(man, section, SEEK_SET);
    char *line = NULL;
    size_t cap = 0;
    int64_t kv_seen = 0, t_seen = 0;
    while (getline(&line, &cap, man) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *save = NULL;
        char *tag = strtok_r(line, " ", &save);
        if (!tag || !strcmp(tag, "file")) break;
        if (!strcmp(tag, "kv") || !strcmp(tag, "arr")) {
            const char *key = strtok_r(NULL, " ", &save);
            const vkq_gguf_type type = type_from_name(strtok_r(NULL, " ", &save));
            const int64_t i = vkq_gguf_find_key(g, key);
            CHECK(i == kv_seen, "%s: key %s at index %lld, expected %lld", fname, key, (long long)i,
                  (long long)kv_seen);
            ++kv_seen;
            if (i < 0) continue;
            CHECK(!strcmp(vkq_gguf_kv_key(g, i), key), "key name");
            vkq_gguf_value v;
            CHECK(vkq_gguf_get_value(g, i, &v) == VKQ_SUCCESS, "get_value");
            if (!strcmp(tag, "kv")) {
                CHECK(vkq_gguf_kv_type(g, i) == type, "%s: kv_type", key);
                check_value(key, &v, type, strtok_r(NULL, " ", &save));
                check_typed_getter(g, i, type, &v);
                CHECK(vkq_gguf_get_array(g, i, NULL, NULL, NULL) == VKQ_ERROR_INVALID_ARGUMENT,
                      "%s: get_array on a scalar", key);
                continue;
            }
            const uint64_t count = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
            CHECK(v.type == VKQ_GGUF_ARRAY && v.elem_type == type && v.count == count,
                  "%s: array header %s %s x %" PRIu64, key, vkq_gguf_type_name(v.type),
                  vkq_gguf_type_name(v.elem_type), v.count);
            vkq_gguf_type et;
            uint64_t n;
            const void *data;
            CHECK(vkq_gguf_get_array(g, i, &et, &n, &data) == VKQ_SUCCESS && et == type && n == count,
                  "%s: get_array", key);
            CHECK((type == VKQ_GGUF_STRING) == (data == NULL), "%s: array data pointer", key);
            for (uint64_t j = 0; j < count; ++j) {
                vkq_gguf_value e;
                CHECK(vkq_gguf_get_array_value(g, i, j, &e) == VKQ_SUCCESS, "%s[%" PRIu64 "]", key, j);
                const char *text = strtok_r(NULL, " ", &save);
                if (!text) { CHECK(0, "manifest short"); break; }
                check_value(key, &e, type, text);
                if (type == VKQ_GGUF_INT32) {
                    int32_t raw;
                    memcpy(&raw, (const uint8_t *)data + 4 * j, 4);
                    CHECK(raw == e.i, "%s: raw array data", key);
                }
            }
            vkq_gguf_value e;
            CHECK(vkq_gguf_get_array_value(g, i, count, &e) == VKQ_ERROR_INVALID_ARGUMENT,
                  "%s: element past the end", key);
        } else if (!strcmp(tag, "tensor")) {
            const char *name = strtok_r(NULL, " ", &save);
            const unsigned type = (unsigned)atoi(strtok_r(NULL, " ", &save));
            const unsigned n_dims = (unsigned)atoi(strtok_r(NULL, " ", &save));
            int64_t ne[4];
            for (int d = 0; d < 4; ++d) ne[d] = atoll(strtok_r(NULL, " ", &save));
            const uint64_t nbytes = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
            const uint64_t hash = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
            const int64_t i = vkq_gguf_find_tensor(g, name);
            CHECK(i == t_seen, "%s: tensor %s at %lld, expected %lld", fname, name, (long long)i,
                  (long long)t_seen);
            ++t_seen;
            if (i < 0) continue;
            vkq_gguf_tensor t;
            CHECK(vkq_gguf_tensor_info(g, i, &t) == VKQ_SUCCESS, "tensor_info");
            CHECK(!strcmp(t.name, name) && t.name_len == strlen(name), "%s: name", name);
            CHECK(t.type == (vkq_type)type, "%s: type %d != %u", name, (int)t.type, type);
            CHECK(t.n_dims == n_dims, "%s: n_dims %u != %u", name, t.n_dims, n_dims);
            CHECK(!memcmp(t.ne, ne, sizeof ne), "%s: shape %lld %lld %lld %lld", name,
                  (long long)t.ne[0], (long long)t.ne[1], (long long)t.ne[2], (long long)t.ne[3]);
            CHECK(t.n_elems == ne[0] * ne[1] * ne[2] * ne[3], "%s: n_elems", name);
            CHECK(t.nbytes == nbytes, "%s: nbytes %" PRIu64 " != %" PRIu64, name, t.nbytes, nbytes);
            uint64_t expect_bytes = 0;
            CHECK(vkq_type_bytes(t.type, (uint64_t)t.n_elems, &expect_bytes) == VKQ_SUCCESS &&
                  expect_bytes == t.nbytes, "%s: vkq_type_bytes disagrees", name);
            CHECK(t.offset >= vkq_gguf_data_offset(g) &&
                  (t.offset - vkq_gguf_data_offset(g)) % vkq_gguf_alignment(g) == 0 &&
                  t.offset + t.nbytes <= vkq_gguf_file_size(g), "%s: offset", name);
            CHECK(t.data == (const uint8_t *)vkq_gguf_file_data(g) + t.offset, "%s: data ptr", name);
            CHECK(fnv1a64(t.data, t.nbytes) == hash, "%s: data hash differs", name);
        }
    }
    free(line);
    CHECK(kv_seen == n_kv && t_seen == n_t, "%s: manifest lists %lld keys, %lld tensors", fname,
          (long long)kv_seen, (long long)t_seen);
}

/* ---------------------------------------------------------------------------------------- */
/* Malformed inputs                                                                         */

static void put_u32(uint8_t *p, uint32_t v) { for (int k = 0; k < 4; ++k) p[k] = (uint8_t)(v >> (8 * k)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int k = 0; k < 8; ++k) p[k] = (uint8_t)(v >> (8 * k)); }
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= (uint64_t)p[k] << (8 * k);
    return v;
}

/* Offset of the gguf_string whose bytes are `s` (its length field), or 0. */
static size_t find_str(const uint8_t *buf, size_t size, const char *s)
{
    const size_t n = strlen(s);
    for (size_t i = 8; i + n <= size; ++i)
        if (!memcmp(buf + i, s, n) && get_u64(buf + i - 8) == n) return i - 8;
    return 0;
}

/* Offsets of a tensor info's fields. */
typedef struct ti_pos {
    size_t n_dims, ne, type, offset;
} ti_pos;

static ti_pos find_tensor(const uint8_t *buf, size_t size, const char *name)
{
    ti_pos p = {0};
    const size_t at = find_str(buf, size, name);
    if (!at) return p;
    p.n_dims = at + 8 + strlen(name);
    uint32_t nd = buf[p.n_dims];
    p.ne = p.n_dims + 4;
    p.type = p.ne + 8 * nd;
    p.offset = p.type + 4;
    return p;
}

static int expect_reject(const char *what, const uint8_t *buf, size_t size, vkq_status want,
                         const char *needle)
{
    vkq_gguf g = (vkq_gguf)(uintptr_t)1;
    vkq_error_clear(); /* the message checked below must come from this call */
    const vkq_status st = vkq_gguf_create_from_memory(buf, size, &g);
    CHECK(st == want, "%s: status %d (%s), expected %d; message: %s", what, (int)st,
          vkq_status_string(st), (int)want, st ? vkq_last_error() : "(none)");
    CHECK(g == NULL, "%s: handle not NULL on failure", what);
    if (st == VKQ_SUCCESS) {
        vkq_gguf_destroy(g);
        return 0;
    }
    CHECK(vkq_last_error()[0], "%s: empty or unterminated message", what);
    CHECK(!needle || strstr(vkq_last_error(), needle), "%s: message lacks \"%s\": %s", what, needle, vkq_last_error());
    CHECK(strstr(vkq_last_error(), "offset") != NULL, "%s: message names no offset: %s", what, vkq_last_error());
    printf("  %-36s -> %s\n", what, vkq_last_error());
    return 1;
}

static void mutated(const char *what, const uint8_t *orig, size_t size, void (*fn)(uint8_t *, size_t, const void *),
                    const void *arg, vkq_status want, const char *needle)
{
    uint8_t *b = malloc(size);
    memcpy(b, orig, size);
    fn(b, size, arg);
    expect_reject(what, b, size, want, needle);
    free(b);
}

/* mutation helpers: arg is a small struct */
typedef struct mut {
    const char *name; /* tensor or key */
    int field;        /* which field */
    uint64_t value;
} mut;

enum { F_HDR_U32, F_HDR_U64, F_KEY_LEN, F_KEY_TYPE, F_ARR_ELEM, F_ARR_COUNT, F_VALUE_U8, F_VALUE_U32,
       F_T_NDIMS, F_T_NE0, F_T_NE1, F_T_TYPE, F_T_OFFSET, F_T_OFFSET_ADD };

static void apply(uint8_t *b, size_t size, const void *arg)
{
    const mut *m = arg;
    size_t at;
    ti_pos t;
    switch (m->field) {
    case F_HDR_U32: put_u32(b + (size_t)(m->value >> 32), (uint32_t)m->value); return;
    case F_HDR_U64: /* name holds the offset as text */
        put_u64(b + (size_t)atoi(m->name), m->value);
        return;
    case F_KEY_LEN: at = find_str(b, size, m->name); put_u64(b + at, m->value); return;
    case F_KEY_TYPE: at = find_str(b, size, m->name) + 8 + strlen(m->name); put_u32(b + at, (uint32_t)m->value); return;
    case F_ARR_ELEM: at = find_str(b, size, m->name) + 8 + strlen(m->name) + 4; put_u32(b + at, (uint32_t)m->value); return;
    case F_ARR_COUNT: at = find_str(b, size, m->name) + 8 + strlen(m->name) + 8; put_u64(b + at, m->value); return;
    case F_VALUE_U8: at = find_str(b, size, m->name) + 8 + strlen(m->name) + 4; b[at] = (uint8_t)m->value; return;
    case F_VALUE_U32: at = find_str(b, size, m->name) + 8 + strlen(m->name) + 4; put_u32(b + at, (uint32_t)m->value); return;
    case F_T_NDIMS: t = find_tensor(b, size, m->name); put_u32(b + t.n_dims, (uint32_t)m->value); return;
    case F_T_NE0: t = find_tensor(b, size, m->name); put_u64(b + t.ne, m->value); return;
    case F_T_NE1: t = find_tensor(b, size, m->name); put_u64(b + t.ne + 8, m->value); return;
    case F_T_TYPE: t = find_tensor(b, size, m->name); put_u32(b + t.type, (uint32_t)m->value); return;
    case F_T_OFFSET: t = find_tensor(b, size, m->name); put_u64(b + t.offset, m->value); return;
    case F_T_OFFSET_ADD: t = find_tensor(b, size, m->name); put_u64(b + t.offset, get_u64(b + t.offset) + m->value); return;
    default: return;
    }
}

static void apply_rename(uint8_t *b, size_t size, const void *arg)
{
    const char *const *names = arg; /* from, to (same length) */
    const size_t at = find_str(b, size, names[0]);
    memcpy(b + at + 8, names[1], strlen(names[1]));
}

static void apply_same_offset(uint8_t *b, size_t size, const void *arg)
{
    const char *const *names = arg; /* tensor whose offset is set to that of the other */
    ti_pos a = find_tensor(b, size, names[0]), c = find_tensor(b, size, names[1]);
    memcpy(b + a.offset, b + c.offset, 8);
}

#define MUT(what, m, want, needle) do { mut m_ = m; mutated(what, buf, size, apply, &m_, want, needle); } while (0)

static void test_malformed(const uint8_t *buf, size_t size)
{
    /* the base file is valid */
    vkq_gguf g = NULL;
    CHECK(vkq_gguf_create_from_memory(buf, size, &g) == VKQ_SUCCESS, "base: %s", vkq_last_error());
    vkq_gguf_destroy(g);
    CHECK(find_tensor(buf, size, "blk.0.attn_q.weight").type != 0, "layout search failed");

    /* every truncation */
    int trunc_ok = 1;
    for (size_t n = 0; n < size; ++n) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", n);
        uint8_t *b = malloc(n ? n : 1); /* exact-size copy so ASan sees any overread */
        memcpy(b, buf, n);
        vkq_gguf h = NULL;
        vkq_error_clear();
        vkq_status st = vkq_gguf_create_from_memory(b, n, &h);
        if (st != VKQ_ERROR_MALFORMED || !vkq_last_error()[0] || h) {
            CHECK(0, "%s: status %d, message %s", what, (int)st, vkq_last_error());
            trunc_ok = 0;
        }
        vkq_gguf_destroy(h);
        free(b);
    }
    CHECK(trunc_ok, "truncations");
    expect_reject("empty", buf, 0, VKQ_ERROR_MALFORMED, "short");

    /* header */
    uint8_t *b = malloc(size);
    memcpy(b, buf, size);
    b[0] = 'X';
    expect_reject("bad magic", b, size, VKQ_ERROR_MALFORMED, "magic");
    free(b);
    MUT("version 0", ((mut){NULL, F_HDR_U32, (4ull << 32) | 0}), VKQ_ERROR_MALFORMED, "version 0");
    MUT("version 1", ((mut){NULL, F_HDR_U32, (4ull << 32) | 1}), VKQ_ERROR_MALFORMED, "version 1");
    MUT("version 4", ((mut){NULL, F_HDR_U32, (4ull << 32) | 4}), VKQ_ERROR_MALFORMED, "version 4");
    MUT("big-endian", ((mut){NULL, F_HDR_U32, (4ull << 32) | 0x03000000u}), VKQ_ERROR_MALFORMED, "big-endian");
    MUT("tensor count huge", ((mut){"8", F_HDR_U64, UINT64_MAX}), VKQ_ERROR_MALFORMED, "tensor_count");
    MUT("tensor count 2^62", ((mut){"8", F_HDR_U64, 1ull << 62}), VKQ_ERROR_MALFORMED, "tensor_count");
    MUT("kv count huge", ((mut){"16", F_HDR_U64, UINT64_MAX / 2}), VKQ_ERROR_MALFORMED, "metadata_kv_count");
    MUT("kv count +1", ((mut){"16", F_HDR_U64, 25}), VKQ_ERROR_MALFORMED, NULL);
    MUT("tensor count +1", ((mut){"8", F_HDR_U64, 14}), VKQ_ERROR_MALFORMED, NULL);

    /* strings and metadata */
    MUT("huge key length", ((mut){"general.architecture", F_KEY_LEN, 1ull << 40}), VKQ_ERROR_MALFORMED, "2^30");
    MUT("key length past EOF", ((mut){"general.architecture", F_KEY_LEN, 1ull << 29}), VKQ_ERROR_MALFORMED, "left in the file");
    MUT("key length UINT64_MAX", ((mut){"test.u8", F_KEY_LEN, UINT64_MAX}), VKQ_ERROR_MALFORMED, "metadata key #1");
    MUT("empty key", ((mut){"test.u8", F_KEY_LEN, 0}), VKQ_ERROR_MALFORMED, "empty key");
    MUT("value type 13", ((mut){"test.u32", F_KEY_TYPE, 13}), VKQ_ERROR_MALFORMED, "'test.u32'");
    MUT("value type 2^31", ((mut){"test.u32", F_KEY_TYPE, 0x80000000u}), VKQ_ERROR_MALFORMED, "value type");
    MUT("bool 2", ((mut){"test.bool_true", F_VALUE_U8, 2}), VKQ_ERROR_MALFORMED, "BOOL");
    MUT("nested array", ((mut){"test.arr_i32", F_ARR_ELEM, 9}), VKQ_ERROR_MALFORMED, "nested array");
    MUT("array elem type 13", ((mut){"test.arr_i32", F_ARR_ELEM, 13}), VKQ_ERROR_MALFORMED, "element type");
    MUT("huge array count", ((mut){"test.arr_i32", F_ARR_COUNT, 1ull << 40}), VKQ_ERROR_MALFORMED, "2^30");
    MUT("array count past EOF", ((mut){"test.arr_i32", F_ARR_COUNT, 1ull << 28}), VKQ_ERROR_MALFORMED, "test.arr_i32");
    MUT("string array count past EOF", ((mut){"test.arr_str", F_ARR_COUNT, 1ull << 20}), VKQ_ERROR_MALFORMED, "test.arr_str");
    MUT("string array count +1", ((mut){"test.arr_str", F_ARR_COUNT, 5}), VKQ_ERROR_MALFORMED, NULL);
    MUT("u64 array count max", ((mut){"test.arr_u64", F_ARR_COUNT, UINT64_MAX}), VKQ_ERROR_MALFORMED, "array count");
    {
        const char *names[2] = {"test.i8", "test.u8"};
        mutated("duplicate key", buf, size, apply_rename, names, VKQ_ERROR_MALFORMED, "duplicate key");
        const char *names2[2] = {"blk.0.attn_k.weight", "blk.0.attn_q.weight"};
        mutated("duplicate tensor", buf, size, apply_rename, names2, VKQ_ERROR_MALFORMED, "duplicate tensor name");
    }
    {
        /* the string value of test.string: its length field follows key + type */
        uint8_t *c = malloc(size);
        memcpy(c, buf, size);
        const size_t at = find_str(c, size, "test.string") + 8 + 11 + 4;
        put_u64(c + at, (1ull << 30) + 1);
        expect_reject("string value over 2^30", c, size, VKQ_ERROR_MALFORMED, "2^30");
        put_u64(c + at, 1ull << 30);
        expect_reject("string value 2^30 past EOF", c, size, VKQ_ERROR_MALFORMED, "left in the file");
        free(c);
    }

    /* tensors */
    const char *q = "blk.0.attn_q.weight"; /* Q4_0 64 x 4 */
    MUT("n_dims 0", ((mut){q, F_T_NDIMS, 0}), VKQ_ERROR_MALFORMED, "n_dims 0");
    MUT("n_dims 5", ((mut){q, F_T_NDIMS, 5}), VKQ_ERROR_MALFORMED, "n_dims 5");
    MUT("removed type 4", ((mut){q, F_T_TYPE, 4}), VKQ_ERROR_UNKNOWN_TYPE, "type id 4");
    MUT("removed type 31", ((mut){q, F_T_TYPE, 31}), VKQ_ERROR_UNKNOWN_TYPE, "type id 31");
    MUT("removed type 36", ((mut){q, F_T_TYPE, 36}), VKQ_ERROR_UNKNOWN_TYPE, "type id 36");
    MUT("type 43", ((mut){q, F_T_TYPE, 43}), VKQ_ERROR_UNKNOWN_TYPE, "type id 43");
    MUT("type 255", ((mut){q, F_T_TYPE, 255}), VKQ_ERROR_UNKNOWN_TYPE, q);
    MUT("type 0xFFFFFFFF", ((mut){q, F_T_TYPE, 0xFFFFFFFFu}), VKQ_ERROR_UNKNOWN_TYPE, q);
    MUT("ne[0] not a multiple of the block", ((mut){q, F_T_NE0, 48}), VKQ_ERROR_MALFORMED, "multiple");
    MUT("Q4_K with ne[0] 32", ((mut){"blk.0.attn_v.weight", F_T_NE0, 32}), VKQ_ERROR_MALFORMED, "Q4_K");
    MUT("negative ne", ((mut){q, F_T_NE1, UINT64_MAX}), VKQ_ERROR_MALFORMED, "negative");
    MUT("element count overflow", ((mut){q, F_T_NE1, 1ull << 62}), VKQ_ERROR_MALFORMED, "overflow");
    MUT("byte size past EOF", ((mut){q, F_T_NE1, 1ull << 40}), VKQ_ERROR_MALFORMED, "past the end");
    MUT("offset misaligned", ((mut){q, F_T_OFFSET_ADD, 1}), VKQ_ERROR_MALFORMED, "alignment");
    MUT("offset misaligned 16", ((mut){q, F_T_OFFSET_ADD, 16}), VKQ_ERROR_MALFORMED, q);
    MUT("tensor past EOF", ((mut){"blk.1.bf16", F_T_OFFSET_ADD, 32}), VKQ_ERROR_MALFORMED, "past the end");
    MUT("offset overflow", ((mut){q, F_T_OFFSET, UINT64_MAX & ~(uint64_t)31}), VKQ_ERROR_MALFORMED, "past the end");
    {
        const char *names[2] = {"blk.0.attn_k.weight", q};
        mutated("overlapping tensors", buf, size, apply_same_offset, names, VKQ_ERROR_MALFORMED, "overlaps");
        /* shifting a tensor by one alignment unit into its neighbour */
        mut m = {"blk.0.attn_k.weight", F_T_OFFSET_ADD, (uint64_t)-32};
        mutated("partly overlapping tensors", buf, size, apply, &m, VKQ_ERROR_MALFORMED, "overlaps");
    }
}

/* A small GGUF builder for cases a mutation cannot express. */
typedef struct gb {
    uint8_t buf[8192];
    size_t n;
} gb;

static void gb_u32(gb *b, uint32_t v) { put_u32(b->buf + b->n, v); b->n += 4; }
static void gb_u64(gb *b, uint64_t v) { put_u64(b->buf + b->n, v); b->n += 8; }
static void gb_str(gb *b, const char *s, size_t len)
{
    gb_u64(b, len);
    memcpy(b->buf + b->n, s, len);
    b->n += len;
}
static void gb_header(gb *b, uint32_t version, uint64_t nt, uint64_t nkv)
{
    b->n = 0;
    memcpy(b->buf, "GGUF", 4);
    b->n = 4;
    gb_u32(b, version);
    gb_u64(b, nt);
    gb_u64(b, nkv);
}
static void gb_tensor(gb *b, const char *name, size_t name_len, uint32_t type, uint64_t ne0, uint64_t ne1, uint64_t off)
{
    gb_str(b, name, name_len);
    gb_u32(b, 2);
    gb_u64(b, ne0);
    gb_u64(b, ne1);
    gb_u32(b, type);
    gb_u64(b, off);
}
static void gb_pad(gb *b, size_t a, size_t extra)
{
    while (b->n % a) b->buf[b->n++] = 0;
    memset(b->buf + b->n, 0xA5, extra);
    b->n += extra;
}

static void test_built(void)
{
    gb b;
    vkq_gguf g = NULL;

    /* v2, tensors in reverse offset order with a gap, a zero-element tensor: valid */
    gb_header(&b, 2, 3, 1);
    gb_str(&b, "general.alignment", 17);
    gb_u32(&b, VKQ_GGUF_UINT32);
    gb_u32(&b, 16);
    gb_tensor(&b, "late", 4, VKQ_TYPE_Q8_0, 32, 2, 96);
    gb_tensor(&b, "early", 5, VKQ_TYPE_F32, 4, 1, 0);
    gb_tensor(&b, "empty", 5, VKQ_TYPE_Q4_K, 0, 7, 16);
    gb_pad(&b, 16, 96 + 68);
    vkq_status st = vkq_gguf_create_from_memory(b.buf, b.n, &g);
    CHECK(st == VKQ_SUCCESS, "built v2 file: %s", vkq_last_error());
    if (g) {
        CHECK(vkq_gguf_version(g) == 2 && vkq_gguf_alignment(g) == 16, "v2 header");
        vkq_gguf_tensor t;
        CHECK(vkq_gguf_tensor_info(g, vkq_gguf_find_tensor(g, "late"), &t) == VKQ_SUCCESS &&
              t.nbytes == 68 && t.offset == vkq_gguf_data_offset(g) + 96, "late tensor");
        CHECK(vkq_gguf_tensor_info(g, vkq_gguf_find_tensor(g, "empty"), &t) == VKQ_SUCCESS &&
              t.nbytes == 0 && t.n_elems == 0, "empty tensor");
        vkq_gguf_destroy(g);
    }

    /* same with the alignment key typed INT32, zero, and not a power of two */
    const size_t type_at = 24 + 8 + 17;
    gb c = b;
    put_u32(c.buf + type_at, VKQ_GGUF_INT32);
    expect_reject("alignment typed INT32", c.buf, c.n, VKQ_ERROR_MALFORMED, "general.alignment");
    c = b;
    put_u32(c.buf + type_at + 4, 0);
    expect_reject("alignment 0", c.buf, c.n, VKQ_ERROR_MALFORMED, "power of two");
    c = b;
    put_u32(c.buf + type_at + 4, 24);
    expect_reject("alignment 24", c.buf, c.n, VKQ_ERROR_MALFORMED, "power of two");
    c = b;
    put_u32(c.buf + type_at + 4, 64); /* offsets 96 and 16 are then misaligned */
    expect_reject("alignment 64", c.buf, c.n, VKQ_ERROR_MALFORMED, "alignment 64");

    /* names: 63 bytes ok, 64 rejected; NUL in name; empty name; NUL in key */
    char name[80];
    memset(name, 'n', sizeof name);
    for (size_t len = 62; len <= 65; ++len) {
        gb_header(&b, 3, 1, 0);
        gb_tensor(&b, name, len, VKQ_TYPE_F32, 4, 1, 0);
        gb_pad(&b, 32, 16);
        st = vkq_gguf_create_from_memory(b.buf, b.n, &g);
        if (len < 64) CHECK(st == VKQ_SUCCESS, "name of %zu bytes: %s", len, vkq_last_error());
        else expect_reject("name too long", b.buf, b.n, VKQ_ERROR_MALFORMED, "limit is 63");
        vkq_gguf_destroy(g);
        g = NULL;
    }
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "a\0b", 3, VKQ_TYPE_F32, 4, 1, 0);
    gb_pad(&b, 32, 16);
    expect_reject("NUL in tensor name", b.buf, b.n, VKQ_ERROR_MALFORMED, "NUL");
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "", 0, VKQ_TYPE_F32, 4, 1, 0);
    gb_pad(&b, 32, 16);
    expect_reject("empty tensor name", b.buf, b.n, VKQ_ERROR_MALFORMED, "empty tensor name");
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "k\0y", 3);
    gb_u32(&b, VKQ_GGUF_UINT8);
    b.buf[b.n++] = 1;
    expect_reject("NUL in key", b.buf, b.n, VKQ_ERROR_MALFORMED, "NUL");

    /* NF4 (256) is a vkquant type and accepted; 257 is not */
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "nf4", 3, VKQ_TYPE_NF4, 64, 1, 0);
    gb_pad(&b, 32, 36);
    st = vkq_gguf_create_from_memory(b.buf, b.n, &g);
    CHECK(st == VKQ_SUCCESS, "NF4 tensor: %s", vkq_last_error());
    vkq_gguf_destroy(g);
    g = NULL;
    put_u32(b.buf + 24 + 8 + 3 + 4 + 16, 257);
    expect_reject("type 257", b.buf, b.n, VKQ_ERROR_UNKNOWN_TYPE, "type id 257");

    /* header only, no tensors, no keys: valid */
    gb_header(&b, 3, 0, 0);
    st = vkq_gguf_create_from_memory(b.buf, b.n, &g);
    CHECK(st == VKQ_SUCCESS && vkq_gguf_tensor_count(g) == 0 && vkq_gguf_kv_count(g) == 0,
          "empty GGUF: %s", vkq_last_error());
    vkq_gguf_destroy(g);
    g = NULL;

    /* arguments and IO */
    CHECK(vkq_gguf_create_from_memory(NULL, 10, &g) == VKQ_ERROR_INVALID_ARGUMENT, "NULL data");
    CHECK(vkq_gguf_create_from_memory(b.buf, b.n, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL out");
    CHECK(vkq_gguf_create(NULL, &g) == VKQ_ERROR_INVALID_ARGUMENT, "NULL path");
    st = vkq_gguf_create("/nonexistent/x.gguf", &g);
    CHECK(st == VKQ_ERROR_IO && g == NULL && strstr(vkq_last_error(), "x.gguf"), "missing file: %d %s", (int)st, vkq_last_error());
    st = vkq_gguf_create("/", &g);
    CHECK(st == VKQ_ERROR_IO && g == NULL, "directory: %d %s", (int)st, vkq_last_error());
    vkq_error_clear();
    st = vkq_gguf_create_from_memory("GGUX", 4, &g);
    CHECK(st == VKQ_ERROR_MALFORMED && strstr(vkq_last_error(), "magic"), "bad magic: %s", vkq_last_error());
    vkq_gguf_destroy(NULL);
}

static void test_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open corpus %s", dir);
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        vkq_gguf g = NULL;
        vkq_error_clear();
        const vkq_status st = vkq_gguf_create(path, &g);
        const vkq_status want = !strncmp(e->d_name, "type_", 5) ? VKQ_ERROR_UNKNOWN_TYPE : VKQ_ERROR_MALFORMED;
        CHECK(st == want && g == NULL && vkq_last_error()[0], "corpus %s: status %d, expected %d: %s", e->d_name,
              (int)st, (int)want, vkq_last_error());
        if (st == want) printf("  corpus %-36s -> %s\n", e->d_name, vkq_last_error());
        vkq_gguf_destroy(g);
        ++n;
    }
    closedir(d);
    CHECK(n >= 10, "corpus has only %d files", n);
}

int main(int argc, char **argv)
{
    /* --part runs one family of cases (one meson test each); without it, all of them. */
    const char *part = "all";
    if (argc > 2 && !strcmp(argv[1], "--part")) {
        part = argv[2];
        argc -= 2;
        argv += 2;
    }
    const int valid = !strcmp(part, "all") || !strcmp(part, "valid"),
              malformed = !strcmp(part, "all") || !strcmp(part, "malformed"),
              corpus = !strcmp(part, "all") || !strcmp(part, "corpus");
    if (argc < 2 || !(valid || malformed || corpus)) {
        fprintf(stderr, "usage: test_gguf [--part valid|malformed|corpus] MANIFEST.txt [CORPUS_DIR]\n");
        return 2;
    }
    FILE *man = fopen(argv[1], "r");
    if (!man) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 1;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");

    char *line = NULL;
    size_t cap = 0;
    int files = 0;
    uint8_t *mixed = NULL;
    size_t mixed_size = 0;
    while (getline(&line, &cap, man) > 0) {
        char fname[256];
        unsigned alignment;
        long long n_kv, n_t;
        if (sscanf(line, "file %255s %u %lld %lld", fname, &alignment, &n_kv, &n_t) != 4) continue;
        const long section = ftell(man);
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, fname);
        if (!valid) { /* the malformed cases only need mixed.gguf's bytes */
            if (!strcmp(fname, "mixed.gguf")) mixed = read_file(path, &mixed_size);
            ++files;
            continue;
        }
        vkq_gguf g = NULL;
        vkq_status st = vkq_gguf_create(path, &g);
        CHECK(st == VKQ_SUCCESS, "%s: %s", path, vkq_last_error());
        if (g) check_file(g, man, section, fname, alignment, n_kv, n_t);
        vkq_gguf_destroy(g);
        /* the same through open_memory */
        size_t size = 0;
        uint8_t *buf = read_file(path, &size);
        CHECK(buf != NULL, "read %s", path);
        g = NULL;
        st = vkq_gguf_create_from_memory(buf, size, &g);
        CHECK(st == VKQ_SUCCESS, "%s (memory): %s", path, vkq_last_error());
        if (g) check_file(g, man, section, fname, alignment, n_kv, n_t);
        vkq_gguf_destroy(g);
        fseek(man, section, SEEK_SET);
        if (!strcmp(fname, "mixed.gguf")) {
            mixed = buf;
            mixed_size = size;
        } else {
            free(buf);
        }
        ++files;
    }
    free(line);
    fclose(man);
    CHECK(files >= 3, "manifest lists %d files", files);
    CHECK(mixed != NULL, "manifest lacks mixed.gguf");
    if (valid) printf("valid files: %d\n", files);

    if (malformed) {
        if (mixed) test_malformed(mixed, mixed_size);
        test_built();
    }
    free(mixed);
    if (corpus) {
        CHECK(argc > 2, "--part corpus without CORPUS_DIR");
        if (argc > 2) test_corpus(argv[2]);
    }

    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
