/* Vocabulary loading, special-token matching, the encode entry point and decoding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"
#include "text/unicode.h"
#include "vkquant/tokenizer.h"

/* ---- small shared pieces ---- */

void vkq_idvec_push(vkq_idvec *out, int32_t id)
{
    if (out->oom) return;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        int32_t *v = realloc(out->v, cap * sizeof *v);
        if (!v) {
            out->oom = 1;
            return;
        }
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = id;
}

static int pair_before(const vkq_pair *a, const vkq_pair *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->left < b->left);
}

int vkq_heap_push(vkq_pair_heap *h, vkq_pair p)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        vkq_pair *v = realloc(h->v, cap * sizeof *v);
        if (!v) return 0;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!pair_before(&p, &h->v[up])) break;
        h->v[i] = h->v[up];
        i = up;
    }
    h->v[i] = p;
    return 1;
}

vkq_pair vkq_heap_pop(vkq_pair_heap *h)
{
    vkq_pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && pair_before(&h->v[c + 1], &h->v[c])) c++;
        if (!pair_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

int32_t vkq_tok_lookup(const struct vkq_tokenizer_s *t, const char *s, size_t len)
{
    for (uint32_t slot = hash_bytes(s, len) & t->table_mask;; slot = (slot + 1) & t->table_mask) {
        int32_t id = t->table[slot];
        if (id < 0) return -1;
        const vkq_piece *p = &t->pieces[id];
        if (p->len == len && memcmp(t->blob + p->off, s, len) == 0) return id;
    }
}

/* ---- loading ---- */

static int64_t find_typed(vkq_gguf g, const char *key, vkq_gguf_type want, vkq_status *st)
{
    int64_t i = vkq_gguf_find_key(g, key);
    if (i < 0) return -1;
    if (vkq_gguf_kv_type(g, i) != want) {
        *st = vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: %s is of type %s, expected %s", key,
                       vkq_gguf_type_name(vkq_gguf_kv_type(g, i)), vkq_gguf_type_name(want));
        return -2;
    }
    return i;
}

/* An integer key of any integer type; *out untouched when absent. */
static vkq_status get_int(vkq_gguf g, const char *key, int64_t *out)
{
    int64_t i = vkq_gguf_find_key(g, key);
    if (i < 0) return VKQ_SUCCESS;
    vkq_gguf_value v;
    vkq_status st = vkq_gguf_get_value(g, i, &v);
    if (st != VKQ_SUCCESS) return st;
    switch (v.type) {
    case VKQ_GGUF_UINT8:
    case VKQ_GGUF_UINT16:
    case VKQ_GGUF_UINT32:
    case VKQ_GGUF_UINT64:
        *out = v.u > INT64_MAX ? INT64_MAX : (int64_t)v.u;
        return VKQ_SUCCESS;
    case VKQ_GGUF_INT8:
    case VKQ_GGUF_INT16:
    case VKQ_GGUF_INT32:
    case VKQ_GGUF_INT64:
        *out = v.i;
        return VKQ_SUCCESS;
    default:
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: %s is of type %s, expected an integer", key,
                        vkq_gguf_type_name(v.type));
    }
}

static vkq_status get_bool(vkq_gguf g, const char *key, int *out)
{
    vkq_status st = VKQ_SUCCESS;
    int64_t i = find_typed(g, key, VKQ_GGUF_BOOL, &st);
    if (i == -2) return st;
    if (i >= 0) return vkq_gguf_get_bool(g, i, out);
    return VKQ_SUCCESS;
}

/* A token id key: absent gives `dflt` (when the vocabulary has it, else -1); present must be
 * in range. */
static vkq_status get_id(struct vkq_tokenizer_s *t, vkq_gguf g, const char *key, int64_t dflt, int32_t *out)
{
    int64_t v = -2;
    vkq_status st = get_int(g, key, &v);
    if (st != VKQ_SUCCESS) return st;
    if (v == -2) {
        *out = dflt >= 0 && dflt < t->n ? (int32_t)dflt : -1;
        return VKQ_SUCCESS;
    }
    if (v == -1) { /* some writers store -1 for none */
        *out = -1;
        return VKQ_SUCCESS;
    }
    if (v < 0 || v >= t->n)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: %s = %lld is out of range (vocabulary of %u pieces)",
                        key, (long long)v, t->n);
    *out = (int32_t)v;
    return VKQ_SUCCESS;
}

