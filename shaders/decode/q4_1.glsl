// Q4_1: 32 elements, 20 bytes (5.0 bpw): y = q * d + m, q a nibble, d and m fp16 at 0 and 2.
#define QK 32u
#define BLOCK_BYTES 20u

void decode8(uint b, uint i0, out float v[8]) {
    uint dm = vkq_u32(b);
    float d = vkq_half_bits(dm & 0xFFFFu);
    float m = vkq_half_bits(dm >> 16);
    // nibble layout of Q4_0 with qs at offset 4
    uint q = vkq_u32(b + 4u + (i0 & 15u));
    uint q2 = vkq_u32(b + 8u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    // q * d is exact, so the add is the only rounding (FORMATS.md 1.4); m must not be folded in.
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float((q >> (8u * j + sh)) & 0xFu) * d + m;
        v[j + 4u] = float((q2 >> (8u * j + sh)) & 0xFu) * d + m;
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// nibbles, the min in c.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint dm = vkq_u32(b);
    a = vkq_half_bits(dm & 0xFFFFu);
    c = vkq_half_bits(dm >> 16);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (vkq_u32(b + 4u + 4u * j) >> (4u * u)) & 0x0F0F0F0Fu;
}
#endif
