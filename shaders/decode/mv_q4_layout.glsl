// Mat-vec sub-block loader (shaders/mul_mat_vec.comp) shared by the types with Q4_0's block
// layout: fp16 d at byte 0, then 16 bytes whose low nibbles are elements 0-15 and high nibbles
// 16-31 (Q4_0, IQ4_NL). The whole 18-byte block comes in with 5 word reads at any alignment.
#define VKQ_MV_SB 32u
struct vkq_mv_sb {
    float scale[1];
    uint q[4];
};

void vkq_mv_load(uint b, uint s, out vkq_mv_sb t) {
    uint u[5];
    VKQ_WORDS(u, b, 5u);
    t.scale[0] = vkq_half_bits(u[0] & 0xFFFFu);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) t.q[i] = (u[i] >> 16) | (u[i + 1u] << 16);
}

// Nibble e of group j: qs bytes 8(j%2).., low nibbles for j < 2, high for j >= 2.
uint q4_layout_nibble(vkq_mv_sb t, uint j, uint e) {
    return (t.q[((j & 1u) << 1) + (e >> 2)] >> (8u * (e & 3u) + ((j >> 1) << 2))) & 0xFu;
}
