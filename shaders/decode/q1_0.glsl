// Q1_0: 128 elements, 18 bytes (1.125 bpw): y = bit ? d : -d, bit i = byte 2 + i/8, bit i%8.
#define QK 128u
#define BLOCK_BYTES 18u

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint bits = vkq_u8(b + 2u + (i0 >> 3));
    // a sign flip, not a multiply of an integer: d = +0 with bit 0 gives -0.0 (FORMATS.md 6.1)
    [[unroll]] for (uint j = 0u; j < 8u; ++j)
        v[j] = ((bits >> j) & 1u) != 0u ? d : -d;
}
