/* vkquant eval: the logits file of llama.cpp's llama-perplexity (--kl-divergence-base) and the
 * KL-divergence statistics it reports, so that a run can be compared with a base run of another
 * program, a quantization or a KV cache type on the same tokens.
 *
 * The file (docs/FORMATS.md §16): a header "_logits_", n_ctx, n_vocab, n_chunk (int32), the
 * n_chunk * n_ctx evaluated tokens (int32), then for each chunk and each scored position
 * (first = n_ctx / 2 .. n_ctx - 2, n_ctx - first - 1 of them) the log-probabilities of the whole
 * vocabulary quantized to 16 bits against the row's own scale and floor. Little-endian.
 *
 * Errors: VKQ_ERROR_INVALID_ARGUMENT (NULL pointer, zero size, position out of range, too many
 * chunks, non-finite logits), VKQ_ERROR_IO (cannot open, write, rename), VKQ_ERROR_MALFORMED (a
 * file that is not such a file, is truncated or has bytes left over, sizes that overflow, tokens
 * outside the vocabulary, a row whose scale or floor is not finite), VKQ_ERROR_OUT_OF_HOST_MEMORY;
 * each with a sentence in vkq_last_error().
 * Ownership: the writer and reader own their handles; vkq_logits_file_create_from_memory copies
 * nothing it does not need, so the bytes must outlive the handle.
 * Thread safety: a handle is used by one thread at a time; distinct handles are independent.
 * A reader is immutable after create: several threads may decode rows of one file at once.
 */
#ifndef VKQUANT_EVAL_H
#define VKQUANT_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scored positions of a chunk of n_ctx tokens: first = n_ctx / 2 up to n_ctx - 2, each scoring
 * the token after it. 0 when n_ctx < 3. */
VKQ_API uint32_t vkq_logits_scored_per_chunk(uint32_t n_ctx);

/* ---- writer ----------------------------------------------------------------------------- */

typedef struct vkq_logits_writer_s *vkq_logits_writer;

/* Starts a file of n_chunk chunks of n_ctx tokens over a vocabulary of n_vocab (each >= 1,
 * n_ctx >= 3, each <= INT32_MAX); `tokens` holds the n_chunk * n_ctx evaluated tokens (the text's,
 * not with BOS put in place of the first) and is copied into the file at once. The bytes go to a
 * temporary file beside `path` (path.tmp.XXXXXX); only vkq_logits_writer_finish puts them at
 * `path`. */
VKQ_API vkq_status vkq_logits_writer_create(const char *path, uint32_t n_ctx, uint32_t n_vocab, uint32_t n_chunk,
                                            const int32_t *tokens, vkq_logits_writer *out);
/* The same into an open file descriptor (written from its current offset; the caller keeps fd
 * and closes it): no temporary file and no rename; finish only flushes. For a file that is to
 * vanish with the process, e.g. an O_TMPFILE or memfd read back through /proc/self/fd. */
VKQ_API vkq_status vkq_logits_writer_create_fd(int fd, uint32_t n_ctx, uint32_t n_vocab, uint32_t n_chunk,
                                               const int32_t *tokens, vkq_logits_writer *out);
/* The next chunk: the logits (n_vocab floats a row, finite) of its scored positions,
 * vkq_logits_scored_per_chunk(n_ctx) rows, the first for position n_ctx / 2. */
VKQ_API vkq_status vkq_logits_writer_add_chunk(vkq_logits_writer w, const float *logits);
/* After the n_chunk-th chunk: flushes, closes and renames the file into place. Fails (the file
 * not written) when a chunk is missing or a write fails. The handle stays to be destroyed. */
VKQ_API vkq_status vkq_logits_writer_finish(vkq_logits_writer w);
/* Frees the writer; without a successful finish, removes the temporary file. NULL is a no-op. */
VKQ_API void vkq_logits_writer_destroy(vkq_logits_writer w);

/* ---- reader ----------------------------------------------------------------------------- */

typedef struct vkq_logits_file_s *vkq_logits_file;

typedef struct vkq_logits_file_info {
    uint32_t n_ctx, n_vocab, n_chunk;
    uint32_t first;    /* n_ctx / 2: the first scored position of a chunk */
    uint32_t n_scored; /* scored positions a chunk: n_ctx - first - 1 */
} vkq_logits_file_info;

/* Opens (maps) and validates a whole file: its length must be exactly what the header implies,
 * every token inside the vocabulary, every row's scale and floor finite. On failure *out is NULL
 * and the sentence names the path and what is wrong (e.g. how many bytes a truncated file lacks). */
