// Q2_K: y = (d*sc)*q - dmin*m, 4-bit sc/m per 16, q 2 bits.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != VKQ_QK / 16 + VKQ_QK / 4 + 2 + 2 // scales (u4 pair per 16), qs, d, dmin
#error "q2_k.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): a 128-element half per load (its 32 qs
// bytes hold four 32-element quarters as bit pairs) with its 8 scale/min pairs of 16 elements.
// Each weight is decode8's dl * q - ml (exact product, one rounding): with q only 0..3, taking
// ml * sum(x) apart would cancel against dl * sum(q x) and cost accuracy (NMSE near 1e-10).
#define VKQ_MV_SB 128u
struct vkq_mv_sb {
    float scale[1];
    float dl[8];
    float ml[8];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint sc[2], dm[1];
    VKQ_WORDS(sc, b + (s << 3), 2u);
    VKQ_WORDS(dm, b + 80u, 1u);
    VKQ_WORDS(t.q, b + 16u + (s << 5), 8u);
    float d = vkq_half_bits(dm[0] & 0xFFFFu);
    float dmin = vkq_half_bits(dm[0] >> 16);
    t.scale[0] = 1.0;
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        uint x = (sc[i >> 2] >> (8u * (i & 3u))) & 0xFFu;
        t.dl[i] = d * float(x & 0xFu);
        t.ml[i] = dmin * float(x >> 4);
    }
}

// Group j: bytes 8(j%4).. of the half, bit pair j/4, scale pair j/2.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 2) << 1;
    [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        uint q = (t.q[((j & 3u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) & 3u;
        v[e] = t.dl[j >> 1] * float(q) - t.ml[j >> 1];
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b + 80u);
    uint s = vkq_u8(b + (i0 >> 4));
    float dl = vkq_half_bits(dm & 0xFFFFu) * float(s & 0xFu);
    float ml = vkq_half_bits(dm >> 16) * float(s >> 4);
    // byte 32*(i/128) + i%32 of qs holds element i in bit pair (i%128)/32
    uint o = b + 16u + ((i0 >> 7) << 5) + (i0 & 31u);
    uint sh = ((i0 >> 5) & 3u) << 1;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    // both products exact, the subtraction is the single rounding (docs/FORMATS.md 1.4)
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * float((q >> (8u * j + sh)) & 3u) - ml;
        v[j + 4u] = dl * float((q2 >> (8u * j + sh)) & 3u) - ml;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 2-bit values, a = d*sc and c = -dmin*m of their 16-element sub-block.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b + 80u);
    uint s = vkq_u8(b + u);
    a = vkq_half_bits(dm & 0xFFFFu) * float(s & 0xFu);
    c = -(vkq_half_bits(dm >> 16) * float(s >> 4));
    uint i0 = u << 4;
    uint o = b + 16u + ((i0 >> 7) << 5) + (i0 & 31u), sh = ((i0 >> 5) & 3u) << 1;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(o + 4u * j) >> sh) & 0x03030303u;
}
#endif
