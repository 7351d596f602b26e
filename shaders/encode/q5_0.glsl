// Q5_0 KV cache (22-byte blocks: fp16 d, u32 of fifth bits, 16 bytes of low nibbles):
// d = max / -16 with max the signed element of largest magnitude, q = min(31, int(x / d + 16.5))
// (quantize_row_q5_0_ref).
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 6u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    float x[32];
    vkq_to_float32(w, x);
    float d = vkq_signed_absmax(x) / -16.0;
    float id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint j = 0u; j < VKQ_ENC_WORDS; ++j) b[j] = 0u;
    b[0] = vkq_f32_to_half_bits(d);
    uint qh = 0u;
    [[unroll]] for (uint j = 0u; j < 16u; ++j) {
        uint q0 = uint(clamp(int(x[j] * id + 16.5), 0, 31));
        uint q1 = uint(clamp(int(x[j + 16u] * id + 16.5), 0, 31));
        VKQ_SET_BYTE(b, 6u + j, (q0 & 0xFu) | ((q1 & 0xFu) << 4));
        qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16u));
    }
    [[unroll]] for (uint k = 0u; k < 4u; ++k) VKQ_SET_BYTE(b, 2u + k, qh >> (8u * k));
    return 22u;
}
