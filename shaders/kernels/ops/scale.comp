// x[i] *= s in place, one invocation per element.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Params {
    uint x_base, n; // word offset inside the binding, element count
    float s;
    uint row; // invocations per grid row
} p;

void main() {
    uint i = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || i >= p.n) return;
    x[p.x_base + i] *= p.s;
}
