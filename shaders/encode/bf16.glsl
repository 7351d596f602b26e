// BF16 KV cache: the top half of the f32 bits rounded to nearest even; NaN stays a quiet NaN
// (ggml_compute_fp32_to_bf16). Integer arithmetic only. 32 elements per invocation.
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 16u

uint vkq_bf16_bits(uint u) {
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u;
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    [[unroll]] for (uint j = 0u; j < 16u; ++j) b[j] = vkq_bf16_bits(w[2u * j]) | (vkq_bf16_bits(w[2u * j + 1u]) << 16);
    return 2u * ne;
}
