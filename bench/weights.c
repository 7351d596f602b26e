/* Where vkq-bench's f32 weights come from: a seeded synthetic generator, or F32/F16/BF16 tensors
 * of a GGUF or .safetensors file (chosen with a glob on the tensor name). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "test_util.h"
#include "vkquant/gguf.h"

/* Synthetic weights: N(0, 0.02^2), like the bulk of an LLM's linear layers, plus a fraction
 * OUTLIER_RATE of outliers 5..15 sigma, which is what makes low-bit block scales hard. */
#define SIGMA        0.02
#define OUTLIER_RATE 0.002

typedef struct mapping {
    void *base;
    size_t size;
    int refs;
    vkq_gguf gguf;
} mapping;

struct weight_source {
    char name[128];
    uint64_t seed;       /* synthetic */
    uint64_t m, k;       /* file tensors */
    vkq_type type;       /* F32, F16 or BF16 */
    const uint8_t *data; /* row r at data + r * k * element size */
    mapping *map;        /* shared by the tensors of one file */
};

weight_source *weights_synthetic(uint64_t seed)
{
    weight_source *w = calloc(1, sizeof *w);
    if (w) {
        snprintf(w->name, sizeof w->name, "synthetic");
        w->seed = seed;
    }
    return w;
}

const char *weights_name(const weight_source *w)
{
    return w->name;
}

uint64_t weights_rows(const weight_source *w)
{
    return w->m;
}

uint64_t weights_cols(const weight_source *w)
{
    return w->k;
}

static double uniform01(uint64_t *rng)
{
    return ((double)(vkq_test_rand(rng) >> 11) + 0.5) * 0x1p-53;
}

void weights_row(const weight_source *w, uint64_t r, uint64_t k, float *out)
{
    if (w->data) {
        const uint64_t es = w->type == VKQ_TYPE_F32 ? 4 : 2;
        vkq_decode_cpu(w->type, w->data + r * w->k * es, k * es, out, k);
        return;
    }
    /* Each row has its own stream, so a row's values do not depend on the shape's m. */
    uint64_t rng = w->seed ^ (r + 1) * 0xD1B54A32D192ED03ull;
    for (uint64_t i = 0; i < k; i += 2) {
        double u1 = uniform01(&rng), u2 = uniform01(&rng), rad = SIGMA * sqrt(-2.0 * log(u1));
        double v[2] = {rad * cos(6.283185307179586 * u2), rad * sin(6.283185307179586 * u2)};
        for (int j = 0; j < 2 && i + j < k; ++j) {
            if (uniform01(&rng) < OUTLIER_RATE)
                v[j] = (v[j] < 0 ? -SIGMA : SIGMA) * (5.0 + 10.0 * uniform01(&rng));
            out[i + j] = (float)v[j];
        }
    }
}

static void unmap(mapping *m)
{
    if (!m || --m->refs > 0) return;
    if (m->gguf) vkq_gguf_destroy(m->gguf);
    if (m->base) munmap(m->base, m->size);
    free(m);
}

void weights_free(weight_source *w)
{
    if (!w) return;
    unmap(w->map);
    free(w);
}

static weight_source *add(weight_source **out, int *n, mapping *map, const char *name, vkq_type t, uint64_t m,
                          uint64_t k, const void *data)
{
    weight_source *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    snprintf(w->name, sizeof w->name, "%s", name);
    w->type = t;
    w->m = m;
    w->k = k;
    w->data = data;
    w->map = map;
    map->refs++;
    out[(*n)++] = w;
    return w;
}

static int usable(vkq_type t)
{
    return t == VKQ_TYPE_F32 || t == VKQ_TYPE_F16 || t == VKQ_TYPE_BF16;
}

static int matches(const char *pattern, const char *name)
{
    return !pattern || fnmatch(pattern, name, 0) == 0;
}

static int open_gguf(const char *path, const char *pattern, mapping *map, weight_source **out, int max)
{
    vkq_status st = vkq_gguf_create(path, &map->gguf);
    if (st != VKQ_SUCCESS) {
        /* The reader's message starts with the path. */
        fprintf(stderr, "vkq-bench: --weights, read as GGUF: %s\n", vkq_last_error());
        return -1;
    }
    int n = 0;
    for (int64_t i = 0; i < vkq_gguf_tensor_count(map->gguf) && n < max; ++i) {
        vkq_gguf_tensor ti;
        vkq_gguf_tensor_info(map->gguf, i, &ti);
        if (ti.n_dims < 2 || !usable(ti.type) || !ti.ne[0] || !matches(pattern, ti.name)) continue;
        if (!add(out, &n, map, ti.name, ti.type, (uint64_t)(ti.n_elems / ti.ne[0]), (uint64_t)ti.ne[0],
                 ti.data))
            return n;
    }
    return n;
}

