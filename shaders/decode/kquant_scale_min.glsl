// The 6-bit scales and mins of Q4_K and Q5_K (docs/FORMATS.md 7.3, get_scale_min_k4): 12 bytes
// after d and dmin hold 8 (scale, min) pairs, sub-blocks 4..7 split over two places.
// Included by decode/q4_k.glsl and decode/q5_k.glsl, which share the layout.

// get_scale_min_k4 (docs/FORMATS.md 7.3) on the 12 scale bytes at s, sub-block j
void kq_scale_min(uint s, uint j, out uint sc, out uint mn) {
    if (j < 4u) {
        sc = vkq_u8(s + j) & 63u;
        mn = vkq_u8(s + j + 4u) & 63u;
    } else {
        uint x = vkq_u8(s + j + 4u);
        sc = (x & 0xFu) | ((vkq_u8(s + j - 4u) >> 6) << 4);
        mn = (x >> 4) | ((vkq_u8(s + j) >> 6) << 4);
    }
}

// get_scale_min_k4 for sub-blocks 2s, 2s+1 from the scale words S0..S2, branch-free in s
void kq_scale_min_pair(uint S0, uint S1, uint S2, uint s, uint dm, out float scale[2],
                       out float offset[2]) {
    float d = vkq_half_bits(dm & 0xFFFFu);
    float dmin = vkq_half_bits(dm >> 16);
    [[unroll]] for (uint i = 0u; i < 2u; ++i) {
        uint sh = 8u * (((s & 1u) << 1) + i); // byte (2s + i) % 4
        uint b0 = (S0 >> sh) & 0xFFu, b1 = (S1 >> sh) & 0xFFu, b2 = (S2 >> sh) & 0xFFu;
        uint sc = s < 2u ? b0 & 63u : (b2 & 0xFu) | ((b0 >> 6) << 4);
        uint mn = s < 2u ? b1 & 63u : (b2 >> 4) | ((b1 >> 6) << 4);
        scale[i] = d * float(sc);
        offset[i] = -(dmin * float(mn));
    }
}
