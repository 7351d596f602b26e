// Q5_K: y = (d*sc)*q - dmin*m, 6-bit sc/m per 32, q 5 bits.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + 2 + 12 + VKQ_QK / 8 + VKQ_QK / 2 // d, dmin, 8 x 6-bit (sc, m), qh, qs
#error "q5_k.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "kquant_scale_min.glsl"

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): as Q4_K's, plus the 32 qh bytes shifted
// so bit 0 of each byte belongs to sub-block 2s and bit 1 to 2s+1.
#define VKQ_MV_SB 64u
#define VKQ_MV_NSC 2u
#define VKQ_MV_OFFSET 1
struct vkq_mv_sb {
    float scale[2];
    float offset[2];
    uint q[8];
    uint h[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint h[4];
    VKQ_WORDS(h, b, 4u);
    kq_scale_min_pair(h[1], h[2], h[3], s, h[0], t.scale, t.offset);
    VKQ_WORDS(t.h, b + 16u, 8u);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) t.h[i] = t.h[i] >> (2u * s);
    VKQ_WORDS(t.q, b + 48u + (s << 5), 8u);
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint g = j >> 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        uint w = ((j & 3u) << 1) + (e >> 2), bit = 8u * (e & 3u);
        uint lo = (t.q[w] >> (bit + 4u * g)) & 0xFu;
        uint hi = ((t.h[w] >> (bit + g)) & 1u) << 4;
        v[e] = float(lo | hi);
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b);
    uint js = i0 >> 5;
    uint sc, mn;
    kq_scale_min(b + 4u, js, sc, mn);
    float dl = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    float ml = vkq_half_bits(dm >> 16) * float(mn);
    // qh: element i at byte i%32, bit i/32 (= the sub-block index)
    uint h = vkq_u32(b + 16u + (i0 & 31u));
    uint h2 = vkq_u32(b + 20u + (i0 & 31u));
    // low nibbles as Q4_K, at offset 48
    uint o = b + 48u + ((i0 >> 6) << 5) + (i0 & 31u);
    uint sh = (i0 & 32u) >> 3;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint a = ((q >> (8u * j + sh)) & 0xFu) | (((h >> (8u * j + js)) & 1u) << 4);
        uint a2 = ((q2 >> (8u * j + sh)) & 0xFu) | (((h2 >> (8u * j + js)) & 1u) << 4);
        v[j] = dl * float(a) - ml;
        v[j + 4u] = dl * float(a2) - ml;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 5-bit values, a = d*sc and c = -dmin*m of their 32-element sub-block.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b);
    uint js = u >> 1, sc, mn;
    kq_scale_min(b + 4u, js, sc, mn);
    a = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    c = -(vkq_half_bits(dm >> 16) * float(mn));
    uint i0 = u << 4;
    uint o = b + 48u + ((i0 >> 6) << 5) + (i0 & 31u), sh = (i0 & 32u) >> 3;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = ((vkq_u32(o + 4u * j) >> sh) & 0x0F0F0F0Fu) | (((vkq_u32(b + 16u + (i0 & 31u) + 4u * j) >> js) & 0x01010101u) << 4);
}
#endif
