/* A strict reader of the .safetensors layout: 8-byte little-endian header length N, N bytes of
 * JSON {"name": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {...}}, then the raw little-endian data; offsets are relative to the data.
 * Every read is bounds-checked and every size overflow-checked: a malformed file gives -1 and
 * a sentence naming the problem, never a read outside the file. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct cursor {
    const char *p, *end, *start;
    char *err;
    size_t err_size;
    int failed;
} cursor;

static int fail(cursor *c, const char *what)
{
    if (!c->failed) snprintf(c->err, c->err_size, "%s (JSON header byte %ld)", what, (long)(c->p - c->start));
    c->failed = 1;
    return -1;
}

static void ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int expect(cursor *c, char ch)
{
    ws(c);
    if (c->p >= c->end || *c->p != ch) {
        char what[40];
        snprintf(what, sizeof what, "expected '%c'", ch);
        return fail(c, what);
    }
    c->p++;
    return 0;
}

static int peek(cursor *c, char ch)
{
    ws(c);
    return c->p < c->end && *c->p == ch;
}

/* A JSON string into `out` (truncated to out_size - 1 bytes; \u escapes become '?'). */
static int string(cursor *c, char *out, size_t out_size)
{
    if (expect(c, '"')) return -1;
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if ((unsigned char)ch < 0x20) return fail(c, "control character in a string");
        if (ch == '\\') {
            if (c->p >= c->end) break;
            ch = *c->p++;
            if (ch == 'u') {
                if (c->end - c->p < 4) return fail(c, "truncated \\u escape");
                for (int k = 0; k < 4; ++k)
                    if (!isxdigit((unsigned char)*c->p++)) return fail(c, "\\u escape without 4 hex digits");
                ch = '?';
            } else if (!ch || !strchr("\"\\/bfnrt", ch)) { /* strchr finds the terminator */
                return fail(c, "bad escape in a string");
            }
        }
        if (out && n + 1 < out_size) out[n++] = ch;
    }
    if (c->p >= c->end) return fail(c, "unterminated string");
    c->p++;
    if (out) out[n] = 0;
    return 0;
}

static int parse_uint(cursor *c, uint64_t *out)
{
    ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return fail(c, "expected a non-negative integer");
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return fail(c, "integer too large");
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return fail(c, "expected an integer");
    *out = v;
    return 0;
}

/* Skips any JSON value (for __metadata__ and unknown keys); nesting bounded. */
static int skip_value(cursor *c, int depth)
{
    if (depth > 32) return fail(c, "nesting too deep");
    ws(c);
    if (c->p >= c->end) return fail(c, "expected a value");
    char open = *c->p;
    if (open == '"') return string(c, NULL, 0);
    if (open == '{' || open == '[') {
        char close = open == '{' ? '}' : ']';
        c->p++;
        if (peek(c, close)) return c->p++, 0;
        for (;;) {
            if (open == '{' && (string(c, NULL, 0) || expect(c, ':'))) return -1;
            if (skip_value(c, depth + 1)) return -1;
            if (peek(c, ',')) {
                c->p++;
                continue;
            }
            return expect(c, close);
        }
    }
    const char *start = c->p; /* number, true, false, null */
    while (c->p < c->end && *c->p && strchr("0123456789+-.eEtruefalsn", *c->p))
        c->p++;
    return c->p > start ? 0 : fail(c, "unexpected character");
}

static int uint_array(cursor *c, uint64_t *out, uint32_t max, uint32_t *count)
{
    if (expect(c, '[')) return -1;
    *count = 0;
    if (peek(c, ']')) return c->p++, 0;
    for (;;) {
        if (*count == max) return fail(c, "array too long");
        if (parse_uint(c, &out[(*count)++])) return -1;
        if (peek(c, ',')) {
            c->p++;
            continue;
        }
        return expect(c, ']');
    }
}

static const struct {
    const char *name;
    uint32_t size;
    vkq_type type;
} k_dtypes[] = {
    {"F32", 4, VKQ_TYPE_F32},     {"F16", 2, VKQ_TYPE_F16},        {"BF16", 2, VKQ_TYPE_BF16},
    {"F64", 8, VKQ_TYPE_MAX_ID},  {"I64", 8, VKQ_TYPE_MAX_ID},     {"U64", 8, VKQ_TYPE_MAX_ID},
    {"I32", 4, VKQ_TYPE_MAX_ID},  {"U32", 4, VKQ_TYPE_MAX_ID},     {"I16", 2, VKQ_TYPE_MAX_ID},
    {"U16", 2, VKQ_TYPE_MAX_ID},  {"I8", 1, VKQ_TYPE_MAX_ID},      {"U8", 1, VKQ_TYPE_MAX_ID},
    {"BOOL", 1, VKQ_TYPE_MAX_ID}, {"F8_E4M3", 1, VKQ_TYPE_MAX_ID}, {"F8_E5M2", 1, VKQ_TYPE_MAX_ID},
};

