/* GGUF v3 writer (include/vkquant/gguf.h, FORMATS.md §11): metadata held as serialised value
 * blobs, tensors as declared infos; the header goes out at begin, the data streams after it.
 *
 * Output to a path goes to a temporary beside it and is renamed at the end, so a reader of the
 * path sees the old file or the whole new one, never a part (the same directory keeps the
 * rename atomic). */
#include "vkquant/gguf.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define W_MAX_NAME 64
#define W_DEFAULT_ALIGNMENT 32u
#define W_BUF (1u << 20)

typedef struct w_kv {
    char *key;
    uint32_t type;
    uint8_t *val;   /* the value as the file holds it (after the type field) */
    size_t val_len;
} w_kv;

typedef struct w_tensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[4];
    vkq_type type;
    uint64_t nbytes;
    uint64_t rel_offset;
} w_tensor;

enum w_state { W_DECLARING, W_WRITING, W_DONE, W_FAILED };

struct vkq_gguf_writer_s {
    w_kv *kv;
    size_t n_kv, cap_kv;
    w_tensor *t;
    size_t n_t, cap_t;
    enum w_state state;
    int fd;
    int own_fd;          /* 1 for begin_path: we close it */
    char *path, *tmp;    /* begin_path only */
    uint32_t alignment;
    size_t cur;          /* the tensor being written */
    uint64_t cur_written;
    uint64_t total;      /* bytes written to the file */
    uint8_t *buf;
    size_t buf_len;
};

/* ---- growing byte blobs ---- */
typedef struct blob {
    uint8_t *p;
    size_t len, cap;
    int oom;
} blob;

