/* libFuzzer target of the GGUF reader: opens the input with vkq_gguf_create_from_memory and, when it is
 * accepted, walks every accessor (metadata values, every array element, every tensor and its
 * data). It also traps if a refusal leaves a handle or no message.
 *   CC=clang meson setup DIR -Dfuzz=true && ninja -C DIR tests/fuzz_gguf
 *   mkdir /tmp/corpus && cp tests/gguf_corpus/[a-z]*.gguf /tmp/corpus/   (new inputs land there)
 *   DIR/tests/fuzz_gguf -max_total_time=60 -max_len=8192 /tmp/corpus */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vkquant/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vkq_gguf g = NULL;
    /* libFuzzer hands over an exact-size heap copy, so ASan catches any read past the end */
    const vkq_status st = vkq_gguf_create_from_memory(data, size, &g);
    if (st != VKQ_SUCCESS) {
        if (g || !vkq_last_error()[0]) __builtin_trap();
        return 0;
    }
    uint64_t acc = vkq_gguf_version(g) + vkq_gguf_alignment(g) + vkq_gguf_data_offset(g);
    const int64_t n_kv = vkq_gguf_kv_count(g);
    for (int64_t i = 0; i < n_kv; ++i) {
        const char *key = vkq_gguf_kv_key(g, i);
        if (!key || vkq_gguf_find_key(g, key) != i) __builtin_trap();
        acc += strlen(key) + (uint64_t)vkq_gguf_kv_type(g, i);
        vkq_gguf_value v;
        if (vkq_gguf_get_value(g, i, &v) != VKQ_SUCCESS) __builtin_trap();
        acc += v.u + (uint64_t)v.i + (uint64_t)v.b;
        if (v.type == VKQ_GGUF_STRING)
            for (uint64_t k = 0; k < v.str.len; ++k) acc += (uint8_t)v.str.data[k];
        if (v.type == VKQ_GGUF_ARRAY) {
            vkq_gguf_type et;
            uint64_t n;
            const void *p;
            if (vkq_gguf_get_array(g, i, &et, &n, &p) != VKQ_SUCCESS || n != v.count) __builtin_trap();
            for (uint64_t j = 0; j < n; ++j) {
                vkq_gguf_value e;
                if (vkq_gguf_get_array_value(g, i, j, &e) != VKQ_SUCCESS) __builtin_trap();
                acc += e.u + e.str.len;
                if (e.type == VKQ_GGUF_STRING && e.str.len)
                    acc += (uint8_t)e.str.data[0] + (uint8_t)e.str.data[e.str.len - 1];
            }
        }
        uint32_t u32;
        if (vkq_gguf_get_u32(g, i, &u32) == VKQ_SUCCESS) acc += u32;
        vkq_gguf_string s;
        if (vkq_gguf_get_string(g, i, &s) == VKQ_SUCCESS && s.len) acc += (uint8_t)s.data[s.len - 1];
    }
    const int64_t n_t = vkq_gguf_tensor_count(g);
    for (int64_t i = 0; i < n_t; ++i) {
        vkq_gguf_tensor t;
        if (vkq_gguf_tensor_info(g, i, &t) != VKQ_SUCCESS) __builtin_trap();
        if (vkq_gguf_find_tensor(g, t.name) != i) __builtin_trap();
        if (t.offset + t.nbytes > size) __builtin_trap();
        const uint8_t *p = t.data;
        if (t.nbytes) acc += p[0] + p[t.nbytes - 1];
    }
    sink = acc;
    vkq_gguf_destroy(g);
    return 0;
}
