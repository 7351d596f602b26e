/* The library side of tests/check_logits_file.py: each mode does one thing with the eval API on
 * raw files the NumPy driver writes and reads.
 *   logits_tool write OUT N_CTX N_VOCAB N_CHUNK TOKENS.i32 LOGITS.f32
 *       the logits file of these tokens and the scored positions' logits (N_CHUNK * scored rows)
 *   logits_tool decode FILE OUT.f32      every row's decoded log-probabilities, chunk after chunk
 *   logits_tool kld FILE CURRENT.f32     KLD statistics of CURRENT (logits, rows as in FILE)
 *                                        against FILE, printed as JSON with every position's values
 *   logits_tool check FILE               opens FILE: exit 0, or 1 with the sentence on stderr
 *   logits_tool abandon OUT              a writer of 2 chunks given 1: finish must fail and, once
 *                                        destroyed, nothing be left at OUT or beside it
 * Exit status 0 on success, 1 with a message on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/eval.h"

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(len > 0 ? (size_t)len : 1);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

static int fail(const char *what)
{
    fprintf(stderr, "logits_tool: %s: %s\n", what, vkq_last_error());
    return 1;
}

static int do_write(char **argv)
{
    const uint32_t n_ctx = (uint32_t)atoi(argv[3]), n_vocab = (uint32_t)atoi(argv[4]), n_chunk = (uint32_t)atoi(argv[5]);
    size_t nt, nl;
    int32_t *tokens = slurp(argv[6], &nt);
    float *logits = slurp(argv[7], &nl);
    const size_t rows = (size_t)vkq_logits_scored_per_chunk(n_ctx) * n_vocab;
    if (!tokens || !logits || nt != (size_t)n_ctx * n_chunk * 4 || nl != rows * n_chunk * 4) {
        fprintf(stderr, "logits_tool: inputs of the wrong size\n");
        return 1;
    }
    vkq_logits_writer w = NULL;
    int rc = 0;
    if (vkq_logits_writer_create(argv[2], n_ctx, n_vocab, n_chunk, tokens, &w) != VKQ_SUCCESS) rc = fail(argv[2]);
    for (uint32_t c = 0; c < n_chunk && !rc; ++c)
        if (vkq_logits_writer_add_chunk(w, logits + c * rows) != VKQ_SUCCESS) rc = fail("add_chunk");
    /* One chunk too many is refused. */
    if (!rc && vkq_logits_writer_add_chunk(w, logits) == VKQ_SUCCESS) {
        fprintf(stderr, "logits_tool: a chunk past n_chunk was accepted\n");
        rc = 1;
    }
    if (!rc && vkq_logits_writer_finish(w) != VKQ_SUCCESS) rc = fail("finish");
    vkq_logits_writer_destroy(w);
    free(tokens);
    free(logits);
    return rc;
}

static int do_decode(char **argv)
{
    vkq_logits_file f;
    if (vkq_logits_file_create(argv[2], &f) != VKQ_SUCCESS) return fail(argv[2]);
    vkq_logits_file_info in;
    vkq_logits_file_get_info(f, &in);
    float *row = malloc(in.n_vocab * sizeof *row);
    FILE *o = fopen(argv[3], "wb");
    int rc = row && o ? 0 : 1;
    for (uint32_t c = 0; c < in.n_chunk && !rc; ++c)
        for (uint32_t j = 0; j < in.n_scored && !rc; ++j) {
            if (vkq_logits_file_log_probs(f, c, j, row) != VKQ_SUCCESS) rc = fail("log_probs");
            else if (fwrite(row, sizeof *row, in.n_vocab, o) != in.n_vocab) rc = 1;
        }
    /* Out of range positions are refused. */
    if (!rc && (vkq_logits_file_log_probs(f, in.n_chunk, 0, row) == VKQ_SUCCESS ||
                vkq_logits_file_log_probs(f, 0, in.n_scored, row) == VKQ_SUCCESS)) {
        fprintf(stderr, "logits_tool: a position outside the file was decoded\n");
        rc = 1;
    }
    if (o && fclose(o)) rc = 1;
    free(row);
    vkq_logits_file_destroy(f);
    return rc;
}

