// Helpers of the KV cache encoders: byte packing into the words of one block, ggml's rounding.
#ifndef VKQ_ENCODE_COMMON_GLSL
#define VKQ_ENCODE_COMMON_GLSL

// ORs byte value v into byte k of the little-endian word array b (b zeroed first).
#define VKQ_SET_BYTE(b, k, v) b[(k) >> 2] |= ((v) & 0xFFu) << (((k) & 3u) << 3)

// C roundf: halves away from zero (GLSL round() leaves ties to the implementation). x - trunc(x)
// is exact, so the comparison with 0.5 is too.
float vkq_round_away(float x) {
    float t = trunc(x);
    return abs(x - t) >= 0.5 ? t + sign(x) : t;
}

// The element of largest magnitude, with its sign (the first one on ties, as ggml's loop).
float vkq_signed_absmax(float x[32]) {
    float amax = 0.0, mx = 0.0;
    [[unroll]] for (uint j = 0u; j < 32u; ++j) {
        if (abs(x[j]) > amax) {
            amax = abs(x[j]);
            mx = x[j];
        }
    }
    return mx;
}

void vkq_to_float32(uint w[32], out float x[32]) {
    [[unroll]] for (uint j = 0u; j < 32u; ++j) x[j] = uintBitsToFloat(w[j]);
}

#endif
