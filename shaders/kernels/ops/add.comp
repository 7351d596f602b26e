// out[r][i] = a[r][i] + b[r % b_rows][i]: residual add (b_rows = rows) or a bias broadcast
// (b_rows = 1). One invocation per element; out may alias a.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint a_base, b_base, o_base; // word offsets inside the bindings
    uint n, b_rows, total;       // total = rows * n
    uint row;                    // invocations per grid row
} p;

void main() {
    uint e = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || e >= p.total) return;
    uint r = e / p.n, i = e % p.n;
    o[p.o_base + e] = a[p.a_base + e] + b[p.b_base + (r % p.b_rows) * p.n + i];
}
