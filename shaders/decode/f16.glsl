// F16: element-wise: IEEE binary16 -> binary32, exact, converted with integers.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_QK != 1 || VKQ_BLOCK_BYTES != 2 // element-wise binary16
#error "f16.glsl: block layout disagrees with include/vkquant/types.def"
#endif
#define VKQ_ELEMENTWISE 1

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): 32 elements from 16 word reads, each
// converted without a branch. Still exact without float arithmetic on f16 subnormals: those are
// m * 2^-24, a normal binary32 product of an integer and a power of two.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint w[16];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    VKQ_WORDS(t.w, b, 16u);
    t.scale[0] = 1.0;
}

float f16_mv(uint h) {
    uint a = h & 0x7FFFu;
    // normal: rebias the exponent by 112; inf/NaN (a >= 0x7C00): by 224, to exponent 255
    float n = uintBitsToFloat((a << 13) + (a >= 0x7C00u ? 0x70000000u : 0x38000000u));
    float v = a < 0x400u ? float(a) * 5.9604644775390625e-8 : n; // 2^-24
    return uintBitsToFloat(floatBitsToUint(v) | ((h & 0x8000u) << 16));
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 4u; ++e) {
        uint w = t.w[4u * j + e];
        v[2u * e] = f16_mv(w & 0xFFFFu);
        v[2u * e + 1u] = f16_mv(w >> 16);
    }
}

// vkq_half, not unpackHalf2x16: the hardware conversion may flush f16 subnormals (docs/FORMATS.md 14).
// Element-wise data starts at a multiple of the element size (the host checks): one word read.
float decode1(uint b) { return vkq_half_bits(vkq_u16_even(b)); }
