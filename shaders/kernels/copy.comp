// Plain copy kernel: the reference the bench measures the device's copy bandwidth with (16
// bytes per invocation, coalesced). Not type-specific: compiled once. Reads through the texel
// binding when the profile asks for it (see common.glsl), like the real kernels.
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 15) const uint VKQ_TEXEL = 0;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 dst[]; };
layout(binding = 4) uniform usamplerBuffer src_texel; // R32: 4 texels per uvec4
layout(push_constant) uniform Params { uint src_base, dst_base, count, row; } p;

void main() {
    uint i = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || i >= p.count) return;
    uvec4 v;
    if (VKQ_TEXEL != 0u) {
        int t = int(4u * (p.src_base + i));
        v = uvec4(texelFetch(src_texel, t).x, texelFetch(src_texel, t + 1).x, texelFetch(src_texel, t + 2).x,
                  texelFetch(src_texel, t + 3).x);
    } else {
        v = src[p.src_base + i];
    }
    dst[p.dst_base + i] = v;
}
