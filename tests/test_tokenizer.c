/* The tokenizer against llama.cpp's ids, driven by tests/run_test_tokenizer.py, which writes the
 * cases from tests/data/tokenizer_*.json and the vocabularies.
 *
 * usage: test_tokenizer cases MODEL.gguf CASES.txt   one case a line: FLAGS HEX_TEXT IDS ROUNDTRIP
 *                                                    (IDS comma-separated, "-" for none)
 *        test_tokenizer args MODEL.gguf              invalid arguments, buffer sizing, decoding
 *        test_tokenizer bad MODEL.gguf STATUS        create must fail with this status, a message
 *        test_tokenizer perf MODEL.gguf TEXT_FILE    encodes the file, well under a second
 *        test_tokenizer dump MODEL.gguf FLAGS        ids of stdin, for looking
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vkquant/tokenizer.h"

static int failures;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            failures++;                                                                                      \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                      \
            printf(__VA_ARGS__);                                                                             \
            printf("\n");                                                                                    \
        }                                                                                                    \
    } while (0)

static vkq_tokenizer open_tok(const char *path, vkq_gguf *g)
{
    vkq_tokenizer t = NULL;
    if (vkq_gguf_create(path, g) != VKQ_SUCCESS) {
        printf("FAIL: %s: %s\n", path, vkq_last_error());
        exit(1);
    }
    if (vkq_tokenizer_create(*g, &t) != VKQ_SUCCESS) {
        printf("FAIL: tokenizer of %s: %s\n", path, vkq_last_error());
        exit(1);
    }
    /* The tokenizer owns copies: the file may go. */
    vkq_gguf_destroy(*g);
    *g = NULL;
    return t;
}

static int32_t *encode(vkq_tokenizer t, const char *s, size_t len, uint32_t flags, uint32_t *n)
{
    vkq_status st = vkq_tokenize(t, s, len, flags, NULL, 0, n);
    if (st != VKQ_SUCCESS && st != VKQ_ERROR_TOO_LARGE) {
        printf("FAIL: vkq_tokenize: %s\n", vkq_last_error());
        exit(1);
    }
    int32_t *ids = malloc((*n + 1) * sizeof *ids);
    uint32_t n2 = 0;
    st = vkq_tokenize(t, s, len, flags, ids, *n, &n2);
    CHECK(st == VKQ_SUCCESS && n2 == *n, "second call: status %d, %u ids, sized %u", st, n2, *n);
    return ids;
}

/* The concatenated pieces; `special` decodes control pieces too. */
static char *decode(vkq_tokenizer t, const int32_t *ids, uint32_t n, int special, size_t *len)
{
    size_t cap = 64, at = 0;
    char *out = malloc(cap);
    for (uint32_t i = 0; i < n; i++) {
        int32_t k = vkq_token_to_piece(t, ids[i], special, NULL, 0);
        CHECK(k >= 0, "token_to_piece(%d) = %d", ids[i], k);
        if (k < 0) continue;
        while (at + (size_t)k > cap)
            out = realloc(out, cap *= 2);
        CHECK(vkq_token_to_piece(t, ids[i], special, out + at, (size_t)k) == k, "piece %d", ids[i]);
        at += (size_t)k;
    }
    *len = at;
    return out;
}

static int hexval(int c)
{
    return c <= '9' ? c - '0' : (c | 32) - 'a' + 10;
}

