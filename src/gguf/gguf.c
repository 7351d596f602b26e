/* Strict GGUF reader (FORMATS.md §11, checklist §11.8). Written from the spec.
 *
 * The parser walks the file once with a bounds-checked cursor; every record goes into an array
 * that grows as records are parsed, so memory use is bounded by what the file really holds.
 * Keys and tensor names are then sorted to check uniqueness (and to look them up), and the
 * tensors are sorted by offset to check that none overlap. */
#include "vkquant/gguf.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAX_STRING ((uint64_t)1 << 30)
#define GGUF_MAX_ARRAY ((uint64_t)1 << 30)
#define GGUF_MAX_NAME 64
#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_TYPE_COUNT 13

typedef struct kv_rec {
    char *key;           /* NUL-terminated copy */
    uint64_t key_len;
    uint64_t key_off;    /* file offset of the key's length field, for messages */
    uint32_t type;
    uint32_t elem_type;  /* ARRAY only */
    uint64_t count;      /* ARRAY only */
    uint64_t value_off;  /* scalar: the value; STRING: its length field; ARRAY: first element */
    uint64_t *str_off;   /* string arrays: offset of each element's length field */
} kv_rec;

typedef struct tensor_rec {
    char *name;
    uint64_t name_len;
    uint64_t info_off;   /* file offset of the tensor info record */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    int64_t n_elems;
    uint32_t type;
    uint64_t rel_offset; /* as in the file, relative to the data section */
    uint64_t offset;     /* absolute */
    uint64_t nbytes;
} tensor_rec;

struct vkq_gguf_s {
    const uint8_t *base;
    uint64_t size;
    void *map;           /* non-NULL when we mmap'ed */
    size_t map_size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    kv_rec *kv;
    int64_t n_kv;
    tensor_rec *tensors;
    int64_t n_tensors;
    int64_t *kv_sorted;     /* indices of kv sorted by key */
    int64_t *tensor_sorted; /* indices of tensors sorted by name */
};

/* ---------------------------------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    char ctx[160]; /* "metadata key #3 'general.name'" etc. */
} reader;

VKQ_PRINTF(3, 4) static vkq_status fail(reader *r, vkq_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vkq_failv(st, fmt, ap);
    va_end(ap);
    if (r->ctx[0]) vkq_fail(st, "%s: %s", r->ctx, vkq_last_error());
    return st;
}

static uint64_t remaining(const reader *r) { return r->size - r->pos; }

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; ++k) v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static vkq_status need(reader *r, uint64_t n, const char *what)
{
    if (n > remaining(r))
        return fail(r, VKQ_ERROR_MALFORMED,
                    "file truncated: %s needs %llu bytes at offset %llu but the file is %llu bytes",
                    what, (unsigned long long)n, (unsigned long long)r->pos,
                    (unsigned long long)r->size);
    return VKQ_SUCCESS;
}

static vkq_status rd(reader *r, unsigned n, uint64_t *v, const char *what)
{
    vkq_status st = need(r, n, what);
    if (st) return st;
    *v = le(r->p + r->pos, n);
    r->pos += n;
    return VKQ_SUCCESS;
}