static void put(blob *b, const void *src, size_t n)
{
    /* An empty array may come with data == NULL; memcpy must not see it. */
    if (b->oom || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_le(blob *b, uint64_t v, unsigned n)
{
    uint8_t x[8];
    for (unsigned i = 0; i < n; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, n);
}

static void put_str(blob *b, const char *s, uint64_t len)
{
    put_le(b, len, 8);
    put(b, s, (size_t)len);
}

static unsigned scalar_size(uint32_t type)
{
    static const unsigned size[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type < 13 ? size[type] : 0;
}

/* ---- metadata ---- */
static vkq_status check_key(vkq_gguf_writer w, const char *key)
{
    if (!w || !key || !key[0])
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: NULL writer or empty key");
    if (w->state != W_DECLARING)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: key %s set after the header was written", key);
    return VKQ_SUCCESS;
}

static vkq_status set_blob(vkq_gguf_writer w, const char *key, uint32_t type, blob *b)
{
    if (b->oom) {
        free(b->p);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory for key %s", key);
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            free(w->kv[i].val);
            w->kv[i].type = type;
            w->kv[i].val = b->p;
            w->kv[i].val_len = b->len;
            return VKQ_SUCCESS;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
        w_kv *kv = realloc(w->kv, cap * sizeof *kv);
        if (!kv) {
            free(b->p);
            return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory for key %s", key);
        }
        w->kv = kv;
        w->cap_kv = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(b->p);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory for key %s", key);
    }
    w->kv[w->n_kv++] = (w_kv){k, type, b->p, b->len};
    return VKQ_SUCCESS;
}

static vkq_status set_scalar(vkq_gguf_writer w, const char *key, uint32_t type, uint64_t bits)
{
    vkq_status st = check_key(w, key);
    if (st != VKQ_SUCCESS)
        return st;
    blob b = {0};
    put_le(&b, bits, scalar_size(type));
    return set_blob(w, key, type, &b);
}

vkq_status vkq_gguf_writer_set_u32(vkq_gguf_writer w, const char *key, uint32_t v)
{
    return set_scalar(w, key, VKQ_GGUF_UINT32, v);
}

vkq_status vkq_gguf_writer_set_i32(vkq_gguf_writer w, const char *key, int32_t v)
{
    return set_scalar(w, key, VKQ_GGUF_INT32, (uint32_t)v);
}

vkq_status vkq_gguf_writer_set_u64(vkq_gguf_writer w, const char *key, uint64_t v)
{
    return set_scalar(w, key, VKQ_GGUF_UINT64, v);
}

vkq_status vkq_gguf_writer_set_f32(vkq_gguf_writer w, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return set_scalar(w, key, VKQ_GGUF_FLOAT32, bits);
}

vkq_status vkq_gguf_writer_set_bool(vkq_gguf_writer w, const char *key, int v)
{
    return set_scalar(w, key, VKQ_GGUF_BOOL, v ? 1 : 0);
}

vkq_status vkq_gguf_writer_set_string(vkq_gguf_writer w, const char *key, const char *v)
{
    vkq_status st = check_key(w, key);
    if (st != VKQ_SUCCESS)
        return st;
    if (!v)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: NULL string for key %s", key);
    blob b = {0};
    put_str(&b, v, strlen(v));
    return set_blob(w, key, VKQ_GGUF_STRING, &b);
}

vkq_status vkq_gguf_writer_set_array(vkq_gguf_writer w, const char *key, vkq_gguf_type elem_type,
                                     uint64_t count, const void *data)
{
    vkq_status st = check_key(w, key);
    if (st != VKQ_SUCCESS)
        return st;
    unsigned es = scalar_size((uint32_t)elem_type);
    if (es == 0 || (count && !data))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "gguf writer: key %s: arrays of %s need set_string_array, or data is NULL", key,
                        vkq_gguf_type_name(elem_type));
    if (count > SIZE_MAX / es)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "gguf writer: key %s: array too large", key);
    blob b = {0};
    put_le(&b, (uint32_t)elem_type, 4);
    put_le(&b, count, 8);
    put(&b, data, (size_t)count * es);
    return set_blob(w, key, VKQ_GGUF_ARRAY, &b);
}

vkq_status vkq_gguf_writer_set_string_array(vkq_gguf_writer w, const char *key, const char *const *v,
                                            uint64_t count)
{
    vkq_status st = check_key(w, key);
    if (st != VKQ_SUCCESS)
        return st;
    if (count && !v)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: key %s: NULL strings", key);
    blob b = {0};
    put_le(&b, VKQ_GGUF_STRING, 4);
    put_le(&b, count, 8);
    for (uint64_t i = 0; i < count; i++) {
        if (!v[i]) {
            free(b.p);
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: key %s: string %llu is NULL", key,
                            (unsigned long long)i);
        }
        put_str(&b, v[i], strlen(v[i]));
    }
    return set_blob(w, key, VKQ_GGUF_ARRAY, &b);
}

vkq_status vkq_gguf_writer_remove_key(vkq_gguf_writer w, const char *key)
{
    vkq_status st = check_key(w, key);
    if (st != VKQ_SUCCESS)
        return st;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            free(w->kv[i].key);
            free(w->kv[i].val);
            memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - i - 1) * sizeof *w->kv);
            w->n_kv--;
            break;
        }
    }
    return VKQ_SUCCESS;
}

/* One value of the reader as the file holds it. */
static void put_value(blob *b, const vkq_gguf_value *v)
{
    switch (v->type) {
    case VKQ_GGUF_STRING:
        put_str(b, v->str.data, v->str.len);
        break;
    case VKQ_GGUF_FLOAT32: {
        float f = (float)v->f;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_le(b, bits, 4);
        break;
    }
    case VKQ_GGUF_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &v->f, 8);
        put_le(b, bits, 8);
        break;
    }
    case VKQ_GGUF_BOOL:
        put_le(b, v->b ? 1 : 0, 1);
        break;
    case VKQ_GGUF_INT8: case VKQ_GGUF_INT16: case VKQ_GGUF_INT32: case VKQ_GGUF_INT64:
        put_le(b, (uint64_t)v->i, scalar_size(v->type));
        break;
    default:
        put_le(b, v->u, scalar_size(v->type));
        break;
    }
}

