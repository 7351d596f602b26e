/* Test helpers: a seeded RNG and random blocks whose scale fields are valid (docs/FORMATS.md §1.6). */
#ifndef VKQ_TEST_UTIL_H
#define VKQ_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/vkquant.h"

/* Seed from the environment variable VKQ_SEED (decimal or 0x hex) if set, else from the clock.
 * The caller prints it so a failure can be replayed with VKQ_SEED=<seed>. */
uint64_t vkq_test_seed(void);
/* A test that cannot run here (no Vulkan loader, device, validation layer, ...): prints
 * "NAME: SKIP: WHY" and returns 77, meson's "skipped". With VKQ_TEST_NO_SKIP set (CI, where
 * everything must run) it prints that the skip is a failure and returns 1. */
int vkq_test_skip(const char *name, const char *why);

/* splitmix64: the state is one uint64_t, initialise it with the seed. */
uint64_t vkq_test_rand(uint64_t *state);
/* Uniform integer in [0, n), n > 0. */
uint32_t vkq_test_rand_below(uint64_t *state, uint32_t n);

/* A finite fp16 scale: |d| log-uniform in [2^-14, 2^2) with a random sign, and about 15%
 * special values (+-0, subnormals, +-65504). Returns the binary16 bits. */
uint16_t vkq_test_random_fp16_scale(uint64_t *state);
/* A finite binary32 scale (bits): |d| mostly in [2^-20, 2^5), some +-0, subnormal, tiny and
 * large (up to 2^100) values. */
uint32_t vkq_test_random_f32_scale(uint64_t *state);

/* n_blocks random blocks of type t (vkq_type_bytes(t, n_blocks * QK) bytes at `out`): random
 * bytes, then every scale field listed in the traits made valid, F32/F16/BF16 elements finite,
 * NF4 absmax finite and positive. Unknown types leave `out` untouched. */
void vkq_test_random_blocks(vkq_type t, uint64_t n_blocks, uint64_t *rng_state, uint8_t *out);

/* Like vkq_test_random_blocks but with realistic magnitudes for matmul tests: scales of about
 * 2^-8..2^-3 (no specials, so no overflow to Inf), F32/F16/BF16 elements likewise. */
void vkq_test_random_weights(vkq_type t, uint64_t n_blocks, uint64_t *rng_state, uint8_t *out);

/* Synthetic LLM-like weights, rows x k: N(0,1) values (1% of them times 8, the outliers real
 * weight matrices have), each row times its own scale, log-uniform in [2^-8, 2^-3). */
void vkq_test_llm_weights(uint64_t *rng_state, float *out, uint64_t rows, uint64_t k);

/* malloc that ends the test (exit 2, "out of memory") instead of returning NULL. */
void *xmalloc(size_t n);

#endif
