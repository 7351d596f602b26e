// Q2_K: 256 elems, 84 bytes (2.625 bpw): y = (d*sc)*q - dmin*m, 4-bit sc/m per 16, q 2 bits.
#define QK 256u
#define BLOCK_BYTES 84u

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
    // both products exact, the subtraction is the single rounding (FORMATS.md 1.4)
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
