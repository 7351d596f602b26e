// MXFP4: y = kvalues_mxfp4(c) * 2^(e-128), c E2M1, e E8M0.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != 1 + VKQ_QK / 2 // e, qs
#error "mxfp4.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/kvalues_mxfp4.glsl"

// k * 2^(e-128) for e <= 1, where E8M0_HALF(e) is a binary32 subnormal: built from integer bits so
// that devices flushing denormals still match (docs/FORMATS.md 1.3.3, 1.4).
float mxfp4_tiny(int k, uint e) {
    uint n = uint(abs(k)) << (e + 21u); // |y| = n * 2^-149, n < 2^26
    int p = findMSB(n);
    // below 2^24 the bits of n * 2^-149 are n itself (subnormal or lowest binade); above, n has at
    // least two trailing zeros, so normalising by p - 23 drops no bits
    uint bits = p < 24 ? n : (uint(p - 23) << 23) + (n >> uint(p - 23));
    return uintBitsToFloat((k < 0 ? 0x80000000u : 0u) | bits);
}

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 6 word reads; the
// scale 2^(e-128) multiplies the partial dot product once, built from bits for every e (e <= 1
// gives a binary32 subnormal, which a device flushing denormals treats as 0 there, as it would
// each subnormal product in an element-wise dot).
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[5];
    VKQ_WORDS(u, b, 5u);
    uint e = u[0] & 0xFFu;
    t.scale[0] = uintBitsToFloat(e >= 2u ? (e - 1u) << 23 : 0x200000u << e);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) t.q[i] = (u[i] >> 8) | (u[i + 1u] << 24);
}

// Group j: qs bytes 8(j%2).., low nibbles for j < 2, high for j >= 2.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 1) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(kvalues_mxfp4((t.q[((j & 1u) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) &
                                   0xFu));
}

void decode8(uint b, uint i0, out float v[8]) {
    uint e = vkq_u8(b);
    // Q4_0 nibble layout with qs at offset 1
    uint q = vkq_u32(b + 1u + (i0 & 15u));
    uint q2 = vkq_u32(b + 5u + (i0 & 15u));
    uint sh = i0 < 16u ? 0u : 4u;
    if (e >= 2u) {
        // 2^(e-128) is normal; e = 255 gives 2^127, not NaN. Code 8 is integer 0: +0.0.
        float s = uintBitsToFloat((e - 1u) << 23);
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            v[j] = float(kvalues_mxfp4((q >> (8u * j + sh)) & 0xFu)) * s;
            v[j + 4u] = float(kvalues_mxfp4((q2 >> (8u * j + sh)) & 0xFu)) * s;
        }
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            v[j] = mxfp4_tiny(kvalues_mxfp4((q >> (8u * j + sh)) & 0xFu), e);
            v[j + 4u] = mxfp4_tiny(kvalues_mxfp4((q2 >> (8u * j + sh)) & 0xFu), e);
        }
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// E2M1 values doubled to integers (-12..12), a = 2^(e-128).
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint e = vkq_u8(b);
    a = e >= 2u ? uintBitsToFloat((e - 1u) << 23) : mxfp4_tiny(1, e);
    c = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint n = vkq_u32(b + 1u + 4u * j) >> (4u * u);
        q[j] = 0u;
        [[unroll]] for (uint l = 0u; l < 4u; ++l) q[j] |= uint(kvalues_mxfp4((n >> (8u * l)) & 0xFu) & 0xFF) << (8u * l);
    }
}
#endif
