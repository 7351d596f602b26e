/* The tokenizer's state, shared by tokenizer.c (loading, special tokens, decoding), spm.c and
 * bpe.c. Immutable after vkq_tokenizer_create. */
#ifndef VKQ_TEXT_TOKENIZER_INTERNAL_H
#define VKQ_TEXT_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/tokenizer.h"

/* tokenizer.ggml.token_type values, as llama.cpp's GGUF writer stores them. */
enum {
    VKQ_TOK_NORMAL = 1,
    VKQ_TOK_UNKNOWN = 2,
    VKQ_TOK_CONTROL = 3,
    VKQ_TOK_USER_DEFINED = 4,
    VKQ_TOK_UNUSED = 5,
    VKQ_TOK_BYTE = 6
};

enum { VKQ_TOKMODEL_SPM, VKQ_TOKMODEL_BPE };
enum { VKQ_PRE_GPT2, VKQ_PRE_LLAMA3, VKQ_PRE_QWEN2 };

typedef struct vkq_piece {
    uint32_t off, len; /* into vkq_tokenizer_s.blob */
    float score;
    uint8_t type;
} vkq_piece;

typedef struct vkq_merge_slot {
    uint64_t key; /* left id << 32 | right id; UINT64_MAX when empty */
    uint32_t rank;
    int32_t result; /* id of the merged piece, -1 when the vocabulary lacks it */
} vkq_merge_slot;

struct vkq_tokenizer_s {
    int model, pre;
    uint32_t n;
    char *blob;
    vkq_piece *pieces;
    int32_t *table; /* open addressing on the piece text: ids, -1 empty */
    uint32_t table_mask;
    int32_t *specials; /* CONTROL, USER_DEFINED and UNKNOWN pieces, longest first */
    uint32_t n_specials;
    int32_t bos, eos, eot, eom, unk;
    int32_t *eog;
    uint32_t n_eog;
    int add_bos, add_eos, add_space_prefix, ignore_merges;
    /* SPM: the <0xNN> piece of each byte (-1 none); BPE: the piece of each byte's code point. */
    int32_t byte_token[256];
    vkq_merge_slot *merges;
    uint32_t merge_mask;
};

/* A growing id list; `oom` sticks once an allocation failed. */
typedef struct vkq_idvec {
    int32_t *v;
    size_t n, cap;
    int oom;
} vkq_idvec;

void vkq_idvec_push(vkq_idvec *out, int32_t id);

/* The id of the piece spelled by `len` bytes at s, or -1. */
int32_t vkq_tok_lookup(const struct vkq_tokenizer_s *t, const char *s, size_t len);

/* Encode one stretch of plain text (no special tokens in it) and append the ids. SPM gets the
 * text already escaped (U+2581 for spaces, the prefix added). */
void vkq_spm_encode(const struct vkq_tokenizer_s *t, const char *text, size_t len, vkq_idvec *out);
void vkq_bpe_encode(const struct vkq_tokenizer_s *t, const char *text, size_t len, vkq_idvec *out);

/* A queued merge of symbol `left` with its right neighbour, `size` bytes together, into piece
 * `id`; the heap pops the lowest `prio` first, on a tie the leftmost pair. */
typedef struct vkq_pair {
    double prio;
    uint32_t left, size;
    int32_t id;
} vkq_pair;

typedef struct vkq_pair_heap {
    vkq_pair *v;
    size_t n, cap;
} vkq_pair_heap;

int vkq_heap_push(vkq_pair_heap *h, vkq_pair p); /* 0 when out of memory */
vkq_pair vkq_heap_pop(vkq_pair_heap *h);         /* h->n > 0 */

/* The code point GPT-2's byte-level BPE writes for byte b, and back (-1: not one of them). */
uint32_t vkq_bpe_byte_cpt(unsigned b);
int vkq_bpe_cpt_byte(uint32_t cpt);

#endif
