/* Writer of the logits file (include/vkquant/eval.h). The bytes go to a temporary file beside the
 * target, renamed over it only when every chunk is written: an interrupted or failed base run
 * never leaves a file that a later comparison would half read. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "eval/logits_layout.h"
#include "vkquant/eval.h"

struct vkq_logits_writer_s {
    FILE *f;
    char *path, *tmp;
    uint32_t n_ctx, n_vocab, n_chunk, n_done;
    int finished;
    uint16_t *row; /* one encoded row */
};

uint32_t vkq_logits_scored_per_chunk(uint32_t n_ctx) { return n_ctx < 3 ? 0 : n_ctx - n_ctx / 2 - 1; }

static vkq_status write_bytes(vkq_logits_writer w, const void *p, size_t n)
{
    if (fwrite(p, 1, n, w->f) == n) return VKQ_SUCCESS;
    return vkq_fail(VKQ_ERROR_IO, "%s: write failed: %s", w->tmp ? w->tmp : w->path, strerror(errno));
}

void vkq_logits_writer_destroy(vkq_logits_writer w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (!w->finished && w->tmp) unlink(w->tmp);
    free(w->row);
    free(w->tmp);
    free(w->path);
    free(w);
}

/* Checks the arguments and allocates the writer; name is the path (or "fd N") for messages. */
static vkq_status writer_new(const char *name, uint32_t n_ctx, uint32_t n_vocab, uint32_t n_chunk,
                             const int32_t *tokens, vkq_logits_writer *out)
{
    *out = NULL;
    if (n_ctx < 3 || !n_vocab || !n_chunk || n_ctx > INT32_MAX || n_vocab > INT32_MAX || n_chunk > INT32_MAX)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "%s: context %u, vocabulary %u, %u chunks: a logits file needs a context of 3 or more "
                        "and at least one token and chunk (each at most 2^31 - 1)",
                        name, n_ctx, n_vocab, n_chunk);
    const uint64_t n_tok = (uint64_t)n_ctx * n_chunk;
    if (n_tok > SIZE_MAX / sizeof *tokens)
        return vkq_fail(VKQ_ERROR_TOO_LARGE, "%s: %u chunks of %u tokens do not fit in memory", name, n_chunk, n_ctx);
    for (uint64_t i = 0; i < n_tok; ++i)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= n_vocab)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: token %llu is %d, outside the vocabulary of %u", name,
                            (unsigned long long)i, tokens[i], n_vocab);
    vkq_logits_writer w = calloc(1, sizeof *w);
    const size_t plen = strlen(name);
    if (!w || !(w->path = malloc(plen + 1)) || !(w->row = malloc(vkq_logits_row_codes(n_vocab) * sizeof *w->row))) {
        vkq_logits_writer_destroy(w);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for the writer", name);
    }
    memcpy(w->path, name, plen + 1);
    w->n_ctx = n_ctx;
    w->n_vocab = n_vocab;
    w->n_chunk = n_chunk;
    *out = w;
    return VKQ_SUCCESS;
}

/* The header and the tokens, once w->f is open. */
static vkq_status write_head(vkq_logits_writer w, const int32_t *tokens)
{
    const int32_t head[3] = {(int32_t)w->n_ctx, (int32_t)w->n_vocab, (int32_t)w->n_chunk};
    vkq_status st = write_bytes(w, VKQ_LOGITS_MAGIC, VKQ_LOGITS_MAGIC_LEN);
    if (st == VKQ_SUCCESS) st = write_bytes(w, head, sizeof head);
    if (st == VKQ_SUCCESS) st = write_bytes(w, tokens, (size_t)w->n_ctx * w->n_chunk * sizeof *tokens);
    return st;
}

vkq_status vkq_logits_writer_create(const char *path, uint32_t n_ctx, uint32_t n_vocab, uint32_t n_chunk,
                                    const int32_t *tokens, vkq_logits_writer *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_writer_create: out is NULL");
    *out = NULL;
    if (!path || !*path || !tokens)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_writer_create: path or tokens missing");
    vkq_logits_writer w;
    vkq_status st = writer_new(path, n_ctx, n_vocab, n_chunk, tokens, &w);
    if (st != VKQ_SUCCESS) return st;
    const size_t plen = strlen(path);
    if (!(w->tmp = malloc(plen + 12))) {
        vkq_logits_writer_destroy(w);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for the writer", path);
    }
    snprintf(w->tmp, plen + 12, "%s.tmp.XXXXXX", path);
    const int fd = mkstemp(w->tmp);
    if (fd < 0) {
        st = vkq_fail(VKQ_ERROR_IO, "%s: cannot create a file beside it: %s", path, strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        vkq_logits_writer_destroy(w);
        return st;
    }
    /* mkstemp makes the file 0600; the result is an ordinary output file. */
    const mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        close(fd);
        vkq_logits_writer_destroy(w);
        return vkq_fail(VKQ_ERROR_IO, "%s: %s", path, strerror(errno));
    }
    if ((st = write_head(w, tokens)) != VKQ_SUCCESS) {
        vkq_logits_writer_destroy(w);
        return st;
    }
    *out = w;
    return VKQ_SUCCESS;
}

