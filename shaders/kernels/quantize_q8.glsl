// Activations to 8 bits for the int8 GEMM, per 32-element block as ggml's Q8_1: d = max|x| / 127,
// q = round(x / d) in [-127, 127]. Also returns the sums of q over each 16-element half, which
// carry the offset term of weights stored as a * q + c (Q4_K's mins, Q4_0's -8).
#ifndef VKQ_QUANTIZE_Q8_GLSL
#define VKQ_QUANTIZE_Q8_GLSL

void vkq_quantize_q8(float x[32], out uint q[8], out float d, out int s0, out int s1) {
    float amax = 0.0;
    [[unroll]] for (uint i = 0u; i < 32u; ++i) amax = max(amax, abs(x[i]));
    d = amax / 127.0;
    float id = amax > 0.0 ? 127.0 / amax : 0.0;
    s0 = 0;
    s1 = 0;
    [[unroll]] for (uint w = 0u; w < 8u; ++w) {
        uint word = 0u;
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            // roundEven: the same bits on every driver (round() may go either way at .5)
            int v = clamp(int(roundEven(x[w * 4u + j] * id)), -127, 127);
            if (w < 4u) s0 += v; else s1 += v;
            word |= uint(v & 0xFF) << (8u * j);
        }
        q[w] = word;
    }
}

#endif