static int run_cases(const char *model, const char *cases)
{
    vkq_gguf g;
    vkq_tokenizer t = open_tok(model, &g);
    FILE *f = fopen(cases, "r");
    if (!f) {
        printf("FAIL: cannot open %s\n", cases);
        return 1;
    }
    static char line[1 << 20];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned flags, roundtrip;
        char *hex = strtok(line, " \n"), *ids_s, *rt;
        if (!hex) continue;
        flags = (unsigned)atoi(hex);
        hex = strtok(NULL, " \n");
        ids_s = strtok(NULL, " \n");
        rt = strtok(NULL, " \n");
        if (!hex || !ids_s || !rt) {
            printf("FAIL: bad case line %d\n", n_cases + 1);
            return 1;
        }
        roundtrip = (unsigned)atoi(rt);
        size_t len = strcmp(hex, "-") ? strlen(hex) / 2 : 0;
        char *text = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            text[i] = (char)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
        size_t cap = 16, n_want = 0;
        int32_t *want = malloc(cap * sizeof *want);
        if (strcmp(ids_s, "-"))
            for (char *p = strtok(ids_s, ","); p; p = strtok(NULL, ",")) {
                if (n_want == cap) want = realloc(want, (cap *= 2) * sizeof *want);
                want[n_want++] = atoi(p);
            }
        uint32_t n;
        int32_t *got = encode(t, text, len, flags, &n);
        int same = n == n_want && (n == 0 || memcmp(got, want, n * sizeof *got) == 0);
        CHECK(same, "case %d (flags %u, %zu bytes): %u ids, llama.cpp %zu", n_cases + 1, flags, len, n,
              n_want);
        if (!same) {
            for (uint32_t i = 0; i < n || i < n_want; i++)
                if (i >= n || i >= n_want || got[i] != want[i]) {
                    printf("  first difference at %u: got %d, want %d\n", i, i < n ? got[i] : -1,
                           i < n_want ? want[i] : -1);
                    break;
                }
        }
        if (roundtrip) {
            size_t dlen;
            uint32_t skip = (flags & VKQ_TOKENIZE_ADD_SPECIAL) && vkq_tokenizer_add_bos(t) && n ? 1 : 0;
            char *back = decode(t, got + skip, n - skip, (flags & VKQ_TOKENIZE_PARSE_SPECIAL) != 0, &dlen);
            const char *b = back;
            if (vkq_tokenizer_add_space_prefix(t) && dlen && back[0] == ' ') b++, dlen--;
            CHECK(dlen == len && memcmp(b, text, len) == 0,
                  "case %d: decode(encode(s)) != s (%zu bytes back of %zu)", n_cases + 1, dlen, len);
            free(back);
        }
        free(got);
        free(want);
        free(text);
        n_cases++;
    }
    fclose(f);
    vkq_tokenizer_destroy(t);
    printf("%s: %d cases, %d failure(s)\n", model, n_cases, failures);
    return failures ? 1 : 0;
}