vkq_status vkq_gguf_writer_copy_kv(vkq_gguf_writer w, vkq_gguf src)
{
    if (!w || !src)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: copy_kv with a NULL writer or reader");
    for (int64_t i = 0; i < vkq_gguf_kv_count(src); i++) {
        const char *key = vkq_gguf_kv_key(src, i);
        vkq_status st = check_key(w, key);
        if (st != VKQ_SUCCESS)
            return st;
        vkq_gguf_value v;
        vkq_gguf_get_value(src, i, &v);
        blob b = {0};
        if (v.type != VKQ_GGUF_ARRAY) {
            put_value(&b, &v);
        } else {
            put_le(&b, (uint32_t)v.elem_type, 4);
            put_le(&b, v.count, 8);
            const void *data = NULL;
            vkq_gguf_get_array(src, i, NULL, NULL, &data);
            if (data) {
                /* fixed-size elements: already packed little-endian in the file */
                put(&b, data, (size_t)v.count * scalar_size(v.elem_type));
            } else {
                for (uint64_t j = 0; j < v.count; j++) {
                    vkq_gguf_value e;
                    vkq_gguf_get_array_value(src, i, j, &e);
                    put_value(&b, &e);
                }
            }
        }
        st = set_blob(w, key, (uint32_t)v.type, &b);
        if (st != VKQ_SUCCESS)
            return st;
    }
    return VKQ_SUCCESS;
}

/* ---- tensors ---- */
vkq_status vkq_gguf_writer_add_tensor(vkq_gguf_writer w, const char *name, uint32_t n_dims, const int64_t *ne,
                                      vkq_type type)
{
    if (!w || !name || !ne || !name[0] || strlen(name) >= W_MAX_NAME)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: tensor name empty, NULL or %d bytes or longer",
                        W_MAX_NAME);
    if (w->state != W_DECLARING)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: tensor %s declared after the header", name);
    const vkq_type_info *ti = vkq_type_get(type);
    if (!ti)
        return vkq_fail(VKQ_ERROR_UNKNOWN_TYPE, "gguf writer: tensor %s: unknown type %d", name, (int)type);
    if (n_dims < 1 || n_dims > 4)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "gguf writer: tensor %s: %u dimensions (1..4)", name, n_dims);
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 1 || (uint64_t)ne[d] > UINT64_MAX / n)
            return vkq_fail(VKQ_ERROR_BAD_SHAPE, "gguf writer: tensor %s: bad dimension %u", name, d);
        n *= (uint64_t)ne[d];
    }
    if (ne[0] % ti->block_elems)
        return vkq_fail(VKQ_ERROR_BAD_SHAPE, "gguf writer: tensor %s: row of %lld is not a multiple of %s's block %u",
                        name, (long long)ne[0], ti->name, ti->block_elems);
    uint64_t nbytes;
    vkq_status st = vkq_type_bytes(type, n, &nbytes);
    if (st != VKQ_SUCCESS)
        return vkq_fail(st, "gguf writer: tensor %s: %s", name, vkq_last_error());
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: tensor %s declared twice", name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        w_tensor *t = realloc(w->t, cap * sizeof *t);
        if (!t)
            return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory");
        w->t = t;
        w->cap_t = cap;
    }
    w_tensor t = {.name = strdup(name), .n_dims = n_dims, .type = type, .nbytes = nbytes};
    if (!t.name)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory");
    for (uint32_t d = 0; d < 4; d++)
        t.ne[d] = d < n_dims ? ne[d] : 1;
    w->t[w->n_t++] = t;
    return VKQ_SUCCESS;
}

uint64_t vkq_gguf_writer_tensor_bytes(vkq_gguf_writer w, int64_t i)
{
    return w && i >= 0 && (size_t)i < w->n_t ? w->t[i].nbytes : 0;
}

/* ---- output ---- */
vkq_status vkq_gguf_writer_create(vkq_gguf_writer *out)
{
    if (!out)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: NULL out");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory");
    (*out)->fd = -1;
    return VKQ_SUCCESS;
}

