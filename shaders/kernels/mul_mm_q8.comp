// Tiled GEMM with 8-bit integer dot products (the int8 path), tiled as mul_mm.comp.
// Per KS-wide step (BK rounded up to a 32-element X block) the BM x KS weight tile is decoded
// to signed bytes with one scale a and offset c per 16 elements (decode_i8x16 of the type's
// decode file), and the KS x BN slice of X is quantized to signed bytes with one scale d per 32
// elements (quantize_q8.glsl). Each 16-element unit then contributes
//     sum_j (a q_j + c)(d qx_j) = a d * sum_j q_j qx_j + c * (d sum_j qx_j)
// with the integer sum from four packed 4x8-bit dot products (int_dot.glsl), in f32 otherwise.
// Error: only X's rounding to 8 bits (weights are exact), NMSE ~2e-5 for uniform X.
//
// X is quantized right where each workgroup stages it rather than by a separate pass into a
// scratch buffer: the staging already reads every X value once per row tile, quantizing 32
// values costs far less than the BM x 32 dot products that use them, and with no scratch buffer
// a recorded matmul needs no barrier or allocation inside the caller's command buffer.
#include "matmul_common.glsl"
#include "int_dot.glsl"
#include "quantize_q8.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 32;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

const uint KS = (BK + 31u) / 32u * 32u; // k per step: whole X blocks
const uint KB = KS / 32u;               // X blocks per step
const uint KU = KS / 16u;               // 16-element weight units per step

shared uint Aq[KS / 4u * BM]; // Aq[word * BM + row], 4 signed bytes per word
shared float Aa[KU * BM];     // Aa[unit * BM + row]: scale
shared float Ac[KU * BM];     //                      offset
shared uint Bq[KS / 4u * BN]; // Bq[word * BN + col]
shared float Bd[KU * BN];     // Bd[unit * BN + col]: X block scale d
shared float Bs[KU * BN];     //                      d * sum of the unit's q

void main() {
    const uint WG = gl_WorkGroupSize.x;
    uint tid = gl_LocalInvocationID.x;
    uint tiles_m = (p.m + BM - 1u) / BM;
    uint tile = gl_WorkGroupID.y * p.wg_x + gl_WorkGroupID.x;
    uint row0 = (tile % tiles_m) * BM;
    uint col0 = (tile / tiles_m) * BN;
    if (col0 >= p.n) return;
    uint tx = tid % (BN / TN);
    uint ty = tid / (BN / TN);

    float acc[TM * TN];
    [[unroll]] for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;

    // k is a multiple of QK >= 32, so a unit or an X block lies wholly inside or past k.
    for (uint k0 = 0u; k0 < p.k; k0 += KS) {
        for (uint t = tid; t < BM * KU; t += WG) {
            uint r = t / KU, u = t % KU, e = k0 + u * 16u;
            uint q[4] = uint[4](0u, 0u, 0u, 0u);
            float a = 0.0, c = 0.0;
            if (row0 + r < p.m && e < p.k)
                decode_i8x16(p.w_base + (row0 + r) * p.w_stride + (e / QK) * BLOCK_BYTES, (e % QK) / 16u, q, a, c);
            [[unroll]] for (uint j = 0u; j < 4u; ++j) Aq[(u * 4u + j) * BM + r] = q[j];
            Aa[u * BM + r] = a;
            Ac[u * BM + r] = c;
        }
        for (uint t = tid; t < BN * KB; t += WG) {
            uint cl = t / KB, blk = t % KB, e = k0 + blk * 32u;
            float x[32];
            [[unroll]] for (uint i = 0u; i < 32u; ++i) x[i] = 0.0;
            if (col0 + cl < p.n && e < p.k) {
                uint base = p.x_base + (col0 + cl) * p.x_stride + e;
                [[unroll]] for (uint i = 0u; i < 32u; ++i) x[i] = vkq_x(base + i);
            }
            uint q[8];
            float d;
            int s0, s1;
            vkq_quantize_q8(x, q, d, s0, s1);
            [[unroll]] for (uint w = 0u; w < 8u; ++w) Bq[(blk * 8u + w) * BN + cl] = q[w];
            Bd[(blk * 2u) * BN + cl] = d;
            Bd[(blk * 2u + 1u) * BN + cl] = d;
            Bs[(blk * 2u) * BN + cl] = d * float(s0);
            Bs[(blk * 2u + 1u) * BN + cl] = d * float(s1);
        }
        barrier();
        for (uint u = 0u; u < KU; ++u) {
            int dot[TM * TN];
            [[unroll]] for (uint i = 0u; i < TM * TN; ++i) dot[i] = 0;
            [[unroll]] for (uint w = 0u; w < 4u; ++w) {
                uint a[TM], b[TN];
                [[unroll]] for (uint i = 0u; i < TM; ++i) a[i] = Aq[(u * 4u + w) * BM + ty * TM + i];
                [[unroll]] for (uint j = 0u; j < TN; ++j) b[j] = Bq[(u * 4u + w) * BN + tx * TN + j];
                [[unroll]] for (uint i = 0u; i < TM; ++i)
                    [[unroll]] for (uint j = 0u; j < TN; ++j) dot[i * TN + j] += vkq_dot4(a[i], b[j]);
            }
            [[unroll]] for (uint i = 0u; i < TM; ++i) {
                float sa = Aa[u * BM + ty * TM + i], sc = Ac[u * BM + ty * TM + i];
                [[unroll]] for (uint j = 0u; j < TN; ++j) {
                    uint cj = u * BN + tx * TN + j;
                    acc[i * TN + j] += sa * (Bd[cj] * float(dot[i * TN + j])) + sc * Bs[cj];
                }
            }
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
