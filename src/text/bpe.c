/* GPT-2 byte-level BPE ("gpt2" vocabularies): the pre-tokenizer cuts the text into words by a
 * regex family, each word's bytes become printable code points, and within a word the pair of
 * neighbours with the lowest merge rank is merged first. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer_internal.h"
#include "text/unicode.h"

/* Bytes that are printable Latin-1 stand for themselves; the others (controls, space, 0x7F..0xA0,
 * 0xAD) take the code points from U+0100 on, in byte order. */
static int byte_is_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t vkq_bpe_byte_cpt(unsigned b)
{
    if (byte_is_printable(b)) return b;
    uint32_t k = 0;
    for (unsigned c = 0; c < b; c++)
        k += !byte_is_printable(c);
    return 0x100 + k;
}

int vkq_bpe_cpt_byte(uint32_t cpt)
{
    if (cpt < 0x100) return byte_is_printable(cpt) ? (int)cpt : -1;
    uint32_t k = 0;
    for (unsigned c = 0; c < 256; c++) {
        if (!byte_is_printable(c)) {
            if (0x100 + k == cpt) return (int)c;
            k++;
        }
    }
    return -1;
}

/* ---- pre-tokenizers: the end of the word that starts at cpt[i] ---- */

static unsigned cls(const uint32_t *c, size_t n, size_t k)
{
    return k < n ? vkq_cpt_flags(c[k]) : 0;
}

