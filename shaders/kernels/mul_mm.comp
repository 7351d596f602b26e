// Tiled GEMM for prompts (n > 8): each workgroup computes a BM x BN tile of Y. Per BK-wide
// step it decodes the BM x BK weight tile once into shared memory (one 8-element group per
// task), stages the BK x BN slice of X, and every invocation accumulates a TM x TN micro-tile
// in fp32 registers. Tile sizes are specialization constants chosen per device.
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 32;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

shared float As[BK * BM]; // As[kk * BM + row]
shared float Bs[BK * BN]; // Bs[kk * BN + col]

void main() {
    const uint WG = gl_WorkGroupSize.x;
    uint tid = gl_LocalInvocationID.x;
    uint tiles_m = (p.m + BM - 1u) / BM;
    uint tile = gl_WorkGroupID.y * p.wg_x + gl_WorkGroupID.x;
    uint row0 = (tile % tiles_m) * BM;
    uint col0 = (tile / tiles_m) * BN;
    if (col0 >= p.n) return;
    uint tx = tid % (BN / TN); // micro-tile column
    uint ty = tid / (BN / TN); // micro-tile row

    float acc[TM * TN];
    [[unroll]] for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;

    const uint GPR = BK / 8u; // groups per tile row
    for (uint k0 = 0u; k0 < p.k; k0 += BK) {
        for (uint t = tid; t < BM * GPR; t += WG) {
            uint r = t / GPR, gg = t % GPR;
            uint g = k0 / 8u + gg;
            float v[8];
            if (row0 + r < p.m && g * 8u < p.k) {
                vkq_decode_group(p.w_base + (row0 + r) * p.w_stride, g, v);
            } else {
                [[unroll]] for (uint j = 0u; j < 8u; ++j) v[j] = 0.0;
            }
            [[unroll]] for (uint j = 0u; j < 8u; ++j) As[(gg * 8u + j) * BM + r] = v[j];
        }
        for (uint t = tid; t < BK * BN; t += WG) {
            uint kk = t % BK, c = t / BK;
            float x = 0.0;
            if (col0 + c < p.n && k0 + kk < p.k) x = vkq_x(p.x_base + (col0 + c) * p.x_stride + k0 + kk);
            Bs[kk * BN + c] = x;
        }
        barrier();
        for (uint kk = 0u; kk < BK; ++kk) {
            float a[TM], b[TN];
            [[unroll]] for (uint i = 0u; i < TM; ++i) a[i] = As[kk * BM + ty * TM + i];
            [[unroll]] for (uint j = 0u; j < TN; ++j) b[j] = Bs[kk * BN + tx * TN + j];
            [[unroll]] for (uint i = 0u; i < TM; ++i)
                [[unroll]] for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
        barrier();
    }
    [[unroll]] for (uint i = 0u; i < TM; ++i) {
        uint r = row0 + ty * TM + i;
        [[unroll]] for (uint j = 0u; j < TN; ++j) {
            uint c = col0 + tx * TN + j;
            if (r < p.m && c < p.n) ys[p.y_base + c * p.y_stride + r] = acc[i * TN + j];
        }
    }
}
