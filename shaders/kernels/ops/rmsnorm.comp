// RMSNorm of rows: out = x / sqrt(mean(x^2) + eps) * w (w optional). One workgroup per row; the
// sum of squares in fp32, per-invocation partial sums reduced through shared memory (no
// subgroup operations: correct for any subgroup size). out may alias x: each invocation reads
// an element before it writes the same element, and all reads of the sum come before any write.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint x_base, w_base, o_base; // word offsets inside the bindings
    uint n, rows, has_w;
    float eps;
} p;

shared float red[64];

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
    for (uint i = lid; i < p.n; i += 64u) {
        float v = x[xb + i] * inv;
        o[ob + i] = p.has_w != 0u ? v * w[p.w_base + i] : v;
    }
}