/* A per-token array: its element type and count must match the vocabulary. */
static vkq_status get_token_array(struct vkq_tokenizer_s *t, vkq_gguf g, const char *key, vkq_gguf_type elem,
                                  const void **data)
{
    *data = NULL;
    int64_t i = vkq_gguf_find_key(g, key);
    if (i < 0) return VKQ_SUCCESS;
    vkq_gguf_type et;
    uint64_t count;
    if (vkq_gguf_kv_type(g, i) != VKQ_GGUF_ARRAY ||
        vkq_gguf_get_array(g, i, &et, &count, data) != VKQ_SUCCESS || et != elem)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: %s is not an array of %s", key,
                        vkq_gguf_type_name(elem));
    if (count != t->n)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: %s has %llu entries, tokenizer.ggml.tokens %u", key,
                        (unsigned long long)count, t->n);
    return VKQ_SUCCESS;
}

static vkq_status build_table(struct vkq_tokenizer_s *t)
{
    uint32_t size = 16;
    while (size < 2u * t->n)
        size *= 2;
    t->table = malloc((size_t)size * sizeof *t->table);
    if (!t->table) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "tokenizer: no memory for the piece table");
    memset(t->table, 0xFF, (size_t)size * sizeof *t->table);
    t->table_mask = size - 1;
    for (uint32_t id = 0; id < t->n; id++) {
        const vkq_piece *p = &t->pieces[id];
        const char *s = t->blob + p->off;
        uint32_t slot = hash_bytes(s, p->len) & t->table_mask;
        /* A piece spelled twice maps to its last id, as llama.cpp's map does. */
        for (;; slot = (slot + 1) & t->table_mask) {
            int32_t other = t->table[slot];
            if (other < 0 ||
                (t->pieces[other].len == p->len && memcmp(t->blob + t->pieces[other].off, s, p->len) == 0))
                break;
        }
        t->table[slot] = (int32_t)id;
    }
    return VKQ_SUCCESS;
}

static vkq_status load_merges(struct vkq_tokenizer_s *t, vkq_gguf g)
{
    int64_t key = vkq_gguf_find_key(g, "tokenizer.ggml.merges");
    vkq_gguf_type et;
    uint64_t count;
    if (key < 0)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: a gpt2 vocabulary without tokenizer.ggml.merges");
    if (vkq_gguf_kv_type(g, key) != VKQ_GGUF_ARRAY ||
        vkq_gguf_get_array(g, key, &et, &count, NULL) != VKQ_SUCCESS || et != VKQ_GGUF_STRING)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: tokenizer.ggml.merges is not an array of strings");
    if (count > INT32_MAX)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: %llu merges", (unsigned long long)count);
    uint32_t size = 16;
    while (size < 2 * count)
        size *= 2;
    t->merges = malloc((size_t)size * sizeof *t->merges);
    if (!t->merges)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "tokenizer: no memory for %llu merges",
                        (unsigned long long)count);
    memset(t->merges, 0xFF, (size_t)size * sizeof *t->merges);
    t->merge_mask = size - 1;
    char *both = NULL;
    size_t both_cap = 0;
    vkq_status st = VKQ_SUCCESS;
    for (uint64_t r = 0; r < count; r++) {
        vkq_gguf_value v;
        vkq_gguf_get_array_value(g, key, r, &v);
        const char *s = v.str.data;
        size_t len = (size_t)v.str.len, sp = 1;
        while (sp < len && s[sp] != ' ')
            sp++;
        if (len < 3 || sp >= len - 1) {
            st = vkq_fail(VKQ_ERROR_MALFORMED,
                          "tokenizer: merge %llu (\"%.*s\") is not two pieces split by a space",
                          (unsigned long long)r, (int)(len > 64 ? 64 : len), s);
            break;
        }
        int32_t left = vkq_tok_lookup(t, s, sp), right = vkq_tok_lookup(t, s + sp + 1, len - sp - 1);
        if (left < 0 || right < 0) {
            st = vkq_fail(VKQ_ERROR_MALFORMED,
                          "tokenizer: merge %llu (\"%.*s\") names a piece not in the vocabulary",
                          (unsigned long long)r, (int)(len > 64 ? 64 : len), s);
            break;
        }
        if (len > both_cap) {
            free(both);
            both_cap = len * 2;
            both = malloc(both_cap);
            if (!both) {
                st = vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "tokenizer: no memory for the merges");
                break;
            }
        }
        memcpy(both, s, sp);
        memcpy(both + sp, s + sp + 1, len - sp - 1);
        uint64_t k = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
        uint64_t hsh = k * 0x9E3779B97F4A7C15ull;
        uint32_t slot = (uint32_t)(hsh >> 32) & t->merge_mask;
        while (t->merges[slot].key != UINT64_MAX && t->merges[slot].key != k)
            slot = (slot + 1) & t->merge_mask;
        if (t->merges[slot].key == k) continue; /* listed twice: the first (lower) rank counts */
        t->merges[slot] = (vkq_merge_slot){k, (uint32_t)r, vkq_tok_lookup(t, both, len - 1)};
    }
    free(both);
    return st;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Pieces that end a generation besides EOS/EOT/EOM, by their text (control tokens only). */