static void num(const char *key, double v, int last) { printf("\"%s\": %.17g%s", key, v, last ? "" : ", "); }

static int do_kld(char **argv)
{
    vkq_logits_file f;
    if (vkq_logits_file_create(argv[2], &f) != VKQ_SUCCESS) return fail(argv[2]);
    vkq_logits_file_info in;
    vkq_logits_file_get_info(f, &in);
    size_t nl;
    float *cur = slurp(argv[3], &nl);
    float *base = malloc(in.n_vocab * sizeof *base);
    vkq_kld k = NULL;
    int rc = cur && base && nl == (size_t)in.n_chunk * in.n_scored * in.n_vocab * 4 ? 0 : 1;
    if (!rc && vkq_kld_create(in.n_vocab, &k) != VKQ_SUCCESS) rc = fail("kld_create");
    if (!rc && vkq_kld_get_summary(k, &(vkq_kld_summary){0}) == VKQ_SUCCESS) {
        fprintf(stderr, "logits_tool: a summary of nothing\n");
        rc = 1;
    }
    const int32_t *tok = vkq_logits_file_tokens(f);
    if (!rc) printf("{\"positions\": [");
    for (uint32_t c = 0; c < in.n_chunk && !rc; ++c)
        for (uint32_t j = 0; j < in.n_scored && !rc; ++j) {
            vkq_kld_position p;
            const float *lg = cur + ((size_t)c * in.n_scored + j) * in.n_vocab;
            if (vkq_logits_file_log_probs(f, c, j, base) != VKQ_SUCCESS ||
                vkq_kld_add(k, base, lg, tok[(size_t)c * in.n_ctx + in.first + j + 1], &p) != VKQ_SUCCESS)
                rc = fail("kld_add");
            else
                printf("%s[%.17g, %.17g, %.17g, %.17g, %d, %d]", c || j ? ", " : "", p.kld, p.nll, p.nll_base,
                       p.p_diff, p.top, p.top_base);
        }
    vkq_kld_summary s, run;
    if (!rc && (vkq_kld_get_summary(k, &s) != VKQ_SUCCESS || vkq_kld_get_running(k, &run) != VKQ_SUCCESS))
        rc = fail("summary");
    /* The running figures are the summary's moments, without the order statistics. */
    if (!rc && (run.count != s.count || memcmp(&run.ppl, &s.ppl, (size_t)((char *)&s.kld_max - (char *)&s.ppl)) ||
                run.kld_max != 0 || run.p_diff_percentile[0] != 0 || run.same_top != s.same_top ||
                run.p_diff_rms != s.p_diff_rms || run.p_diff != s.p_diff)) {
        fprintf(stderr, "logits_tool: vkq_kld_get_running differs from the summary\n");
        rc = 1;
    }
    if (!rc) {
        printf("], \"count\": %llu, ", (unsigned long long)s.count);
        num("ppl", s.ppl, 0), num("ppl_err", s.ppl_err, 0), num("ppl_base", s.ppl_base, 0);
        num("ppl_base_err", s.ppl_base_err, 0), num("ln_ppl_cor", s.ln_ppl_cor, 0);
        num("ln_ppl_ratio", s.ln_ppl_ratio, 0), num("ln_ppl_ratio_err", s.ln_ppl_ratio_err, 0);
        num("ppl_ratio", s.ppl_ratio, 0), num("ppl_ratio_err", s.ppl_ratio_err, 0);
        num("ppl_diff", s.ppl_diff, 0), num("ppl_diff_err", s.ppl_diff_err, 0);
        num("kld", s.kld, 0), num("kld_err", s.kld_err, 0), num("kld_max", s.kld_max, 0);
        num("kld_median", s.kld_median, 0), num("kld_min", s.kld_min, 0);
        num("p_diff", s.p_diff, 0), num("p_diff_err", s.p_diff_err, 0), num("p_diff_max", s.p_diff_max, 0);
        num("p_diff_median", s.p_diff_median, 0), num("p_diff_min", s.p_diff_min, 0);
        num("p_diff_rms", s.p_diff_rms, 0), num("p_diff_rms_err", s.p_diff_rms_err, 0);
        num("same_top", s.same_top, 0), num("same_top_err", s.same_top_err, 0);
        printf("\"fractions\": [");
        for (int i = 0; i < VKQ_KLD_N_PERCENTILES; ++i) printf("%s%.17g", i ? ", " : "", vkq_kld_percentile_fraction((uint32_t)i));
        printf("], \"kld_percentile\": [");
        for (int i = 0; i < VKQ_KLD_N_PERCENTILES; ++i) printf("%s%.17g", i ? ", " : "", s.kld_percentile[i]);
        printf("], \"p_diff_percentile\": [");
        for (int i = 0; i < VKQ_KLD_N_PERCENTILES; ++i) printf("%s%.17g", i ? ", " : "", s.p_diff_percentile[i]);
        printf("]}\n");
    }
    vkq_kld_destroy(k);
    free(base);
    free(cur);
    vkq_logits_file_destroy(f);
    return rc;
}