/* Appends the printable form of `s` (len bytes) into ctx, truncated. */
static void ctx_set(reader *r, const char *kind, uint64_t index, const uint8_t *s, uint64_t len)
{
    int n = snprintf(r->ctx, sizeof r->ctx, "%s #%llu", kind, (unsigned long long)index);
    if (!s || n < 0) return;
    size_t pos = (size_t)n;
    const size_t cap = sizeof r->ctx;
    const char *pre = " '";
    for (const char *c = pre; *c && pos + 1 < cap; ++c) r->ctx[pos++] = *c;
    for (uint64_t k = 0; k < len && pos + 5 < cap; ++k) {
        unsigned char c = s[k];
        if (k >= 64) {
            r->ctx[pos++] = '.'; r->ctx[pos++] = '.'; r->ctx[pos++] = '.';
            break;
        }
        r->ctx[pos++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    if (pos + 1 < cap) r->ctx[pos++] = '\'';
    r->ctx[pos] = 0;
}

/* Reads a gguf_string header and checks its length; leaves pos after the bytes. */
static vkq_status rd_string(reader *r, uint64_t *off, uint64_t *len, const char *what)
{
    const uint64_t start = r->pos;
    vkq_status st = rd(r, 8, len, what);
    if (st) return st;
    if (*len > GGUF_MAX_STRING)
        return fail(r, VKQ_ERROR_MALFORMED, "%s length %llu at offset %llu exceeds the 2^30 limit",
                    what, (unsigned long long)*len, (unsigned long long)start);
    if (*len > remaining(r))
        return fail(r, VKQ_ERROR_MALFORMED,
                    "%s length %llu at offset %llu exceeds the %llu bytes left in the file", what,
                    (unsigned long long)*len, (unsigned long long)start,
                    (unsigned long long)remaining(r));
    *off = r->pos;
    r->pos += *len;
    return VKQ_SUCCESS;
}

static const unsigned type_size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static vkq_status grow(void **arr, int64_t *cap, int64_t n, size_t elem)
{
    if (n < *cap) return VKQ_SUCCESS;
    int64_t nc = *cap ? *cap * 2 : 16;
    if ((uint64_t)nc > SIZE_MAX / elem) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return VKQ_SUCCESS;
}

static char *dup_bytes(const uint8_t *s, uint64_t len)
{
    char *c = malloc((size_t)len + 1);
    if (!c) return NULL;
    memcpy(c, s, (size_t)len);
    c[len] = 0;
    return c;
}

/* Checks one scalar (non-string, non-array) value at pos; advances. */
static vkq_status rd_scalar(reader *r, uint32_t type, const char *what)
{
    const uint64_t at = r->pos;
    vkq_status st = need(r, type_size[type], what);
    if (st) return st;
    if (type == VKQ_GGUF_BOOL && r->p[r->pos] > 1)
        return fail(r, VKQ_ERROR_MALFORMED, "BOOL value %u at offset %llu is neither 0 nor 1",
                    r->p[r->pos], (unsigned long long)at);
    r->pos += type_size[type];
    return VKQ_SUCCESS;
}

/* Reads the key of record `index` and names the record in the message context after it. */
static vkq_status parse_key(reader *r, kv_rec *kv, uint64_t index)
{
    uint64_t koff, klen;
    kv->key_off = r->pos;
    vkq_status st = rd_string(r, &koff, &klen, "key");
    if (st) return st;
    ctx_set(r, "metadata key", index, r->p + koff, klen);
    if (klen == 0)
        return fail(r, VKQ_ERROR_MALFORMED, "empty key at offset %llu", (unsigned long long)kv->key_off);
    if (memchr(r->p + koff, 0, (size_t)klen))
        return fail(r, VKQ_ERROR_MALFORMED, "key at offset %llu contains a NUL byte",
                    (unsigned long long)kv->key_off);
    kv->key = dup_bytes(r->p + koff, klen);
    if (!kv->key) return fail(r, VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    kv->key_len = klen;
    return VKQ_SUCCESS;
}

/* Reads an array's element type and count; the count is checked against the bytes left before
 * anything is allocated for it. */
static vkq_status parse_array_header(reader *r, kv_rec *kv)
{
    uint64_t et, count;
    const uint64_t eoff = r->pos;
    vkq_status st = rd(r, 4, &et, "array element type");
    if (st) return st;
    if (et == VKQ_GGUF_ARRAY)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "nested array (element type ARRAY at offset %llu) is not supported",
                    (unsigned long long)eoff);
    if (et >= GGUF_TYPE_COUNT)
        return fail(r, VKQ_ERROR_MALFORMED, "array element type %llu at offset %llu is not in 0..12",
                    (unsigned long long)et, (unsigned long long)eoff);
    const uint64_t coff = r->pos;
    st = rd(r, 8, &count, "array count");
    if (st) return st;
    const uint64_t min_elem = et == VKQ_GGUF_STRING ? 8 : type_size[et];
    if (count > GGUF_MAX_ARRAY || count > remaining(r) / min_elem)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "array count %llu at offset %llu exceeds %s (%llu bytes left, %llu per element)",
                    (unsigned long long)count, (unsigned long long)coff,
                    count > GGUF_MAX_ARRAY ? "the 2^30 limit" : "the bytes left in the file",
                    (unsigned long long)remaining(r), (unsigned long long)min_elem);
    kv->elem_type = (uint32_t)et;
    kv->count = count;
    kv->value_off = r->pos;
    return VKQ_SUCCESS;
}

/* Walks the elements of an array whose header parse_array_header has read and checked. */
static vkq_status parse_array_elements(reader *r, kv_rec *kv)
{
    vkq_status st;
    if (kv->elem_type == VKQ_GGUF_STRING) {
        /* count * 8 <= remaining: the table is bounded by the file size. */
        kv->str_off = malloc(kv->count ? (size_t)kv->count * sizeof(uint64_t) : 1);
        if (!kv->str_off) return fail(r, VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        for (uint64_t j = 0; j < kv->count; ++j) {
            uint64_t off, len;
            kv->str_off[j] = r->pos;
            st = rd_string(r, &off, &len, "array string element");
            if (st) return st;
        }
        return VKQ_SUCCESS;
    }
    if (kv->elem_type == VKQ_GGUF_BOOL) {
        for (uint64_t j = 0; j < kv->count; ++j) {
            st = rd_scalar(r, kv->elem_type, "array BOOL element");
            if (st) return st;
        }
        return VKQ_SUCCESS;
    }
    r->pos += kv->count * type_size[kv->elem_type]; /* checked by parse_array_header */
    return VKQ_SUCCESS;
}

/* Reads the value type and the value after a key. */
static vkq_status parse_value(reader *r, kv_rec *kv)
{
    uint64_t t;
    const uint64_t toff = r->pos;
    vkq_status st = rd(r, 4, &t, "value type");
    if (st) return st;
    if (t >= GGUF_TYPE_COUNT)
        return fail(r, VKQ_ERROR_MALFORMED, "value type %llu at offset %llu is not in 0..12",
                    (unsigned long long)t, (unsigned long long)toff);
    kv->type = (uint32_t)t;
    kv->value_off = r->pos;
    if (t == VKQ_GGUF_STRING) {
        uint64_t off, len;
        return rd_string(r, &off, &len, "string value");
    }
    if (t != VKQ_GGUF_ARRAY) return rd_scalar(r, (uint32_t)t, "value");
    st = parse_array_header(r, kv);
    if (st) return st;
    return parse_array_elements(r, kv);
}

static vkq_status parse_kv(reader *r, kv_rec *kv, uint64_t index)
{
    vkq_status st = parse_key(r, kv, index);
    if (st) return st;
    return parse_value(r, kv);
}

/* Reads the name of tensor info `index` and names the record in the message context after it. */
static vkq_status parse_tensor_name(reader *r, tensor_rec *t, uint64_t index)
{
    uint64_t noff, nlen;
    t->info_off = r->pos;
    vkq_status st = rd_string(r, &noff, &nlen, "tensor name");
    if (st) return st;
    ctx_set(r, "tensor", index, r->p + noff, nlen);
    if (nlen == 0)
        return fail(r, VKQ_ERROR_MALFORMED, "empty tensor name at offset %llu",
                    (unsigned long long)t->info_off);
    if (nlen >= GGUF_MAX_NAME)
        return fail(r, VKQ_ERROR_MALFORMED, "name at offset %llu is %llu bytes, the limit is 63",
                    (unsigned long long)t->info_off, (unsigned long long)nlen);
    if (memchr(r->p + noff, 0, (size_t)nlen))
        return fail(r, VKQ_ERROR_MALFORMED, "name at offset %llu contains a NUL byte",
                    (unsigned long long)t->info_off);
    t->name = dup_bytes(r->p + noff, nlen);
    if (!t->name) return fail(r, VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    t->name_len = nlen;
    return VKQ_SUCCESS;
}

/* Reads n_dims and ne[]; unused dimensions are 1, and the element count must fit in int64. */
static vkq_status parse_tensor_dims(reader *r, tensor_rec *t)
{
    uint64_t v;
    const uint64_t doff = r->pos;
    vkq_status st = rd(r, 4, &v, "n_dims");
    if (st) return st;
    if (v < 1 || v > GGUF_MAX_DIMS)
        return fail(r, VKQ_ERROR_MALFORMED, "n_dims %llu at offset %llu is not in 1..4",
                    (unsigned long long)v, (unsigned long long)doff);
    t->n_dims = (uint32_t)v;
    int64_t n_elems = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; ++d) {
        t->ne[d] = 1;
        if (d >= t->n_dims) continue;
        const uint64_t at = r->pos;
        st = rd(r, 8, &v, "ne");
        if (st) return st;
        if (v > (uint64_t)INT64_MAX)
            return fail(r, VKQ_ERROR_MALFORMED, "ne[%u] at offset %llu is negative (%lld)", d,
                        (unsigned long long)at, (long long)(int64_t)v);
        t->ne[d] = (int64_t)v;
        if (__builtin_mul_overflow(n_elems, t->ne[d], &n_elems))
            return fail(r, VKQ_ERROR_MALFORMED,
                        "the element count overflows int64 at ne[%u] = %lld (offset %llu)", d,
                        (long long)t->ne[d], (unsigned long long)at);
    }
    t->n_elems = n_elems;
    return VKQ_SUCCESS;
}

/* Reads the type id and works out the byte size, which must not overflow. */
static vkq_status parse_tensor_type(reader *r, tensor_rec *t)
{
    uint64_t v;
    const uint64_t toff = r->pos;
    vkq_status st = rd(r, 4, &v, "tensor type");
    if (st) return st;
    t->type = (uint32_t)v;
    const vkq_type_info *ti = v <= VKQ_TYPE_MAX_ID ? vkq_type_get((vkq_type)v) : NULL;
    if (!ti)
        return fail(r, VKQ_ERROR_UNKNOWN_TYPE,
                    "type id %llu at offset %llu is not a vkquant type (unknown or removed id)",
                    (unsigned long long)v, (unsigned long long)toff);
    if (t->ne[0] % ti->block_elems != 0)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "ne[0] = %lld is not a multiple of the %s block size %u (type at offset %llu)",
                    (long long)t->ne[0], ti->name, ti->block_elems, (unsigned long long)toff);
    uint64_t nbytes;
    if (__builtin_mul_overflow((uint64_t)t->n_elems / ti->block_elems, (uint64_t)ti->block_bytes, &nbytes))
        return fail(r, VKQ_ERROR_MALFORMED, "the byte size of %lld %s elements overflows (offset %llu)",
                    (long long)t->n_elems, ti->name, (unsigned long long)toff);
    t->nbytes = nbytes;
    return VKQ_SUCCESS;
}

static vkq_status parse_tensor(reader *r, tensor_rec *t, uint64_t index)
{
    vkq_status st = parse_tensor_name(r, t, index);
    if (st) return st;
    st = parse_tensor_dims(r, t);
    if (st) return st;
    st = parse_tensor_type(r, t);
    if (st) return st;
    const uint64_t ooff = r->pos;
    st = rd(r, 8, &t->rel_offset, "tensor offset");
    if (st) return st;
    t->offset = ooff; /* temporarily: where the offset field is, for messages */
    return VKQ_SUCCESS;
}

/* ---------------------------------------------------------------------------------------- */

static int cmp_bytes(const char *a, uint64_t al, const char *b, uint64_t bl)
{
    const uint64_t n = al < bl ? al : bl;
    int c = memcmp(a, b, (size_t)n);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

/* qsort works on (name, offset, index) items, so no global state is needed. */
typedef struct sort_item {
    const char *s;
    uint64_t len;
    uint64_t key2; /* tensors by offset */
    int64_t index;
} sort_item;

static int cmp_name(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    int c = cmp_bytes(x->s, x->len, y->s, y->len);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_offset(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->key2 != y->key2) return x->key2 < y->key2 ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void free_handle(vkq_gguf g)
{
    if (!g) return;
    for (int64_t i = 0; i < g->n_kv; ++i) {
        free(g->kv[i].key);
        free(g->kv[i].str_off);
    }
    for (int64_t i = 0; i < g->n_tensors; ++i) free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    free(g->kv_sorted);
    free(g->tensor_sorted);
    if (g->map) munmap(g->map, g->map_size);
    free(g);
}

static vkq_status check_magic(reader *r)
{
    if (r->size < 4)
        return fail(r, VKQ_ERROR_MALFORMED, "file is %llu bytes, too short for the GGUF magic at offset 0",
                    (unsigned long long)r->size);
    if (memcmp(r->p, "GGUF", 4) != 0)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "bad magic at offset 0: %02x %02x %02x %02x, expected \"GGUF\" (47 47 55 46)", r->p[0],
                    r->p[1], r->p[2], r->p[3]);
    r->pos = 4;
    return VKQ_SUCCESS;
}

/* Versions 2 and 3 only (FORMATS.md §11.6); a byte-swapped version names the big-endian case. */
static vkq_status parse_version(vkq_gguf g, reader *r)
{
    uint64_t v;
    vkq_status st = rd(r, 4, &v, "header version");
    if (st) return st;
    const uint32_t ver = (uint32_t)v;
    if (ver == 0) return fail(r, VKQ_ERROR_MALFORMED, "GGUF version 0 at offset 4 is invalid");
    if ((ver & 0xFFFFu) == 0)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "version field 0x%08x at offset 4 suggests a big-endian GGUF file (version %u "
                    "byte-swapped); big-endian files are not supported",
                    ver, __builtin_bswap32(ver));
    if (ver == 1)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "GGUF version 1 (offset 4) is no longer supported; convert the file to v3");
    if (ver > 3)
        return fail(r, VKQ_ERROR_MALFORMED, "GGUF version %u at offset 4 is not supported (only 2 and 3)",
                    ver);
    g->version = ver;
    return VKQ_SUCCESS;
}

