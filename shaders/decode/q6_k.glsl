// Q6_K: 256 elems, 210 bytes (6.5625 bpw): y = (d*sc)*(q - 32), int8 sc per 16, q 6 bits.
#define QK 256u
#define BLOCK_BYTES 210u

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
