// Q4_1 KV cache (20-byte blocks: fp16 d, fp16 m, 16 bytes of nibbles): d = (max - min) / 15,
// m = min, q = min(15, int((x - min) / d + 0.5)) (quantize_row_q4_1_ref).
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 5u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    float x[32];
    vkq_to_float32(w, x);
    float mn = x[0], mx = x[0];
    [[unroll]] for (uint j = 1u; j < 32u; ++j) {
        mn = min(mn, x[j]);
        mx = max(mx, x[j]);
    }
    float d = (mx - mn) / 15.0;
    float id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint j = 0u; j < VKQ_ENC_WORDS; ++j) b[j] = 0u;
    b[0] = vkq_f32_to_half_bits(d) | (vkq_f32_to_half_bits(mn) << 16);
    [[unroll]] for (uint j = 0u; j < 16u; ++j) {
        uint q0 = uint(clamp(int((x[j] - mn) * id + 0.5), 0, 15));
        uint q1 = uint(clamp(int((x[j + 16u] - mn) * id + 0.5), 0, 15));
        VKQ_SET_BYTE(b, 4u + j, q0 | (q1 << 4));
    }
    return 20u;
}
