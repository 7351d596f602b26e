// Rotary position embedding in place: one invocation per rotated pair (token, head, i < n_rot/2).
// theta = pos * inv_freq[i] in fp32, then reduced to [-pi, pi] before sin/cos: GPU sin/cos are
// only accurate on a small range (Vulkan promises 2^-11 absolute inside [-pi, pi], nothing
// outside), and positions reach 10^5. The reduction subtracts k * 2pi in three parts whose
// products with k are exact for k < 2^12 (Cody-Waite); `precise` keeps the order.
#version 450
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
    precise float theta = float(p.pos0 + t) * inv_freq[p.f_base + i];
    precise float k = floor(theta * 0.15915494309189535 + 0.5);
    precise float r = ((theta - k * 6.28125) - k * 1.9350051879882812e-3) - k * 3.0199159819567e-7;
    float c = cos(r), s = sin(r);
    float x0 = x[i0], x1 = x[i1];
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
}
