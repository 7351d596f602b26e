// F32: element-wise; a bit copy (no float arithmetic, so subnormals survive FTZ).
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_QK != 1 || VKQ_BLOCK_BYTES != 4 // element-wise binary32
#error "f32.glsl: block layout disagrees with include/vkquant/types.def"
#endif
#define VKQ_ELEMENTWISE 1

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): element-wise data starts on a word, so
// the words are read as they are.
#define VKQ_MV_SB 16u
struct vkq_mv_sb {
    float scale[1];
    uint w[VKQ_MV_SB];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    [[unroll]] for (uint i = 0u; i < VKQ_MV_SB; ++i) t.w[i] = vkq_word((b >> 2) + i);
    t.scale[0] = 1.0;
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    [[unroll]] for (uint e = 0u; e < 8u; ++e) v[e] = uintBitsToFloat(t.w[8u * j + e]);
}

// Element-wise data starts at a multiple of the element size (the host checks), so one word.
float decode1(uint b) { return uintBitsToFloat(vkq_word(b >> 2)); }
