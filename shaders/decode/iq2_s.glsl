// IQ2_S: 256 elems, 82 bytes (2.5625 bpw): y = (d*(0.5+s)*0.25) * grid[idx][j] * sign, 10-bit idx.
#define QK 256u
#define BLOCK_BYTES 82u

#include "../tables/iq2s_grid.glsl"

// ggml applies signs as a multiply by -1.0f (FORMATS.md 1.5), so keep it a multiply
float iq_sign(uint signs, uint j) { return ((signs >> j) & 1u) != 0u ? -1.0 : 1.0; }

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    uint k = i0 >> 3; // group number 4*ib + l
    uint idx = vkq_u8(b + 2u + k) | (((vkq_u8(b + 66u + ib) >> (2u * l)) & 3u) << 8);
    uint signs = vkq_u8(b + 34u + k); // all 8 sign bits stored: no ksigns table
    uint s = (vkq_u8(b + 74u + ib) >> ((l >> 1) << 2)) & 0xFu;
    float db = (vkq_half(b) * (0.5 + float(s))) * 0.25;
    uint g0 = iq2s_grid(2u * idx);
    uint g1 = iq2s_grid(2u * idx + 1u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = db * float((g0 >> (8u * j)) & 0xFFu) * iq_sign(signs, j);
        v[j + 4u] = db * float((g1 >> (8u * j)) & 0xFFu) * iq_sign(signs, j + 4u);
    }
}
