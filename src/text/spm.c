/* SentencePiece-style encoding ("llama" vocabularies): characters, then the best-scoring merge
 * of two neighbours at a time, then byte pieces for what is left unspelled. */
#include <stdlib.h>

#include "text/tokenizer_internal.h"
#include "text/unicode.h"

typedef struct spm_sym {
    int32_t prev, next;
    uint32_t off, n; /* n == 0: merged into its left neighbour */
} spm_sym;

static int try_pair(const struct vkq_tokenizer_s *t, const char *text, const spm_sym *sym, int32_t left,
                    int32_t right, vkq_pair_heap *h)
{
    if (left < 0 || right < 0) return 1;
    uint32_t size = sym[left].n + sym[right].n;
    int32_t id = vkq_tok_lookup(t, text + sym[left].off, size);
    if (id < 0) return 1;
    /* Highest score first. */
    return vkq_heap_push(h, (vkq_pair){-(double)t->pieces[id].score, (uint32_t)left, size, id});
}

static void emit_bytes(const struct vkq_tokenizer_s *t, const unsigned char *s, size_t n, vkq_idvec *out)
{
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_token[s[i]];
        if (id < 0) id = t->unk;
        if (id >= 0) vkq_idvec_push(out, id);
    }
}

void vkq_spm_encode(const struct vkq_tokenizer_s *t, const char *text, size_t len, vkq_idvec *out)
{
    if (len == 0) return;
    spm_sym *sym = malloc(len * sizeof *sym);
    vkq_pair_heap h = {0};
    if (!sym) {
        out->oom = 1;
        return;
    }
    int32_t count = 0;
    for (size_t i = 0; i < len;) {
        size_t n = vkq_utf8_lead_len((unsigned char)text[i]);
        if (n > len - i) n = len - i;
        sym[count] = (spm_sym){count - 1, count + 1, (uint32_t)i, (uint32_t)n};
        count++;
        i += n;
    }
    sym[count - 1].next = -1;
    int ok = 1;
    for (int32_t i = 0; i + 1 < count && ok; i++)
        ok = try_pair(t, text, sym, i, i + 1, &h);
    while (ok && h.n) {
        vkq_pair p = vkq_heap_pop(&h);
        spm_sym *l = &sym[p.left];
        if (l->n == 0 || l->next < 0) continue;
        spm_sym *r = &sym[l->next];
        /* A pair queued before either side grew is stale. */
        if (r->n == 0 || l->n + r->n != p.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = (int32_t)p.left;
        ok = try_pair(t, text, sym, l->prev, (int32_t)p.left, &h) &&
             try_pair(t, text, sym, (int32_t)p.left, l->next, &h);
    }
    free(h.v);
    if (!ok) {
        out->oom = 1;
        free(sym);
        return;
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t id = vkq_tok_lookup(t, text + sym[i].off, sym[i].n);
        if (id >= 0)
            vkq_idvec_push(out, id);
        else
            emit_bytes(t, (const unsigned char *)text + sym[i].off, sym[i].n, out);
    }
    free(sym);
}
