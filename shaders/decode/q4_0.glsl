// Q4_0: y = (q - 8) * d, q a nibble, d fp16 at offset 0.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 2 // d, qs
#error "q4_0.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "mv_q4_layout.glsl"

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 8u; ++e) v[e] = float(int(q4_layout_nibble(t, j, e)) - 8);
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    // elements i0..i0+7 sit in bytes (i0 % 16).. of qs, low nibbles for i < 16, high for i >= 16
    uint q = vkq_u32(b + 2u + (i0 & 15u));
    uint q2 = vkq_u32(b + 6u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float(int((q >> (8u * j + sh)) & 0xFu) - 8) * d;
        v[j + 4u] = float(int((q2 >> (8u * j + sh)) & 0xFu) - 8) * d;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// nibbles themselves (0..15) with the -8 folded into c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b);
    c = -8.0 * a;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(b + 2u + 4u * j) >> (4u * u)) & 0x0F0F0F0Fu;
}
#endif