static void drop_tmp(vkq_gguf_writer w)
{
    if (w->own_fd && w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp) {
        unlink(w->tmp);
        free(w->tmp);
        w->tmp = NULL;
    }
}

void vkq_gguf_writer_destroy(vkq_gguf_writer w)
{
    if (!w)
        return;
    if (w->state != W_DONE)
        drop_tmp(w);
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w->path);
    free(w->tmp);
    free(w->buf);
    free(w);
}

static vkq_status fail_io(vkq_gguf_writer w, const char *what)
{
    int e = errno;
    w->state = W_FAILED;
    drop_tmp(w);
    return vkq_fail(VKQ_ERROR_IO, "%s %s: %s", what, w->path ? w->path : "the output descriptor", strerror(e));
}

static vkq_status flush_buf(vkq_gguf_writer w)
{
    size_t off = 0;
    while (off < w->buf_len) {
        ssize_t n = write(w->fd, w->buf + off, w->buf_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return fail_io(w, "cannot write");
        }
        off += (size_t)n;
    }
    w->buf_len = 0;
    return VKQ_SUCCESS;
}

static vkq_status emit(vkq_gguf_writer w, const void *src, size_t n)
{
    const uint8_t *p = src;
    while (n) {
        size_t take = W_BUF - w->buf_len < n ? W_BUF - w->buf_len : n;
        memcpy(w->buf + w->buf_len, p, take);
        w->buf_len += take;
        p += take;
        n -= take;
        w->total += take;
        if (w->buf_len == W_BUF) {
            vkq_status st = flush_buf(w);
            if (st != VKQ_SUCCESS)
                return st;
        }
    }
    return VKQ_SUCCESS;
}

static vkq_status emit_zeros(vkq_gguf_writer w, uint64_t n)
{
    static const uint8_t zeros[64];
    while (n) {
        size_t take = n < sizeof zeros ? (size_t)n : sizeof zeros;
        vkq_status st = emit(w, zeros, take);
        if (st != VKQ_SUCCESS)
            return st;
        n -= take;
    }
    return VKQ_SUCCESS;
}

static uint64_t pad_to(uint64_t x, uint32_t a) { return (x + a - 1) / a * a; }

static uint32_t chosen_alignment(vkq_gguf_writer w)
{
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") == 0 && w->kv[i].type == VKQ_GGUF_UINT32) {
            uint32_t a = (uint32_t)w->kv[i].val[0] | (uint32_t)w->kv[i].val[1] << 8 |
                         (uint32_t)w->kv[i].val[2] << 16 | (uint32_t)w->kv[i].val[3] << 24;
            if (a && !(a & (a - 1)))
                return a;
        }
    }
    return W_DEFAULT_ALIGNMENT;
}

static vkq_status write_header(vkq_gguf_writer w)
{
    w->buf = malloc(W_BUF);
    if (!w->buf) {
        w->state = W_FAILED;
        drop_tmp(w);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory");
    }
    w->alignment = chosen_alignment(w);
    w->state = W_WRITING;
    blob b = {0};
    put(&b, "GGUF", 4);
    put_le(&b, 3, 4);
    put_le(&b, w->n_t, 8);
    put_le(&b, w->n_kv, 8);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(&b, w->kv[i].key, strlen(w->kv[i].key));
        put_le(&b, w->kv[i].type, 4);
        put(&b, w->kv[i].val, w->kv[i].val_len);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        w_tensor *t = &w->t[i];
        put_str(&b, t->name, strlen(t->name));
        put_le(&b, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_le(&b, (uint64_t)t->ne[d], 8);
        put_le(&b, (uint32_t)t->type, 4);
        t->rel_offset = off;
        put_le(&b, off, 8);
        off += pad_to(t->nbytes, w->alignment);
    }
    if (b.oom) {
        free(b.p);
        w->state = W_FAILED;
        drop_tmp(w);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory for the header");
    }
    vkq_status st = emit(w, b.p, b.len);
    free(b.p);
    if (st == VKQ_SUCCESS)
        st = emit_zeros(w, pad_to(w->total, w->alignment) - w->total);
    w->cur = 0;
    w->cur_written = 0;
    return st;
}

