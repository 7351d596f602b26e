// F32 KV cache: the f32 bits as they are (no float arithmetic, so denormals and NaN payloads
// survive), 32 elements per invocation.
#include "encode_common.glsl"
#define VKQ_ENC_WORDS 32u

uint vkq_encode(uint w[32], uint ne, out uint b[VKQ_ENC_WORDS]) {
    [[unroll]] for (uint j = 0u; j < 32u; ++j) b[j] = w[j];
    return 4u * ne;
}
