// Q2_0: y = (q - 1) * d, q 2 bits (byte 2 + i/4, pair i%4).
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 4 // d, qs (u2)
#error "q2_0.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 6 word reads.
#define VKQ_MV_SB 64u
struct vkq_mv_sb {
    float scale[1];
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[5];
    VKQ_WORDS(u, b, 5u);
    t.scale[0] = vkq_half_bits(u[0] & 0xFFFFu);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) t.q[i] = (u[i] >> 16) | (u[i + 1u] << 16);
}

// Group j: qs bytes 2j, 2j+1.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint q = t.q[j >> 1] >> ((j & 1u) << 4);
    [[unroll]] for (uint e = 0u; e < 8u; ++e) v[e] = float(int((q >> (2u * e)) & 3u) - 1);
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint q = vkq_u16(b + 2u + (i0 >> 2)); // 8 elements = 2 bytes, LSB pair first
    [[unroll]] for (uint j = 0u; j < 8u; ++j)
        v[j] = float(int((q >> (2u * j)) & 3u) - 1) * d;
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 2-bit values with the -1 folded into c; one byte of qs holds 4 elements.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b);
    c = -a;
    uint w = vkq_u32(b + 2u + 4u * u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint x = (w >> (8u * j)) & 0xFFu;
        q[j] = (x & 3u) | (((x >> 2) & 3u) << 8) | (((x >> 4) & 3u) << 16) | ((x >> 6) << 24);
    }
}
#endif
