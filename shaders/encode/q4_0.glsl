// Q4_0 KV cache (18-byte blocks: fp16 d, 16 bytes of nibbles, element j < 16 low, j + 16 high):
// d = max / -8 with max the signed element of largest magnitude, q = min(15, int(x / d + 8.5))
// (quantize_row_q4_0_ref).
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 5u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    float x[32];
    vkq_to_float32(w, x);
    float d = vkq_signed_absmax(x) / -8.0;
    float id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint j = 0u; j < VKQ_ENC_WORDS; ++j) b[j] = 0u;
    b[0] = vkq_f32_to_half_bits(d);
    [[unroll]] for (uint j = 0u; j < 16u; ++j) {
        uint q0 = uint(clamp(int(x[j] * id + 8.5), 0, 15));
        uint q1 = uint(clamp(int(x[j + 16u] * id + 8.5), 0, 15));
        VKQ_SET_BYTE(b, 2u + j, q0 | (q1 << 4));
    }
    return 18u;
}
