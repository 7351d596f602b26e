// Q4_1: y = q * d + m, q a nibble, d and m fp16 at 0 and 2.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + 2 + VKQ_QK / 2 // d, m, qs
#error "q4_1.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 5 or 6 word reads;
// y = q * d + m enters as d * sum(q x) + m * sum(x).
#define VKQ_MV_SB 32u
#define VKQ_MV_OFFSET 1
struct vkq_mv_sb {
    float scale[1];
    float offset[1];
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[5];
    VKQ_WORDS(u, b, 5u);
    t.scale[0] = vkq_half_bits(u[0] & 0xFFFFu);
    t.offset[0] = vkq_half_bits(u[0] >> 16);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) t.q[i] = u[i + 1u];
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 1) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float((t.q[((j & 1u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) & 0xFu);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b);
    float d = vkq_half_bits(dm & 0xFFFFu);
    float m = vkq_half_bits(dm >> 16);
    // nibble layout of Q4_0 with qs at offset 4
    uint q = vkq_u32(b + 4u + (i0 & 15u));
    uint q2 = vkq_u32(b + 8u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    // q * d is exact, so the add is the only rounding (docs/FORMATS.md 1.4); m must not be folded in.
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float((q >> (8u * j + sh)) & 0xFu) * d + m;
        v[j + 4u] = float((q2 >> (8u * j + sh)) & 0xFu) * d + m;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// nibbles, the min in c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b);
    a = vkq_half_bits(dm & 0xFFFFu);
    c = vkq_half_bits(dm >> 16);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(b + 4u + 4u * j) >> (4u * u)) & 0x0F0F0F0Fu;
}
#endif