/* One tensor's object; checks its byte range against the data section. */
static int tensor(cursor *c, st_tensor *t, const uint8_t *data, uint64_t data_size)
{
    int have_dtype = 0, have_shape = 0, have_offsets = 0;
    uint64_t offs[2];
    uint32_t n_offs = 0, esize = 0;
    if (expect(c, '{')) return -1;
    while (!peek(c, '}')) {
        char key[32];
        if (string(c, key, sizeof key) || expect(c, ':')) return -1;
        if (!strcmp(key, "dtype")) {
            if (string(c, t->dtype, sizeof t->dtype)) return -1;
            have_dtype = 1;
        } else if (!strcmp(key, "shape")) {
            if (uint_array(c, t->shape, 8, &t->n_dims)) return -1;
            have_shape = 1;
        } else if (!strcmp(key, "data_offsets")) {
            if (uint_array(c, offs, 2, &n_offs)) return -1;
            if (n_offs != 2) return fail(c, "data_offsets needs two integers");
            have_offsets = 1;
        } else if (skip_value(c, 1)) {
            return -1;
        }
        if (peek(c, ','))
            c->p++;
        else if (!peek(c, '}'))
            return fail(c, "expected ',' or '}'");
    }
    c->p++;
    char what[320];
    if (!have_dtype || !have_shape || !have_offsets) {
        snprintf(what, sizeof what, "tensor '%s' lacks dtype, shape or data_offsets", t->name);
        return fail(c, what);
    }
    for (size_t i = 0; i < sizeof k_dtypes / sizeof k_dtypes[0]; ++i)
        if (!strcmp(t->dtype, k_dtypes[i].name)) esize = k_dtypes[i].size, t->type = k_dtypes[i].type;
    if (!esize) {
        snprintf(what, sizeof what, "tensor '%s' has unknown dtype '%s'", t->name, t->dtype);
        return fail(c, what);
    }
    uint64_t bytes = esize;
    for (uint32_t d = 0; d < t->n_dims; ++d) {
        if (t->shape[d] && bytes > UINT64_MAX / t->shape[d]) {
            snprintf(what, sizeof what, "tensor '%s': shape overflows", t->name);
            return fail(c, what);
        }
        bytes *= t->shape[d];
    }
    if (offs[0] > offs[1] || offs[1] > data_size || offs[1] - offs[0] != bytes) {
        snprintf(what, sizeof what,
                 "tensor '%.100s': data_offsets [%llu, %llu] do not hold its %llu bytes inside the %llu-byte "
                 "data section",
                 t->name, (unsigned long long)offs[0], (unsigned long long)offs[1], (unsigned long long)bytes,
                 (unsigned long long)data_size);
        return fail(c, what);
    }
    t->data = data + offs[0];
    t->nbytes = bytes;
    return 0;
}

int safetensors_parse(const uint8_t *file, uint64_t size, st_tensor **out, char *err, size_t err_size)
{
    *out = NULL;
    if (size < 8) {
        snprintf(err, err_size, "file of %llu bytes is shorter than the 8-byte header length",
                 (unsigned long long)size);
        return -1;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | file[i];
    if (n < 2 || n > size - 8 || n > (100u << 20)) {
        snprintf(err, err_size, "header length %llu does not fit the file (%llu bytes after the length)",
                 (unsigned long long)n, (unsigned long long)(size - 8));
        return -1;
    }
    cursor c = {(const char *)file + 8, (const char *)file + 8 + n, (const char *)file + 8, err, err_size, 0};
    const uint8_t *data = file + 8 + n;
    const uint64_t data_size = size - 8 - n;
    st_tensor *ts = NULL;
    int count = 0, cap = 0;
    if (expect(&c, '{')) goto bad;
    while (!peek(&c, '}')) {
        char name[128];
        if (string(&c, name, sizeof name) || expect(&c, ':')) goto bad;
        if (!strcmp(name, "__metadata__")) {
            if (skip_value(&c, 1)) goto bad;
        } else {
            for (int i = 0; i < count; ++i)
                if (!strcmp(ts[i].name, name)) {
                    fail(&c, "duplicate tensor name");
                    goto bad;
                }
            if (count == cap) {
                cap = cap ? 2 * cap : 16;
                st_tensor *g = realloc(ts, sizeof *ts * (size_t)cap);
                if (!g) {
                    fail(&c, "out of memory");
                    goto bad;
                }
                ts = g;
            }
            st_tensor *t = &ts[count++];
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "%s", name);
            if (tensor(&c, t, data, data_size)) goto bad;
        }
        if (peek(&c, ','))
            c.p++;
        else if (!peek(&c, '}')) {
            fail(&c, "expected ',' or '}'");
            goto bad;
        }
    }
    c.p++;
    ws(&c);
    if (c.p != c.end) {
        fail(&c, "trailing bytes after the header object");
        goto bad;
    }
    *out = ts;
    return count;
bad:
    free(ts);
    /* The message may quote names from a damaged header: keep it printable ASCII. */
    for (char *e = err; *e; ++e)
        if ((unsigned char)*e < 0x20 || (unsigned char)*e > 0x7e) *e = '?';
    return -1;
}
