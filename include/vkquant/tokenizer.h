/* vkquant tokenizer: text <-> token ids from a GGUF file's vocabulary (tokenizer.ggml.*).
 *
 * Two models, chosen by tokenizer.ggml.model:
 * - "llama": SentencePiece-style (Gemma, Llama 2, Mistral, TinyLlama): pieces with scores,
 *   spaces as U+2581, the highest-scoring merge first, byte fallback (<0xNN> pieces) for what
 *   the vocabulary cannot spell; tokenizer.ggml.add_space_prefix (default true) prepends a space.
 * - "gpt2": byte-level BPE with tokenizer.ggml.merges (Llama 3, Qwen 2/3, SmolLM): bytes mapped
 *   to printable code points, the pre-tokenizer's splitting (tokenizer.ggml.pre selects the
 *   regex family: "llama-bpe"/"llama3"/"smollm", "qwen2", "default"/"gpt-2"), merges by rank.
 *   "default" gets GPT-2's pattern here; llama.cpp's "default" also cuts punctuation runs and
 *   digits by three first, so such a vocabulary may tokenize differently from llama.cpp.
 *   Invalid UTF-8 becomes U+FFFD per byte before splitting (as llama.cpp does), so for "gpt2" it
 *   does not survive a round trip; "llama" spells such bytes with <0xNN> pieces.
 * Special tokens (token_type CONTROL/USER_DEFINED, e.g. "<start_of_turn>") are matched in the
 * text as whole tokens when `parse_special` is set. BOS/EOS come from tokenizer.ggml.bos_token_id
 * / eos_token_id, and whether to add them from tokenizer.ggml.add_bos_token / add_eos_token
 * (defaults as llama.cpp's: BOS yes for "llama", per-model for "gpt2").
 *
 * Errors: VKQ_ERROR_MALFORMED for a vocabulary that is missing, inconsistent (scores or types of
 * another length, merges naming unknown pieces, ids out of range), VKQ_ERROR_UNSUPPORTED for
 * another tokenizer.ggml.model, with a sentence in vkq_last_error().
 * Ownership: the tokenizer copies what it needs; the vkq_gguf may be destroyed after create.
 * Thread safety: immutable after create; any number of threads may encode/decode at once.
 */
#ifndef VKQUANT_TOKENIZER_H
#define VKQUANT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vkq_tokenizer_s *vkq_tokenizer;

VKQ_API vkq_status vkq_tokenizer_create(vkq_gguf g, vkq_tokenizer *out);
VKQ_API void vkq_tokenizer_destroy(vkq_tokenizer tok);

VKQ_API uint32_t vkq_tokenizer_vocab_size(vkq_tokenizer tok);
/* -1 when the vocabulary has none. */
VKQ_API int32_t vkq_tokenizer_bos(vkq_tokenizer tok);
VKQ_API int32_t vkq_tokenizer_eos(vkq_tokenizer tok);
/* Whether the metadata asks for BOS at the start of a text. */
VKQ_API int vkq_tokenizer_add_bos(vkq_tokenizer tok);
/* End of generation: EOS, EOT (tokenizer.ggml.eot_token_id) and the like ("<end_of_turn>"). */
VKQ_API int vkq_tokenizer_is_eog(vkq_tokenizer tok, int32_t token);

enum {
    VKQ_TOKENIZE_ADD_SPECIAL = 1u << 0,  /* BOS (and EOS) as the metadata says */
    VKQ_TOKENIZE_PARSE_SPECIAL = 1u << 1 /* match control tokens written in the text */
};

/* Encodes `len` bytes of `text` (any bytes; invalid UTF-8: see the top of this file) into at most
 * `cap` ids; *n_out is the number the text needs, also when that is more than `cap` (then
 * VKQ_ERROR_TOO_LARGE and the first `cap` ids are written): call with cap 0 to size. */
VKQ_API vkq_status vkq_tokenize(vkq_tokenizer tok, const char *text, size_t len, uint32_t flags, int32_t *ids,
                                uint32_t cap, uint32_t *n_out);

/* The bytes token `id` stands for when decoding a text (U+2581 as a space, <0xNN> as the byte,
 * byte-level BPE mapped back to bytes; control tokens give "" unless `special`), into buf (not
 * NUL-terminated) up to cap bytes; returns the byte count the piece needs (more than cap: nothing
 * written), or -1 for an id out of range. The leading space of the first piece of a text is kept:
 * callers strip it when add_space_prefix put it there (vkq_tokenizer_add_space_prefix). */
VKQ_API int32_t vkq_token_to_piece(vkq_tokenizer tok, int32_t id, int special, char *buf, size_t cap);
VKQ_API int vkq_tokenizer_add_space_prefix(vkq_tokenizer tok);

#ifdef __cplusplus
}
#endif

#endif
