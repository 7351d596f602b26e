// Q4_K: 256 elems, 144 bytes (4.5 bpw): y = (d*sc)*q - dmin*m, 6-bit sc/m per 32, q a nibble.
#define QK 256u
#define BLOCK_BYTES 144u

// get_scale_min_k4 (FORMATS.md 7.3) on the 12 scale bytes at s, sub-block j
void q4k_scale_min(uint s, uint j, out uint sc, out uint mn) {
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
    uint sc, mn;
    q4k_scale_min(b + 4u, i0 >> 5, sc, mn);
    float dl = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    float ml = vkq_half_bits(dm >> 16) * float(mn);
    // 32-byte chunk i/64 holds sub-block 2c in its low nibbles, 2c+1 in its high nibbles
    uint o = b + 16u + ((i0 >> 6) << 5) + (i0 & 31u);
    uint sh = (i0 & 32u) >> 3;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    // exact products, one rounding in the subtraction (FORMATS.md 1.4)
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * float((q >> (8u * j + sh)) & 0xFu) - ml;
        v[j + 4u] = dl * float((q2 >> (8u * j + sh)) & 0xFu) - ml;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM):
// a = d*sc and c = -dmin*m of their 32-element sub-block, q the nibbles.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b);
    uint sb = u >> 1, sc, mn;
    q4k_scale_min(b + 4u, sb, sc, mn);
    a = vkq_half_bits(dm & 0xFFFFu) * float(sc);
    c = -(vkq_half_bits(dm >> 16) * float(mn));
    uint o = b + 16u + ((sb >> 1) << 5) + ((u & 1u) << 4);
    uint sh = (sb & 1u) << 2;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(o + 4u * j) >> sh) & 0x0F0F0F0Fu;
}
#endif
