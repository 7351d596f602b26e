// NF4 (vkquant's own, id 256): y = nf4[c] * absmax (binary32).
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 4 + VKQ_QK / 2 // absmax (binary32), qs
#error "nf4.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Layout: binary32 absmax at offset 0, qs[32] at 4; element i < 32 is the low nibble of qs[i],
// i >= 32 the high nibble of qs[i-32] (ggml's nibble order, not bitsandbytes'). The table is
// bitsandbytes' nf4 code book as exact binary32 bits (docs/FORMATS.md 12).
const uint nf4_bits[16] = uint[16](
    0xBF800000u, 0xBF3239B1u, 0xBF066B30u, 0xBECA32A0u, 0xBE91A24Du, 0xBE3D353Fu, 0xBDBA7871u,
    0x00000000u, 0x3DA2FAFFu, 0x3E24CAE3u, 0x3E7C04DDu, 0x3EAD033Au, 0x3EE1A4B8u, 0x3F1007ABu,
    0x3F3913B3u, 0x3F800000u);

// Binary32 bits of P * 2^-S * 2^-149 (result finite), rounded to nearest even once. Below 2^24
// units of 2^-149 the bit pattern is the integer itself; above, normalise to 24 bits and let a
// rounding carry bump the exponent.
uint nf4_round_bits(uint P, int S) {
    if (P == 0u) return 0u; // also keeps the shifts below 32
    int r = max(findMSB(P) - 23, S);
    uint m;
    if (r <= 0) {
        m = P << uint(-r);
    } else {
        m = P >> uint(r);
        uint rem = P & ((1u << uint(r)) - 1u);
        uint half_ = 1u << uint(r - 1);
        if (rem > half_ || (rem == half_ && (m & 1u) != 0u)) m++;
    }
    return (uint(r - S) << 23) + m;
}

// absmax * nf4 for |absmax| < 2^-122, where the result may be subnormal and the device may flush
// denormals: the exact 48-bit product of the significands, rounded once with integers.
float nf4_mul_tiny(uint a, uint nb) {
    uint ea = (a >> 23) & 0xFFu;
    uint ma = (a & 0x7FFFFFu) | (ea != 0u ? 0x800000u : 0u);
    uint eb = (nb >> 23) & 0xFFu;
    uint mb = (nb & 0x7FFFFFu) | (eb != 0u ? 0x800000u : 0u); // nf4 values are normal or +0
    uint hi, lo;
    umulExtended(ma, mb, hi, lo);
    // keep the top 32 of the 48 bits with a sticky bit: S >= 4 below, so at least 20 bits are
    // dropped and the sticky bit never reaches the rounding bit
    uint P = (hi << 16) | (lo >> 16) | ((lo & 0xFFFFu) != 0u ? 1u : 0u);
    int S = 135 - int(max(ea, 1u)) - int(eb); // |y| = ma*mb * 2^(max(ea,1) + eb - 151) * 2^-149
    return uintBitsToFloat(((a ^ nb) & 0x80000000u) | nf4_round_bits(P, S));
}

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 10 word reads;
// absmax multiplies the partial dot product once, so the tiny-absmax path of decode8 (which a
// SIMD driver runs for every lane) is not needed: a product that decode8 would round to a
// subnormal only changes the output below the fp32 accumulation's own resolution.
#define VKQ_MV_SB 64u
struct vkq_mv_sb {
    float scale[1];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[9];
    VKQ_WORDS(u, b, 9u);
    t.scale[0] = uintBitsToFloat(u[0]);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) t.q[i] = u[i + 1u];
}

// Group j: qs bytes 8(j%4).., low nibbles for j < 4, high for j >= 4.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 2) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = uintBitsToFloat(nf4_bits[(t.q[((j & 3u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) &
                                        0xFu]);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint ab = vkq_u32(b);
    float absmax = uintBitsToFloat(ab);
    // |nf4| >= 2^-4 for nonzero codes: |absmax| >= 2^-122 keeps every product normal
    bool tiny = ((ab >> 23) & 0xFFu) < 5u;
    uint q = vkq_u32(b + 4u + (i0 & 31u));
    uint q2 = vkq_u32(b + 8u + (i0 & 31u));
    uint sh = i0 < 32u ? 0u : 4u;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint c = nf4_bits[(q >> (8u * j + sh)) & 0xFu];
        uint c2 = nf4_bits[(q2 >> (8u * j + sh)) & 0xFu];
        v[j] = tiny ? nf4_mul_tiny(ab, c) : uintBitsToFloat(c) * absmax;
        v[j + 4u] = tiny ? nf4_mul_tiny(ab, c2) : uintBitsToFloat(c2) * absmax;
    }
}
