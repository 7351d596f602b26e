// Mat-vec for decode (n <= 8 columns): memory-bound, so the weights are read exactly once and
// decoded straight into the dot products, accumulated in fp32 for all n columns at once.
//
// Two layouts, chosen per device by a specialization constant:
// - LANES_ALONG_K (GPUs): a workgroup owns NUM_ROWS rows; its invocations stride over a row's
//   8-element groups so neighbouring lanes read neighbouring bytes (coalesced), then reduce
//   across the workgroup with subgroup adds (USE_SUBGROUP) or a shared-memory tree.
// - LANES_ALONG_ROWS (CPU drivers such as lavapipe, which run a subgroup as one SIMD register
//   and pay a gather for every lane-varying read): each invocation owns NUM_ROWS / WG whole
//   rows, so one fetch of each X element serves all of them and only the weight reads vary
//   per row. No reduction is needed.
// The reduction order is fixed either way, so results are the same bits run to run.
#include "matmul_common.glsl"
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_arithmetic : enable

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NUM_ROWS = 1;     // rows per workgroup
layout(constant_id = 2) const uint USE_SUBGROUP = 1;
layout(constant_id = 3) const uint LANES_ALONG_ROWS = 0;
// Columns: one pipeline per n (1..8), so no lane keeps accumulators it does not use and the
// X loads sit outside any branch (llvmpipe turns a load under a branch into a per-lane loop).
layout(constant_id = 4) const uint MAXC = 8;

shared float red[LANES_ALONG_ROWS != 0u ? 1u : gl_WorkGroupSize.x * NUM_ROWS * MAXC];

// acc[c] += dot(v, X[g*8 .. g*8+7, column c]) for a group entirely inside k.
void dot_group(float v[8], uint g, inout float acc[MAXC]) {
    uint xo = p.x_base + g * 8u;
    [[unroll]] for (uint c = 0u; c < MAXC; ++c) {
        uint o = xo + c * p.x_stride;
        float s = acc[c];
        [[unroll]] for (uint j = 0u; j < 8u; ++j) s = fma(v[j], vkq_x(o + j), s);
        acc[c] = s;
    }
}

// The same for the last, partial group (element-wise types only: k % 8 != 0).
void dot_tail(float v[8], uint g, inout float acc[MAXC]) {
    uint xo = p.x_base + g * 8u;
    [[unroll]] for (uint c = 0u; c < MAXC; ++c) {
        uint o = xo + c * p.x_stride;
        float s = acc[c];
        for (uint j = 0u; g * 8u + j < p.k; ++j) s = fma(v[j], vkq_x(o + j), s);
        acc[c] = s;
    }
}

