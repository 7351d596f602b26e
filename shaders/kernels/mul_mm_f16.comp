// Tiled GEMM with fp16 arithmetic (the fp16 path), tiled as mul_mm.comp. Tiles are
// held in f16 shared memory (half the bytes of mul_mm.comp's) and multiplied in f16.
//
// Overflow: raw weights or activations beyond 65504 (llama.cpp users hit X > 65504) would turn
// into inf in f16. So every 8-element group of a weight row or an X column is first scaled by a
// power of two that brings its largest magnitude into [32, 64); the exponent is kept in f32
// beside the tile. Within a group of 8, products of two scaled values stay below 64 * 64 and
// their sum below 8 * 4096 = 32768 < 65504, so the 8 multiply-adds run entirely in f16; each
// group's partial sum is then converted to f32, multiplied by the two exact power-of-two scales
// and accumulated in f32. Accumulating across groups in f32 keeps the error from growing with
// k (an f16 accumulator over k = 4096 would lose ~6 bits). Error: each value's rounding to 11
// bits plus the f16 sum of 8, relative ~2^-11 per term: NMSE ~1e-7.
// Elements more than 2^20 below their group's largest are flushed; their share of the sum is
// below 2^-20 of it.
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 32;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

shared float16_t As[BK * BM]; // As[kk * BM + row], scaled
shared float16_t Bs[BK * BN]; // Bs[kk * BN + col], scaled
shared float Asc[BK / 8u * BM]; // Asc[g * BM + row]: the group's scale (a power of two)
shared float Bsc[BK / 8u * BN];

// Scales v in place so max |v| lies in [32, 64); returns the factor that undoes it.
float vkq_normalize8(inout float v[8]) {
    float amax = 0.0;
    [[unroll]] for (uint j = 0u; j < 8u; ++j) amax = max(amax, abs(v[j]));
    if (!(amax > 0.0) || isinf(amax)) return 1.0; // zeros; inf/NaN propagate as in fp32
    int e;
    frexp(amax, e); // amax = f * 2^e, f in [0.5, 1)
    e = clamp(e, -120, 127); // the returned scale stays a normal f32
    [[unroll]] for (uint j = 0u; j < 8u; ++j) v[j] = ldexp(v[j], 6 - e);
    return ldexp(1.0, e - 6);
}

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
            Asc[gg * BM + r] = vkq_normalize8(v);
            [[unroll]] for (uint j = 0u; j < 8u; ++j) As[(gg * 8u + j) * BM + r] = float16_t(v[j]);
        }
        for (uint t = tid; t < BN * GPR; t += WG) {
            uint c = t / GPR, gg = t % GPR;
            float v[8];
            [[unroll]] for (uint j = 0u; j < 8u; ++j) v[j] = 0.0;
            if (col0 + c < p.n) {
                uint e0 = k0 + gg * 8u, base = p.x_base + (col0 + c) * p.x_stride + e0;
                [[unroll]] for (uint j = 0u; j < 8u; ++j)
                    if (e0 + j < p.k) v[j] = vkq_x(base + j);
            }
            Bsc[gg * BN + c] = vkq_normalize8(v);
            [[unroll]] for (uint j = 0u; j < 8u; ++j) Bs[(gg * 8u + j) * BN + c] = float16_t(v[j]);
        }
        barrier();
        for (uint gg = 0u; gg < GPR; ++gg) {
            float16_t part[TM * TN];
            [[unroll]] for (uint i = 0u; i < TM * TN; ++i) part[i] = float16_t(0.0);
            [[unroll]] for (uint j8 = 0u; j8 < 8u; ++j8) {
                uint kk = gg * 8u + j8;
                float16_t a[TM], b[TN];
                [[unroll]] for (uint i = 0u; i < TM; ++i) a[i] = As[kk * BM + ty * TM + i];
                [[unroll]] for (uint j = 0u; j < TN; ++j) b[j] = Bs[kk * BN + tx * TN + j];
                [[unroll]] for (uint i = 0u; i < TM; ++i)
                    [[unroll]] for (uint j = 0u; j < TN; ++j) part[i * TN + j] = fma(a[i], b[j], part[i * TN + j]);
            }
            [[unroll]] for (uint i = 0u; i < TM; ++i) {
                float sa = Asc[gg * BM + ty * TM + i];
                [[unroll]] for (uint j = 0u; j < TN; ++j)
                    acc[i * TN + j] += float(part[i * TN + j]) * (sa * Bsc[gg * BN + tx * TN + j]);
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
