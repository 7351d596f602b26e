/* Importance matrices in llama.cpp's imatrix GGUF layout (include/vkquant/convert.h).
 * Sums are kept in double while accumulating (many rows of squares), stored as F32 as
 * llama.cpp stores them. Entries live in an array in insertion order; lookups are linear, which
 * is fine for the few hundred weights of a model. */
#include "vkquant/convert.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct im_entry {
    char *name;
    uint64_t n_cols;
    uint32_t n_experts;
    double *sums;
    double *counts;
} im_entry;

struct vkq_imatrix_s {
    im_entry *e;
    int64_t n, cap;
};

vkq_status vkq_imatrix_create(vkq_imatrix *out)
{
    if (!out)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix: NULL out");
    *out = calloc(1, sizeof **out);
    return *out ? VKQ_SUCCESS : vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "imatrix: out of memory");
}

void vkq_imatrix_destroy(vkq_imatrix m)
{
    if (!m)
        return;
    for (int64_t i = 0; i < m->n; i++) {
        free(m->e[i].name);
        free(m->e[i].sums);
        free(m->e[i].counts);
    }
    free(m->e);
    free(m);
}

int64_t vkq_imatrix_count(vkq_imatrix m) { return m ? m->n : 0; }

int64_t vkq_imatrix_find(vkq_imatrix m, const char *name)
{
    if (!m || !name)
        return -1;
    for (int64_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].name, name) == 0)
            return i;
    return -1;
}

static vkq_status add_entry(vkq_imatrix m, const char *name, uint64_t n_cols, uint32_t n_experts, int64_t *index)
{
    if (n_cols == 0 || n_experts == 0 || n_cols > ((uint64_t)1 << 32) || n_experts > 65536)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix %s: %llu columns, %u experts", name,
                        (unsigned long long)n_cols, n_experts);
    if (m->n == m->cap) {
        int64_t cap = m->cap ? 2 * m->cap : 64;
        im_entry *e = realloc(m->e, (size_t)cap * sizeof *e);
        if (!e)
            return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "imatrix: out of memory");
        m->e = e;
        m->cap = cap;
    }
    im_entry e = {strdup(name), n_cols, n_experts, calloc((size_t)(n_cols * n_experts), sizeof(double)),
                  calloc(n_experts, sizeof(double))};
    if (!e.name || !e.sums || !e.counts) {
        free(e.name);
        free(e.sums);
        free(e.counts);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "imatrix: out of memory");
    }
    m->e[m->n] = e;
    *index = m->n++;
    return VKQ_SUCCESS;
}

vkq_status vkq_imatrix_accumulate(vkq_imatrix m, const char *name, uint64_t n_cols, uint32_t n_experts,
                                  uint32_t expert, const float *x, uint64_t n_rows)
{
    if (!m || !name || !name[0] || (n_rows && !x) || expert >= n_experts)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix accumulate: NULL argument, empty name or expert %u "
                                                    "not below %u", expert, n_experts);
    for (uint64_t k = 0; k < n_rows * n_cols; k++)
        if (!isfinite(x[k]))
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix accumulate %s: a non-finite activation", name);
    int64_t i = vkq_imatrix_find(m, name);
    if (i < 0) {
        vkq_status st = add_entry(m, name, n_cols, n_experts, &i);
        if (st != VKQ_SUCCESS)
            return st;
    }
    im_entry *e = &m->e[i];
    if (e->n_cols != n_cols || e->n_experts != n_experts)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix accumulate %s: %llu columns x %u experts, before %llu x %u",
                        name, (unsigned long long)n_cols, n_experts, (unsigned long long)e->n_cols, e->n_experts);
    double *s = e->sums + (size_t)expert * n_cols;
    for (uint64_t r = 0; r < n_rows; r++)
        for (uint64_t j = 0; j < n_cols; j++) {
            double v = x[r * n_cols + j];
            s[j] += v * v;
        }
    e->counts[expert] += (double)n_rows;
    return VKQ_SUCCESS;
}

vkq_status vkq_imatrix_get(vkq_imatrix m, int64_t i, vkq_imatrix_entry *out)
{
    if (!m || !out || i < 0 || i >= m->n)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix get: NULL argument or index out of range");
    const im_entry *e = &m->e[i];
    *out = (vkq_imatrix_entry){e->name, e->n_cols, e->n_experts, e->sums, e->counts};
    return VKQ_SUCCESS;
}

