// Q6_K: y = (d*sc)*(q - 32), int8 sc per 16, q 6 bits.
// QK and BLOCK_BYTES come from include/vkquant/types.def; the layout here must add up.
#if VKQ_BLOCK_BYTES != VKQ_QK / 2 + VKQ_QK / 4 + VKQ_QK / 16 + 2 // ql, qh, scales (i8 per 16), d
#error "q6_k.glsl: block layout disagrees with include/vkquant/types.def"
#endif

// Mat-vec sub-block decoder (shaders/mul_mat_vec.comp): sub-block s holds quarters g = s%2 and
// g + 2 of half h = s/2, which share their ql and qh bytes, so each byte is read once. Groups
// 0-3 are quarter g, 4-7 quarter g + 2 (VKQ_MV_XPOS places them in X); one int8 scale per 16.
#define VKQ_MV_SB 64u
#define VKQ_MV_NSC 4u
#define VKQ_MV_XPOS(sb, j)                                                                     \
    (((sb) >> 2) * 256u + (((sb) & 3u) >> 1) * 128u + ((sb) & 1u) * 32u + ((j) >> 2) * 64u +     \
     ((j) & 3u) * 8u)
struct vkq_mv_sb {
    float scale[4];
    uint ql[8];
    uint qh[8];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint h = s >> 1, g = s & 1u;
    VKQ_WORDS(t.ql, b + (h << 6) + (g << 5), 8u);
    VKQ_WORDS(t.qh, b + 128u + (h << 5), 8u);
    // quarter g's 2 bits to bits 0-1 of each byte, quarter g + 2's to bits 4-5
    [[unroll]] for (uint i = 0u; i < 8u; ++i) t.qh[i] = t.qh[i] >> (g << 1);
    uint sw[2], dw[1];
    VKQ_WORDS(sw, b + 192u + (h << 3), 2u);
    VKQ_WORDS(dw, b + 208u, 1u);
    float d = vkq_half_bits(dw[0] & 0xFFFFu);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) // scale bytes 2g + i%2 of the quarter's word
        t.scale[i] = d * float(int(sw[i >> 1] << (24u - 8u * ((g << 1) + (i & 1u)))) >> 24);
}

void vkq_mv_group(vkq_mv_sb t, uint j, out float v[8]) {
    uint sh = (j >> 2) << 2;
    [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        uint w = ((j & 3u) << 1) + (e >> 2), bit = 8u * (e & 3u) + sh;
        uint a = ((t.ql[w] >> bit) & 0xFu) | (((t.qh[w] >> bit) & 3u) << 4);
        v[e] = float(int(a) - 32);
    }
}

void decode8(uint b, uint i0, out float v[8]) {
    float dl = vkq_half(b + 208u) * float(vkq_s8(b + 192u + (i0 >> 4)));
    uint h = i0 >> 7;         // 128-element half
    uint g = (i0 >> 5) & 3u;  // 32-element quarter within it
    uint l = i0 & 31u;
    // ql[64h + l] holds quarters 0 (low nibble) and 2 (high), ql[64h + 32 + l] quarters 1 and 3;
    // qh[32h + l] holds the high pairs of all four quarters, quarter g in bits 2g, 2g+1
    uint ol = b + (h << 6) + ((g & 1u) << 5) + l;
    uint sl = (g >> 1) << 2;
    uint oh = b + 128u + (h << 5) + l;
    uint shh = g << 1;
    uint ql = vkq_u32(ol);
    uint ql2 = vkq_u32(ol + 4u);
    uint qh = vkq_u32(oh);
    uint qh2 = vkq_u32(oh + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint a = ((ql >> (8u * j + sl)) & 0xFu) | (((qh >> (8u * j + shh)) & 3u) << 4);
        uint a2 = ((ql2 >> (8u * j + sl)) & 0xFu) | (((qh2 >> (8u * j + shh)) & 3u) << 4);
        v[j] = dl * float(int(a) - 32);
        v[j + 4u] = dl * float(int(a2) - 32);
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// 6-bit values (0..63) with the -32 folded into c; one int8 scale per 16 elements.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    a = vkq_half(b + 208u) * float(vkq_s8(b + 192u + u));
    c = -32.0 * a;
    uint i0 = u << 4;
    uint h = i0 >> 7, g = (i0 >> 5) & 3u, l = i0 & 31u;
    uint ol = b + (h << 6) + ((g & 1u) << 5) + l;
    uint oh = b + 128u + (h << 5) + l;
    uint sl = (g >> 1) << 2, shh = g << 1;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = ((vkq_u32(ol + 4u * j) >> sl) & 0x0F0F0F0Fu) | (((vkq_u32(oh + 4u * j) >> shh) & 0x03030303u) << 4);
}
#endif