static int is_crlf(uint32_t c)
{
    return c == '\r' || c == '\n';
}

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's 't 're 've 'm 'll 'd; 0 when none starts at i. */
static size_t contraction(const uint32_t *c, size_t n, size_t i, int any_case)
{
    if (c[i] != '\'' || i + 1 >= n) return 0;
    uint32_t a = any_case ? ascii_lower(c[i + 1]) : c[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < n) {
        uint32_t b = any_case ? ascii_lower(c[i + 2]) : c[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    return 0;
}

/* \s+(?!\S) then \s+: a run of whitespace leaves its last character to the word that follows. */
static size_t space_run(const uint32_t *c, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && (cls(c, n, j) & VKQ_CPT_SPACE))
        j++;
    if (j < n && j - i >= 2) return j - 1;
    return j;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t next_llama3(const uint32_t *c, size_t n, size_t i, size_t max_digits)
{
    const unsigned LN = VKQ_CPT_LETTER | VKQ_CPT_NUMBER, SLN = LN | VKQ_CPT_SPACE;
    size_t j = contraction(c, n, i, 1);
    if (j) return j;
    unsigned f = cls(c, n, i);
    if (!(f & LN) && !is_crlf(c[i]) && (cls(c, n, i + 1) & VKQ_CPT_LETTER)) f = VKQ_CPT_LETTER, i++;
    if (f & VKQ_CPT_LETTER) {
        for (j = i; j < n && (cls(c, n, j) & VKQ_CPT_LETTER);)
            j++;
        return j;
    }
    if (f & VKQ_CPT_NUMBER) {
        for (j = i; j < n && j - i < max_digits && (cls(c, n, j) & VKQ_CPT_NUMBER);)
            j++;
        return j;
    }
    size_t k = i + (c[i] == ' ');
    if (k < n && !(cls(c, n, k) & SLN)) {
        for (j = k; j < n && !(cls(c, n, j) & SLN);)
            j++;
        while (j < n && is_crlf(c[j]))
            j++;
        return j;
    }
    /* Only whitespace is left: \s*[\r\n]+ ends after the run's last CR or LF. */
    size_t end = i, last_crlf = 0;
    while (end < n && (cls(c, n, end) & VKQ_CPT_SPACE)) {
        if (is_crlf(c[end])) last_crlf = end + 1;
        end++;
    }
    if (last_crlf) return last_crlf;
    return space_run(c, n, i);
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t next_gpt2(const uint32_t *c, size_t n, size_t i)
{
    size_t j = contraction(c, n, i, 0);
    if (j) return j;
    size_t k = i + (c[i] == ' ' && i + 1 < n);
    unsigned f = cls(c, n, k);
    if (f & VKQ_CPT_SPACE) return space_run(c, n, i);
    for (j = k; j < n; j++) {
        unsigned g = cls(c, n, j);
        if ((f & (VKQ_CPT_LETTER | VKQ_CPT_NUMBER)) ? !(g & f) : (g != 0)) break;
    }
    return j;
}

/* ---- merges ---- */

typedef struct bpe_sym {
    int32_t prev, next;
    uint32_t off, n;
    int32_t id; /* the piece this symbol spells, -1 none */
} bpe_sym;

static const vkq_merge_slot *find_merge(const struct vkq_tokenizer_s *t, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return NULL;
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t hsh = key * 0x9E3779B97F4A7C15ull;
    for (uint32_t s = (uint32_t)(hsh >> 32) & t->merge_mask;; s = (s + 1) & t->merge_mask) {
        if (t->merges[s].key == key) return &t->merges[s];
        if (t->merges[s].key == UINT64_MAX) return NULL;
    }
}

static int try_pair(const struct vkq_tokenizer_s *t, const bpe_sym *sym, int32_t left, int32_t right,
                    vkq_pair_heap *h)
{
    if (left < 0 || right < 0) return 1;
    const vkq_merge_slot *m = find_merge(t, sym[left].id, sym[right].id);
    if (!m) return 1;
    return vkq_heap_push(h,
                         (vkq_pair){(double)m->rank, (uint32_t)left, sym[left].n + sym[right].n, m->result});
}

/* A symbol the vocabulary cannot spell: each byte of its code points' UTF-8 that is a piece by
 * itself (printable ASCII), the others dropped, as llama.cpp does. */
static void emit_unspelled(const struct vkq_tokenizer_s *t, const unsigned char *s, size_t n, vkq_idvec *out)
{
    for (size_t i = 0; i < n; i++) {
        char u[4];
        size_t k = vkq_utf8_encode(vkq_bpe_byte_cpt(s[i]), u);
        for (size_t b = 0; b < k; b++) {
            int32_t id = vkq_tok_lookup(t, &u[b], 1);
            if (id >= 0) vkq_idvec_push(out, id);
        }
    }
}

/* One word's bytes. `mapped` has room for 2 bytes per byte. */
static void encode_word(const struct vkq_tokenizer_s *t, const unsigned char *w, size_t len, char *mapped,
                        bpe_sym *sym, vkq_pair_heap *h, vkq_idvec *out)
{
    if (t->ignore_merges) {
        size_t m = 0;
        for (size_t i = 0; i < len; i++)
            m += vkq_utf8_encode(vkq_bpe_byte_cpt(w[i]), mapped + m);
        int32_t id = vkq_tok_lookup(t, mapped, m);
        if (id >= 0) {
            vkq_idvec_push(out, id);
            return;
        }
    }
    for (size_t i = 0; i < len; i++)
        sym[i] =
            (bpe_sym){(int32_t)i - 1, i + 1 < len ? (int32_t)i + 1 : -1, (uint32_t)i, 1, t->byte_token[w[i]]};
    h->n = 0;
    int ok = 1;
    for (size_t i = 0; i + 1 < len && ok; i++)
        ok = try_pair(t, sym, (int32_t)i, (int32_t)i + 1, h);
    while (ok && h->n) {
        vkq_pair p = vkq_heap_pop(h);
        bpe_sym *l = &sym[p.left];
        if (l->n == 0 || l->next < 0) continue;
        bpe_sym *r = &sym[l->next];
        if (r->n == 0 || l->n + r->n != p.size) continue;
        l->n += r->n;
        l->id = p.id;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = (int32_t)p.left;
        ok = try_pair(t, sym, l->prev, (int32_t)p.left, h) && try_pair(t, sym, (int32_t)p.left, l->next, h);
    }
    if (!ok) {
        out->oom = 1;
        return;
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        if (sym[i].id >= 0)
            vkq_idvec_push(out, sym[i].id);
        else
            emit_unspelled(t, w + sym[i].off, sym[i].n, out);
    }
}

void vkq_bpe_encode(const struct vkq_tokenizer_s *t, const char *text, size_t len, vkq_idvec *out)
{
    if (len == 0) return;
    /* Code points, each invalid byte as U+FFFD, then words re-encoded: up to 3 bytes per byte. */
    uint32_t *cpt = malloc(len * sizeof *cpt);
    unsigned char *word = malloc(len * 4 + 4);
    char *mapped = malloc(len * 8 + 8);
    bpe_sym *sym = malloc((len * 3 + 1) * sizeof *sym);
    vkq_pair_heap h = {0};
    if (!cpt || !word || !mapped || !sym) {
        out->oom = 1;
        goto done;
    }
    size_t n = 0;
    for (size_t pos = 0; pos < len;)
        cpt[n++] = vkq_utf8_decode((const unsigned char *)text, len, &pos);
    for (size_t i = 0; i < n && !out->oom;) {
        size_t j = t->pre == VKQ_PRE_GPT2    ? next_gpt2(cpt, n, i)
                   : t->pre == VKQ_PRE_QWEN2 ? next_llama3(cpt, n, i, 1)
                                             : next_llama3(cpt, n, i, 3);
        if (j <= i) j = i + 1;
        size_t wl = 0;
        for (size_t k = i; k < j; k++)
            wl += vkq_utf8_encode(cpt[k], (char *)word + wl);
        encode_word(t, word, wl, mapped, sym, &h, out);
        i = j;
    }
done:
    free(h.v);
    free(cpt);
    free(word);
    free(mapped);
    free(sym);
}