static const char *const EOG_TEXT[] = {"<|eot_id|>",      "<|im_end|>",         "<|end|>",
                                       "<end_of_turn>",   "<|endoftext|>",      "<EOT>",
                                       "<|end_of_text|>", "<end_of_utterance>", "<|eom_id|>"};

static vkq_status load(struct vkq_tokenizer_s *t, vkq_gguf g)
{
    vkq_status st = VKQ_SUCCESS;
    int64_t ki = find_typed(g, "tokenizer.ggml.model", VKQ_GGUF_STRING, &st);
    if (ki == -2) return st;
    if (ki < 0) return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: no tokenizer.ggml.model in the file");
    vkq_gguf_string model;
    vkq_gguf_get_string(g, ki, &model);
#define IS(str, lit) ((str).len == sizeof(lit) - 1 && memcmp((str).data, lit, sizeof(lit) - 1) == 0)
    if (IS(model, "llama"))
        t->model = VKQ_TOKMODEL_SPM;
    else if (IS(model, "gpt2"))
        t->model = VKQ_TOKMODEL_BPE;
    else
        return vkq_fail(
            VKQ_ERROR_UNSUPPORTED,
            "tokenizer: tokenizer.ggml.model \"%.*s\" is not supported (only \"llama\" and \"gpt2\")",
            (int)(model.len > 64 ? 64 : model.len), model.data);
    t->pre = VKQ_PRE_GPT2;
    if (t->model == VKQ_TOKMODEL_BPE) {
        int64_t pi = find_typed(g, "tokenizer.ggml.pre", VKQ_GGUF_STRING, &st);
        if (pi == -2) return st;
        if (pi >= 0) {
            vkq_gguf_string pre;
            vkq_gguf_get_string(g, pi, &pre);
            if (IS(pre, "llama-bpe") || IS(pre, "llama3") || IS(pre, "smollm"))
                t->pre = VKQ_PRE_LLAMA3;
            else if (IS(pre, "qwen2"))
                t->pre = VKQ_PRE_QWEN2;
            else if (!IS(pre, "default") && !IS(pre, "gpt-2") && !IS(pre, "gpt2"))
                return vkq_fail(
                    VKQ_ERROR_UNSUPPORTED,
                    "tokenizer: pre-tokenizer \"%.*s\" is not supported (llama-bpe, llama3, smollm, "
                    "qwen2, default, gpt-2)",
                    (int)(pre.len > 64 ? 64 : pre.len), pre.data);
        }
    }

    int64_t ti = vkq_gguf_find_key(g, "tokenizer.ggml.tokens");
    vkq_gguf_type et;
    uint64_t count;
    if (ti < 0) return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: no tokenizer.ggml.tokens in the file");
    if (vkq_gguf_kv_type(g, ti) != VKQ_GGUF_ARRAY ||
        vkq_gguf_get_array(g, ti, &et, &count, NULL) != VKQ_SUCCESS || et != VKQ_GGUF_STRING)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: tokenizer.ggml.tokens is not an array of strings");
    if (count == 0 || count > INT32_MAX / 2)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: tokenizer.ggml.tokens has %llu pieces",
                        (unsigned long long)count);
    t->n = (uint32_t)count;
    const void *scores, *types;
    if ((st = get_token_array(t, g, "tokenizer.ggml.scores", VKQ_GGUF_FLOAT32, &scores)) != VKQ_SUCCESS ||
        (st = get_token_array(t, g, "tokenizer.ggml.token_type", VKQ_GGUF_INT32, &types)) != VKQ_SUCCESS)
        return st;

    size_t total = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        vkq_gguf_value v;
        vkq_gguf_get_array_value(g, ti, i, &v);
        total += (size_t)v.str.len;
    }
    if (total > UINT32_MAX)
        return vkq_fail(VKQ_ERROR_MALFORMED, "tokenizer: the pieces hold %zu bytes", total);
    t->blob = malloc(total + 1);
    t->pieces = malloc((size_t)t->n * sizeof *t->pieces);
    if (!t->blob || !t->pieces)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "tokenizer: no memory for %u pieces", t->n);
    size_t off = 0;
    uint32_t n_special = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        vkq_gguf_value v;
        vkq_gguf_get_array_value(g, ti, i, &v);
        memcpy(t->blob + off, v.str.data, (size_t)v.str.len);
        vkq_piece *p = &t->pieces[i];
        p->off = (uint32_t)off;
        p->len = (uint32_t)v.str.len;
        off += (size_t)v.str.len;
        float sc = 0.0f;
        int32_t ty = VKQ_TOK_NORMAL;
        if (scores) memcpy(&sc, (const char *)scores + 4 * (size_t)i, 4);
        if (types) memcpy(&ty, (const char *)types + 4 * (size_t)i, 4);
        p->score = isnan(sc) ? -INFINITY : sc;
        p->type = ty >= VKQ_TOK_NORMAL && ty <= VKQ_TOK_BYTE ? (uint8_t)ty : VKQ_TOK_NORMAL;
        if ((p->type == VKQ_TOK_CONTROL || p->type == VKQ_TOK_USER_DEFINED || p->type == VKQ_TOK_UNKNOWN) &&
            p->len)
            n_special++;
    }
    if ((st = build_table(t)) != VKQ_SUCCESS) return st;

    /* Longest first, then by id: sorted as (UINT32_MAX - length) << 32 | id. */
    uint64_t *keys = malloc((n_special ? n_special : 1) * sizeof *keys);
    t->specials = malloc((n_special ? n_special : 1) * sizeof *t->specials);
    if (!keys || !t->specials) {
        free(keys);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "tokenizer: no memory for the special pieces");
    }
    for (uint32_t i = 0; i < t->n; i++) {
        const vkq_piece *p = &t->pieces[i];
        if ((p->type == VKQ_TOK_CONTROL || p->type == VKQ_TOK_USER_DEFINED || p->type == VKQ_TOK_UNKNOWN) &&
            p->len)
            keys[t->n_specials++] = (uint64_t)(UINT32_MAX - p->len) << 32 | i;
    }
    qsort(keys, t->n_specials, sizeof *keys, u64_cmp);
    for (uint32_t k = 0; k < t->n_specials; k++)
        t->specials[k] = (int32_t)(keys[k] & 0xFFFFFFFFu);
    free(keys);

    int spm = t->model == VKQ_TOKMODEL_SPM;
    if ((st = get_id(t, g, "tokenizer.ggml.bos_token_id", spm ? 1 : 11, &t->bos)) != VKQ_SUCCESS ||
        (st = get_id(t, g, "tokenizer.ggml.eos_token_id", spm ? 2 : 11, &t->eos)) != VKQ_SUCCESS ||
        (st = get_id(t, g, "tokenizer.ggml.eot_token_id", -1, &t->eot)) != VKQ_SUCCESS ||
        (st = get_id(t, g, "tokenizer.ggml.eom_token_id", -1, &t->eom)) != VKQ_SUCCESS ||
        (st = get_id(t, g, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, &t->unk)) != VKQ_SUCCESS)
        return st;
    t->add_bos = spm || t->pre == VKQ_PRE_LLAMA3;
    t->add_eos = 0;
    t->add_space_prefix = spm;
    t->ignore_merges = t->pre == VKQ_PRE_LLAMA3;
    if ((st = get_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos)) != VKQ_SUCCESS ||
        (st = get_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos)) != VKQ_SUCCESS ||
        (st = get_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix)) != VKQ_SUCCESS)
        return st;
    if (!spm) t->add_space_prefix = 0;

    t->eog = malloc((3 + sizeof EOG_TEXT / sizeof EOG_TEXT[0]) * sizeof *t->eog);
    if (!t->eog) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "tokenizer: no memory");
    int32_t known[3] = {t->eos, t->eot, t->eom};
    for (int k = 0; k < 3; k++)
        if (known[k] >= 0) t->eog[t->n_eog++] = known[k];
    for (size_t k = 0; k < sizeof EOG_TEXT / sizeof EOG_TEXT[0]; k++) {
        int32_t id = vkq_tok_lookup(t, EOG_TEXT[k], strlen(EOG_TEXT[k]));
        if (id >= 0 && t->pieces[id].type == VKQ_TOK_CONTROL) t->eog[t->n_eog++] = id;
    }

    for (unsigned b = 0; b < 256; b++) {
        char s[8];
        int32_t id;
        if (spm) {
            snprintf(s, sizeof s, "<0x%02X>", b);
            id = vkq_tok_lookup(t, s, 6);
            if (id < 0) {
                s[0] = (char)b;
                id = vkq_tok_lookup(t, s, 1);
            }
        } else {
            id = vkq_tok_lookup(t, s, vkq_utf8_encode(vkq_bpe_byte_cpt(b), s));
        }
        t->byte_token[b] = id;
    }
    if (!spm) return load_merges(t, g);
    return VKQ_SUCCESS;
