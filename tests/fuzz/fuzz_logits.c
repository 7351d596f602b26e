/* libFuzzer target of the logits file reader (include/vkquant/eval.h). Each input is opened with
 * vkq_logits_file_create_from_memory. A refusal must leave no handle, a documented status and a
 * non-empty sentence, the same again when asked twice. An accepted file must be exactly as long as
 * its header says, its tokens inside the vocabulary, and every row decode to finite values; each
 * decoded row also goes through the KLD accumulator as both base and current logits, which must
 * either refuse it with a sentence or give finite figures and agreeing top tokens. Any broken promise traps; ASan and UBSan catch the rest.
 *   scripts/fuzz.sh logits SECONDS   builds build-fuzz/ and runs from tests/fuzz/corpus/logits/ */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) __builtin_trap();                                                                       \
    } while (0)

static void check_refusal(const uint8_t *data, size_t size, vkq_status st)
{
    CHECK(st == VKQ_ERROR_MALFORMED || st == VKQ_ERROR_OUT_OF_HOST_MEMORY);
    const char *msg = vkq_last_error();
    CHECK(msg && msg[0]);
    char first[1024];
    const size_t len = strlen(msg);
    CHECK(len < sizeof first);
    memcpy(first, msg, len + 1);
    vkq_logits_file f = (vkq_logits_file)(void *)first;
    CHECK(vkq_logits_file_create_from_memory(data, size, &f) == st && !f);
    CHECK(strcmp(vkq_last_error(), first) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sentinel[8];
    vkq_logits_file f = (vkq_logits_file)(void *)sentinel;
    const vkq_status st = vkq_logits_file_create_from_memory(data, size, &f);
    if (st != VKQ_SUCCESS) {
        CHECK(!f);
        check_refusal(data, size, st);
        return 0;
    }
    CHECK(f);
    vkq_logits_file_info in;
    vkq_logits_file_get_info(f, &in);
    CHECK(in.n_ctx >= 3 && in.n_vocab >= 1 && in.n_chunk >= 1);
    CHECK(in.first == in.n_ctx / 2 && in.n_scored == in.n_ctx - in.first - 1 && in.n_scored >= 1);
    const uint64_t n_tok = (uint64_t)in.n_ctx * in.n_chunk;
    const uint64_t width = 4 + 2 * (((uint64_t)in.n_vocab + 1) / 2);
    CHECK(size == 20 + 4 * n_tok + 2 * width * in.n_scored * in.n_chunk);
    const int32_t *tok = vkq_logits_file_tokens(f);
    for (uint64_t i = 0; i < n_tok; ++i) CHECK(tok[i] >= 0 && (uint32_t)tok[i] < in.n_vocab);

    float *row = malloc(in.n_vocab * sizeof *row);
    CHECK(row);
    vkq_kld k = NULL;
    CHECK(vkq_kld_create(in.n_vocab, &k) == VKQ_SUCCESS);
    for (uint32_t c = 0; c < in.n_chunk; ++c)
        for (uint32_t j = 0; j < in.n_scored; ++j) {
            CHECK(vkq_logits_file_log_probs(f, c, j, row) == VKQ_SUCCESS);
            for (uint32_t i = 0; i < in.n_vocab; ++i) CHECK(isfinite(row[i]));
            /* The file's numbers need not be a distribution (exp of them may overflow): the
             * accumulator either refuses the row with a sentence or agrees with itself. */
            vkq_kld_position p;
            const int32_t t = tok[(uint64_t)c * in.n_ctx + in.first + j + 1];
            const vkq_status ks = vkq_kld_add(k, row, row, t, &p);
            if (ks == VKQ_SUCCESS) CHECK(p.top == p.top_base && isfinite(p.kld) && isfinite(p.p_diff));
            else CHECK(ks == VKQ_ERROR_INVALID_ARGUMENT && vkq_last_error()[0]);
        }
    CHECK(vkq_logits_file_log_probs(f, in.n_chunk, 0, row) == VKQ_ERROR_INVALID_ARGUMENT);
    CHECK(vkq_logits_file_log_probs(f, 0, in.n_scored, row) == VKQ_ERROR_INVALID_ARGUMENT);
    vkq_kld_summary s;
    (void)vkq_kld_get_summary(k, &s);
    vkq_kld_destroy(k);
    free(row);
    vkq_logits_file_destroy(f);
    return 0;
}
