// Rotary position embedding in place: one invocation per rotated pair (token, head, i < n_rot/2);
// the angle as rope_angle.glsl computes it.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kernels/ops/rope_angle.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer F { float inv_freq[]; };
layout(push_constant) uniform Params {
    uint x_base, f_base; // word offsets inside the bindings
    uint n_pairs;        // n_tokens * n_heads * n_rot / 2
    uint n_heads, head_dim, half_rot, pos0, neox;
    uint row;            // invocations per grid row
} p;

void main() {
    uint idx = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || idx >= p.n_pairs) return;
    uint i = idx % p.half_rot;
    uint th = idx / p.half_rot; // token * n_heads + head
    uint t = th / p.n_heads;
    uint base = p.x_base + th * p.head_dim;
    uint i0 = p.neox != 0u ? base + i : base + 2u * i;
    uint i1 = p.neox != 0u ? base + i + p.half_rot : base + 2u * i + 1u;
    vec2 cs = vkq_rope_cos_sin(float(p.pos0 + t), inv_freq[p.f_base + i]);
    float x0 = x[i0], x1 = x[i1];
    x[i0] = x0 * cs.x - x1 * cs.y;
    x[i1] = x0 * cs.y + x1 * cs.x;
}