vkq_status vkq_imatrix_importance(vkq_imatrix m, int64_t i, uint32_t expert, float *out)
{
    if (!m || !out || i < 0 || i >= m->n || expert >= m->e[i].n_experts)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix importance: NULL argument or index out of range");
    const im_entry *e = &m->e[i];
    const double *s = e->sums + (size_t)expert * e->n_cols;
    double c = e->counts[expert];
    for (uint64_t j = 0; j < e->n_cols; j++)
        out[j] = c > 0 ? (float)(s[j] / c) : 1.0f;
    return VKQ_SUCCESS;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const im_entry *)a)->name, ((const im_entry *)b)->name);
}

static vkq_status write_entries(vkq_imatrix m, vkq_gguf_writer w, const char *path)
{
    vkq_status st = vkq_gguf_writer_begin_path(w, path, NULL);
    for (int64_t i = 0; i < m->n && st == VKQ_SUCCESS; i++) {
        const im_entry *e = &m->e[i];
        for (uint64_t k = 0; k < e->n_cols * e->n_experts && st == VKQ_SUCCESS; k++) {
            float v = (float)e->sums[k];
            st = vkq_gguf_writer_write_data(w, &v, 4);
        }
        for (uint32_t k = 0; k < e->n_experts && st == VKQ_SUCCESS; k++) {
            float v = (float)e->counts[k];
            st = vkq_gguf_writer_write_data(w, &v, 4);
        }
    }
    return st == VKQ_SUCCESS ? vkq_gguf_writer_finish(w, NULL) : st;
}

