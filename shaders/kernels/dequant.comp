// Dequantize kernel, compiled once per type: the per-type decode comes from
// shaders/decode/<family>.glsl, included by the generated variant wrapper before this file.
//
// One invocation decodes one group of 8 consecutive elements (every block size is a multiple
// of 8; the element-wise types F32/F16/BF16 decode 8 elements one by one) and writes them as
// f32 bits or as 4 words of packed f16 pairs. The grid is 2-D so very long tensors fit under
// maxComputeWorkGroupCount[0].
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
    uint src_base;  // byte offset of the first block inside the weight binding
    uint dst_base;  // word offset of the first output inside the output binding
    uint n_groups;  // ceil(n_elems / 8)
    uint n_elems;
    uint out_f16;   // 0: f32 output, 1: packed f16 output
    uint row_groups; // groups per grid row (x extent * workgroup size)
} p;

layout(std430, binding = 1) writeonly buffer Dst { uint dst[]; };

void main() {
    uint g = gl_GlobalInvocationID.y * p.row_groups + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row_groups || g >= p.n_groups) return;
    float v[8];
#ifdef VKQ_ELEMENTWISE
    [[unroll]] for (uint j = 0u; j < 8u; ++j) {
        uint e = g * 8u + j;
        v[j] = e < p.n_elems ? decode1(p.src_base + e * BLOCK_BYTES) : 0.0;
    }
#else
    const uint groups_per_block = QK / 8u;
    uint blk = g / groups_per_block;
    decode8(p.src_base + blk * BLOCK_BYTES, (g % groups_per_block) * 8u, v);
#endif
    uint e0 = g * 8u;
    if (p.out_f16 == 0u) {
        [[unroll]] for (uint j = 0u; j < 8u; ++j)
            if (e0 + j < p.n_elems) dst[p.dst_base + e0 + j] = floatBitsToUint(v[j]);
    } else {
        [[unroll]] for (uint j = 0u; j < 8u; j += 2u) {
            if (e0 + j >= p.n_elems) break;
            uint lo = vkq_f32_to_half_bits(v[j]);
            uint hi = e0 + j + 1u < p.n_elems ? vkq_f32_to_half_bits(v[j + 1u]) : 0u;
            dst[p.dst_base + (e0 + j) / 2u] = lo | (hi << 16);
        }
    }
}
