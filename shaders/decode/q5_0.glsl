// Q5_0: 32 elements, 22 bytes (5.5 bpw): y = (q - 16) * d, q = nibble | fifth bit from qh << 4.
#define QK 32u
#define BLOCK_BYTES 22u

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b);
    // qh bit i is element i's fifth bit, so the 8 elements need one byte of it
    uint hb = vkq_u8(b + 2u + (i0 >> 3));
    uint q = vkq_u32(b + 6u + (i0 & 15u));
    uint q2 = vkq_u32(b + 10u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint lo = ((q >> (8u * j + sh)) & 0xFu) | (((hb >> j) & 1u) << 4);
        uint lo2 = ((q2 >> (8u * j + sh)) & 0xFu) | (((hb >> (j + 4u)) & 1u) << 4);
        v[j] = float(int(lo) - 16) * d;
        v[j + 4u] = float(int(lo2) - 16) * d;
    }
}
