// IQ1_M: 256 elems, 56 bytes (1.75 bpw): y = (d*(2s+1)) * (g + delta), d fp16 split over scales.
#define QK 256u
#define BLOCK_BYTES 56u

#include "../tables/iq1s_grid_gpu.glsl"

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    uint l = (i0 >> 3) & 3u;
    // scale words w0..w3 at 48: bits 12-15 of w_k are bits 4k..4k+3 of the fp16 super-scale
    uint sc01 = vkq_u32(b + 48u);
    uint sc23 = vkq_u32(b + 52u);
    uint dbits = ((sc01 >> 12) & 0xFu) | ((sc01 >> 24) & 0xF0u)
               | ((sc23 >> 4) & 0xF00u) | ((sc23 >> 16) & 0xF000u);
    uint w = ((ib < 4u ? sc01 : sc23) >> ((ib & 2u) << 3)) & 0xFFFFu; // w_{ib/2}
    // 3-bit scale at bit 6*(ib%2): groups 0-1 first, groups 2-3 three bits up
    uint s = (w >> (6u * (ib & 1u) + 3u * (l >> 1))) & 7u;
    float dl = vkq_half_bits(dbits) * float(2u * s + 1u);
    uint t = (vkq_u8(b + 32u + (i0 >> 4)) >> ((l & 1u) << 2)) & 0xFu; // byte 2*ib + l/2, nibble l%2
    uint idx = vkq_u8(b + (i0 >> 3)) | ((t & 7u) << 8);
    float delta = (t & 8u) != 0u ? -0.125 : 0.125;
    uint g = iq1s_grid_gpu(idx);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * (float(int((g >> (8u * j)) & 0xFu) - 1) + delta);
        v[j + 4u] = dl * (float(int((g >> (8u * j + 4u)) & 0xFu) - 1) + delta);
    }
}
