// F16 KV cache: binary16 rounded to nearest even (vkq_f32_to_half_bits, integer arithmetic:
// exact on drivers that flush denormals), 32 elements per invocation.
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 16u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    [[unroll]] for (uint j = 0u; j < 16u; ++j)
        b[j] = vkq_f32_to_half_bits(uintBitsToFloat(w[2u * j])) |
               (vkq_f32_to_half_bits(uintBitsToFloat(w[2u * j + 1u])) << 16);
    return 2u * ne;
}