void rows_per_lane() {
    // Rows per lane; one X fetch serves all R. (Never 0: the lanes-along-k specialisations
    // still carry this function, and a zero-length array is invalid SPIR-V.)
    const uint R = NUM_ROWS >= gl_WorkGroupSize.x ? NUM_ROWS / gl_WorkGroupSize.x : 1u;
    uint row0 = (gl_WorkGroupID.y * p.wg_x + gl_WorkGroupID.x) * NUM_ROWS + gl_LocalInvocationID.x;
    float acc[R * MAXC];
    [[unroll]] for (uint i = 0u; i < R * MAXC; ++i) acc[i] = 0.0;
    uint full = p.k / 8u;
    for (uint g = 0u; g < full; ++g) {
        uint xo = p.x_base + g * 8u;
        float xv[MAXC * 8u];
        [[unroll]] for (uint c = 0u; c < MAXC; ++c)
            [[unroll]] for (uint j = 0u; j < 8u; ++j) xv[c * 8u + j] = vkq_x(xo + c * p.x_stride + j);
        [[unroll]] for (uint r = 0u; r < R; ++r) {
            float v[8];
            vkq_decode_group(p.w_base + min(row0 + r * gl_WorkGroupSize.x, p.m - 1u) * p.w_stride, g, v);
            [[unroll]] for (uint c = 0u; c < MAXC; ++c) {
                float s = acc[r * MAXC + c];
                [[unroll]] for (uint j = 0u; j < 8u; ++j) s = fma(v[j], xv[c * 8u + j], s);
                acc[r * MAXC + c] = s;
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < R; ++r) {
        uint row = row0 + r * gl_WorkGroupSize.x;
        float a[MAXC];
        [[unroll]] for (uint c = 0u; c < MAXC; ++c) a[c] = acc[r * MAXC + c];
        if (full * 8u < p.k) {
            float v[8];
            vkq_decode_group(p.w_base + min(row, p.m - 1u) * p.w_stride, full, v);
            dot_tail(v, full, a);
        }
        if (row < p.m) {
            [[unroll]] for (uint c = 0u; c < MAXC; ++c) ys[p.y_base + c * p.y_stride + row] = a[c];
        }
    }
}

void main() {
    if (LANES_ALONG_ROWS != 0u) {
        rows_per_lane();
        return;
    }
    const uint WG = gl_WorkGroupSize.x;
    uint tid = gl_LocalInvocationID.x;
    uint row0 = (gl_WorkGroupID.y * p.wg_x + gl_WorkGroupID.x) * NUM_ROWS;
    if (row0 >= p.m) return; // whole workgroup leaves together: barriers stay uniform

    float acc[NUM_ROWS * MAXC];
    [[unroll]] for (uint i = 0u; i < NUM_ROWS * MAXC; ++i) acc[i] = 0.0;

    uint groups = (p.k + 7u) / 8u;
    for (uint g = tid; g < groups; g += WG) {
        [[unroll]] for (uint r = 0u; r < NUM_ROWS; ++r) {
            uint row = min(row0 + r, p.m - 1u); // rows past m compute garbage, never stored
            float v[8];
            vkq_decode_group(p.w_base + row * p.w_stride, g, v);
            float a[MAXC];
            [[unroll]] for (uint c = 0u; c < MAXC; ++c) a[c] = acc[r * MAXC + c];
            if (g * 8u + 8u <= p.k) dot_group(v, g, a);
            else dot_tail(v, g, a);
            [[unroll]] for (uint c = 0u; c < MAXC; ++c) acc[r * MAXC + c] = a[c];
        }
    }

    uint nout = NUM_ROWS * MAXC;
    if (USE_SUBGROUP != 0u) {
        [[unroll]] for (uint i = 0u; i < NUM_ROWS * MAXC; ++i) acc[i] = subgroupAdd(acc[i]);
        if (gl_NumSubgroups == 1u) {
            if (subgroupElect()) {
                [[unroll]] for (uint r = 0u; r < NUM_ROWS; ++r)
                    [[unroll]] for (uint c = 0u; c < MAXC; ++c)
                        if (row0 + r < p.m)
                            ys[p.y_base + c * p.y_stride + row0 + r] = acc[r * MAXC + c];
            }
            return;
        }
        if (subgroupElect()) {
            [[unroll]] for (uint i = 0u; i < NUM_ROWS * MAXC; ++i) red[gl_SubgroupID * nout + i] = acc[i];
        }
        barrier();
        for (uint i = tid; i < nout; i += WG) {
            float s = 0.0;
            for (uint sg = 0u; sg < gl_NumSubgroups; ++sg) s += red[sg * nout + i];
            uint r = i / MAXC, c = i % MAXC;
            if (row0 + r < p.m) ys[p.y_base + c * p.y_stride + row0 + r] = s;
        }
        return;
    }

    [[unroll]] for (uint i = 0u; i < NUM_ROWS * MAXC; ++i) red[i * WG + tid] = acc[i];
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (tid < s) {
            [[unroll]] for (uint i = 0u; i < NUM_ROWS * MAXC; ++i) red[i * WG + tid] += red[i * WG + tid + s];
        }
        barrier();
    }
    for (uint i = tid; i < nout; i += WG) {
        uint r = i / MAXC, c = i % MAXC;
        if (row0 + r < p.m) ys[p.y_base + c * p.y_stride + row0 + r] = red[i * WG];
    }
}
