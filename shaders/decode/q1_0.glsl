// Q1_0: y = bit ? d : -d, bit i = byte 2 + i/8, bit i%8.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 8 // d, qs (bits)
#error "q1_0.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 6 word reads; each
// bit becomes +-1.0 by its sign bit, d multiplies the partial sum.
#define VKQ_MV_SB 128u
struct vkq_mv_sb {
    float scale[1];
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[5];
    VKQ_WORDS(u, b, 5u);
    t.scale[0] = vkq_half_bits(u[0] & 0xFFFFu);
    // inverted: a clear bit (element -d) becomes the sign bit of -1.0 in vkq_mv_group
    [[unroll]] for (uint i = 0u; i < 4u; ++i) t.q[i] = ~((u[i] >> 16) | (u[i + 1u] << 16));
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint q = t.q[j >> 2] >> (8u * (j & 3u));
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = uintBitsToFloat(0x3F800000u | (((q >> e) & 1u) << 31));
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint bits = vkq_u8(b + 2u + (i0 >> 3));
    // a sign flip, not a multiply of an integer: d = +0 with bit 0 gives -0.0 (docs/FORMATS.md 6.1)
    [[unroll]] for (uint j = 0u; j < 8u; ++j)
        v[j] = ((bits >> j) & 1u) != 0u ? d : -d;
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// bits, as 2d * bit - d.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    float d = vkq_half(b);
    a = 2.0 * d;
    c = -d;
    uint w = vkq_u16(b + 2u + 2u * u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint x = (w >> (4u * j)) & 0xFu;
        q[j] = (x & 1u) | (((x >> 1) & 1u) << 8) | (((x >> 2) & 1u) << 16) | ((x >> 3) << 24);
    }
}
#endif
