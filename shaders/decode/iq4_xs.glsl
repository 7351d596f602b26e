// IQ4_XS: y = (d*(ls-32)) * kvalues_iq4nl(q), 6-bit ls per 32.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 2 + 2 + VKQ_QK / 64 + VKQ_QK / 2 // d, scales_h, scales_l, qs
#error "iq4_xs.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/kvalues_iq4nl.glsl"

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the header and sub-block ib's 16 bytes of
// qs per load.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint h[2];
    VKQ_WORDS(h, b, 2u);
    VKQ_WORDS(t.q, b + 8u + (s << 4), 4u);
    // low 4 bits: nibble s%2 of byte 4 + s/2; high 2 bits: bits 2s, 2s+1 of the u16 at 2
    uint ls = ((h[1] >> (((s >> 1) << 3) + ((s & 1u) << 2))) & 0xFu)
            | (((h[0] >> (16u + 2u * s)) & 3u) << 4);
    t.scale[0] = vkq_half_bits(h[0] & 0xFFFFu) * float(int(ls) - 32);
}

// Group j: bytes 8(j%2).. of the sub-block, low nibbles for j < 2, high for j >= 2.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 1) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(kvalues_iq4nl((t.q[((j & 1u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) &
                                   0xFu));
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    // low 4 bits: nibble ib%2 of byte 4 + ib/2; high 2 bits: bits 2ib, 2ib+1 of the u16 at 2
    uint ls = ((vkq_u8(b + 4u + (ib >> 1)) >> ((ib & 1u) << 2)) & 0xFu)
            | (((vkq_u16(b + 2u) >> (2u * ib)) & 3u) << 4);
    float dl = vkq_half(b) * float(int(ls) - 32);
    // 16 bytes per sub-block, Q4_0 nibble layout inside
    uint o = b + 8u + (ib << 4) + (i0 & 15u);
    uint sh = (i0 & 16u) >> 2;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * float(kvalues_iq4nl((q >> (8u * j + sh)) & 0xFu));
        v[j + 4u] = dl * float(kvalues_iq4nl((q2 >> (8u * j + sh)) & 0xFu));
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// table values (-127..113), a = d * (ls - 32) of their 32-element sub-block.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint ib = u >> 1;
    uint ls = ((vkq_u8(b + 4u + (ib >> 1)) >> ((ib & 1u) << 2)) & 0xFu)
            | (((vkq_u16(b + 2u) >> (2u * ib)) & 3u) << 4);
    a = vkq_half(b) * float(int(ls) - 32);
    c = 0.0;
    uint o = b + 8u + (ib << 4), sh = (u & 1u) << 2;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint n = vkq_u32(o + 4u * j) >> sh;
        q[j] = 0u;
        [[unroll]] for (uint l = 0u; l < 4u; ++l) q[j] |= uint(kvalues_iq4nl((n >> (8u * l)) & 0xFu) & 0xFF) << (8u * l);
    }
}
#endif
