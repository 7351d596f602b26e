// Q8_1: y = q * d, q an int8 at offset 4; s (offset 2) is unused.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + 2 + VKQ_QK // d, s, qs
#error "q8_1.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 9 or 10 word reads.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[9];
    VKQ_WORDS(u, b, 9u);
    t.scale[0] = vkq_half_bits(u[0] & 0xFFFFu);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) t.q[i] = u[i + 1u];
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(int(t.q[2u * j + (e >> 2)] << (24u - 8u * (e & 3u))) >> 24);
}

// ggml has no Q8_1 decoder; this follows Q8_0 (docs/FORMATS.md 4.6). s only serves dot products.
void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint q = vkq_u32(b + 4u + i0);
    uint q2 = vkq_u32(b + 8u + i0);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float(int(q << (24u - 8u * j)) >> 24) * d;
        v[j + 4u] = float(int(q2 << (24u - 8u * j)) >> 24) * d;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM).
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b);
    c = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = vkq_u32(b + 4u + 16u * u + 4u * j);
}
#endif
