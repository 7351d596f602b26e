// Q8_0 KV cache (34-byte blocks: fp16 d, 32 int8): d = amax / 127, q = roundf(x / d) with the
// reciprocal as ggml's quantize_row_q8_0_ref computes it.
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 9u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    float x[32];
    vkq_to_float32(w, x);
    float amax = 0.0;
    [[unroll]] for (uint j = 0u; j < 32u; ++j) amax = max(amax, abs(x[j]));
    float d = amax / 127.0;
    float id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint j = 0u; j < VKQ_ENC_WORDS; ++j) b[j] = 0u;
    b[0] = vkq_f32_to_half_bits(d);
    [[unroll]] for (uint j = 0u; j < 32u; ++j) VKQ_SET_BYTE(b, 2u + j, uint(int(vkq_round_away(x[j] * id))));
    return 34u;
}
