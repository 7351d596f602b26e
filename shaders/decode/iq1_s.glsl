// IQ1_S: y = (d*(2s+1)) * (g + delta), g in {-1,0,1}, delta 1/8.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + VKQ_QK / 8 + VKQ_QK / 16 // d, qs, qh (u16 per 32)
#error "iq1_s.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// iq1s_grid_gpu: the same rows as iq1s_grid, as g+1 in one nibble each (half the table size)
#include "../tables/iq1s_grid_gpu.glsl"

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): sub-block ib's 4 index bytes and its
// qh word per load; y = dl * (g + delta) enters as dl * sum((g + 1) x) + (dl * (delta - 1)) *
// sum(x), g + 1 being the stored nibble.
#define VKQ_MV_SB 32u
#define VKQ_MV_OFFSET 1
struct vkq_mv_sb {
    float scale[1];
    float offset[1];
    uint q;
    uint w;
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint d[1], q[1], w[1];
    VKQ_WORDS(d, b, 1u);
    VKQ_WORDS(q, b + 2u + (s << 2), 1u);
    VKQ_WORDS(w, b + 34u + (s << 1), 1u);
    t.q = q[0];
    t.w = w[0];
    float dl = vkq_half_bits(d[0] & 0xFFFFu) * float(2u * ((w[0] >> 12) & 7u) + 1u);
    t.scale[0] = dl;
    t.offset[0] = dl * ((w[0] & 0x8000u) != 0u ? -1.125 : -0.875);
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint idx = ((t.q >> (8u * j)) & 0xFFu) | (((t.w >> (3u * j)) & 7u) << 8);
    uint g = iq1s_grid_gpu(idx); // element e < 4 in bits 8e..8e+3, e >= 4 in bits 8(e-4)+4..
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float((g >> (8u * (e & 3u) + ((e >> 2) << 2))) & 0xFu);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    uint w = vkq_u16(b + 34u + (ib << 1)); // 4 x 3 high index bits, 3-bit scale, delta sign
    uint idx = vkq_u8(b + 2u + (i0 >> 3)) | (((w >> (3u * l)) & 7u) << 8);
    float dl = vkq_half(b) * float(2u * ((w >> 12) & 7u) + 1u);
    float delta = (w & 0x8000u) != 0u ? -0.125 : 0.125;
    uint g = iq1s_grid_gpu(idx); // element j < 4 in bits 8j..8j+3, j >= 4 in bits 8(j-4)+4..
    // g + delta is exact (+-0.875, +-0.125, +-1.125): the multiply by dl is the only rounding
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * (float(int((g >> (8u * j)) & 0xFu) - 1) + delta);
        v[j + 4u] = dl * (float(int((g >> (8u * j + 4u)) & 0xFu) - 1) + delta);
    }
}
