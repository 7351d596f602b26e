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
//
// A family may give the rows-per-lane layout a sub-block decoder (used when VKQ_MV_SB is
// defined): VKQ_MV_SB elements per sub-block (a multiple of 8 dividing QK; element-wise types
// any multiple of 8), split into VKQ_MV_NSC (default 1) equal scale groups; a struct vkq_mv_sb
// with float scale[VKQ_MV_NSC] (and offset[VKQ_MV_NSC] if VKQ_MV_OFFSET is defined);
// vkq_mv_load(b, s, t) reads sub-block s of the block at byte b into t; vkq_mv_group(t, j, v)
// gives group j of it as v, each element being scale[g] * v + offset[g] for its scale group g.
// Groups are elements sb * VKQ_MV_SB + 8j.. unless the family maps them with VKQ_MV_XPOS.
// j is a constant once the loop is unrolled, so the group decode's shifts and selects fold away.
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

// This workgroup's operand bases: the push constants' own, or (MUL_MAT_ID,
// mul_mat_vec_id.comp) those of its (token, slot) pair: the expert's matrix, the token's or the
// pair's X column, the pair's Y column. Set first thing in main().
uint w_base0, x_base0, y_base0;

#ifdef VKQ_MUL_MAT_ID
// The expert ids live in the X binding (the host keeps ids and X in one window), read as int32.
layout(std430, binding = 1) readonly buffer XIds { int x_ids[]; };
#endif

void set_bases() {
#ifdef VKQ_MUL_MAT_ID
    uint pair = gl_WorkGroupID.z;
    // Clamped: a bad id reads some expert, never outside the weights.
    uint e = min(uint(x_ids[p.id_base + pair]), p.n_expert - 1u);
    w_base0 = p.w_base + e * p.expert_stride;
    x_base0 = p.x_base + (p.x_per_pair != 0u ? pair : pair / p.n_used) * p.x_stride;
    y_base0 = p.y_base + pair * p.y_stride;
#else
    w_base0 = p.w_base;
    x_base0 = p.x_base;
    y_base0 = p.y_base;
#endif
}

shared float red[LANES_ALONG_ROWS != 0u ? 1u : gl_WorkGroupSize.x * NUM_ROWS * MAXC];

// acc[c] += dot(v, X[g*8 .. g*8+7, column c]) for a group entirely inside k.
void dot_group(float v[8], uint g, inout float acc[MAXC]) {
    uint xo = x_base0 + g * 8u;
    [[unroll]] for (uint c = 0u; c < MAXC; ++c) {
        uint o = xo + c * p.x_stride;
        float s = acc[c];
        [[unroll]] for (uint j = 0u; j < 8u; ++j) s = fma(v[j], vkq_x(o + j), s);
        acc[c] = s;
    }
}

// The same for the last, partial group (element-wise types only: k % 8 != 0).
void dot_tail(float v[8], uint g, inout float acc[MAXC]) {
    uint xo = x_base0 + g * 8u;
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
        uint xo = x_base0 + g * 8u;
        float xv[MAXC * 8u];
        [[unroll]] for (uint c = 0u; c < MAXC; ++c)
            [[unroll]] for (uint j = 0u; j < 8u; ++j) xv[c * 8u + j] = vkq_x(xo + c * p.x_stride + j);
        [[unroll]] for (uint r = 0u; r < R; ++r) {
            float v[8];
            vkq_decode_group(w_base0 + min(row0 + r * gl_WorkGroupSize.x, p.m - 1u) * p.w_stride, g, v);
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
            vkq_decode_group(w_base0 + min(row, p.m - 1u) * p.w_stride, full, v);
            dot_tail(v, full, a);
        }
        if (row < p.m) {
            [[unroll]] for (uint c = 0u; c < MAXC; ++c) ys[y_base0 + c * p.y_stride + row] = a[c];
        }
    }
}

