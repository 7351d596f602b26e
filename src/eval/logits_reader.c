/* Strict reader of the logits file (include/vkquant/eval.h): everything a later decode relies on
 * is checked once at open, so vkq_logits_file_log_probs cannot read outside the bytes. The bytes
 * are read with memcpy: a file in memory need not be aligned. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "eval/logits_layout.h"
#include "vkquant/eval.h"

struct vkq_logits_file_s {
    const uint8_t *data;
    size_t size;
    void *map; /* non-NULL when mapped by us */
    size_t map_size;
    int32_t *tokens;
    uint64_t rows_at, row_bytes;
    vkq_logits_file_info info;
};

static int32_t rd_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static float rd_f32(const uint8_t *p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* a * b, 0 when it overflows 64 bits (no operand here is 0). */
static uint64_t mul_ok(uint64_t a, uint64_t b) { return a && b > UINT64_MAX / a ? 0 : a * b; }

void vkq_logits_file_destroy(vkq_logits_file f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->map_size);
    free(f->tokens);
    free(f);
}

static vkq_status parse(vkq_logits_file f)
{
    const uint8_t *d = f->data;
    const uint64_t size = f->size;
    if (size < VKQ_LOGITS_MAGIC_LEN || memcmp(d, VKQ_LOGITS_MAGIC, VKQ_LOGITS_MAGIC_LEN))
        return vkq_fail(VKQ_ERROR_MALFORMED, "not a logits file (it does not start with \"_logits_\")");
    if (size < VKQ_LOGITS_HEADER_BYTES)
        return vkq_fail(VKQ_ERROR_MALFORMED, "truncated: %llu bytes, the header alone is %d",
                        (unsigned long long)size, VKQ_LOGITS_HEADER_BYTES);
    const int32_t n_ctx = rd_i32(d + 8), n_vocab = rd_i32(d + 12), n_chunk = rd_i32(d + 16);
    if (n_ctx < 3 || n_vocab < 1 || n_chunk < 1)
        return vkq_fail(VKQ_ERROR_MALFORMED,
                        "header says context %d, vocabulary %d, %d chunks: needs a context of 3 or more and at "
                        "least one token and chunk",
                        n_ctx, n_vocab, n_chunk);
    vkq_logits_file_info *in = &f->info;
    in->n_ctx = (uint32_t)n_ctx;
    in->n_vocab = (uint32_t)n_vocab;
    in->n_chunk = (uint32_t)n_chunk;
    in->first = in->n_ctx / 2;
    in->n_scored = vkq_logits_scored_per_chunk(in->n_ctx);
    /* Every factor is below 2^32, so the token count and its bytes fit; the rows need checking. */
    const uint64_t n_tok = (uint64_t)in->n_ctx * in->n_chunk, tok_bytes = n_tok * 4;
    f->row_bytes = vkq_logits_row_codes(in->n_vocab) * 2;
    f->rows_at = VKQ_LOGITS_HEADER_BYTES + tok_bytes;
    const uint64_t n_rows = (uint64_t)in->n_chunk * in->n_scored;
    const uint64_t rows_bytes = mul_ok(n_rows, f->row_bytes);
    if (!rows_bytes || rows_bytes > UINT64_MAX - f->rows_at)
        return vkq_fail(VKQ_ERROR_MALFORMED, "header sizes overflow: %u chunks of %u positions over %u tokens",
                        in->n_chunk, in->n_scored, in->n_vocab);
    const uint64_t want = f->rows_at + rows_bytes;
    if (size < f->rows_at)
        return vkq_fail(VKQ_ERROR_MALFORMED,
                        "truncated: %llu bytes, but the %llu tokens of %u chunks of %u end at byte %llu (no "
                        "log-probabilities at all)",
                        (unsigned long long)size, (unsigned long long)n_tok, in->n_chunk, in->n_ctx,
                        (unsigned long long)f->rows_at);
    if (size < want) {
        const uint64_t whole = (size - f->rows_at) / f->row_bytes;
        return vkq_fail(VKQ_ERROR_MALFORMED,
                        "truncated: %llu bytes of %llu; it ends in chunk %llu of %u, after %llu of its %u positions "
                        "(%llu bytes missing)",
                        (unsigned long long)size, (unsigned long long)want,
                        (unsigned long long)(whole / in->n_scored) + 1, in->n_chunk,
                        (unsigned long long)(whole % in->n_scored), in->n_scored, (unsigned long long)(want - size));
    }
    if (size > want)
        return vkq_fail(VKQ_ERROR_MALFORMED,
                        "%llu bytes after the last of %u chunks (the header implies %llu bytes): another context, "
                        "vocabulary or chunk count than written?",
                        (unsigned long long)(size - want), in->n_chunk, (unsigned long long)want);
    if (n_tok > SIZE_MAX / sizeof *f->tokens || !(f->tokens = malloc((size_t)n_tok * sizeof *f->tokens)))
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory for %llu tokens", (unsigned long long)n_tok);
    memcpy(f->tokens, d + VKQ_LOGITS_HEADER_BYTES, (size_t)tok_bytes);
    for (uint64_t i = 0; i < n_tok; ++i)
        if (f->tokens[i] < 0 || f->tokens[i] >= n_vocab)
            return vkq_fail(VKQ_ERROR_MALFORMED, "token %llu (chunk %llu) is %d, outside the vocabulary of %d",
                            (unsigned long long)i, (unsigned long long)(i / in->n_ctx), f->tokens[i], n_vocab);
    for (uint64_t r = 0; r < n_rows; ++r) {
        const uint8_t *row = d + f->rows_at + r * f->row_bytes;
        const float scale = rd_f32(row), lo = rd_f32(row + 4);
        /* The largest code must decode to a finite number too. */
        if (!isfinite(scale) || scale < 0 || !isfinite(lo) || !isfinite(scale * 65535.0f + lo))
            return vkq_fail(VKQ_ERROR_MALFORMED,
                            "chunk %llu, position %llu: scale %g and floor %g (want scale >= 0 and every code "
                            "decoding to a finite number)",
                            (unsigned long long)(r / in->n_scored), (unsigned long long)(r % in->n_scored),
                            (double)scale, (double)lo);
    }
    return VKQ_SUCCESS;
}

