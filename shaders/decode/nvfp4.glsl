// NVFP4: y = kvalues_mxfp4(c) * UE4M3_HALF(d[i/16]), c E2M1.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != VKQ_QK / 16 + VKQ_QK / 2 // d (UE4M3 per 16), qs
#error "nvfp4.glsl: block layout disagrees with include/vkquant/types.def"
#endif

#include "../tables/kvalues_mxfp4.glsl"

// ggml_ue4m3_to_fp32: unsigned E4M3 (bias 7) times 0.5, bit 7 ignored, only 0x7F maps to +0
// (so 0xFF is 240). Built from bits: every nonzero result is a normal binary32 (>= 2^-10).
float nvfp4_ue4m3_half(uint x) {
    if (x == 0x7Fu) return 0.0;
    uint E = (x >> 3) & 0xFu;
    uint M = x & 7u;
    if (E != 0u) return uintBitsToFloat(((E + 119u) << 23) | (M << 20)); // (1 + M/8) * 2^(E-8)
    if (M == 0u) return 0.0;
    int p = findMSB(M); // M * 2^-10 = (M / 2^p) * 2^(p-10)
    return uintBitsToFloat((uint(p + 117) << 23) | ((M << uint(23 - p)) & 0x7FFFFFu));
}

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): the whole block in 9 or 10 word reads,
// one UE4M3 scale per 16 elements.
#define VKQ_MV_SB 64u
#define VKQ_MV_NSC 4u
struct vkq_mv_sb {
    float scale[4];
    uint q[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[9];
    VKQ_WORDS(u, b, 9u);
    [[unroll]] for (uint i = 0u; i < 4u; ++i)
        t.scale[i] = nvfp4_ue4m3_half((u[0] >> (8u * i)) & 0xFFu);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) t.q[i] = u[i + 1u];
}

// Group j: sub-block j/2's 8 bytes, low nibbles for even j, high for odd.
void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j & 1u) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e)
        v[e] = float(kvalues_mxfp4((t.q[((j >> 1) << 1) + (e >> 2)] >> (8u * (e & 3u) + sh)) &
                                   0xFu));
}

void decode8(uint b, uint i0, out float v[8]) {
    uint s = i0 >> 4;
    float d = nvfp4_ue4m3_half(vkq_u8(b + s));
    // sub-block s: 8 bytes at 4 + 8s, elements 0..7 in the low nibbles, 8..15 in the high nibbles
    uint q = vkq_u32(b + 4u + (s << 3));
    uint q2 = vkq_u32(b + 8u + (s << 3));
    uint sh = (i0 & 8u) >> 1;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = float(kvalues_mxfp4((q >> (8u * j + sh)) & 0xFu)) * d;
        v[j + 4u] = float(kvalues_mxfp4((q2 >> (8u * j + sh)) & 0xFu)) * d;
    }
}
