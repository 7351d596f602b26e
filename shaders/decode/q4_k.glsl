// Q4_K: y = (d*sc)*q - dmin*m, 6-bit sc/m per 32, q a nibble.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + 2 + 12 + VKQ_QK / 2 // d, dmin, 8 x 6-bit (sc, m), qs
#error "q4_k.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "kquant_scale_min.glsl"

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): one 32-byte chunk of qs (sub-blocks 2s,
// 2s+1) and the block header per load; y = dl * q - ml enters as dl * sum(q x) - ml * sum(x).
#define VKQ_MV_SB 64u
#define VKQ_MV_NSC 2u
#define VKQ_MV_OFFSET 1
struct vkq_mv_sb {
    float scale[2];
    float offset[2];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint h[4];
    VKQ_WORDS(h, b, 4u);
    kq_scale_min_pair(h[1], h[2], h[3], s, h[0], t.scale, t.offset);
    VKQ_WORDS(t.q, b + 16u + (s << 5), 8u);
}

// Group j: chunk bytes 8(j%4).., low nibbles (sub-block 2s) for j < 4, high for j >= 4.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 2) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float((t.q[((j & 3u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) & 0xFu);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b);
    uint sc, mn;
    kq_scale_min(b + 4u, i0 >> 5, sc, mn);
    float dl = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    float ml = vkq_half_bits(dm >> 16) * float(mn);
    // 32-byte chunk i/64 holds sub-block 2c in its low nibbles, 2c+1 in its high nibbles
    uint o = b + 16u + ((i0 >> 6) << 5) + (i0 & 31u);
    uint sh = (i0 & 32u) >> 3;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    // exact products, one rounding in the subtraction (docs/FORMATS.md 1.4)
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * float((q >> (8u * j + sh)) & 0xFu) - ml;
        v[j + 4u] = dl * float((q2 >> (8u * j + sh)) & 0xFu) - ml;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM):
// a = d*sc and c = -dmin*m of their 32-element sub-block, q the nibbles.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b);
    uint sb = u >> 1, sc, mn;
    kq_scale_min(b + 4u, sb, sc, mn);
    a = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    c = -(vkq_half_bits(dm >> 16) * float(mn));
    uint o = b + 16u + ((sb >> 1) << 5) + ((u & 1u) << 4);
    uint sh = (sb & 1u) << 2;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(o + 4u * j) >> sh) & 0x0F0F0F0Fu;
}
#endif
