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
