// IQ1_S: 256 elems, 50 bytes (1.5625 bpw): y = (d*(2s+1)) * (g + delta), g in {-1,0,1}, delta 1/8.
#define QK 256u
#define BLOCK_BYTES 50u

// iq1s_grid_gpu: the same rows as iq1s_grid, as g+1 in one nibble each (half the table size)
#include "../tables/iq1s_grid_gpu.glsl"

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    uint w = vkq_u16(b + 34u + (ib << 1)); // 4 x 3 high index bits, 3-bit scale, delta sign
    uint idx = vkq_u8(b + 2u + (i0 >> 3)) | (((w >> (3u * l)) & 7u) << 8);
    float dl = vkq_half(b) * float(2u * ((w >> 12) & 7u) + 1u);
    float delta = (w & 0x8000u) != 0u ? -0.125 : 0.125;
    uint g = iq1s_grid_gpu(idx); // element j < 4 in bits 8j..8j+3, j >= 4 in bits 8(j-4)+4..
    // g + delta is exact (+-0.875, +-0.125, +-1.125): the multiply by dl is the only rounding
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * (float(int((g >> (8u * j)) & 0xFu) - 1) + delta);
        v[j + 4u] = dl * (float(int((g >> (8u * j + 4u)) & 0xFu) - 1) + delta);
    }
}
