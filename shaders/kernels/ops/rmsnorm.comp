// RMSNorm of rows: v = x / sqrt(mean(x^2) + eps) * w (w optional). One workgroup per row; the
// sum of squares in fp32, per-invocation partial sums reduced through shared memory (no
// subgroup operations: correct for any subgroup size). out may alias x: each invocation reads
// an element before it writes the same element, and all reads of the sum come before any write.
//
// Fusions, each saving a dispatch (a fixed ~50 us on lavapipe, bench/RESULTS.md) and an
// activation round trip:
// - accumulate: out += v (a post-norm added to the residual stream, Gemma 3), or out += x as is
//   with norm1 = 0 (a plain residual add); out then must not alias x;
// - norm2 (with accumulate): then aux = rmsnorm(out) * w2, the next block's input norm;
// - rope (half_rot > 0): rows are (token, head) of head_dim = n elements and v is rotated as
//   rope.comp rotates it (the per-head Q/K norm of Qwen 3 and Gemma 3 followed by RoPE). Each
//   pair belongs to one invocation, which reads both elements before writing them.
// Every element of a row is read and written by one invocation, so the second norm reads back
// what the same invocation wrote.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kernels/ops/rope_angle.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer O { float o[]; };
layout(std430, binding = 3) buffer Aux { float aux[]; };      // rope: inv_freq; norm2: its output
layout(std430, binding = 7) readonly buffer W2 { float w2[]; }; // norm2's weight
layout(push_constant) uniform Params {
    uint x_base, w_base, o_base; // word offsets inside the bindings
    uint n, rows, has_w;
    float eps;
    uint accumulate, norm1;
    uint f_base, n_heads, half_rot, pos0, neox; // rope; half_rot = 0: none
    uint norm2, w2_base, h_base;                // norm2 = 0: none
} p;

shared float red[64];

// The sum of s over the workgroup. Starts and ends with a barrier, so red[] may be reused.
float wg_sum(float s) {
    uint lid = gl_LocalInvocationID.x;
    barrier();
    red[lid] = s;
    barrier();
    for (uint h = 32u; h > 0u; h >>= 1) {
        if (lid < h) red[lid] += red[lid + h];
        barrier();
    }
    float t = red[0];
    barrier();
    return t;
}

float scaled(uint xb, uint i, float inv) {
    if (p.norm1 == 0u) return x[xb + i];
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
    float inv = 1.0 / sqrt(wg_sum(s) / float(p.n) + p.eps);
    uint first = 0u; // elements below are rotated pairs
    if (p.half_rot != 0u) {
        float pos = float(p.pos0 + r / p.n_heads);
        for (uint i = lid; i < p.half_rot; i += 64u) {
            uint i0 = p.neox != 0u ? i : 2u * i;
            uint i1 = p.neox != 0u ? i + p.half_rot : 2u * i + 1u;
            vec2 cs = vkq_rope_cos_sin(pos, aux[p.f_base + i]);
            float x0 = scaled(xb, i0, inv), x1 = scaled(xb, i1, inv);
            o[ob + i0] = x0 * cs.x - x1 * cs.y;
            o[ob + i1] = x0 * cs.y + x1 * cs.x;
        }
        first = 2u * p.half_rot;
    }
    float s2 = 0.0;
    for (uint i = first + lid; i < p.n; i += 64u) {
        float v = scaled(xb, i, inv);
        if (p.accumulate != 0u) v = o[ob + i] + v;
        o[ob + i] = v;
        s2 += v * v;
    }
    if (p.norm2 != 0u) {
        float inv2 = 1.0 / sqrt(wg_sum(s2) / float(p.n) + p.eps);
        uint hb = p.h_base + r * p.n;
        for (uint i = lid; i < p.n; i += 64u) aux[hb + i] = o[ob + i] * inv2 * w2[p.w2_base + i];
    }
}