#ifdef VKQ_MV_SB
#ifndef VKQ_MV_NSC
#define VKQ_MV_NSC 1u
#endif
#ifndef VKQ_MV_XPOS // element of the row where group j of sub-block sb starts
#define VKQ_MV_XPOS(sb, j) ((sb) * VKQ_MV_SB + (j) * 8u)
#endif
// Rows per lane with the family's sub-block decoder (see the top of this file): the block's
// words are read once per VKQ_MV_SB elements instead of once per group of 8, the scales (and
// offsets) are applied once per scale group to the partial dot products, and the group decode
// runs with compile-time positions. The weights then enter as scale * v + offset with the sums
// reordered; the fp32 error stays at the summation's level (the test's NMSE bound).
void rows_per_lane_sb() {
    const uint R = NUM_ROWS >= gl_WorkGroupSize.x ? NUM_ROWS / gl_WorkGroupSize.x : 1u;
    const uint GPS = VKQ_MV_SB / 8u / VKQ_MV_NSC; // groups per scale
    uint row0 = (gl_WorkGroupID.y * p.wg_x + gl_WorkGroupID.x) * NUM_ROWS + gl_LocalInvocationID.x;
    uint rb[R];
    [[unroll]] for (uint r = 0u; r < R; ++r)
        rb[r] = w_base0 + min(row0 + r * gl_WorkGroupSize.x, p.m - 1u) * p.w_stride;
    float acc[R * MAXC];
    [[unroll]] for (uint i = 0u; i < R * MAXC; ++i) acc[i] = 0.0;
    uint nsb = p.k / VKQ_MV_SB; // block types: k is a multiple of QK, which VKQ_MV_SB divides
    for (uint sb = 0u; sb < nsb; ++sb) {
        vkq_mv_sb t[R];
        [[unroll]] for (uint r = 0u; r < R; ++r) {
#ifdef VKQ_ELEMENTWISE
            vkq_mv_load(rb[r] + sb * (VKQ_MV_SB * BLOCK_BYTES), 0u, t[r]);
#else
            vkq_mv_load(rb[r] + (sb / (QK / VKQ_MV_SB)) * BLOCK_BYTES, sb % (QK / VKQ_MV_SB), t[r]);
#endif
        }
        float part[R * MAXC];
#ifdef VKQ_MV_OFFSET
        float xsum[MAXC];
#endif
        [[unroll]] for (uint j = 0u; j < VKQ_MV_SB / 8u; ++j) {
            if (j % GPS == 0u) {
                [[unroll]] for (uint i = 0u; i < R * MAXC; ++i) part[i] = 0.0;
#ifdef VKQ_MV_OFFSET
                [[unroll]] for (uint c = 0u; c < MAXC; ++c) xsum[c] = 0.0;
#endif
            }
            uint xo = x_base0 + VKQ_MV_XPOS(sb, j);
            float xv[MAXC * 8u];
            [[unroll]] for (uint c = 0u; c < MAXC; ++c)
                [[unroll]] for (uint e = 0u; e < 8u; ++e)
                    xv[c * 8u + e] = vkq_x(xo + c * p.x_stride + e);
#ifdef VKQ_MV_OFFSET
            [[unroll]] for (uint c = 0u; c < MAXC; ++c)
                [[unroll]] for (uint e = 0u; e < 8u; ++e) xsum[c] += xv[c * 8u + e];
#endif
            [[unroll]] for (uint r = 0u; r < R; ++r) {
                float v[8];
                vkq_mv_group(t[r], j, v);
                [[unroll]] for (uint c = 0u; c < MAXC; ++c) {
                    float s = part[r * MAXC + c];
                    [[unroll]] for (uint e = 0u; e < 8u; ++e) s = fma(v[e], xv[c * 8u + e], s);
                    part[r * MAXC + c] = s;
                }
            }
            if (j % GPS == GPS - 1u) {
                [[unroll]] for (uint r = 0u; r < R; ++r)
                    [[unroll]] for (uint c = 0u; c < MAXC; ++c) {
                        float a = fma(t[r].scale[j / GPS], part[r * MAXC + c], acc[r * MAXC + c]);
#ifdef VKQ_MV_OFFSET
                        a = fma(t[r].offset[j / GPS], xsum[c], a);
#endif
                        acc[r * MAXC + c] = a;
                    }
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < R; ++r) {
        uint row = row0 + r * gl_WorkGroupSize.x;
        float a[MAXC];
        [[unroll]] for (uint c = 0u; c < MAXC; ++c) a[c] = acc[r * MAXC + c];
#ifdef VKQ_ELEMENTWISE
        // element-wise types: the last k % VKQ_MV_SB elements, a group at a time
        for (uint g = nsb * (VKQ_MV_SB / 8u); g * 8u < p.k; ++g) {
            float v[8];
            vkq_decode_group(rb[r], g, v);
            if (g * 8u + 8u <= p.k) dot_group(v, g, a);
            else dot_tail(v, g, a);
        }
#endif
        if (row < p.m) {
            [[unroll]] for (uint c = 0u; c < MAXC; ++c) ys[y_base0 + c * p.y_stride + row] = a[c];
        }
    }
}
#endif

void main() {
    set_bases();
    if (LANES_ALONG_ROWS != 0u) {
#ifdef VKQ_MV_SB
        rows_per_lane_sb();
#else
        rows_per_lane();
#endif
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
            vkq_decode_group(w_base0 + row * p.w_stride, g, v);
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
                            ys[y_base0 + c * p.y_stride + row0 + r] = acc[r * MAXC + c];
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
            if (row0 + r < p.m) ys[y_base0 + c * p.y_stride + row0 + r] = s;
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
        if (row0 + r < p.m) ys[y_base0 + c * p.y_stride + row0 + r] = red[i * WG];
    }
}
