// Q5_K: 256 elems, 176 bytes (5.5 bpw): y = (d*sc)*q - dmin*m, 6-bit sc/m per 32, q 5 bits.
#define QK 256u
#define BLOCK_BYTES 176u

// get_scale_min_k4 (FORMATS.md 7.3) on the 12 scale bytes at s, sub-block j
void q5k_scale_min(uint s, uint j, out uint sc, out uint mn) {
    if (j < 4u) {
        sc = vkq_u8(s + j) & 63u;
        mn = vkq_u8(s + j + 4u) & 63u;
    } else {
        uint x = vkq_u8(s + j + 4u);
        sc = (x & 0xFu) | ((vkq_u8(s + j - 4u) >> 6) << 4);
        mn = (x >> 4) | ((vkq_u8(s + j) >> 6) << 4);
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b);
    uint js = i0 >> 5;
    uint sc, mn;
    q5k_scale_min(b + 4u, js, sc, mn);
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
    q5k_scale_min(b + 4u, js, sc, mn);
    a = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    c = -(vkq_half_bits(dm >> 16) * float(mn));
    uint i0 = u << 4;
    uint o = b + 48u + ((i0 >> 6) << 5) + (i0 & 31u), sh = (i0 & 32u) >> 3;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = ((vkq_u32(o + 4u * j) >> sh) & 0x0F0F0F0Fu) | (((vkq_u32(b + 16u + (i0 & 31u) + 4u * j) >> js) & 0x01010101u) << 4);
}
#endif