/* Reads both record counts and rejects any that could not fit in the bytes that follow, so no
 * count is trusted before the records are read. */
static vkq_status parse_counts(reader *r, uint64_t *n_tensors, uint64_t *n_kv)
{
    vkq_status st = rd(r, 8, n_tensors, "header tensor_count");
    if (st) return st;
    st = rd(r, 8, n_kv, "header metadata_kv_count");
    if (st) return st;
    /* Smallest records: KV = 8 (len) + 1 (key) + 4 (type) + 1 (u8);
     * tensor info = 8 + 1 (name) + 4 (n_dims) + 8 (ne[0]) + 4 (type) + 8 (offset). */
    const uint64_t min_kv = 14, min_ti = 33;
    if (*n_kv > remaining(r) / min_kv)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "metadata_kv_count %llu at offset 16 is impossible: only %llu bytes follow "
                    "(at least %llu per key/value)",
                    (unsigned long long)*n_kv, (unsigned long long)remaining(r), (unsigned long long)min_kv);
    if (*n_tensors > remaining(r) / min_ti)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "tensor_count %llu at offset 8 is impossible: only %llu bytes follow "
                    "(at least %llu per tensor info)",
                    (unsigned long long)*n_tensors, (unsigned long long)remaining(r),
                    (unsigned long long)min_ti);
    if (*n_tensors != 0 && *n_kv > (remaining(r) - *n_tensors * min_ti) / min_kv)
        return fail(r, VKQ_ERROR_MALFORMED,
                    "tensor_count %llu and metadata_kv_count %llu (offsets 8, 16) do not fit in "
                    "the %llu bytes that follow",
                    (unsigned long long)*n_tensors, (unsigned long long)*n_kv,
                    (unsigned long long)remaining(r));
    return VKQ_SUCCESS;
}

