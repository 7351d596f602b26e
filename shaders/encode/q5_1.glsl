// Q5_1 KV cache (24-byte blocks: fp16 d, fp16 m, u32 of fifth bits, 16 bytes of low nibbles):
// d = (max - min) / 31, m = min, q = int((x - min) / d + 0.5) clamped to 31
// (quantize_row_q5_1_ref; the clamp only guards a last-ulp overshoot of the top element).
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 6u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    float x[32];
    vkq_to_float32(w, x);
    float mn = x[0], mx = x[0];
    [[unroll]] for (uint j = 1u; j < 32u; ++j) {
        mn = min(mn, x[j]);
        mx = max(mx, x[j]);
    }
    float d = (mx - mn) / 31.0;
    float id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint j = 0u; j < VKQ_ENC_WORDS; ++j) b[j] = 0u;
    b[0] = vkq_f32_to_half_bits(d) | (vkq_f32_to_half_bits(mn) << 16);
    uint qh = 0u;
    [[unroll]] for (uint j = 0u; j < 16u; ++j) {
        uint q0 = uint(clamp(int((x[j] - mn) * id + 0.5), 0, 31));
        uint q1 = uint(clamp(int((x[j + 16u] - mn) * id + 0.5), 0, 31));
        VKQ_SET_BYTE(b, 8u + j, (q0 & 0xFu) | ((q1 & 0xFu) << 4));
        qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16u));
    }
    b[1] = qh;
    return 24u;
}
