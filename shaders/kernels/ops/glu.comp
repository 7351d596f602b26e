// Gated linear unit: out = act(gate) * up, act SiLU or GELU (tanh form). One invocation per
// element; out may alias gate or up (each invocation reads its element before writing it).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kernels/ops/tanh.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint g_base, u_base, o_base; // word offsets inside the bindings
    uint n, kind;                // kind: 0 SiLU, 1 GELU(tanh)
    uint row;                    // invocations per grid row
} p;

void main() {
    uint i = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || i >= p.n) return;
    float x = g[p.g_base + i];
    float a;
    if (p.kind == 0u) {
        // exp(-x) overflows to inf for x < -88: x / inf = -0, the limit; never NaN
        a = x / (1.0 + exp(-x));
    } else {
        a = 0.5 * x * (1.0 + vkq_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    }
    o[p.o_base + i] = a * u[p.u_base + i];
}