#undef IS
}

VKQ_API vkq_status vkq_tokenizer_create(vkq_gguf g, vkq_tokenizer *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_tokenizer_create: out is NULL");
    *out = NULL;
    if (!g) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_tokenizer_create: the gguf handle is NULL");
    struct vkq_tokenizer_s *t = calloc(1, sizeof *t);
    if (!t) return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_tokenizer_create: no memory");
    vkq_status st = load(t, g);
    if (st != VKQ_SUCCESS) {
        vkq_tokenizer_destroy(t);
        return st;
    }
    *out = t;
    return VKQ_SUCCESS;
}

VKQ_API void vkq_tokenizer_destroy(vkq_tokenizer t)
{
    if (!t) return;
    free(t->blob);
    free(t->pieces);
    free(t->table);
    free(t->specials);
    free(t->eog);
    free(t->merges);
    free(t);
}

VKQ_API uint32_t vkq_tokenizer_vocab_size(vkq_tokenizer t)
{
    return t ? t->n : 0;
}

VKQ_API int32_t vkq_tokenizer_bos(vkq_tokenizer t)
{
    return t ? t->bos : -1;
}

VKQ_API int32_t vkq_tokenizer_eos(vkq_tokenizer t)
{
    return t ? t->eos : -1;
}

VKQ_API int vkq_tokenizer_add_bos(vkq_tokenizer t)
{
    return t ? t->add_bos : 0;
}

