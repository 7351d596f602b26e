// IQ2_S: y = (d*(0.5+s)*0.25) * grid[idx][j] * sign, 10-bit idx.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 8 + VKQ_QK / 8 + VKQ_QK / 32 + VKQ_QK / 32 // d, qs, signs, qh, scales
#error "iq2_s.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/iq2s_grid.glsl"

// ggml applies signs as a multiply by -1.0f (docs/FORMATS.md 1.5), so keep it a multiply
float iq_sign(uint signs, uint j) { return ((signs >> j) & 1u) != 0u ? -1.0 : 1.0; }

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): sub-block ib's index bytes, sign bytes,
// qh and scale byte per load, one scale per pair of groups. The signs negate the grid bytes
// before the exact conversion (vkq_sign_bytes), the same values as decode8's multiply by -1.0.
#define VKQ_MV_SB 32u
#define VKQ_MV_NSC 2u
struct vkq_mv_sb {
    float scale[2];
    uint idx;
    uint sgn;
    uint qh;
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint d[1], q[1], sg[1], qh[1], sc[1];
    VKQ_WORDS(d, b, 1u);
    VKQ_WORDS(q, b + 2u + (s << 2), 1u);
    VKQ_WORDS(sg, b + 34u + (s << 2), 1u);
    VKQ_WORDS(qh, b + 66u + s, 1u);
    VKQ_WORDS(sc, b + 74u + s, 1u);
    t.idx = q[0];
    t.sgn = sg[0];
    t.qh = qh[0];
    float dd = vkq_half_bits(d[0] & 0xFFFFu);
    t.scale[0] = (dd * (0.5 + float(sc[0] & 0xFu))) * 0.25;
    t.scale[1] = (dd * (0.5 + float((sc[0] >> 4) & 0xFu))) * 0.25;
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint idx = ((t.idx >> (8u * j)) & 0xFFu) | (((t.qh >> (2u * j)) & 3u) << 8);
    uint signs = t.sgn >> (8u * j);
    uint s0 = vkq_sign_bytes(iq2s_grid(2u * idx), signs);
    uint s1 = vkq_sign_bytes(iq2s_grid(2u * idx + 1u), signs >> 4);
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(int((e < 4u ? s0 : s1) << (24u - 8u * (e & 3u))) >> 24);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    uint k = i0 >> 3; // group number 4*ib + l
    uint idx = vkq_u8(b + 2u + k) | (((vkq_u8(b + 66u + ib) >> (2u * l)) & 3u) << 8);
    uint signs = vkq_u8(b + 34u + k); // all 8 sign bits stored: no ksigns table
    uint s = (vkq_u8(b + 74u + ib) >> ((l >> 1) << 2)) & 0xFu;
    float db = (vkq_half(b) * (0.5 + float(s))) * 0.25;
    uint g0 = iq2s_grid(2u * idx);
    uint g1 = iq2s_grid(2u * idx + 1u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = db * float((g0 >> (8u * j)) & 0xFFu) * iq_sign(signs, j);
        v[j + 4u] = db * float((g1 >> (8u * j)) & 0xFFu) * iq_sign(signs, j + 4u);
    }
}