static vkq_status parse_kv_section(vkq_gguf g, reader *r, uint64_t n_kv)
{
    int64_t cap = 0;
    for (uint64_t i = 0; i < n_kv; ++i) {
        void *arr = g->kv;
        vkq_status st = grow(&arr, &cap, g->n_kv, sizeof(kv_rec));
        g->kv = arr;
        if (st) return fail(r, st, "out of host memory");
        kv_rec *kv = &g->kv[g->n_kv++];
        snprintf(r->ctx, sizeof r->ctx, "metadata key #%llu", (unsigned long long)i);
        st = parse_kv(r, kv, i);
        if (st) return st;
    }
    return VKQ_SUCCESS;
}

/* general.alignment: UINT32 and a non-zero power of two; 32 when absent. */
static vkq_status read_alignment(vkq_gguf g, reader *r)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < g->n_kv; ++i) {
        const kv_rec *kv = &g->kv[i];
        if (strcmp(kv->key, "general.alignment") != 0) continue;
        snprintf(r->ctx, sizeof r->ctx, "metadata key #%lld 'general.alignment'", (long long)i);
        if (kv->type != VKQ_GGUF_UINT32)
            return fail(r, VKQ_ERROR_MALFORMED, "type is %s (value at offset %llu), must be UINT32",
                        vkq_gguf_type_name((vkq_gguf_type)kv->type), (unsigned long long)kv->value_off);
        const uint32_t a = (uint32_t)le(r->p + kv->value_off, 4);
        if (a == 0 || (a & (a - 1)) != 0)
            return fail(r, VKQ_ERROR_MALFORMED, "value %u at offset %llu is not a non-zero power of two", a,
                        (unsigned long long)kv->value_off);
        g->alignment = a;
    }
    return VKQ_SUCCESS;
}