vkq_status vkq_imatrix_write(vkq_imatrix m, const char *path, const char *dataset, uint32_t chunk_count,
                             uint32_t chunk_size)
{
    if (!m || !path)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix write: NULL argument");
    if (m->n == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix write: no entries (llama.cpp refuses an empty imatrix)");
    /* llama.cpp writes the entries in name order */
    qsort(m->e, (size_t)m->n, sizeof *m->e, cmp_entry);
    vkq_gguf_writer w;
    vkq_status st = vkq_gguf_writer_create(&w);
    if (st != VKQ_SUCCESS)
        return st;
    const char *ds[1] = {dataset};
    st = vkq_gguf_writer_set_string(w, "general.type", "imatrix");
    if (st == VKQ_SUCCESS)
        st = vkq_gguf_writer_set_string_array(w, "imatrix.datasets", ds, dataset ? 1 : 0);
    if (st == VKQ_SUCCESS)
        st = vkq_gguf_writer_set_u32(w, "imatrix.chunk_count", chunk_count);
    if (st == VKQ_SUCCESS)
        st = vkq_gguf_writer_set_u32(w, "imatrix.chunk_size", chunk_size);
    char name[80];
    for (int64_t i = 0; i < m->n && st == VKQ_SUCCESS; i++) {
        const im_entry *e = &m->e[i];
        int64_t ne_s[2] = {(int64_t)e->n_cols, e->n_experts}, ne_c[2] = {1, e->n_experts};
        snprintf(name, sizeof name, "%s.in_sum2", e->name);
        st = vkq_gguf_writer_add_tensor(w, name, 2, ne_s, VKQ_TYPE_F32);
        snprintf(name, sizeof name, "%s.counts", e->name);
        if (st == VKQ_SUCCESS)
            st = vkq_gguf_writer_add_tensor(w, name, 2, ne_c, VKQ_TYPE_F32);
    }
    if (st == VKQ_SUCCESS)
        st = write_entries(m, w, path);
    vkq_gguf_writer_destroy(w);
    return st;
}

/* The tensor `base``suffix` of g, as F32, or -1 (MALFORMED when it is there with another type). */
static vkq_status find_f32(vkq_gguf g, const char *base, size_t base_len, const char *suffix,
                           vkq_gguf_tensor *out, int *found)
{
    char name[80];
    snprintf(name, sizeof name, "%.*s%s", (int)base_len, base, suffix);
    int64_t i = vkq_gguf_find_tensor(g, name);
    *found = i >= 0;
    if (i < 0)
        return VKQ_SUCCESS;
    vkq_gguf_tensor_info(g, i, out);
    if (out->type != VKQ_TYPE_F32)
        return vkq_fail(VKQ_ERROR_MALFORMED, "imatrix: tensor %s is %s, not F32", name, vkq_type_get(out->type)->name);
    return VKQ_SUCCESS;
}

static vkq_status read_entry(vkq_imatrix m, vkq_gguf g, const char *name, size_t base_len)
{
    vkq_gguf_tensor s, c;
    int has_s, has_c;
    vkq_status st = find_f32(g, name, base_len, ".in_sum2", &s, &has_s);
    if (st == VKQ_SUCCESS)
        st = find_f32(g, name, base_len, ".counts", &c, &has_c);
    if (st != VKQ_SUCCESS)
        return st;
    if (!has_s || !has_c)
        return vkq_fail(VKQ_ERROR_MALFORMED, "imatrix: %.*s has %s but not %s", (int)base_len, name,
                        has_s ? ".in_sum2" : ".counts", has_s ? ".counts" : ".in_sum2");
    uint64_t n_exp = (uint64_t)c.n_elems;
    if (n_exp == 0 || (uint64_t)s.n_elems % n_exp || n_exp > 65536)
        return vkq_fail(VKQ_ERROR_MALFORMED, "imatrix: %.*s: %lld sums for %lld counts", (int)base_len, name,
                        (long long)s.n_elems, (long long)c.n_elems);
    char key[80];
    snprintf(key, sizeof key, "%.*s", (int)base_len, name);
    int64_t idx;
    st = add_entry(m, key, (uint64_t)s.n_elems / n_exp, (uint32_t)n_exp, &idx);
    if (st != VKQ_SUCCESS)
        return st;
    im_entry *e = &m->e[idx];
    for (int64_t k = 0; k < s.n_elems; k++) {
        float v;
        memcpy(&v, (const uint8_t *)s.data + 4 * k, 4);
        if (!(v >= 0) || !isfinite(v))
            return vkq_fail(VKQ_ERROR_MALFORMED, "imatrix: %s has a negative or non-finite sum", key);
        e->sums[k] = v;
    }
    for (uint64_t k = 0; k < n_exp; k++) {
        float v;
        memcpy(&v, (const uint8_t *)c.data + 4 * k, 4);
        if (!(v >= 0) || !isfinite(v))
            return vkq_fail(VKQ_ERROR_MALFORMED, "imatrix: %s has a negative or non-finite count", key);
        e->counts[k] = roundf(v);  /* llama.cpp rounds the counts to integers */
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_imatrix_read(const char *path, vkq_imatrix *out)
{
    if (!path || !out)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "imatrix read: NULL argument");
    *out = NULL;
    vkq_gguf g;
    vkq_status st = vkq_gguf_create(path, &g);
    if (st != VKQ_SUCCESS)
        return vkq_fail(st, "imatrix %s: %s", path, vkq_last_error());
    vkq_imatrix m;
    st = vkq_imatrix_create(&m);
    static const char suffix[] = ".in_sum2";
    const size_t sl = sizeof suffix - 1;
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g) && st == VKQ_SUCCESS; i++) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        if (t.name_len > sl && strcmp(t.name + t.name_len - sl, suffix) == 0)
            st = read_entry(m, g, t.name, t.name_len - sl);
        else if (t.name_len > 7 && strcmp(t.name + t.name_len - 7, ".counts") == 0) {
            char base[80];
            snprintf(base, sizeof base, "%.*s.in_sum2", (int)(t.name_len - 7), t.name);
            if (vkq_gguf_find_tensor(g, base) < 0)
                st = vkq_fail(VKQ_ERROR_MALFORMED, "imatrix: %s without its .in_sum2", t.name);
        }
    }
    if (st == VKQ_SUCCESS && m->n == 0)
        st = vkq_fail(VKQ_ERROR_MALFORMED, "imatrix %s: no .in_sum2/.counts tensors (not an imatrix GGUF?)", path);
    vkq_gguf_destroy(g);
    if (st != VKQ_SUCCESS) {
        if (m)
            vkq_imatrix_destroy(m);
        return st;
    }
    *out = m;
    return VKQ_SUCCESS;
}