static int do_check(char **argv)
{
    vkq_logits_file f = (vkq_logits_file)(void *)argv; /* must come back NULL on failure */
    if (vkq_logits_file_create(argv[2], &f) != VKQ_SUCCESS) {
        if (f) fprintf(stderr, "logits_tool: a failed open left a handle\n");
        return fail("check");
    }
    /* The same verdict from memory. */
    size_t n;
    void *bytes = slurp(argv[2], &n);
    vkq_logits_file g = NULL;
    int rc = bytes && vkq_logits_file_create_from_memory(bytes, n, &g) == VKQ_SUCCESS ? 0 : 1;
    if (rc) fprintf(stderr, "logits_tool: the file opens, its bytes from memory do not: %s\n", vkq_last_error());
    vkq_logits_file_destroy(g);
    free(bytes);
    vkq_logits_file_destroy(f);
    return rc;
}

static int do_abandon(char **argv)
{
    enum { CTX = 8, V = 5 };
    int32_t tokens[2 * CTX] = {0};
    float logits[CTX * V] = {0};
    vkq_logits_writer w = NULL;
    if (vkq_logits_writer_create(argv[2], CTX, V, 2, tokens, &w) != VKQ_SUCCESS) return fail("create");
    int rc = vkq_logits_writer_add_chunk(w, logits) == VKQ_SUCCESS ? 0 : fail("add_chunk");
    if (!rc && vkq_logits_writer_finish(w) == VKQ_SUCCESS) {
        fprintf(stderr, "logits_tool: finish accepted 1 of 2 chunks\n");
        rc = 1;
    }
    if (!rc) printf("finish refused: %s\n", vkq_last_error());
    vkq_logits_writer_destroy(w);
    /* Bad arguments: each refused with a sentence. */
    float inf_row[CTX * V];
    for (int i = 0; i < CTX * V; ++i) inf_row[i] = i == 7 ? 1.0f / 0.0f : 0;
    if (!rc && vkq_logits_writer_create(argv[2], 2, V, 1, tokens, &w) == VKQ_SUCCESS) rc = 1;
    tokens[3] = V;
    if (!rc && vkq_logits_writer_create(argv[2], CTX, V, 2, tokens, &w) == VKQ_SUCCESS) rc = 1;
    tokens[3] = 0;
    if (!rc && vkq_logits_writer_create(argv[2], CTX, V, 1, tokens, &w) != VKQ_SUCCESS) rc = fail("create");
    if (!rc && vkq_logits_writer_add_chunk(w, inf_row) == VKQ_SUCCESS) rc = 1;
    vkq_logits_writer_destroy(w);
    if (rc) fprintf(stderr, "logits_tool: a bad writer argument was accepted\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 8 && !strcmp(argv[1], "write")) return do_write(argv);
    if (argc == 4 && !strcmp(argv[1], "decode")) return do_decode(argv);
    if (argc == 4 && !strcmp(argv[1], "kld")) return do_kld(argv);
    if (argc == 3 && !strcmp(argv[1], "check")) return do_check(argv);
    if (argc == 3 && !strcmp(argv[1], "abandon")) return do_abandon(argv);
    fprintf(stderr, "usage: see the top of tests/logits_tool.c\n");
    return 2;
}
