// Q8_0: 32 elements, 34 bytes (8.5 bpw): y = q * d, q an int8, d fp16 at offset 0.
#define QK 32u
#define BLOCK_BYTES 34u

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    uint q = vkq_u32(b + 2u + i0);
    uint q2 = vkq_u32(b + 6u + i0);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        // shift byte j to the top, arithmetic shift back: sign extension
        v[j] = float(int(q << (24u - 8u * j)) >> 24) * d;
        v[j + 4u] = float(int(q2 << (24u - 8u * j)) >> 24) * d;
    }
}