VKQ_API int vkq_tokenizer_add_space_prefix(vkq_tokenizer t)
{
    return t ? t->add_space_prefix : 0;
}

VKQ_API int vkq_tokenizer_is_eog(vkq_tokenizer t, int32_t token)
{
    if (!t || token < 0) return 0;
    for (uint32_t k = 0; k < t->n_eog; k++)
        if (t->eog[k] == token) return 1;
    return 0;
}

/* ---- encoding ---- */

typedef struct fragment {
    size_t off, len;
    int32_t token; /* -1: plain text */
} fragment;

typedef struct fragvec {
    fragment *v;
    size_t n, cap;
} fragvec;

static int frag_push(fragvec *f, size_t off, size_t len, int32_t token)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        fragment *v = realloc(f->v, cap * sizeof *v);
        if (!v) return 0;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (fragment){off, len, token};
    return 1;
}

/* Cuts the text at special pieces, the longest piece first over the whole text, then the next
 * longest in what is left, and so on (llama.cpp's order: a longer piece wins over a shorter one
 * that starts earlier). CONTROL and UNKNOWN pieces only when parse_special; USER_DEFINED always. */
static int partition(const struct vkq_tokenizer_s *t, const char *text, size_t len, int parse_special,
                     fragvec *frags)
{
    fragvec next = {0};
    frags->n = 0;
    if (!frag_push(frags, 0, len, -1)) return 0;
    for (uint32_t k = 0; k < t->n_specials; k++) {
        int32_t id = t->specials[k];
        const vkq_piece *p = &t->pieces[id];
        if (!parse_special && p->type != VKQ_TOK_USER_DEFINED) continue;
        const char *needle = t->blob + p->off;
        if (p->len > len || !memmem(text, len, needle, p->len)) continue;
        next.n = 0;
        for (size_t f = 0; f < frags->n; f++) {
            fragment fr = frags->v[f];
            if (fr.token >= 0 || fr.len < p->len) {
                if (!frag_push(&next, fr.off, fr.len, fr.token)) goto oom;
                continue;
            }
            size_t at = fr.off, end = fr.off + fr.len;
            for (;;) {
                const char *hit = memmem(text + at, end - at, needle, p->len);
                if (!hit) break;
                size_t h = (size_t)(hit - text);
                if ((h > at && !frag_push(&next, at, h - at, -1)) || !frag_push(&next, h, p->len, id))
                    goto oom;
                at = h + p->len;
            }
            if (at < end && !frag_push(&next, at, end - at, -1)) goto oom;
        }
        fragvec swap = *frags;
        *frags = next;
        next = swap;
    }
    free(next.v);
    return 1;
oom:
    free(next.v);
    return 0;
}

