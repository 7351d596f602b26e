// TQ2_0: y = (q - 1) * d, q 2 bits, d fp16 at offset 64.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != VKQ_QK / 4 + 2 // qs, d
#error "tq2_0.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): a 128-element half per load (32 bytes,
// four quarters as bit pairs) and d.
#define VKQ_MV_SB 128u
struct vkq_mv_sb {
    float scale[1];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint dw[1];
    VKQ_WORDS(t.q, b + (s << 5), 8u);
    VKQ_WORDS(dw, b + 64u, 1u);
    t.scale[0] = vkq_half_bits(dw[0] & 0xFFFFu);
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 2) << 1;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(int((t.q[((j & 3u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) & 3u) - 1);
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b + 64u);
    // byte 32*(i/128) + i%32 holds element i in bit pair (i%128)/32: 8 elements = 8 bytes, one pair
    uint o = b + ((i0 >> 7) << 5) + (i0 & 31u);
    uint sh = ((i0 >> 5) & 3u) << 1;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float(int((q >> (8u * j + sh)) & 3u) - 1) * d;
        v[j + 4u] = float(int((q2 >> (8u * j + sh)) & 3u) - 1) * d;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 2-bit values with the -1 folded into c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b + 64u);
    c = -a;
    uint i0 = u << 4;
    uint o = b + ((i0 >> 7) << 5) + (i0 & 31u), sh = ((i0 >> 5) & 3u) << 1;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(o + 4u * j) >> sh) & 0x03030303u;
}
#endif
