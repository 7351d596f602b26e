/* The byte layout of the logits file (docs/FORMATS.md §16), shared by its writer and reader. */
#ifndef VKQ_EVAL_LOGITS_LAYOUT_H
#define VKQ_EVAL_LOGITS_LAYOUT_H

#include <stdint.h>

#define VKQ_LOGITS_MAGIC "_logits_"
#define VKQ_LOGITS_MAGIC_LEN 8
/* magic, n_ctx, n_vocab, n_chunk */
#define VKQ_LOGITS_HEADER_BYTES 20
/* A row is 2 floats (scale, floor), then n_vocab 16-bit codes padded to an even count, so every
 * row keeps the floats of the next one 4-byte aligned. */
#define VKQ_LOGITS_ROW_HEAD_CODES 4
/* The widest span the codes cover: log-probabilities more than this below the row's maximum
 * share the floor. */
#define VKQ_LOGITS_SPAN 16.0

static inline uint64_t vkq_logits_row_codes(uint32_t n_vocab)
{
    return VKQ_LOGITS_ROW_HEAD_CODES + 2 * (((uint64_t)n_vocab + 1) / 2);
}

#endif
