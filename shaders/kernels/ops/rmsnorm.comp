// RMSNorm of rows: v = x / sqrt(mean(x^2) + eps) * w (w optional). One workgroup per row; the
// sum of squares in fp32, per-invocation partial sums reduced through shared memory (no
// subgroup operations: correct for any subgroup size). out may alias x: each invocation reads
// an element before it writes the same element, and all reads of the sum come before any write.
//
// Two fusions, each saving a dispatch (a fixed ~50 us on lavapipe, bench/RESULTS.md) and an
// activation round trip:
// - accumulate: out += v (a post-norm added to the residual stream, Gemma 3); out then must not
//   alias x;
// - rope (half_rot > 0): rows are (token, head) of head_dim = n elements and v is rotated as
//   rope.comp rotates it (the per-head Q/K norm of Qwen 3 and Gemma 3 followed by RoPE). Each
//   pair belongs to one invocation, which reads both elements before writing them.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kernels/ops/rope_angle.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(std430, binding = 3) readonly buffer F { float inv_freq[]; };
layout(push_constant) uniform Params {
    uint x_base, w_base, o_base; // word offsets inside the bindings
    uint n, rows, has_w;
    float eps;
    uint accumulate;
    uint f_base, n_heads, half_rot, pos0, neox; // rope; half_rot = 0: none
} p;

shared float red[64];

float scaled(uint xb, uint i, float inv) {
    float v = x[xb + i] * inv;
    return p.has_w != 0u ? v * w[p.w_base + i] : v;
}

void main() {
    uint r = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (r >= p.rows) return; // the whole workgroup: barriers stay in uniform control flow
    uint lid = gl_LocalInvocationID.x;
    uint xb = p.x_base + r * p.n, ob = p.o_base + r * p.n;
    float s = 0.0;
    for (uint i = lid; i < p.n; i += 64u) {
        float v = x[xb + i];
        s += v * v;
    }
    red[lid] = s;
    barrier();
    for (uint h = 32u; h > 0u; h >>= 1) {
        if (lid < h) red[lid] += red[lid + h];
        barrier();
    }
    float inv = 1.0 / sqrt(red[0] / float(p.n) + p.eps);
    uint first = 0u; // elements below are rotated pairs
    if (p.half_rot != 0u) {
        float pos = float(p.pos0 + r / p.n_heads);
        for (uint i = lid; i < p.half_rot; i += 64u) {
            uint i0 = p.neox != 0u ? i : 2u * i;
            uint i1 = p.neox != 0u ? i + p.half_rot : 2u * i + 1u;
            vec2 cs = vkq_rope_cos_sin(pos, inv_freq[p.f_base + i]);
            float x0 = scaled(xb, i0, inv), x1 = scaled(xb, i1, inv);
            o[ob + i0] = x0 * cs.x - x1 * cs.y;
            o[ob + i1] = x0 * cs.y + x1 * cs.x;
        }
        first = 2u * p.half_rot;
    }
    for (uint i = first + lid; i < p.n; i += 64u) {
        float v = scaled(xb, i, inv);
        o[ob + i] = p.accumulate != 0u ? o[ob + i] + v : v;
    }
}