/* `named` says the path ends in .safetensors; otherwise the file was tried as safetensors only
 * because it lacks the GGUF magic, and the message says both. */
static int open_safetensors(const char *path, int named, const char *pattern, mapping *map,
                            weight_source **out, int max)
{
    st_tensor *ts = NULL;
    char err[256];
    int count = safetensors_parse(map->base, map->size, &ts, err, sizeof err);
    if (count < 0) {
        if (named)
            fprintf(stderr, "vkq-bench: %s: malformed safetensors file: %s\n", path, err);
        else
            fprintf(
                stderr,
                "vkq-bench: %s: not a GGUF file (no GGUF magic) and, read as safetensors, malformed: %s\n",
                path, err);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < count && n < max; ++i) {
        const st_tensor *t = &ts[i];
        if (t->n_dims < 2 || !usable(t->type) || !matches(pattern, t->name)) continue;
        /* Row-major: the last dimension is contiguous, the others are rows. */
        uint64_t k = t->shape[t->n_dims - 1], m = 1;
        for (uint32_t d = 0; d + 1 < t->n_dims; ++d)
            m *= t->shape[d];
        if (!k || !m) continue;
        if (!add(out, &n, map, t->name, t->type, m, k, t->data)) break;
    }
    free(ts);
    return n;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* What is wrong with a path that is not a regular file, in the words of the GGUF reader. */
static const char *not_regular(mode_t mode)
{
    return S_ISDIR(mode)                    ? "is a directory"
           : S_ISFIFO(mode)                 ? "is a named pipe (FIFO), not a regular file"
           : S_ISSOCK(mode)                 ? "is a socket, not a regular file"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "is a device, not a regular file"
                                            : "is not a regular file";
}

int weights_open_file(const char *path, const char *pattern, weight_source **out, int max)
{
    /* O_NONBLOCK: opening a named pipe with no writer must not wait for one. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        fprintf(stderr, "vkq-bench: %s: cannot open: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        fprintf(stderr, "vkq-bench: %s: %s\n", path, not_regular(sb.st_mode));
        close(fd);
        return -1;
    }
    mapping *map = calloc(1, sizeof *map);
    if (!map) {
        close(fd);
        return -1;
    }
    map->refs = 1; /* this function's own reference, dropped at the end */
    char magic[4] = {0};
    ssize_t got = pread(fd, magic, 4, 0);
    const int gguf_magic = got == 4 && !memcmp(magic, "GGUF", 4);
    const int named_st = ends_with(path, ".safetensors");
    int n;
    /* The name decides when the magic does not: a damaged or empty .gguf is reported by the
     * GGUF reader, never as a malformed safetensors file. */
    if (gguf_magic || (!named_st && ends_with(path, ".gguf"))) {
        close(fd);
        n = open_gguf(path, pattern, map, out, max);
    } else if (sb.st_size == 0) {
        close(fd);
        fprintf(stderr, "vkq-bench: %s: empty file (0 bytes), not a %s file\n", path,
                named_st ? "safetensors" : "GGUF or safetensors");
        unmap(map);
        return -1;
    } else {
        map->size = (size_t)sb.st_size;
        map->base = mmap(NULL, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
        const int mmap_errno = errno;
        close(fd);
        if (map->base == MAP_FAILED) {
            map->base = NULL;
            fprintf(stderr, "vkq-bench: %s: cannot map: %s\n", path, strerror(mmap_errno));
            unmap(map);
            return -1;
        }
        n = open_safetensors(path, named_st, pattern, map, out, max);
    }
    if (n == max)
        fprintf(stderr, "vkq-bench: %s: using the first %d matching tensors (narrow them with --tensor)\n", path, max);
    if (n == 0)
        fprintf(stderr, "vkq-bench: %s: no F32/F16/BF16 tensor of two or more dimensions matches %s\n", path,
                pattern ? pattern : "*");
    unmap(map);
    return n > 0 ? n : -1;
}
