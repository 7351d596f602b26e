// Q3_K: y = (d*sc)*q, 6-bit sc - 32 per 16, q 3 bits - 4.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != VKQ_QK / 8 + VKQ_QK / 4 + 12 + 2 // hmask, qs, 16 x 6-bit scales, d
#error "q3_k.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): a 128-element half per load: its 32 qs
// bytes (bit pairs of four quarters), the 32 hmask bytes shifted so bit q is quarter q, and its
// 8 six-bit scales.
#define VKQ_MV_SB 128u
#define VKQ_MV_NSC 8u
struct vkq_mv_sb {
    float scale[8];
    uint q[8];
    uint h[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint sc[3], dw[1];
    VKQ_WORDS(t.h, b, 8u);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) t.h[i] = t.h[i] >> (s << 2);
    VKQ_WORDS(t.q, b + 32u + (s << 5), 8u);
    VKQ_WORDS(sc, b + 96u, 3u);
    VKQ_WORDS(dw, b + 108u, 1u);
    float d = vkq_half_bits(dw[0] & 0xFFFFu);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) { // scale js = 8s + i
        uint lo = (sc[i >> 2] >> (8u * (i & 3u) + (s << 2))) & 0xFu;
        uint hi = (sc[2] >> (8u * (i & 3u) + 2u * ((s << 1) + (i >> 2)))) & 3u;
        t.scale[i] = d * float(int(lo | (hi << 4)) - 32);
    }
}

// Group j: bytes 8(j%4).. of the half, bit pair j/4, high bit j/4 (a clear one subtracts 4).
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint q4 = j >> 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        uint w = ((j & 3u) << 1) + (e >> 2), bit = 8u * (e & 3u);
        uint a = ((t.q[w] >> (bit + 2u * q4)) & 3u) | (((t.h[w] >> (bit + q4)) & 1u) << 2);
        v[e] = float(int(a) - 4);
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b + 108u);
    uint js = i0 >> 4;
    // scales 0..7 in the low nibbles of bytes 0..7, 8..15 in their high nibbles; bit pairs in 8..11
    uint lo = (vkq_u8(b + 96u + (js & 7u)) >> ((js >> 3) << 2)) & 0xFu;
    uint hi = (vkq_u8(b + 104u + (js & 3u)) >> ((js >> 2) << 1)) & 3u;
    float dl = d * float(int(lo | (hi << 4)) - 32);
    // hmask: element i at byte i%32, bit i/32; qs as Q2_K at offset 32
    uint h = vkq_u32(b + (i0 & 31u));
    uint h2 = vkq_u32(b + (i0 & 31u) + 4u);
    uint hs = i0 >> 5;
    uint o = b + 32u + ((i0 >> 7) << 5) + (i0 & 31u);
    uint sh = ((i0 >> 5) & 3u) << 1;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        // a clear high bit subtracts 4
        int a = int((q >> (8u * j + sh)) & 3u) - (((h >> (8u * j + hs)) & 1u) != 0u ? 0 : 4);
        int a2 = int((q2 >> (8u * j + sh)) & 3u) - (((h2 >> (8u * j + hs)) & 1u) != 0u ? 0 : 4);
        v[j] = dl * float(a);
        v[j + 4u] = dl * float(a2);
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 3-bit values q2 | hbit << 2 (0..7) with the -4 folded into c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint lo = (vkq_u8(b + 96u + (u & 7u)) >> ((u >> 3) << 2)) & 0xFu;
    uint hi = (vkq_u8(b + 104u + (u & 3u)) >> ((u >> 2) << 1)) & 3u;
    a = vkq_half(b + 108u) * float(int(lo | (hi << 4)) - 32);
    c = -4.0 * a;
    uint i0 = u << 4;
    uint hs = i0 >> 5;
    uint o = b + 32u + ((i0 >> 7) << 5) + (i0 & 31u), sh = ((i0 >> 5) & 3u) << 1;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = ((vkq_u32(o + 4u * j) >> sh) & 0x03030303u) | (((vkq_u32(b + (i0 & 31u) + 4u * j) >> hs) & 0x01010101u) << 2);
}
#endif
