/* libFuzzer target of the tokenizer (include/vkquant/tokenizer.h): the input is a GGUF file
 * whose vocabulary the tokenizer reads (tokenizer.ggml.*), followed by nothing or anything: the
 * last bytes of the input are also tokenized as text. An accepted vocabulary must encode every
 * text (fixed strings with Unicode, invalid UTF-8, control-token names, and the input's tail)
 * into ids inside the vocabulary, the sizing call must agree with the real one, a too-small
 * buffer must say TOO_LARGE with the same count, and every id must decode without writing past
 * its buffer. A refused vocabulary must leave no handle and a sentence. Any broken promise
 * traps; ASan and UBSan catch the rest.
 *   scripts/fuzz.sh tokenizer SECONDS   runs from tests/fuzz/corpus/tokenizer/ */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vkquant/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) __builtin_trap();                                                                       \
    } while (0)

static void encode_one(vkq_tokenizer tok, const char *text, size_t len, uint32_t flags)
{
    uint32_t need = 0;
    vkq_status st = vkq_tokenize(tok, text, len, flags, NULL, 0, &need);
    CHECK(st == VKQ_SUCCESS || st == VKQ_ERROR_TOO_LARGE);
    /* At most one id per byte (SentencePiece's byte fallback), three for byte-level BPE, where an
     * invalid byte stands for U+FFFD as llama.cpp reads it; plus BOS and EOS. */
    CHECK(need <= 3 * len + 8);
    int32_t *ids = malloc((need ? need : 1) * sizeof *ids);
    if (!ids) return;
    uint32_t got = 0;
    CHECK(vkq_tokenize(tok, text, len, flags, ids, need, &got) == VKQ_SUCCESS);
    CHECK(got == need);
    if (need > 1) {
        uint32_t short_n = 0;
        CHECK(vkq_tokenize(tok, text, len, flags, ids, need - 1, &short_n) == VKQ_ERROR_TOO_LARGE);
        CHECK(short_n == need);
        CHECK(vkq_tokenize(tok, text, len, flags, ids, need, &got) == VKQ_SUCCESS);
    }
    const uint32_t V = vkq_tokenizer_vocab_size(tok);
    char piece[64];
    for (uint32_t i = 0; i < got; ++i) {
        CHECK(ids[i] >= 0 && (uint32_t)ids[i] < V);
        int32_t n = vkq_token_to_piece(tok, ids[i], 1, piece, sizeof piece);
        CHECK(n >= 0);
        if ((size_t)n > sizeof piece) {
            char *big = malloc((size_t)n);
            if (big) CHECK(vkq_token_to_piece(tok, ids[i], 1, big, (size_t)n) == n);
            free(big);
        }
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vkq_gguf g = NULL;
    if (vkq_gguf_create_from_memory(data, size, &g) != VKQ_SUCCESS) return 0;
    vkq_tokenizer tok = NULL;
    vkq_status st = vkq_tokenizer_create(g, &tok);
    vkq_gguf_destroy(g); /* the tokenizer keeps copies */
    if (st != VKQ_SUCCESS) {
        CHECK(!tok);
        CHECK(vkq_last_error()[0]);
        return 0;
    }
    CHECK(tok);
    static const char *const texts[] = {
        "Hello world", "  leading and   inner  spaces\t\n\n", "1234567890 3.14159", "na\xc3\xafve caf\xc3\xa9",
        "\xf0\x9f\xa6\x99\xf0\x9f\x94\xa5", "\xff\xfe abc \xc3", "<start_of_turn>user\n<s></s>", "it's we'll I'D",
        ""};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; ++i)
        for (uint32_t flags = 0; flags < 4; ++flags) encode_one(tok, texts[i], strlen(texts[i]), flags);
    const size_t tail = size < 96 ? size : 96;
    encode_one(tok, (const char *)data + size - tail, tail, VKQ_TOKENIZE_PARSE_SPECIAL);
    int32_t bos = vkq_tokenizer_bos(tok), eos = vkq_tokenizer_eos(tok);
    CHECK(bos < (int32_t)vkq_tokenizer_vocab_size(tok) && eos < (int32_t)vkq_tokenizer_vocab_size(tok));
    CHECK(vkq_token_to_piece(tok, -1, 0, NULL, 0) == -1);
    CHECK(vkq_token_to_piece(tok, (int32_t)vkq_tokenizer_vocab_size(tok), 0, NULL, 0) == -1);
    vkq_tokenizer_destroy(tok);
    return 0;
}
