// Q5_1: y = q * d + m, q = nibble | qh bit << 4 (0..31).
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + 2 + VKQ_QK / 8 + VKQ_QK / 2 // d, m, qh, qs
#error "q5_1.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 6 or 7 word reads;
// y = q * d + m enters as d * sum(q x) + m * sum(x).
#define VKQ_MV_SB 32u
#define VKQ_MV_OFFSET 1
struct vkq_mv_sb {
    float scale[1];
    float offset[1];
    uint qh;
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[6];
    VKQ_WORDS(u, b, 6u);
    t.scale[0] = vkq_half_bits(u[0] & 0xFFFFu);
    t.offset[0] = vkq_half_bits(u[0] >> 16);
    t.qh = u[1];
    [[unroll]] for (uint i = 0u; i < 4u; ++i) t.q[i] = u[i + 2u];
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 1) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        uint lo = (t.q[((j & 1u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) & 0xFu;
        v[e] = float(lo | (((t.qh >> (8u * j + e)) & 1u) << 4));
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b);
    float d = vkq_half_bits(dm & 0xFFFFu);
    float m = vkq_half_bits(dm >> 16);
    uint hb = vkq_u8(b + 4u + (i0 >> 3));
    uint q = vkq_u32(b + 8u + (i0 & 15u));
    uint q2 = vkq_u32(b + 12u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    // exact product, single rounding in the add (docs/FORMATS.md 1.4)
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint lo = ((q >> (8u * j + sh)) & 0xFu) | (((hb >> j) & 1u) << 4);
        uint lo2 = ((q2 >> (8u * j + sh)) & 0xFu) | (((hb >> (j + 4u)) & 1u) << 4);
        v[j] = float(lo) * d + m;
        v[j + 4u] = float(lo2) * d + m;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 5-bit values, the min in c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b);
    a = vkq_half_bits(dm & 0xFFFFu);
    c = vkq_half_bits(dm >> 16);
    uint qh = vkq_u32(b + 4u) >> (16u * u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint h = (qh >> (4u * j)) & 0xFu; // fifth bits of the word's 4 elements -> bit 4 of each byte
        uint hb = ((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25);
        q[j] = ((vkq_u32(b + 8u + 4u * j) >> (4u * u)) & 0x0F0F0F0Fu) | hb;
    }
}
#endif
