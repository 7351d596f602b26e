// IQ3_S: y = (d*(1+2s)) * grid[idx][j] * sign, 9-bit idx.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 4 + VKQ_QK / 32 + VKQ_QK / 8 + VKQ_QK / 64 // d, qs, qh, signs, scales
#error "iq3_s.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/iq3s_grid.glsl"

// ggml applies signs as a multiply by -1.0f (docs/FORMATS.md 1.5), so keep it a multiply
float iq_sign(uint signs, uint j) { return ((signs >> j) & 1u) != 0u ? -1.0 : 1.0; }

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): sub-block ib's 8 index bytes, qh byte,
// 4 sign bytes and scale per load. The signs negate the grid bytes before the exact conversion
// (vkq_sign_bytes), the same values as decode8's multiply by -1.0.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[2];
    uint qh;
    uint sgn;
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint d[1], qh[1], sg[1], sc[1];
    VKQ_WORDS(d, b, 1u);
    VKQ_WORDS(t.q, b + 2u + (s << 3), 2u);
    VKQ_WORDS(qh, b + 66u + s, 1u);
    VKQ_WORDS(sg, b + 74u + (s << 2), 1u);
    VKQ_WORDS(sc, b + 106u + (s >> 1), 1u);
    t.qh = qh[0];
    t.sgn = sg[0];
    uint ls = (sc[0] >> ((s & 1u) << 2)) & 0xFu;
    t.scale[0] = vkq_half_bits(d[0] & 0xFFFFu) * float(1u + 2u * ls);
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint ix = t.q[j >> 1] >> ((j & 1u) << 4);
    uint idx0 = (ix & 0xFFu) | (((t.qh >> (2u * j)) & 1u) << 8);
    uint idx1 = ((ix >> 8) & 0xFFu) | (((t.qh >> (2u * j + 1u)) & 1u) << 8);
    uint signs = t.sgn >> (8u * j);
    uint s0 = vkq_sign_bytes(iq3s_grid(idx0), signs);
    uint s1 = vkq_sign_bytes(iq3s_grid(idx1), signs >> 4);
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(int((e < 4u ? s0 : s1) << (24u - 8u * (e & 3u))) >> 24);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    uint ix = vkq_u16(b + 2u + (i0 >> 2)); // low index bytes 8*ib + 2*l (elements 0-3) and +1 (4-7)
    uint qh = vkq_u8(b + 66u + ib) >> (2u * l); // bit 0 / 1: index bit 8 of the first / second row
    uint idx0 = (ix & 0xFFu) | ((qh & 1u) << 8);
    uint idx1 = (ix >> 8) | ((qh & 2u) << 7);
    uint signs = vkq_u8(b + 74u + (i0 >> 3));
    uint s = (vkq_u8(b + 106u + (ib >> 1)) >> ((ib & 1u) << 2)) & 0xFu;
    float db = vkq_half(b) * float(1u + 2u * s);
    uint g0 = iq3s_grid(idx0);
    uint g1 = iq3s_grid(idx1);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = db * float((g0 >> (8u * j)) & 0xFFu) * iq_sign(signs, j);
        v[j + 4u] = db * float((g1 >> (8u * j)) & 0xFFu) * iq_sign(signs, j + 4u);
    }
}
