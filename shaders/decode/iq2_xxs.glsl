// IQ2_XXS: y = (d*(0.5+s)*0.25) * grid[idx][j] * sign.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 4 // d, an 8-byte record per 32
#error "iq2_xxs.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/iq2xxs_grid.glsl"
#include "../tables/ksigns_iq2xs.glsl"

// ggml applies signs as a multiply by -1.0f (docs/FORMATS.md 1.5), so keep it a multiply
float iq_sign(uint signs, uint j) { return ((signs >> j) & 1u) != 0u ? -1.0 : 1.0; }

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): sub-block ib's 8-byte record per load.
// The signs negate the grid bytes before the exact conversion (vkq_sign_bytes), the same values
// as decode8's multiply by -1.0.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[2];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint d[1];
    VKQ_WORDS(d, b, 1u);
    VKQ_WORDS(t.q, b + 2u + (s << 3), 2u);
    t.scale[0] = (vkq_half_bits(d[0] & 0xFFFFu) * (0.5 + float(t.q[1] >> 28))) * 0.25;
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint idx = (t.q[0] >> (8u * j)) & 0xFFu;
    uint s7 = (t.q[1] >> (7u * j)) & 127u;
    uint signs = s7 | (uint(bitCount(s7) & 1) << 7); // ksigns_iq2xs: computed, not a table read
    uint s0 = vkq_sign_bytes(iq2xxs_grid(2u * idx), signs);
    uint s1 = vkq_sign_bytes(iq2xxs_grid(2u * idx + 1u), signs >> 4);
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(int((e < 4u ? s0 : s1) << (24u - 8u * (e & 3u))) >> 24);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;        // 32-element sub-block: one 8-byte record at 2 + 8*ib
    uint l = (i0 >> 3) & 3u;  // group in the sub-block
    uint r = b + 2u + (ib << 3);
    uint idx = vkq_u8(r + l);
    uint w = vkq_u32(r + 4u); // 4 x 7-bit sign indices, 4-bit scale on top
    uint signs = uint(ksigns_iq2xs((w >> (7u * l)) & 127u));
    float db = (vkq_half(b) * (0.5 + float(w >> 28))) * 0.25;
    uint g0 = iq2xxs_grid(2u * idx);
    uint g1 = iq2xxs_grid(2u * idx + 1u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = db * float((g0 >> (8u * j)) & 0xFFu) * iq_sign(signs, j);
        v[j + 4u] = db * float((g1 >> (8u * j)) & 0xFFu) * iq_sign(signs, j + 4u);
    }
}
