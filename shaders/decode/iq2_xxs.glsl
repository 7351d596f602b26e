// IQ2_XXS: 256 elems, 66 bytes (2.0625 bpw): y = (d*(0.5+s)*0.25) * grid[idx][j] * sign.
#define QK 256u
#define BLOCK_BYTES 66u

#include "../tables/iq2xxs_grid.glsl"
#include "../tables/ksigns_iq2xs.glsl"

// ggml applies signs as a multiply by -1.0f (FORMATS.md 1.5), so keep it a multiply
float iq_sign(uint signs, uint j) { return ((signs >> j) & 1u) != 0u ? -1.0 : 1.0; }

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;        // 32-element sub-block: one 8-byte record at 2 + 8*ib
    uint l = (i0 >> 3) & 3u;  // group in the sub-block
    uint r = b + 2u + (ib << 3);
    uint idx = vkq_u8(r + l);
    uint w = vkq_u32(r + 4u); // 4 x 7-bit sign indices, 4-bit scale on top
    uint signs = uint(ksigns_iq2xs((w >> (7u * l)) & 127u));
    float db = (vkq_half(b) * (0.5 + float(w >> 28))) * 0.25;
    uint g0 = iq2xxs_grid(2u * idx);
    uint g1 = iq2xxs_grid(2u * idx + 1u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = db * float((g0 >> (8u * j)) & 0xFFu) * iq_sign(signs, j);
        v[j + 4u] = db * float((g1 >> (8u * j)) & 0xFFu) * iq_sign(signs, j + 4u);
    }
}
