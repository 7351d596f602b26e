// Mixture-of-experts router, vkq_cpu_topk_router's values (src/cpu/ops.h): per token the n_used
// largest of n_expert logits (ties: the lower index first; NaNs compare false, as on the CPU),
// their softmax weights over all n_expert logits, divided by their sum with norm_topk. One
// invocation per token: n_expert is a few hundred at most and the selection a few scans, the
// same comparisons in the same order as the CPU's, so both pick the same experts from the same
// logits.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer L { float lg[]; };
layout(std430, binding = 1) writeonly buffer I { int ids[]; };
layout(std430, binding = 2) buffer W { float w[]; };
layout(push_constant) uniform Params {
    uint l_base, i_base, w_base; // word offsets inside the bindings
    uint n_tokens, n_expert, n_used, norm_topk;
    uint row;                    // invocations per grid row
} p;

void main() {
    uint t = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || t >= p.n_tokens) return;
    uint lb = p.l_base + t * p.n_expert, ib = p.i_base + t * p.n_used, wb = p.w_base + t * p.n_used;
    float mx = lg[lb];
    for (uint e = 1u; e < p.n_expert; ++e) mx = lg[lb + e] > mx ? lg[lb + e] : mx;
    float sum = 0.0;
    for (uint e = 0u; e < p.n_expert; ++e) sum += exp(lg[lb + e] - mx);
    // The previous pick bounds the next: a lower value, or the same value at a higher index.
    int prev = -1;
    float pv = 0.0, sel_sum = 0.0;
    for (uint k = 0u; k < p.n_used; ++k) {
        int best = -1;
        float bv = 0.0;
        for (uint e = 0u; e < p.n_expert; ++e) {
            float v = lg[lb + e];
            if (prev >= 0 && !(v < pv || (v == pv && int(e) > prev))) continue;
            if (best < 0 || v > bv) {
                best = int(e);
                bv = v;
            }
        }
        if (best < 0) { // NaN logits: nothing compares; keep the ids valid
            best = 0;
            bv = lg[lb];
        }
        float wk = exp(bv - mx) / sum;
        ids[ib + k] = best;
        w[wb + k] = wk;
        sel_sum += wk;
        prev = best;
        pv = bv;
    }
    if (p.norm_topk != 0u)
        for (uint k = 0u; k < p.n_used; ++k) w[wb + k] /= sel_sum;
}
