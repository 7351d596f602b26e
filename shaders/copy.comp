// Plain copy kernel: the reference the bench measures the device's copy bandwidth with (16
// bytes per invocation, coalesced). Not type-specific: compiled once.
#version 450
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 dst[]; };
layout(push_constant) uniform Params { uint src_base, dst_base, count, row; } p;

void main() {
    uint i = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x < p.row && i < p.count) dst[p.dst_base + i] = src[p.src_base + i];
}
