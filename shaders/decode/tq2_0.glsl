// TQ2_0: 256 elements, 66 bytes (2.0625 bpw): y = (q - 1) * d, q 2 bits, d fp16 at offset 64.
#define QK 256u
#define BLOCK_BYTES 66u

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b + 64u);
    // byte 32*(i/128) + i%32 holds element i in bit pair (i%128)/32: 8 elements = 8 bytes, one pair
    uint o = b + ((i0 >> 7) << 5) + (i0 & 31u);
    uint sh = ((i0 >> 5) & 3u) << 1;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float(int((q >> (8u * j + sh)) & 3u) - 1) * d;
        v[j + 4u] = float(int((q2 >> (8u * j + sh)) & 3u) - 1) * d;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 2-bit values with the -1 folded into c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b + 64u);
    c = -a;
    uint i0 = u << 4;
    uint o = b + ((i0 >> 7) << 5) + (i0 & 31u), sh = ((i0 >> 5) & 3u) << 1;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(o + 4u * j) >> sh) & 0x03030303u;
}
#endif