static vkq_status open_common(const void *data, size_t size, void *map, size_t map_size, vkq_logits_file *out)
{
    vkq_logits_file f = calloc(1, sizeof *f);
    if (!f) {
        if (map) munmap(map, map_size);
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    }
    f->data = data;
    f->size = size;
    f->map = map;
    f->map_size = map_size;
    vkq_status st = parse(f);
    if (st != VKQ_SUCCESS) {
        vkq_logits_file_destroy(f);
        return st;
    }
    *out = f;
    return VKQ_SUCCESS;
}

vkq_status vkq_logits_file_create_from_memory(const void *data, size_t size, vkq_logits_file *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_file_create_from_memory: out is NULL");
    *out = NULL;
    if (!data && size) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_file_create_from_memory: data is NULL");
    static const uint8_t none[1];
    return open_common(size ? data : none, size, NULL, 0, out);
}

vkq_status vkq_logits_file_create(const char *path, vkq_logits_file *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_file_create: out is NULL");
    *out = NULL;
    if (!path || !*path) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_file_create: no path");
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vkq_fail(VKQ_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    const char *why = fstat(fd, &sb)         ? strerror(errno)
                      : S_ISDIR(sb.st_mode)  ? "is a directory"
                      : !S_ISREG(sb.st_mode) ? "is not a regular file"
                                             : NULL;
    if (why) {
        close(fd);
        return vkq_fail(VKQ_ERROR_IO, "%s: %s", path, why);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return vkq_fail(VKQ_ERROR_IO, "%s: file too large to map", path);
    }
    const size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            const int e = errno;
            close(fd);
            return vkq_fail(VKQ_ERROR_IO, "%s: mmap failed: %s", path, strerror(e));
        }
    }
    close(fd);
    static const uint8_t none[1];
    vkq_status st = open_common(map ? map : none, size, map, size, out);
    if (st != VKQ_SUCCESS) vkq_fail(st, "%s: %s", path, vkq_last_error());
    return st;
}

void vkq_logits_file_get_info(vkq_logits_file f, vkq_logits_file_info *out)
{
    if (!out) return;
    if (f) *out = f->info;
    else memset(out, 0, sizeof *out);
}

const int32_t *vkq_logits_file_tokens(vkq_logits_file f) { return f ? f->tokens : NULL; }

vkq_status vkq_logits_file_log_probs(vkq_logits_file f, uint32_t chunk, uint32_t pos, float *out)
{
    if (!f || !out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "vkq_logits_file_log_probs: NULL argument");
    if (chunk >= f->info.n_chunk || pos >= f->info.n_scored)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "vkq_logits_file_log_probs: chunk %u, position %u: the file has %u chunks of %u positions",
                        chunk, pos, f->info.n_chunk, f->info.n_scored);
    const uint8_t *row = f->data + f->rows_at + ((uint64_t)chunk * f->info.n_scored + pos) * f->row_bytes;
    const float scale = rd_f32(row), lo = rd_f32(row + 4);
    const uint8_t *q = row + 2 * VKQ_LOGITS_ROW_HEAD_CODES;
    for (uint32_t i = 0; i < f->info.n_vocab; ++i) {
        uint16_t c;
        memcpy(&c, q + 2 * (size_t)i, sizeof c);
        out[i] = scale * (float)c + lo;
    }
    return VKQ_SUCCESS;
}
