// IQ4_NL: y = d * kvalues_iq4nl(q), q a nibble (Q4_0 layout).
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 2 // d, qs
#error "iq4_nl.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/kvalues_iq4nl.glsl"

#include "mv_q4_layout.glsl"

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 8u; ++e) v[e] = float(kvalues_iq4nl(q4_layout_nibble(t, j, e)));
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint q = vkq_u32(b + 2u + (i0 & 15u));
    uint q2 = vkq_u32(b + 6u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = d * float(kvalues_iq4nl((q >> (8u * j + sh)) & 0xFu));
        v[j + 4u] = d * float(kvalues_iq4nl((q2 >> (8u * j + sh)) & 0xFu));
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// table values themselves (-127..113).
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b);
    c = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint n = vkq_u32(b + 2u + 4u * j) >> (4u * u);
        q[j] = 0u;
        [[unroll]] for (uint l = 0u; l < 4u; ++l) q[j] |= uint(kvalues_iq4nl((n >> (8u * l)) & 0xFu) & 0xFF) << (8u * l);
    }
}
#endif
