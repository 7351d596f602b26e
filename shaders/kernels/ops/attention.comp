// Attention over one layer's KV cache, compiled once per KV cache type (the type's decoder reads
// binding 0, which holds the K and V rows; Q is binding 1, the output binding 2).
//
// One workgroup of 64 per (query head, token). Keys are taken 64 at a time: each invocation
// scores one key (q.k over head_dim_k, K decoded 8 elements at a time), the tile's maximum and
// sum go through shared memory (no subgroup operations: correct for any subgroup size), and the
// running maximum m and sum l are rescaled as in online softmax, all fp32. For the weighted sum
// of V, invocations own 8 output dimensions each; when head_dim_v / 8 < 64 the spare invocations
// take every n_split-th key of the tile, and the partial sums are added at the end.
#extension GL_GOOGLE_include_directive : require
#include "kernels/ops/tanh.glsl"
layout(local_size_x = 64) in;

layout(std430, binding = 1) readonly buffer Q { float q[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Params {
    uint q_base, o_base;          // word offsets inside bindings 1 and 2
    uint k_base, v_base;          // byte offsets of position 0's K and V rows inside binding 0
    uint k_row_bytes, v_row_bytes;
    uint pos0, t0;                // t0: first token of this dispatch
    uint n_head, group;           // group = n_head / n_head_kv
    uint hdk, hdv;                // multiples of 8 and of QK, at most 256
    uint window;                  // 0: none
    float scale, softcap;         // softcap 0: none
} p;

#define MAX_HD 256u
#define NEG_BIG -3.0e38 // below any score; avoids inf arithmetic (drivers may assume no inf)

shared float qs[MAX_HD];
shared float red[64];
shared float pw[64];
shared float part[64 * 8];

// 8 elements of a cache row at byte rb, from element e0 (a multiple of 8).
void dec8(uint rb, uint e0, out float v[8]) {
#ifdef VKQ_ELEMENTWISE
    [[unroll]] for (uint j = 0u; j < 8u; ++j) v[j] = decode1(rb + (e0 + j) * BLOCK_BYTES);
#else
    decode8(rb + e0 / QK * BLOCK_BYTES, e0 % QK, v);
#endif
}

void main() {
    uint h = gl_WorkGroupID.x, t = p.t0 + gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    uint kvh = h / p.group;
    uint qp = p.pos0 + t;
    uint lo = p.window != 0u && qp + 1u > p.window ? qp + 1u - p.window : 0u;
    uint qoff = p.q_base + (t * p.n_head + h) * p.hdk;
    for (uint i = lid; i < p.hdk; i += 64u) qs[i] = q[qoff + i];
    barrier();

    uint k_head = p.k_base + kvh * (p.hdk / QK) * BLOCK_BYTES;
    uint v_head = p.v_base + kvh * (p.hdv / QK) * BLOCK_BYTES;
    uint groups = p.hdv / 8u;
    uint n_split = 64u / groups;
    uint g = lid % groups, split = lid / groups;
    bool owns_dims = split < n_split;

    float acc[8];
    [[unroll]] for (uint j = 0u; j < 8u; ++j) acc[j] = 0.0;
    float m = NEG_BIG, l = 0.0;
    for (uint p0 = lo; p0 <= qp; p0 += 64u) {
        uint kp = p0 + lid;
        bool valid = kp <= qp;
        float s = NEG_BIG;
        if (valid) {
            uint rb = k_head + kp * p.k_row_bytes;
            float d = 0.0;
            for (uint e = 0u; e < p.hdk; e += 8u) {
                float v[8];
                dec8(rb, e, v);
                [[unroll]] for (uint j = 0u; j < 8u; ++j) d += qs[e + j] * v[j];
            }
            s = d * p.scale;
            if (p.softcap > 0.0) s = p.softcap * vkq_tanh(s / p.softcap);
        }
        red[lid] = s;
        barrier();
        for (uint st = 32u; st > 0u; st >>= 1) {
            if (lid < st) red[lid] = max(red[lid], red[lid + st]);
            barrier();
        }
        float m_new = max(m, red[0]);
        barrier(); // every invocation has read red[0]
        float pj = valid ? exp(s - m_new) : 0.0;
        pw[lid] = pj;
        red[lid] = pj;
        barrier();
        for (uint st = 32u; st > 0u; st >>= 1) {
            if (lid < st) red[lid] += red[lid + st];
            barrier();
        }
        float corr = exp(m - m_new);
        l = l * corr + red[0];
        m = m_new;
        [[unroll]] for (uint j = 0u; j < 8u; ++j) acc[j] *= corr;
        if (owns_dims) {
            for (uint j = split; j < 64u && p0 + j <= qp; j += n_split) {
                float v[8];
                dec8(v_head + (p0 + j) * p.v_row_bytes, 8u * g, v);
                float w = pw[j];
                [[unroll]] for (uint e = 0u; e < 8u; ++e) acc[e] += w * v[e];
            }
        }
        barrier(); // pw and red are rewritten by the next tile
    }
    if (owns_dims) {
        [[unroll]] for (uint j = 0u; j < 8u; ++j) part[lid * 8u + j] = acc[j];
    }
    barrier();
    if (lid < groups) {
        float inv = 1.0 / l;
        uint ob = p.o_base + (t * p.n_head + h) * p.hdv + 8u * lid;
        [[unroll]] for (uint j = 0u; j < 8u; ++j) {
            float sum = 0.0;
            for (uint sp = 0u; sp < n_split; ++sp) sum += part[(sp * groups + lid) * 8u + j];
            o[ob + j] = sum * inv;
        }
    }
}