/* U+2581 for every space, one more in front when `prefix`. */
static char *spm_escape(const char *s, size_t len, int prefix, size_t *out_len)
{
    size_t spaces = (size_t)prefix;
    for (size_t i = 0; i < len; i++)
        spaces += s[i] == ' ';
    char *e = malloc(len + 2 * spaces + 1);
    if (!e) return NULL;
    size_t n = 0;
    if (prefix) memcpy(e + n, "\xE2\x96\x81", 3), n += 3;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            memcpy(e + n, "\xE2\x96\x81", 3), n += 3;
        else
            e[n++] = s[i];
    }
    *out_len = n;
    return e;
}

VKQ_API vkq_status vkq_tokenize(vkq_tokenizer t, const char *text, size_t len, uint32_t flags, int32_t *ids,
                                uint32_t cap, uint32_t *n_out)
{
    if (n_out) *n_out = 0;
    if (!t || !n_out || (!text && len) || (!ids && cap))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_tokenize: %s is NULL",
                        !t            ? "the tokenizer"
                        : !n_out      ? "n_out"
                        : !ids && cap ? "ids (with cap > 0)"
                                      : "text");
    if (flags & ~(uint32_t)(VKQ_TOKENIZE_ADD_SPECIAL | VKQ_TOKENIZE_PARSE_SPECIAL))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_tokenize: unknown flags 0x%x", flags);
    if (!text) text = "";
    int add_special = (flags & VKQ_TOKENIZE_ADD_SPECIAL) != 0;
    fragvec frags = {0};
    vkq_idvec out = {0};
    if (!partition(t, text, len, (flags & VKQ_TOKENIZE_PARSE_SPECIAL) != 0, &frags)) {
        free(frags.v);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_tokenize: no memory");
    }
    if (add_special && t->add_bos && t->bos >= 0) vkq_idvec_push(&out, t->bos);
    /* SentencePiece puts the space prefix at the start and after each special piece. */
    int after_special = 1;
    for (size_t f = 0; f < frags.n && !out.oom; f++) {
        const fragment *fr = &frags.v[f];
        if (fr->token >= 0) {
            vkq_idvec_push(&out, fr->token);
            after_special = 1;
            continue;
        }
        if (t->model == VKQ_TOKMODEL_SPM) {
            size_t elen;
            char *e = spm_escape(text + fr->off, fr->len, t->add_space_prefix && after_special, &elen);
            if (!e) {
                out.oom = 1;
                break;
            }
            vkq_spm_encode(t, e, elen, &out);
            free(e);
        } else {
            vkq_bpe_encode(t, text + fr->off, fr->len, &out);
        }
        after_special = 0;
    }
    if (add_special && t->add_eos && t->eos >= 0) vkq_idvec_push(&out, t->eos);
    free(frags.v);
    if (out.oom) {
        free(out.v);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "vkq_tokenize: no memory");
    }
    if (out.n > UINT32_MAX) {
        free(out.v);
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "vkq_tokenize: %zu tokens", out.n);
    }
    *n_out = (uint32_t)out.n;
    size_t copy = out.n < cap ? out.n : cap;
    if (copy) memcpy(ids, out.v, copy * sizeof *ids);
    free(out.v);
    if (out.n > cap)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "vkq_tokenize: the text needs %zu ids, the buffer holds %u",
                        out.n, cap);
    return VKQ_SUCCESS;
}