VKQ_API vkq_status vkq_logits_file_create(const char *path, vkq_logits_file *out);
/* The same from `size` bytes in memory, which must stay valid while the handle lives. */
VKQ_API vkq_status vkq_logits_file_create_from_memory(const void *data, size_t size, vkq_logits_file *out);
VKQ_API void vkq_logits_file_destroy(vkq_logits_file f);

VKQ_API void vkq_logits_file_get_info(vkq_logits_file f, vkq_logits_file_info *out);
/* The n_chunk * n_ctx tokens, chunk after chunk (owned by the handle). */
VKQ_API const int32_t *vkq_logits_file_tokens(vkq_logits_file f);
/* Decodes the log-probabilities of chunk `chunk`, scored position `pos` (0 .. n_scored - 1, that
 * is position first + pos of the chunk) into n_vocab floats: scale * q + floor, in float as
 * llama.cpp decodes them. Entries at or below the row's floor all decode to the floor. */
VKQ_API vkq_status vkq_logits_file_log_probs(vkq_logits_file f, uint32_t chunk, uint32_t pos, float *out);

/* ---- KL divergence statistics -------------------------------------------------------------- */

typedef struct vkq_kld_s *vkq_kld;

/* What one position adds (all in double). */
typedef struct vkq_kld_position {
    double kld;                 /* KL(base || current) over the entries whose base log-prob > -16 */
    double nll, nll_base;       /* -log p(token) of the current run and of the base */
    double p_diff;              /* p_current(token) - p_base(token) */
    int32_t top, top_base;      /* the most probable token of each (the first one on a tie) */
} vkq_kld_position;

/* The percentiles reported for KLD and Δp: vkq_kld_percentile_fraction(i) for i < 10 is 0.999,
 * 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001 (KLD's printout leaves out 0.75 and 0.25);
 * 0 for i out of range. */
#define VKQ_KLD_N_PERCENTILES 10
VKQ_API double vkq_kld_percentile_fraction(uint32_t i);

/* Everything llama-perplexity --kl-divergence prints. "err" is the standard error of the mean,
 * sqrt((E[x^2] - E[x]^2) / (n - 1)), and 0 with 10 values or fewer, as llama.cpp has it; errors
 * of exp() of a mean are carried to first order. Percentiles interpolate linearly between the
 * sorted values at fraction * (n - 1) (NumPy's default); the median is the mean of the middle two
 * for an even count. ln_ppl_cor is NaN when either error is 0. */
typedef struct vkq_kld_summary {
    uint64_t count;
    double ppl, ppl_err;                   /* PPL(Q) = exp(mean nll) */
    double ppl_base, ppl_base_err;         /* PPL(base) */
    double ln_ppl_cor;                     /* Cor(ln PPL(Q), ln PPL(base)) */
    double ln_ppl_ratio, ln_ppl_ratio_err; /* mean ln(PPL(Q)/PPL(base)) */
    double ppl_ratio, ppl_ratio_err;       /* PPL(Q)/PPL(base) */
    double ppl_diff, ppl_diff_err;         /* PPL(Q) - PPL(base) */
    double kld, kld_err, kld_max, kld_median, kld_min;
    double kld_percentile[VKQ_KLD_N_PERCENTILES];
    double p_diff, p_diff_err, p_diff_max, p_diff_median, p_diff_min;
    double p_diff_percentile[VKQ_KLD_N_PERCENTILES];
    double p_diff_rms, p_diff_rms_err;
    double same_top, same_top_err; /* fraction of positions whose top tokens agree */
} vkq_kld_summary;

VKQ_API vkq_status vkq_kld_create(uint32_t n_vocab, vkq_kld *out);
VKQ_API void vkq_kld_destroy(vkq_kld k);
/* One scored position: the base's log-probabilities (n_vocab, e.g. from
 * vkq_logits_file_log_probs), the current run's logits (n_vocab) and the token scored there.
 * `pos_out` (may be NULL) receives what the position added. */
VKQ_API vkq_status vkq_kld_add(vkq_kld k, const float *base_log_probs, const float *logits, int32_t token,
                               vkq_kld_position *pos_out);
/* The statistics over every position added so far (VKQ_ERROR_INVALID_ARGUMENT before the first).
 * The order statistics sort a copy of every position's values: O(n log n). */
VKQ_API vkq_status vkq_kld_get_summary(vkq_kld k, vkq_kld_summary *out);
/* The same without the order statistics (max, median, min and percentiles left 0), in constant
 * time: for running figures after each chunk. */
VKQ_API vkq_status vkq_kld_get_running(vkq_kld k, vkq_kld_summary *out);

#ifdef __cplusplus
}
#endif

#endif
