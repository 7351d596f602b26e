// IQ1_M: y = (d*(2s+1)) * (g + delta), d fp16 split over scales.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != VKQ_QK / 8 + VKQ_QK / 16 + 8 // qs, qh, scales (4 x u16 with the nibbles of d)
#error "iq1_m.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/iq1s_grid_gpu.glsl"

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): sub-block ib's index bytes, qh bytes and
// the scale words per load; every group has its own delta, so each group is a scale group and
// y = dl * (g + delta) enters as dl * sum((g + 1) x) + (dl * (delta - 1)) * sum(x), g + 1
// being the stored nibble.
#define VKQ_MV_SB 32u
#define VKQ_MV_NSC 4u
#define VKQ_MV_OFFSET 1
struct vkq_mv_sb {
    float scale[4];
    float offset[4];
    uint q;
    uint h;
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint q[1], h[1], sc[2];
    VKQ_WORDS(q, b + (s << 2), 1u);
    VKQ_WORDS(h, b + 32u + (s << 1), 1u);
    VKQ_WORDS(sc, b + 48u, 2u);
    t.q = q[0];
    t.h = h[0];
    uint dbits = ((sc[0] >> 12) & 0xFu) | ((sc[0] >> 24) & 0xF0u)
               | ((sc[1] >> 4) & 0xF00u) | ((sc[1] >> 16) & 0xF000u);
    float d = vkq_half_bits(dbits);
    uint w = ((s < 4u ? sc[0] : sc[1]) >> ((s & 2u) << 3)) & 0xFFFFu; // w_{s/2}
    [[unroll]] for (uint l = 0u; l < 4u; ++l) {
        float dl = d * float(2u * ((w >> (6u * (s & 1u) + 3u * (l >> 1))) & 7u) + 1u);
        uint tt = (h[0] >> (4u * l)) & 0xFu; // qh byte l/2, nibble l%2
        t.scale[l] = dl;
        t.offset[l] = dl * ((tt & 8u) != 0u ? -1.125 : -0.875);
    }
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint idx = ((t.q >> (8u * j)) & 0xFFu) | (((t.h >> (4u * j)) & 7u) << 8);
    uint g = iq1s_grid_gpu(idx);
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float((g >> (8u * (e & 3u) + ((e >> 2) << 2))) & 0xFu);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    // scale words w0..w3 at 48: bits 12-15 of w_k are bits 4k..4k+3 of the fp16 super-scale
    uint sc01 = vkq_u32(b + 48u);
    uint sc23 = vkq_u32(b + 52u);
    uint dbits = ((sc01 >> 12) & 0xFu) | ((sc01 >> 24) & 0xF0u)
               | ((sc23 >> 4) & 0xF00u) | ((sc23 >> 16) & 0xF000u);
    uint w = ((ib < 4u ? sc01 : sc23) >> ((ib & 2u) << 3)) & 0xFFFFu; // w_{ib/2}
    // 3-bit scale at bit 6*(ib%2): groups 0-1 first, groups 2-3 three bits up
    uint s = (w >> (6u * (ib & 1u) + 3u * (l >> 1))) & 7u;
    float dl = vkq_half_bits(dbits) * float(2u * s + 1u);
    uint t = (vkq_u8(b + 32u + (i0 >> 4)) >> ((l & 1u) << 2)) & 0xFu; // byte 2*ib + l/2, nibble l%2
    uint idx = vkq_u8(b + (i0 >> 3)) | ((t & 7u) << 8);
    float delta = (t & 8u) != 0u ? -0.125 : 0.125;
    uint g = iq1s_grid_gpu(idx);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * (float(int((g >> (8u * j)) & 0xFu) - 1) + delta);
        v[j + 4u] = dl * (float(int((g >> (8u * j + 4u)) & 0xFu) - 1) + delta);
    }
}
