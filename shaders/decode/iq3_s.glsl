// IQ3_S: 256 elems, 110 bytes (3.4375 bpw): y = (d*(1+2s)) * grid[idx][j] * sign, 9-bit idx.
#define QK 256u
#define BLOCK_BYTES 110u

#include "../tables/iq3s_grid.glsl"

// ggml applies signs as a multiply by -1.0f (FORMATS.md 1.5), so keep it a multiply
float iq_sign(uint signs, uint j) { return ((signs >> j) & 1u) != 0u ? -1.0 : 1.0; }

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    uint ix = vkq_u16(b + 2u + (i0 >> 2)); // low index bytes 8*ib + 2*l (elements 0-3) and +1 (4-7)
    uint qh = vkq_u8(b + 66u + ib) >> (2u * l); // bit 0 / 1: index bit 8 of the first / second row
    uint idx0 = (ix & 0xFFu) | ((qh & 1u) << 8);
    uint idx1 = (ix >> 8) | ((qh & 2u) << 7);
    uint signs = vkq_u8(b + 74u + (i0 >> 3));
    uint s = (vkq_u8(b + 106u + (ib >> 1)) >> ((ib & 1u) << 2)) & 0xFu;
    float db = vkq_half(b) * float(1u + 2u * s);
    uint g0 = iq3s_grid(idx0);
    uint g1 = iq3s_grid(idx1);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = db * float((g0 >> (8u * j)) & 0xFFu) * iq_sign(signs, j);
        v[j + 4u] = db * float((g1 >> (8u * j)) & 0xFFu) * iq_sign(signs, j + 4u);
    }
}
