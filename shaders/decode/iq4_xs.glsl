// IQ4_XS: 256 elems, 136 bytes (4.25 bpw): y = (d*(ls-32)) * kvalues_iq4nl(q), 6-bit ls per 32.
#define QK 256u
#define BLOCK_BYTES 136u

#include "../tables/kvalues_iq4nl.glsl"

void decode8(uint b, uint i0, out float v[8]) {
    uint ib = i0 >> 5;
    // low 4 bits: nibble ib%2 of byte 4 + ib/2; high 2 bits: bits 2ib, 2ib+1 of the u16 at 2
    uint ls = ((vkq_u8(b + 4u + (ib >> 1)) >> ((ib & 1u) << 2)) & 0xFu)
            | (((vkq_u16(b + 2u) >> (2u * ib)) & 3u) << 4);
    float dl = vkq_half(b) * float(int(ls) - 32);
    // 16 bytes per sub-block, Q4_0 nibble layout inside
    uint o = b + 8u + (ib << 4) + (i0 & 15u);
    uint sh = (i0 & 16u) >> 2;
    uint q = vkq_u32(o);
    uint q2 = vkq_u32(o + 4u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        v[j] = dl * float(kvalues_iq4nl((q >> (8u * j + sh)) & 0xFu));
        v[j + 4u] = dl * float(kvalues_iq4nl((q2 >> (8u * j + sh)) & 0xFu));
    }
}

#ifdef VKQ_INT8
// Elements 16u .. 16u+15 as a * q + c with q signed bytes, 4 per word (the int8 GEMM): the
// table values (-127..113), a = d * (ls - 32) of their 32-element sub-block.
void decode_i8x16(uint b, uint u, out uint q[4], out float a, out float c) {
    uint ib = u >> 1;
    uint ls = ((vkq_u8(b + 4u + (ib >> 1)) >> ((ib & 1u) << 2)) & 0xFu)
            | (((vkq_u16(b + 2u) >> (2u * ib)) & 3u) << 4);
    a = vkq_half(b) * float(int(ls) - 32);
    c = 0.0;
    uint o = b + 8u + (ib << 4), sh = (u & 1u) << 2;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint n = vkq_u32(o + 4u * j) >> sh;
        q[j] = 0u;
        [[unroll]] for (uint l = 0u; l < 4u; ++l) q[j] |= uint(kvalues_iq4nl((n >> (8u * l)) & 0xFu) & 0xFF) << (8u * l);
    }
}
#endif
