// The routed experts' outputs into the token's row: out[t][i] = sum over slots s (in slot
// order) of weight[t][s] * y[t * n_used + s][i]. One invocation per output element.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Wt { float wt[]; };
layout(std430, binding = 1) readonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint w_base, y_base, o_base; // word offsets inside the bindings
    uint n, n_used, total;       // total = n_tokens * n
    uint row;                    // invocations per grid row
} p;

void main() {
    uint e = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || e >= p.total) return;
    uint t = e / p.n, i = e % p.n;
    float s = 0.0;
    for (uint k = 0u; k < p.n_used; ++k) s += wt[p.w_base + t * p.n_used + k] * y[p.y_base + (t * p.n_used + k) * p.n + i];
    o[p.o_base + e] = s;
}