vkq_status vkq_logits_writer_create_fd(int fd, uint32_t n_ctx, uint32_t n_vocab, uint32_t n_chunk,
                                       const int32_t *tokens, vkq_logits_writer *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_writer_create_fd: out is NULL");
    *out = NULL;
    if (fd < 0 || !tokens)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_writer_create_fd: bad fd or tokens missing");
    char name[32];
    snprintf(name, sizeof name, "fd %d", fd);
    vkq_logits_writer w;
    vkq_status st = writer_new(name, n_ctx, n_vocab, n_chunk, tokens, &w);
    if (st != VKQ_SUCCESS) return st;
    const int own = dup(fd); /* the caller keeps fd */
    if (own < 0 || !(w->f = fdopen(own, "wb"))) {
        st = vkq_fail(VKQ_ERROR_IO, "%s: %s", name, strerror(errno));
        if (own >= 0) close(own);
        vkq_logits_writer_destroy(w);
        return st;
    }
    if ((st = write_head(w, tokens)) != VKQ_SUCCESS) {
        vkq_logits_writer_destroy(w);
        return st;
    }
    *out = w;
    return VKQ_SUCCESS;
}

/* One row: log-probabilities relative to the row's floor, max(min logit, max logit - 16), in
 * steps of (max - floor) / 65535; everything at or below the floor is code 0. The arithmetic is in
 * double; the two header floats are what a reader multiplies with, so the codes are rounded
 * against the float scale. */
static void encode_row(const float *logits, uint32_t n, uint16_t *row)
{
    double mx = logits[0], mn = logits[0];
    for (uint32_t i = 1; i < n; ++i) {
        if (logits[i] > mx) mx = logits[i];
        if (logits[i] < mn) mn = logits[i];
    }
    const double lo = mn > mx - VKQ_LOGITS_SPAN ? mn : mx - VKQ_LOGITS_SPAN;
    double sum = 0;
    for (uint32_t i = 0; i < n; ++i) sum += exp((double)logits[i] - mx);
    const float scale = (float)((mx - lo) / 65535.0);
    const float floor_lp = (float)(lo - mx - log(sum));
    memcpy(row, &scale, sizeof scale);
    memcpy(row + 2, &floor_lp, sizeof floor_lp);
    uint16_t *q = row + VKQ_LOGITS_ROW_HEAD_CODES;
    for (uint32_t i = 0; i < n; ++i) {
        double c = scale > 0 && logits[i] > lo ? nearbyint(((double)logits[i] - lo) / scale) : 0;
        q[i] = (uint16_t)(c > 65535 ? 65535 : c);
    }
    if (n & 1) q[n] = 0;
}

vkq_status vkq_logits_writer_add_chunk(vkq_logits_writer w, const float *logits)
{
    if (!w || !logits) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_writer_add_chunk: NULL argument");
    if (w->finished || w->n_done == w->n_chunk)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: all %u chunks are written already", w->path, w->n_chunk);
    const uint32_t rows = vkq_logits_scored_per_chunk(w->n_ctx), V = w->n_vocab;
    for (uint64_t i = 0; i < (uint64_t)rows * V; ++i)
        if (!isfinite(logits[i]))
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: chunk %u, position %u: logit of token %u is %g",
                            w->path, w->n_done, w->n_ctx / 2 + (uint32_t)(i / V), (uint32_t)(i % V),
                            (double)logits[i]);
    const size_t row_bytes = (size_t)vkq_logits_row_codes(V) * sizeof *w->row;
    for (uint32_t r = 0; r < rows; ++r) {
        encode_row(logits + (size_t)r * V, V, w->row);
        vkq_status st = write_bytes(w, w->row, row_bytes);
        if (st != VKQ_SUCCESS) return st;
    }
    ++w->n_done;
    return VKQ_SUCCESS;
}

vkq_status vkq_logits_writer_finish(vkq_logits_writer w)
{
    if (!w) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_writer_finish: NULL writer");
    if (w->finished) return VKQ_SUCCESS;
    if (w->n_done != w->n_chunk)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s: %u of %u chunks written: the file is incomplete", w->path,
                        w->n_done, w->n_chunk);
    FILE *f = w->f;
    w->f = NULL;
    const char *where = w->tmp ? w->tmp : w->path;
    if (!w->tmp) { /* a caller's descriptor: flushed, the copy closed, nothing renamed */
        if (fflush(f)) {
            const int e = errno;
            fclose(f);
            return vkq_fail(VKQ_ERROR_IO, "%s: write failed: %s", where, strerror(e));
        }
        if (fclose(f)) return vkq_fail(VKQ_ERROR_IO, "%s: write failed: %s", where, strerror(errno));
        w->finished = 1;
        return VKQ_SUCCESS;
    }
    if (fflush(f) || fsync(fileno(f))) {
        const int e = errno;
        fclose(f);
        return vkq_fail(VKQ_ERROR_IO, "%s: write failed: %s", where, strerror(e));
    }
    if (fclose(f)) return vkq_fail(VKQ_ERROR_IO, "%s: write failed: %s", where, strerror(errno));
    if (rename(w->tmp, w->path))
        return vkq_fail(VKQ_ERROR_IO, "%s: cannot rename %s into place: %s", w->path, w->tmp, strerror(errno));
    w->finished = 1;
    return VKQ_SUCCESS;
}
