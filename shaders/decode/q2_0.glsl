// Q2_0: 64 elements, 18 bytes (2.25 bpw): y = (q - 1) * d, q 2 bits (byte 2 + i/4, pair i%4).
#define QK 64u
#define BLOCK_BYTES 18u

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint q = vkq_u16(b + 2u + (i0 >> 2)); // 8 elements = 2 bytes, LSB pair first
    [[unroll]] for (uint j = 0u; j < 8u; ++j)
        v[j] = float(int((q >> (2u * j)) & 3u) - 1) * d;
}