vkq_status vkq_gguf_writer_begin_fd(vkq_gguf_writer w, int fd)
{
    if (!w || fd < 0 || w->state != W_DECLARING)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: begin_fd with a NULL writer, a bad descriptor "
                                                    "or after begin");
    w->fd = fd;
    w->own_fd = 0;
    return write_header(w);
}

vkq_status vkq_gguf_writer_begin_path(vkq_gguf_writer w, const char *path, const char *protect)
{
    if (!w || !path || !path[0] || w->state != W_DECLARING)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: begin_path with a NULL writer or path, or after begin");
    struct stat so, sp;
    if (protect && stat(path, &so) == 0 && stat(protect, &sp) == 0 && so.st_dev == sp.st_dev &&
        so.st_ino == sp.st_ino)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "refusing to write %s: it is the input file %s", path, protect);
    w->path = strdup(path);
    size_t n = strlen(path) + 16;
    w->tmp = malloc(n);
    if (!w->path || !w->tmp)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "gguf writer: out of memory");
    snprintf(w->tmp, n, "%s.tmp.XXXXXX", path);
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        int e = errno;
        free(w->tmp);
        w->tmp = NULL;
        w->state = W_FAILED;
        return vkq_fail(VKQ_ERROR_IO, "cannot create a file beside %s: %s", path, strerror(e));
    }
    w->own_fd = 1;
    /* mkstemp makes 0600; give the file the mode open(O_CREAT, 0666) would have */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(w->fd, 0666 & ~mask) != 0)
        return fail_io(w, "cannot set the mode of the file for");
    return write_header(w);
}

vkq_status vkq_gguf_writer_write_data(vkq_gguf_writer w, const void *data, size_t n)
{
    if (!w || (n && !data) || w->state != W_WRITING)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: write_data with a NULL writer or data, or "
                                                    "outside begin..finish");
    const uint8_t *p = data;
    while (n) {
        if (w->cur >= w->n_t) {
            w->state = W_FAILED;
            drop_tmp(w);
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: more data than the tensors declared");
        }
        w_tensor *t = &w->t[w->cur];
        uint64_t left = t->nbytes - w->cur_written;
        size_t take = left < n ? (size_t)left : n;
        vkq_status st = emit(w, p, take);
        if (st != VKQ_SUCCESS)
            return st;
        p += take;
        n -= take;
        w->cur_written += take;
        if (w->cur_written == t->nbytes) {
            st = emit_zeros(w, pad_to(t->nbytes, w->alignment) - t->nbytes);
            if (st != VKQ_SUCCESS)
                return st;
            w->cur++;
            w->cur_written = 0;
        }
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_gguf_writer_finish(vkq_gguf_writer w, uint64_t *out_size)
{
    if (!w || w->state != W_WRITING)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: finish without begin, or after an error");
    if (w->cur < w->n_t) {
        w->state = W_FAILED;
        drop_tmp(w);
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "gguf writer: finish before the data of tensor %s was written",
                        w->t[w->cur].name);
    }
    vkq_status st = flush_buf(w);
    if (st != VKQ_SUCCESS)
        return st;
    if (w->own_fd) {
        if (fsync(w->fd) != 0)
            return fail_io(w, "cannot sync");
        if (close(w->fd) != 0) {
            w->fd = -1;
            return fail_io(w, "cannot close");
        }
        w->fd = -1;
        if (rename(w->tmp, w->path) != 0)
            return fail_io(w, "cannot rename the temporary file to");
        free(w->tmp);
        w->tmp = NULL;
    }
    w->state = W_DONE;
    if (out_size)
        *out_size = w->total;
    return VKQ_SUCCESS;
}