static vkq_status parse_tensor_section(vkq_gguf g, reader *r, uint64_t n_tensors)
{
    int64_t cap = 0;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        void *arr = g->tensors;
        vkq_status st = grow(&arr, &cap, g->n_tensors, sizeof(tensor_rec));
        g->tensors = arr;
        if (st) return fail(r, st, "out of host memory");
        tensor_rec *t = &g->tensors[g->n_tensors++];
        snprintf(r->ctx, sizeof r->ctx, "tensor #%llu", (unsigned long long)i);
        st = parse_tensor(r, t, i);
        if (st) return st;
    }
    r->ctx[0] = 0;
    return VKQ_SUCCESS;
}

/* The data section starts at the end of the tensor infos, padded up to the alignment. */
static vkq_status set_data_offset(vkq_gguf g, reader *r)
{
    const uint64_t end = r->pos, a = g->alignment;
    const uint64_t pad = (a - end % a) % a;
    if (__builtin_add_overflow(end, pad, &g->data_offset))
        return fail(r, VKQ_ERROR_MALFORMED, "data offset overflows");
    return VKQ_SUCCESS;
}

/* Turns each tensor's relative offset into an absolute one: aligned, and its bytes inside the
 * file, every addition checked for overflow. */
static vkq_status place_tensors(vkq_gguf g, reader *r)
{
    const uint64_t a = g->alignment;
    for (int64_t i = 0; i < g->n_tensors; ++i) {
        tensor_rec *t = &g->tensors[i];
        const uint64_t field = t->offset;
        ctx_set(r, "tensor", (uint64_t)i, (const uint8_t *)t->name, t->name_len);
        if (t->rel_offset % a != 0)
            return fail(r, VKQ_ERROR_MALFORMED,
                        "data offset %llu (field at offset %llu) is not a multiple of the "
                        "alignment %u",
                        (unsigned long long)t->rel_offset, (unsigned long long)field, g->alignment);
        uint64_t abs, stop;
        if (__builtin_add_overflow(g->data_offset, t->rel_offset, &abs) ||
            __builtin_add_overflow(abs, t->nbytes, &stop) || stop > r->size)
            return fail(r, VKQ_ERROR_MALFORMED,
                        "data [%llu + %llu, + %llu bytes) (offset field at %llu) lies past the end "
                        "of the %llu-byte file",
                        (unsigned long long)g->data_offset, (unsigned long long)t->rel_offset,
                        (unsigned long long)t->nbytes, (unsigned long long)field,
                        (unsigned long long)r->size);
        t->offset = abs;
    }
    r->ctx[0] = 0;
    return VKQ_SUCCESS;
}

/* Sorts the keys into g->kv_sorted (the lookup index); equal neighbours are duplicates. */
static vkq_status check_unique_keys(vkq_gguf g, reader *r, sort_item *items)
{
    for (int64_t i = 0; i < g->n_kv; ++i)
        items[i] = (sort_item){g->kv[i].key, g->kv[i].key_len, 0, i};
    if (g->n_kv) qsort(items, (size_t)g->n_kv, sizeof *items, cmp_name);
    for (int64_t i = 0; i < g->n_kv; ++i) {
        g->kv_sorted[i] = items[i].index;
        if (i && cmp_bytes(items[i].s, items[i].len, items[i - 1].s, items[i - 1].len) == 0) {
            const kv_rec *k = &g->kv[items[i].index];
            ctx_set(r, "metadata key", (uint64_t)items[i].index, (const uint8_t *)k->key, k->key_len);
            return fail(r, VKQ_ERROR_MALFORMED, "duplicate key at offset %llu (first defined by key #%lld)",
                        (unsigned long long)k->key_off, (long long)items[i - 1].index);
        }
    }
    return VKQ_SUCCESS;
}

/* Sorts the tensor names into g->tensor_sorted (the lookup index); equal neighbours are
 * duplicates. */