static int run_args(const char *model)
{
    vkq_gguf g;
    vkq_tokenizer t = open_tok(model, &g);
    uint32_t n = 99;
    int32_t ids[4];
    CHECK(vkq_tokenizer_create(NULL, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "create(NULL)");
    vkq_tokenizer t2 = (vkq_tokenizer)1;
    CHECK(vkq_tokenizer_create(NULL, &t2) == VKQ_ERROR_INVALID_ARGUMENT && t2 == NULL, "create(NULL, &t)");
    CHECK(vkq_tokenize(NULL, "a", 1, 0, ids, 4, &n) == VKQ_ERROR_INVALID_ARGUMENT, "tokenize(NULL tok)");
    CHECK(vkq_tokenize(t, NULL, 1, 0, ids, 4, &n) == VKQ_ERROR_INVALID_ARGUMENT, "tokenize(NULL text)");
    CHECK(vkq_tokenize(t, "a", 1, 0, NULL, 4, &n) == VKQ_ERROR_INVALID_ARGUMENT, "tokenize(NULL ids, cap 4)");
    CHECK(vkq_tokenize(t, "a", 1, 0, ids, 4, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "tokenize(NULL n_out)");
    CHECK(vkq_tokenize(t, "a", 1, 1u << 7, ids, 4, &n) == VKQ_ERROR_INVALID_ARGUMENT, "unknown flag");
    CHECK(vkq_tokenize(t, NULL, 0, 0, NULL, 0, &n) == VKQ_SUCCESS && n == 0, "empty text, no BOS: %u", n);
    const char *s = "The quick brown fox jumps over the lazy dog.";
    uint32_t need = 0;
    CHECK(vkq_tokenize(t, s, strlen(s), VKQ_TOKENIZE_ADD_SPECIAL, NULL, 0, &need) == VKQ_ERROR_TOO_LARGE &&
              need > 4,
          "sizing call: %u", need);
    CHECK(strstr(vkq_last_error(), "needs") != NULL, "message: %s", vkq_last_error());
    int32_t *all = malloc(need * sizeof *all);
    CHECK(vkq_tokenize(t, s, strlen(s), VKQ_TOKENIZE_ADD_SPECIAL, all, need, &n) == VKQ_SUCCESS && n == need,
          "full call");
    int32_t few[3] = {-7, -7, -7};
    CHECK(vkq_tokenize(t, s, strlen(s), VKQ_TOKENIZE_ADD_SPECIAL, few, 2, &n) == VKQ_ERROR_TOO_LARGE &&
              n == need,
          "cap 2: n_out %u, want %u", n, need);
    CHECK(few[0] == all[0] && few[1] == all[1] && few[2] == -7, "cap 2 writes the first two ids only");
    if (vkq_tokenizer_add_bos(t)) CHECK(all[0] == vkq_tokenizer_bos(t), "BOS first");
    CHECK(vkq_tokenizer_is_eog(t, vkq_tokenizer_eos(t)), "EOS ends a generation");
    CHECK(!vkq_tokenizer_is_eog(t, all[need - 1]), "'.' does not");
    CHECK(!vkq_tokenizer_is_eog(NULL, 0) && vkq_tokenizer_bos(NULL) == -1 &&
              vkq_tokenizer_vocab_size(NULL) == 0,
          "NULL accessors");
    /* Decoding: out of range, a buffer too small (nothing written), the exact size. */
    uint32_t v = vkq_tokenizer_vocab_size(t);
    char buf[64];
    CHECK(vkq_token_to_piece(t, -1, 0, buf, sizeof buf) == -1, "piece(-1)");
    CHECK(vkq_token_to_piece(t, (int32_t)v, 0, buf, sizeof buf) == -1, "piece(vocab size)");
    CHECK(vkq_token_to_piece(NULL, 0, 0, buf, sizeof buf) == -1, "piece(NULL tok)");
    CHECK(vkq_token_to_piece(t, vkq_tokenizer_bos(t), 0, buf, sizeof buf) == 0, "BOS decodes to nothing");
    CHECK(vkq_token_to_piece(t, vkq_tokenizer_bos(t), 1, buf, sizeof buf) > 0, "BOS with special: its text");
    int32_t longest = all[need - 1], k = 0;
    for (uint32_t i = 0; i < need; i++) {
        int32_t ki = vkq_token_to_piece(t, all[i], 0, NULL, 0);
        if (ki > k) k = ki, longest = all[i];
    }
    memset(buf, '#', sizeof buf);
    CHECK(k >= 2 && vkq_token_to_piece(t, longest, 0, buf, (size_t)k - 1) == k && buf[0] == '#',
          "too small: the size back, nothing written");
    free(all);
    vkq_tokenizer_destroy(t);
    vkq_tokenizer_destroy(NULL);
    printf("args: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}

static int run_bad(const char *model, int want)
{
    vkq_gguf g;
    vkq_tokenizer t = (vkq_tokenizer)1;
    if (vkq_gguf_create(model, &g) != VKQ_SUCCESS) {
        printf("FAIL: %s: %s\n", model, vkq_last_error());
        return 1;
    }
    vkq_status st = vkq_tokenizer_create(g, &t);
    CHECK(st == want && t == NULL, "%s: status %d, want %d", model, st, want);
    CHECK(strncmp(vkq_last_error(), "tokenizer: ", 11) == 0, "message: %s", vkq_last_error());
    printf("%s: %s\n", model, vkq_last_error());
    vkq_gguf_destroy(g);
    return failures ? 1 : 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(*len + 1);
    *len = fread(s, 1, *len, f);
    fclose(f);
    return s;
}

static int run_perf(const char *model, const char *path)
{
    vkq_gguf g;
    vkq_tokenizer t = open_tok(model, &g);
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        printf("FAIL: cannot read %s\n", path);
        return 1;
    }
    double best = 1e9;
    uint32_t n = 0;
    for (int rep = 0; rep < 3; rep++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        free(encode(t, text, len, VKQ_TOKENIZE_ADD_SPECIAL | VKQ_TOKENIZE_PARSE_SPECIAL, &n));
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        best = s < best ? s : best;
    }
    /* The sizing call and the real one: each well under a second, also under sanitizers. */
    printf("%s: %zu bytes -> %u ids, %.1f ms for both calls\n", path, len, n, best * 1e3);
    CHECK(best < 1.0, "encoding twice took %.3f s", best);
    free(text);
    vkq_tokenizer_destroy(t);
    return failures ? 1 : 0;
}

static int run_dump(const char *model, unsigned flags)
{
    vkq_gguf g;
    vkq_tokenizer t = open_tok(model, &g);
    size_t cap = 1 << 16, len = 0, r;
    char *text = malloc(cap);
    while ((r = fread(text + len, 1, cap - len, stdin)) > 0)
        if ((len += r) == cap) text = realloc(text, cap *= 2);
    uint32_t n;
    int32_t *ids = encode(t, text, len, flags, &n);
    printf("[");
    for (uint32_t i = 0; i < n; i++)
        printf(i ? ", %d" : "%d", ids[i]);
    printf("]\n");
    free(ids);
    free(text);
    vkq_tokenizer_destroy(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "cases")) return run_cases(argv[2], argv[3]);
    if (argc >= 3 && !strcmp(argv[1], "args")) return run_args(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "bad")) return run_bad(argv[2], atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "perf")) return run_perf(argv[2], argv[3]);
    if (argc >= 4 && !strcmp(argv[1], "dump")) return run_dump(argv[2], (unsigned)atoi(argv[3]));
    fprintf(stderr, "usage: see the comment at the top of tests/test_tokenizer.c\n");
    return 2;
}
