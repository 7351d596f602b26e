// BF16: element-wise: binary32 bits = h << 16.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_QK != 1 || VKQ_BLOCK_BYTES != 2 // element-wise bfloat16
#error "bf16.glsl: block layout disagrees with include/vkquant/types.def"
#endif
#define VKQ_ELEMENTWISE 1

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): 32 elements from 16 word reads.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint w[16];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    VKQ_WORDS(t.w, b, 16u);
    t.scale[0] = 1.0;
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 4u; ++e) {
        uint w = t.w[4u * j + e];
        v[2u * e] = uintBitsToFloat(w << 16);
        v[2u * e + 1u] = uintBitsToFloat(w & 0xFFFF0000u);
    }
}

// A pure bit operation: BF16 subnormals and NaN payloads survive devices that flush denormals.
// Element-wise data starts at a multiple of the element size (the host checks): one word read.
float decode1(uint b) { return uintBitsToFloat(vkq_u16_even(b) << 16); }
