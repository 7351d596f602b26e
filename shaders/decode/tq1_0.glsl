// TQ1_0: y = (t - 1) * d, t a base-3 digit of a byte.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != (VKQ_QK - VKQ_QK / 16) / 5 + VKQ_QK / 64 + 2 // qs (5 trits a byte), qh (4 trits a byte, 16 elements), d
#error "tq1_0.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/pow3_tq1_0.glsl"

// Digit n of byte x: multiply by 3^n, keep the uint8 wrap (docs/FORMATS.md 6.4), take the top trit.
uint tq1_trit(uint x, uint p) { return (((x * p) & 0xFFu) * 3u) >> 8; }

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 14 or 15 word reads;
// with the 32 groups unrolled every byte position and digit is a constant.
#define VKQ_MV_SB 256u
struct vkq_mv_sb {
    float scale[1];
    uint u[13];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[14];
    VKQ_WORDS(u, b, 14u);
    [[unroll]] for (uint i = 0u; i < 13u; ++i) t.u[i] = u[i];
    t.scale[0] = vkq_half_bits(u[13] & 0xFFFFu);
}

uint tq1_mv_byte(vkq_mv_sb t, uint o) { return (t.u[o >> 2] >> (8u * (o & 3u))) & 0xFFu; }

// Group j = elements 8j..8j+7, placed as decode8 places them.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    const uint p3[6] = uint[6](1u, 3u, 9u, 27u, 81u, 243u);
    uint i0 = 8u * j;
    [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        uint o, n;
        if (i0 < 160u) {
            o = (i0 & 31u) + e; n = i0 >> 5;
        } else if (i0 < 240u) {
            o = 32u + ((i0 - 160u) & 15u) + e; n = (i0 - 160u) >> 4;
        } else {
            o = 48u + (e & 3u); n = ((i0 - 240u) >> 2) + (e >> 2);
        }
        v[e] = float(int(tq1_trit(tq1_mv_byte(t, o), p3[n])) - 1);
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    float d = vkq_half(b + 52u);
    // (byte offset, digit) of elements 0..3 and 4..7 of the group; in the qh region (i >= 240) the
    // 4 bytes are reused with the next digit after every 4 elements.
    uint o1, o2, n1, n2;
    if (i0 < 160u) {
        o1 = i0 & 31u; o2 = o1 + 4u; n1 = i0 >> 5; n2 = n1;
    } else if (i0 < 240u) {
        uint r = i0 - 160u;
        o1 = 32u + (r & 15u); o2 = o1 + 4u; n1 = r >> 4; n2 = n1;
    } else {
        uint r = i0 - 240u;
        o1 = 48u; o2 = 48u; n1 = r >> 2; n2 = n1 + 1u;
    }
    uint q = vkq_u32(b + o1);
    uint q2 = vkq_u32(b + o2);
    uint p1 = uint(pow3_tq1_0(n1));
    uint p2 = uint(pow3_tq1_0(n2));
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float(int(tq1_trit((q >> (8u * j)) & 0xFFu, p1)) - 1) * d;
        v[j + 4u] = float(int(tq1_trit((q2 >> (8u * j)) & 0xFFu, p2)) - 1) * d;
    }
}
