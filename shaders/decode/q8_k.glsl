// Q8_K: y = d * q, d binary32 at offset 0, q an int8 at 4 + i.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 4 + VKQ_QK + VKQ_QK / 16 * 2 // d (binary32), qs, bsums (i16 per 16)
#error "q8_k.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Binary32 bits of P * 2^-S * 2^-149 (P > 0 or 0, result finite), rounded to nearest even once.
// Below 2^24 units of 2^-149 the bit pattern is the integer itself (subnormals and the lowest
// binade share one scale); above, normalise to 24 bits and let a rounding carry bump the exponent.
uint q8k_round_bits(uint P, int S) {
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

// d * q for |d| < 2^-119 (d and the result may be subnormal): done in integers because the
// device may flush denormal inputs and results. |d * q| < 2^-112, so no overflow.
float q8k_mul_tiny(uint db, int q) {
    uint ed = (db >> 23) & 0xFFu;
    uint md = (db & 0x7FFFFFu) | (ed != 0u ? 0x800000u : 0u);
    uint P = md * uint(abs(q)); // exact: < 2^31
    int S = 1 - int(max(ed, 1u)); // |d| = md * 2^(max(ed,1)-1) * 2^-149
    uint sign = (db & 0x80000000u) ^ (q < 0 ? 0x80000000u : 0u);
    return uintBitsToFloat(sign | q8k_round_bits(P, S));
}

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): d and 32 int8 per load; d multiplies the
// partial dot product once, so decode8's tiny-d path (run for every lane on a SIMD driver) is
// not needed: a product it would round to a subnormal only changes the output below the fp32
// accumulation's own resolution.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint d[1];
    VKQ_WORDS(d, b, 1u);
    VKQ_WORDS(t.q, b + 4u + (s << 5), 8u);
    t.scale[0] = uintBitsToFloat(d[0]);
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(int(t.q[2u * j + (e >> 2)] << (24u - 8u * (e & 3u))) >> 24);
}

void decode8(uint b, uint i0, out float v[8]) {
    uint db = vkq_u32(b);
    float d = uintBitsToFloat(db);
    // |d| >= 2^-119 and |q| >= 1 keep every nonzero product normal: a plain multiply is exact
    bool tiny = ((db >> 23) & 0xFFu) < 8u;
    uint q = vkq_u32(b + 4u + i0);
    uint q2 = vkq_u32(b + 8u + i0);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        int a = int(q << (24u - 8u * j)) >> 24;
        int a2 = int(q2 << (24u - 8u * j)) >> 24;
        v[j] = tiny ? q8k_mul_tiny(db, a) : d * float(a);
        v[j + 4u] = tiny ? q8k_mul_tiny(db, a2) : d * float(a2);
    }
}
