// IQ4_NL KV cache (18-byte blocks: fp16 d, 16 bytes of nibble indices into kvalues_iq4nl):
// d = max / kvalues[0] (= max / -127, max the signed element of largest magnitude), each element
// the nearest table value to x / d (ties to the larger index, as ggml's best_index_int8). No
// search over scales and no least-squares refit: a plain rule the CPU store shares.
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 5u

uint vkq_iq4nl_nearest(float v) {
    uint best = 0u;
    float err = abs(v - float(kvalues_iq4nl(0u)));
    [[unroll]] for (uint l = 1u; l < 16u; ++l) {
        float e = abs(v - float(kvalues_iq4nl(l)));
        if (e <= err) {
            err = e;
            best = l;
        }
    }
    return best;
}

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    float x[32];
    vkq_to_float32(w, x);
    float d = vkq_signed_absmax(x) / float(kvalues_iq4nl(0u));
    float id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint j = 0u; j < VKQ_ENC_WORDS; ++j) b[j] = 0u;
    b[0] = vkq_f32_to_half_bits(d);
    [[unroll]] for (uint j = 0u; j < 16u; ++j) {
        uint q0 = vkq_iq4nl_nearest(x[j] * id);
        uint q1 = vkq_iq4nl_nearest(x[j + 16u] * id);
        VKQ_SET_BYTE(b, 2u + j, q0 | (q1 << 4));
    }
    return 18u;
}
