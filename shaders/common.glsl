// Shared helpers for every kernel: the read-only inputs (weights, lookup tables), unaligned
// little-endian reads from the weights, and exact scalar conversions in integer arithmetic.
//
// Blocks are not 4-byte aligned (Q4_0 is 18 bytes, MXFP4 17), so every weight read goes through
// these helpers, which assemble bytes from the surrounding 32-bit words. Buffers are allocated
// in whole words, so reading the word after the last byte of a field stays inside the binding.
//
// Each read-only input is bound twice, as a storage buffer and as a uniform texel buffer of the
// same bytes; the specialization constant VKQ_TEXEL picks one when the pipeline is created.
// Texel fetches are the fast path on CPU drivers: llvmpipe turns a storage-buffer load whose
// address varies per lane (or that sits inside a loop) into a scalar loop over the lanes, but a
// texel fetch into one vector gather. GPUs read either at full speed.
//
// Conversions avoid float arithmetic on purpose: llvmpipe and many GPUs run with denormals
// flushed (shaderDenormPreserveFloat32 = false), and FP16 subnormal scales, BF16/F32
// subnormals, MXFP4 e <= 1 and tiny Q8_K scales must still decode bit-exactly.
#ifndef VKQ_COMMON_GLSL
#define VKQ_COMMON_GLSL

#extension GL_EXT_control_flow_attributes : enable

layout(constant_id = 15) const uint VKQ_TEXEL = 0;
layout(std430, binding = 0) readonly buffer VkqWeights { uint vkq_w[]; };
layout(std430, binding = 3) readonly buffer VkqTables { uint vkq_tab[]; };
layout(binding = 4) uniform usamplerBuffer vkq_w_texel;
layout(binding = 6) uniform usamplerBuffer vkq_tab_texel;

uint vkq_word(uint i) { return VKQ_TEXEL != 0u ? texelFetch(vkq_w_texel, int(i)).x : vkq_w[i]; }
uint vkq_table_word(uint i) { return VKQ_TEXEL != 0u ? texelFetch(vkq_tab_texel, int(i)).x : vkq_tab[i]; }

uint vkq_u8(uint o) { return (vkq_word(o >> 2) >> ((o & 3u) << 3)) & 0xFFu; }

int vkq_s8(uint o) { return int(vkq_u8(o) << 24) >> 24; }

// Branch-free: SIMD CPU drivers execute both sides of a lane-varying branch, so a test for
// the aligned case would only add work. (hi << 1) << (31 - s) is hi << (32 - s) without the
// undefined shift by 32 when s = 0.
uint vkq_u32(uint o) {
    uint s = (o & 3u) << 3;
    return (vkq_word(o >> 2) >> s) | ((vkq_word((o >> 2) + 1u) << 1) << (31u - s));
}

uint vkq_u16(uint o) {
    uint s = (o & 3u) << 3;
    if (s <= 16u) return (vkq_word(o >> 2) >> s) & 0xFFFFu;
    return (vkq_word(o >> 2) >> 24) | ((vkq_word((o >> 2) + 1u) & 0xFFu) << 8);
}

// u[0..N-1] = the N little-endian words starting at byte o, any alignment: N+1 reads when o is
// unaligned, N when aligned (the last read then repeats a word, so nothing past the field is
// read), no branch. For decoders that take a whole block or sub-block at once.
#define VKQ_WORDS(u, o, N)                                                                      \
    {                                                                                          \
        uint s_ = ((o) & 3u) << 3, i_ = (o) >> 2;                                              \
        uint w_ = vkq_word(i_);                                                                \
        [[unroll]] for (uint j_ = 0u; j_ < (N); ++j_) {                                        \
            uint n_ = vkq_word(i_ + j_ + (j_ + 1u < (N) || s_ != 0u ? 1u : 0u));               \
            u[j_] = (w_ >> s_) | ((n_ << 1) << (31u - s_));                                    \
            w_ = n_;                                                                           \
        }                                                                                      \
    }

// The 4 bytes of g negated where bit e (e < 4) of s is set, as two's-complement bytes (read one
// back with int(w << (24 - 8e)) >> 24). Each byte must be 1..127: ~x + 1 then never carries into
// the next byte. For the IQ grids (bytes 1..62), whose signs ggml applies as a multiply by -1.0:
// negating the integer before the exact conversion gives the same float.
uint vkq_sign_bytes(uint g, uint s) {
    uint one = ((s & 0xFu) * 0x204081u) & 0x01010101u; // bit e -> bit 8e
    return (g ^ (one * 0xFFu)) + one;
}

// IEEE binary16 bits -> binary32, exact for every input (docs/FORMATS.md 1.3.1).
float vkq_half_bits(uint h) {
    uint s = (h & 0x8000u) << 16;
    uint e = (h >> 10) & 0x1Fu;
    uint m = h & 0x3FFu;
    if (e == 0u) {
        if (m == 0u) return uintBitsToFloat(s);
        int p = findMSB(m); // value = m * 2^-24 = 1.f * 2^(p-24)
        return uintBitsToFloat(s | (uint(p + 103) << 23) | ((m << uint(23 - p)) & 0x7FFFFFu));
    }
    if (e == 31u) return uintBitsToFloat(s | 0x7F800000u | (m << 13) | (m != 0u ? 0x400000u : 0u));
    return uintBitsToFloat(s | ((e + 112u) << 23) | (m << 13));
}

float vkq_half(uint o) { return vkq_half_bits(vkq_u16(o)); }

// A 16-bit field at an even offset never straddles a word: one read instead of vkq_u16's two
// (a SIMD CPU driver runs both sides of its branch).
uint vkq_u16_even(uint o) { return (vkq_word(o >> 2) >> ((o & 2u) << 3)) & 0xFFFFu; }

// binary32 -> binary16 bits, round to nearest even (used for f16 outputs).
uint vkq_f32_to_half_bits(float f) {
    uint x = floatBitsToUint(f);
    uint s = (x >> 16) & 0x8000u;
    uint e = (x >> 23) & 0xFFu;
    uint m = x & 0x7FFFFFu;
    if (e == 255u) return s | 0x7C00u | (m != 0u ? (0x200u | (m >> 13)) : 0u);
    int E = int(e) - 112;
    if (E >= 31) return s | 0x7C00u;
    if (E <= 0) {
        if (E < -10) return s;
        m |= 0x800000u;
        uint sh = uint(14 - E);
        uint r = m >> sh;
        uint rem = m & ((1u << sh) - 1u);
        uint hf = 1u << (sh - 1u);
        if (rem > hf || (rem == hf && (r & 1u) != 0u)) r++;
        return s | r;
    }
    uint r = (uint(E) << 10) | (m >> 13);
    uint rem = m & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u) != 0u)) r++; // a carry rounds up to inf
    return s | r;
}

#endif
