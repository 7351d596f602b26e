// Bindings and parameters shared by the matmul kernels (mul_mat_vec.comp, mul_mm.comp).
// Y (m x n, column j at y[y_base + j*y_stride]) = W (m x k, ggml rows) * X (k x n, column j at
// x[x_base + j*x_stride]). All offsets are relative to the bound ranges, which the host picks
// so every index fits in 32 bits.
#ifndef VKQ_MATMUL_COMMON_GLSL
#define VKQ_MATMUL_COMMON_GLSL

layout(std430, binding = 1) readonly buffer Xb { float xs[]; };
layout(binding = 5) uniform samplerBuffer vkq_x_texel; // same bytes as Xb (see common.glsl)
layout(std430, binding = 2) writeonly buffer Yb { float ys[]; };

layout(push_constant) uniform Params {
    uint w_base;   // byte offset of row 0 in the weight binding
    uint w_stride; // bytes between rows
    uint x_base;
    uint x_stride;
    uint y_base;
    uint y_stride;
    uint m;        // rows in this dispatch
    uint k;
    uint n;        // columns in this dispatch
    uint wg_x;     // workgroups along x (the grid wraps into y beyond the device limit)
#ifdef VKQ_MUL_MAT_ID
    // Routed experts (mul_mat_vec_id.comp): workgroup z is the (token, slot) pair z.
    uint id_base;       // word offset of the int32 expert ids [pairs] in the X binding
    uint n_used;        // slots per token
    uint n_expert;
    uint expert_stride; // bytes between the experts' matrices
    uint x_per_pair;    // 1: X column per pair (down projection); 0: per token (gate, up)
#endif
} p;

float vkq_x(uint i) { return VKQ_TEXEL != 0u ? texelFetch(vkq_x_texel, int(i)).x : xs[i]; }

#ifdef VKQ_ELEMENTWISE
const uint VKQ_GPB = 1u; // element-wise types: a "group" is any 8 consecutive elements
#else
const uint VKQ_GPB = QK / 8u; // groups of 8 per block
#endif

// Elements g*8 .. g*8+7 of the row starting at byte `row`; elements at or past k read as 0
// (only element-wise types can have k % 8 != 0).
void vkq_decode_group(uint row, uint g, out float v[8]) {
#ifdef VKQ_ELEMENTWISE
    [[unroll]] for (uint j = 0u; j < 8u; ++j) {
        uint e = g * 8u + j;
        v[j] = e < p.k ? decode1(row + e * BLOCK_BYTES) : 0.0;
    }
#else
    decode8(row + (g / VKQ_GPB) * BLOCK_BYTES, (g % VKQ_GPB) * 8u, v);
#endif
}

#endif