/* ---- decoding ---- */

static int32_t put(const char *s, size_t n, char *buf, size_t cap)
{
    if (n <= cap && n) memcpy(buf, s, n);
    return (int32_t)n;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

VKQ_API int32_t vkq_token_to_piece(vkq_tokenizer t, int32_t id, int special, char *buf, size_t cap)
{
    if (!t || id < 0 || (uint32_t)id >= t->n || (!buf && cap)) return -1;
    const vkq_piece *p = &t->pieces[id];
    const char *s = t->blob + p->off;
    switch (p->type) {
    case VKQ_TOK_CONTROL:
    case VKQ_TOK_UNKNOWN:
        return special ? put(s, p->len, buf, cap) : 0;
    case VKQ_TOK_USER_DEFINED:
        return put(s, p->len, buf, cap);
    case VKQ_TOK_UNUSED:
        return 0;
    case VKQ_TOK_BYTE:
        if (t->model == VKQ_TOKMODEL_SPM && p->len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
            hexval(s[3]) >= 0 && hexval(s[4]) >= 0) {
            char b = (char)(hexval(s[3]) * 16 + hexval(s[4]));
            return put(&b, 1, buf, cap);
        }
        return 0;
    default:
        break;
    }
    /* Normal pieces: counted first, written only when they fit. */
    size_t need = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && need > cap) break;
        size_t w = 0;
        for (size_t i = 0; i < p->len;) {
            char one;
            const char *src;
            size_t k;
            if (t->model == VKQ_TOKMODEL_SPM) {
                if (i + 3 <= p->len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
                    one = ' ';
                    i += 3;
                } else {
                    one = s[i++];
                }
                src = &one;
                k = 1;
            } else {
                size_t at = i;
                int b = vkq_bpe_cpt_byte(vkq_utf8_decode((const unsigned char *)s, p->len, &i));
                one = (char)b;
                /* Not a byte's code point: its bytes as they are. */
                src = b >= 0 ? &one : s + at;
                k = b >= 0 ? 1 : i - at;
            }
            if (pass == 1) memcpy(buf + w, src, k);
            w += k;
        }
        need = w;
    }
    return need > INT32_MAX ? -1 : (int32_t)need;
}