static vkq_status check_unique_names(vkq_gguf g, reader *r, sort_item *items)
{
    for (int64_t i = 0; i < g->n_tensors; ++i)
        items[i] = (sort_item){g->tensors[i].name, g->tensors[i].name_len, 0, i};
    if (g->n_tensors) qsort(items, (size_t)g->n_tensors, sizeof *items, cmp_name);
    for (int64_t i = 0; i < g->n_tensors; ++i) {
        g->tensor_sorted[i] = items[i].index;
        if (i && cmp_bytes(items[i].s, items[i].len, items[i - 1].s, items[i - 1].len) == 0) {
            const tensor_rec *t = &g->tensors[items[i].index];
            ctx_set(r, "tensor", (uint64_t)items[i].index, (const uint8_t *)t->name, t->name_len);
            return fail(r, VKQ_ERROR_MALFORMED,
                        "duplicate tensor name at offset %llu (first used by tensor #%lld)",
                        (unsigned long long)t->info_off, (long long)items[i - 1].index);
        }
    }
    return VKQ_SUCCESS;
}

/* Sorted by offset, a tensor can only overlap its predecessor; empty tensors overlap nothing. */
static vkq_status check_no_overlap(vkq_gguf g, reader *r, sort_item *items)
{
    int64_t n_nonempty = 0;
    for (int64_t i = 0; i < g->n_tensors; ++i)
        if (g->tensors[i].nbytes) items[n_nonempty++] = (sort_item){NULL, 0, g->tensors[i].offset, i};
    if (n_nonempty) qsort(items, (size_t)n_nonempty, sizeof *items, cmp_offset);
    for (int64_t i = 1; i < n_nonempty; ++i) {
        const tensor_rec *p = &g->tensors[items[i - 1].index], *t = &g->tensors[items[i].index];
        if (p->offset + p->nbytes > t->offset) {
            ctx_set(r, "tensor", (uint64_t)items[i].index, (const uint8_t *)t->name, t->name_len);
            return fail(r, VKQ_ERROR_MALFORMED,
                        "data at file offset %llu (%llu bytes) overlaps tensor #%lld '%s' "
                        "at file offset %llu (%llu bytes)",
                        (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                        (long long)items[i - 1].index, p->name, (unsigned long long)p->offset,
                        (unsigned long long)p->nbytes);
        }
    }
    return VKQ_SUCCESS;
}

/* Unique keys, unique names, no overlapping data; builds the sorted lookup indices on the way. */
static vkq_status check_records(vkq_gguf g, reader *r)
{
    const int64_t nmax = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    sort_item *items = malloc((size_t)(nmax ? nmax : 1) * sizeof *items);
    g->kv_sorted = malloc((size_t)(g->n_kv ? g->n_kv : 1) * sizeof(int64_t));
    g->tensor_sorted = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof(int64_t));
    if (!items || !g->kv_sorted || !g->tensor_sorted) {
        free(items);
        return fail(r, VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    vkq_status st = check_unique_keys(g, r, items);
    if (st == VKQ_SUCCESS) st = check_unique_names(g, r, items);
    if (st == VKQ_SUCCESS) st = check_no_overlap(g, r, items);
    free(items);
    return st;
}

/* One step per part of the file, in file order; each §11.8 check sits in the step that reads
 * the field it is about. */
static vkq_status parse(vkq_gguf g, reader *r)
{
    uint64_t n_tensors, n_kv;
    vkq_status st = check_magic(r);
    if (st) return st;
    st = parse_version(g, r);
    if (st) return st;
    st = parse_counts(r, &n_tensors, &n_kv);
    if (st) return st;
    st = parse_kv_section(g, r, n_kv);
    if (st) return st;
    st = read_alignment(g, r);
    if (st) return st;
    st = parse_tensor_section(g, r, n_tensors);
    if (st) return st;
    st = set_data_offset(g, r);
    if (st) return st;
    st = place_tensors(g, r);
    if (st) return st;
    return check_records(g, r);
}

static vkq_status open_common(const uint8_t *data, uint64_t size, void *map, size_t map_size, vkq_gguf *out)
{
    reader r = {.p = data, .size = size};
    vkq_gguf g = calloc(1, sizeof *g);
    if (!g) {
        if (map) munmap(map, map_size);
        return fail(&r, VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    g->base = data;
    g->size = size;
    g->map = map;
    g->map_size = map_size;
    vkq_status st = parse(g, &r);
    if (st != VKQ_SUCCESS) {
        free_handle(g);
        return st;
    }
    *out = g;
    return VKQ_SUCCESS;
}

vkq_status vkq_gguf_create_from_memory(const void *data, size_t size, vkq_gguf *out)
{
    if (out) *out = NULL;
    if (!out || (!data && size)) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL output or data pointer");
    static const uint8_t empty[1];
    return open_common(data ? data : empty, size, NULL, 0, out);
}

vkq_status vkq_gguf_create(const char *path, vkq_gguf *out)
{
    if (out) *out = NULL;
    if (!out || !path) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL path or output pointer");
    /* O_NONBLOCK: a named pipe with no writer would otherwise block the open forever; the
     * file type is checked right after, so nothing is ever read without it. */
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return vkq_fail(VKQ_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        vkq_fail(VKQ_ERROR_IO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return VKQ_ERROR_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        const char *what = S_ISDIR(sb.st_mode)    ? "is a directory"
                           : S_ISFIFO(sb.st_mode) ? "is a named pipe (FIFO), not a regular file"
                           : S_ISSOCK(sb.st_mode) ? "is a socket, not a regular file"
                           : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "is a device, not a regular file"
                                                                        : "is not a regular file";
        vkq_fail(VKQ_ERROR_IO, "%s: %s", path, what);
        close(fd);
        return VKQ_ERROR_IO;
    }
    if (sb.st_size == 0) {
        vkq_fail(VKQ_ERROR_MALFORMED, "%s: empty file (0 bytes), not a GGUF file", path);
        close(fd);
        return VKQ_ERROR_MALFORMED;
    }
    const uint64_t size = (uint64_t)sb.st_size;
    if (size > SIZE_MAX) {
        vkq_fail(VKQ_ERROR_IO, "%s: file too large to map", path);
        close(fd);
        return VKQ_ERROR_IO;
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        vkq_fail(VKQ_ERROR_IO, "%s: mmap failed: %s", path, strerror(errno));
        close(fd);
        return VKQ_ERROR_IO;
    }
    close(fd);
    vkq_status st = open_common(map, size, map, (size_t)size, out);
    if (st != VKQ_SUCCESS) vkq_fail(st, "%s: %s", path, vkq_last_error());
    return st;
}

void vkq_gguf_destroy(vkq_gguf g) { free_handle(g); }

/* ---------------------------------------------------------------------------------------- */

const char *vkq_gguf_type_name(vkq_gguf_type type)
{
    static const char *names[GGUF_TYPE_COUNT] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32",
                                                 "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
                                                 "UINT64", "INT64", "FLOAT64"};
    return (unsigned)type < GGUF_TYPE_COUNT ? names[type] : "?";
}

uint32_t vkq_gguf_version(vkq_gguf g) { return g ? g->version : 0; }
uint32_t vkq_gguf_alignment(vkq_gguf g) { return g ? g->alignment : 0; }
uint64_t vkq_gguf_data_offset(vkq_gguf g) { return g ? g->data_offset : 0; }
uint64_t vkq_gguf_file_size(vkq_gguf g) { return g ? g->size : 0; }
const void *vkq_gguf_file_data(vkq_gguf g) { return g ? g->base : NULL; }
int64_t vkq_gguf_kv_count(vkq_gguf g) { return g ? g->n_kv : 0; }
int64_t vkq_gguf_tensor_count(vkq_gguf g) { return g ? g->n_tensors : 0; }

static const kv_rec *kv_at(vkq_gguf g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? &g->kv[i] : NULL;
}

const char *vkq_gguf_kv_key(vkq_gguf g, int64_t i)
{
    const kv_rec *kv = kv_at(g, i);
    return kv ? kv->key : NULL;
}

vkq_gguf_type vkq_gguf_kv_type(vkq_gguf g, int64_t i)
{
    const kv_rec *kv = kv_at(g, i);
    return kv ? (vkq_gguf_type)kv->type : (vkq_gguf_type)-1;
}

static int64_t find_sorted(const int64_t *sorted, int64_t n, const char *name, size_t len,
                           const char *(*get)(vkq_gguf , int64_t, uint64_t *),
                           vkq_gguf g)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        uint64_t l;
        const char *s = get(g, sorted[mid], &l);
        const int c = cmp_bytes(s, l, name, len);
        if (c == 0) return sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static const char *key_of(vkq_gguf g, int64_t i, uint64_t *len)
{
    *len = g->kv[i].key_len;
    return g->kv[i].key;
}

static const char *name_of(vkq_gguf g, int64_t i, uint64_t *len)
{
    *len = g->tensors[i].name_len;
    return g->tensors[i].name;
}

int64_t vkq_gguf_find_key(vkq_gguf g, const char *key)
{
    if (!g || !key) return -1;
    return find_sorted(g->kv_sorted, g->n_kv, key, strlen(key), key_of, g);
}

int64_t vkq_gguf_find_tensor(vkq_gguf g, const char *name)
{
    if (!g || !name) return -1;
    return find_sorted(g->tensor_sorted, g->n_tensors, name, strlen(name), name_of, g);
}

/* Decodes a validated value of `type` at `off`. */
static void decode(vkq_gguf g, uint32_t type, uint64_t off, vkq_gguf_value *out)
{
    const uint8_t *p = g->base + off;
    memset(out, 0, sizeof *out);
    out->type = (vkq_gguf_type)type;
    switch (type) {
    case VKQ_GGUF_UINT8: case VKQ_GGUF_UINT16: case VKQ_GGUF_UINT32: case VKQ_GGUF_UINT64:
        out->u = le(p, type_size[type]);
        out->i = (int64_t)out->u;
        out->f = (double)out->u;
        break;
    case VKQ_GGUF_INT8: case VKQ_GGUF_INT16: case VKQ_GGUF_INT32: case VKQ_GGUF_INT64: {
        const unsigned n = type_size[type];
        uint64_t u = le(p, n);
        if (n < 8 && (u >> (8 * n - 1)) & 1) u |= ~(uint64_t)0 << (8 * n);
        out->i = (int64_t)u;
        out->u = u;
        out->f = (double)out->i;
        break;
    }
    case VKQ_GGUF_FLOAT32: {
        const uint32_t u = (uint32_t)le(p, 4);
        float f;
        memcpy(&f, &u, 4);
        out->f = f;
        break;
    }
    case VKQ_GGUF_FLOAT64: {
        const uint64_t u = le(p, 8);
        memcpy(&out->f, &u, 8);
        break;
    }
    case VKQ_GGUF_BOOL:
        out->b = p[0] != 0;
        out->u = (uint64_t)out->b;
        out->i = out->b;
        break;
    case VKQ_GGUF_STRING:
        out->str.len = le(p, 8);
        out->str.data = (const char *)p + 8;
        break;
    default:
        break;
    }
}

vkq_status vkq_gguf_get_value(vkq_gguf g, int64_t i, vkq_gguf_value *out)
{
    const kv_rec *kv = kv_at(g, i);
    if (!kv || !out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (kv->type == VKQ_GGUF_ARRAY) {
        memset(out, 0, sizeof *out);
        out->type = VKQ_GGUF_ARRAY;
        out->elem_type = (vkq_gguf_type)kv->elem_type;
        out->count = kv->count;
        return VKQ_SUCCESS;
    }
    decode(g, kv->type, kv->value_off, out);
    return VKQ_SUCCESS;
}

#define TYPED_GETTER(fn, T, tag, expr)                                                         \
    vkq_status fn(vkq_gguf g, int64_t i, T *out)                                        \
    {                                                                                          \
        const kv_rec *kv = kv_at(g, i);                                                        \
        if (!kv || !out || kv->type != (tag)) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);               \
        vkq_gguf_value v;                                                                      \
        decode(g, kv->type, kv->value_off, &v);                                                \
        *out = (T)(expr);                                                                      \
        return VKQ_SUCCESS;                                                                    \
    }

TYPED_GETTER(vkq_gguf_get_u8, uint8_t, VKQ_GGUF_UINT8, v.u)
TYPED_GETTER(vkq_gguf_get_i8, int8_t, VKQ_GGUF_INT8, v.i)
TYPED_GETTER(vkq_gguf_get_u16, uint16_t, VKQ_GGUF_UINT16, v.u)
TYPED_GETTER(vkq_gguf_get_i16, int16_t, VKQ_GGUF_INT16, v.i)
TYPED_GETTER(vkq_gguf_get_u32, uint32_t, VKQ_GGUF_UINT32, v.u)
TYPED_GETTER(vkq_gguf_get_i32, int32_t, VKQ_GGUF_INT32, v.i)
TYPED_GETTER(vkq_gguf_get_u64, uint64_t, VKQ_GGUF_UINT64, v.u)
TYPED_GETTER(vkq_gguf_get_i64, int64_t, VKQ_GGUF_INT64, v.i)
TYPED_GETTER(vkq_gguf_get_f32, float, VKQ_GGUF_FLOAT32, v.f)
TYPED_GETTER(vkq_gguf_get_f64, double, VKQ_GGUF_FLOAT64, v.f)
TYPED_GETTER(vkq_gguf_get_bool, int, VKQ_GGUF_BOOL, v.b)

vkq_status vkq_gguf_get_string(vkq_gguf g, int64_t i, vkq_gguf_string *out)
{
    const kv_rec *kv = kv_at(g, i);
    if (!kv || !out || kv->type != VKQ_GGUF_STRING) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    vkq_gguf_value v;
    decode(g, kv->type, kv->value_off, &v);
    *out = v.str;
    return VKQ_SUCCESS;
}

vkq_status vkq_gguf_get_array(vkq_gguf g, int64_t i, vkq_gguf_type *elem_type,
                              uint64_t *count, const void **data)
{
    const kv_rec *kv = kv_at(g, i);
    if (!kv || kv->type != VKQ_GGUF_ARRAY) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (elem_type) *elem_type = (vkq_gguf_type)kv->elem_type;
    if (count) *count = kv->count;
    if (data) *data = kv->elem_type == VKQ_GGUF_STRING ? NULL : g->base + kv->value_off;
    return VKQ_SUCCESS;
}

vkq_status vkq_gguf_get_array_value(vkq_gguf g, int64_t i, uint64_t j, vkq_gguf_value *out)
{
    const kv_rec *kv = kv_at(g, i);
    if (!kv || !out || kv->type != VKQ_GGUF_ARRAY || j >= kv->count)
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (kv->elem_type == VKQ_GGUF_STRING) decode(g, VKQ_GGUF_STRING, kv->str_off[j], out);
    else decode(g, kv->elem_type, kv->value_off + j * type_size[kv->elem_type], out);
    return VKQ_SUCCESS;
}

vkq_status vkq_gguf_tensor_info(vkq_gguf g, int64_t i, vkq_gguf_tensor *out)
{
    if (!g || !out || i < 0 || i >= g->n_tensors) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    const tensor_rec *t = &g->tensors[i];
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->name_len = (size_t)t->name_len;
    out->n_dims = t->n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; ++d) out->ne[d] = t->ne[d];
    out->n_elems = t->n_elems;
    out->type = (vkq_type)t->type;
    out->offset = t->offset;
    out->nbytes = t->nbytes;
    out->data = g->base + t->offset;
    return VKQ_SUCCESS;
}
