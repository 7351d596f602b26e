/* AVX2 + FMA + F16C inner loops of the CPU layer operations (vkq_cpu_avx2_ops, src/cpu/ops_isa.h
 * says what each computes). Built with -mavx2 -mfma -mf16c (meson.build); src/cpu/ops.c calls
 * them only after the run-time CPU check. The prompt profile of Gemma 3 270M before them:
 * attention 20 % and libm's tanhf / expm1f for GELU 10 % of a pp512 batch (bench/RESULTS.md). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "cpu/ops_isa.h"

/* exp(x) in fp32, within ~2 ulp for normal results: x = n ln2 + r, |r| <= ln2 / 2 (ln2 in two
 * parts, so r is exact to ~2^-32), e^r by its Taylor polynomial to r^7 / 7! (remainder < 1.1e-8
 * relative), times 2^n as two factors 2^(n/2) 2^(n - n/2), so the subnormal results (x down to
 * -103.9) round once and results past FLT_MAX become +inf. x is clamped to [-104, 89] first
 * (e^-104 rounds to 0, e^89 overflows), which keeps the exponent arithmetic in range for any
 * input, +-inf included; NaN passes through. */
static inline __m256 exp256(__m256 x)
{
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    const __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* act(g) u as g u / (1 + e^-z), z = g (SiLU) or 2 sqrt(2/pi) (g + 0.044715 g^3) (GELU: 1 +
 * tanh(z / 2) = 2 / (1 + e^-z), which does not cancel for negative gates as 1 + tanh does).
 * Finite for finite inputs: e^-z = inf gives a signed zero. */
static inline __m256 glu8(int silu, __m256 g, __m256 u)
{
    __m256 z = g;
    if (!silu) {
        const __m256 g2 = _mm256_mul_ps(g, g);
        const float k2 = 2.0f * 0.7978845608028654f;
        z = _mm256_mul_ps(g, _mm256_fmadd_ps(g2, _mm256_set1_ps(k2 * 0.044715f), _mm256_set1_ps(k2)));
    }
    const __m256 e = exp256(_mm256_xor_ps(z, _mm256_set1_ps(-0.0f)));
    return _mm256_div_ps(_mm256_mul_ps(g, u), _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
}

static void glu_avx2(int kind, const float *gate, const float *up, float *out, uint64_t n)
{
    const int silu = kind == 0;
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, glu8(silu, _mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) { /* the tail through a padded copy: the same arithmetic as the rest */
        float g[8] = {0}, u[8] = {0}, o[8];
        memcpy(g, gate + i, (size_t)(n - i) * 4);
        memcpy(u, up + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(o, glu8(silu, _mm256_loadu_ps(g), _mm256_loadu_ps(u)));
        memcpy(out + i, o, (size_t)(n - i) * 4);
    }
}

/* Scores: tiles of 2 queries x 4 keys, 8 accumulators over the head dimension (6 loads per 8
 * FMAs), summed across lanes once per tile. K stays in rows as the cache holds it (no
 * transposition); the caller pads the row stride so the rows of a chunk do not all fall into
 * the same L1 sets. */
static inline __m128 hsum4x(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

static void attn_scores_avx2(const float *q, uint32_t nq, uint32_t dk, const float *k, size_t ldk, uint32_t nc,
                             float *s)
{
    const uint32_t nc4 = (nc + 3) & ~3u;
    for (uint32_t c = 0; c < nc4; c += 4) {
        const float *k0 = k + (size_t)c * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
        for (uint32_t i = 0; i < nq; i += 2) {
            const float *q0 = q + (size_t)i * dk, *q1 = q0 + dk;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (uint32_t e = 0; e < dk; e += 8) {
                const __m256 x0 = _mm256_loadu_ps(q0 + e), x1 = _mm256_loadu_ps(q1 + e);
                __m256 kv = _mm256_loadu_ps(k0 + e);
                a00 = _mm256_fmadd_ps(x0, kv, a00);
                a10 = _mm256_fmadd_ps(x1, kv, a10);
                kv = _mm256_loadu_ps(k1 + e);
                a01 = _mm256_fmadd_ps(x0, kv, a01);
                a11 = _mm256_fmadd_ps(x1, kv, a11);
                kv = _mm256_loadu_ps(k2 + e);
                a02 = _mm256_fmadd_ps(x0, kv, a02);
                a12 = _mm256_fmadd_ps(x1, kv, a12);
                kv = _mm256_loadu_ps(k3 + e);
                a03 = _mm256_fmadd_ps(x0, kv, a03);
                a13 = _mm256_fmadd_ps(x1, kv, a13);
            }
            _mm_storeu_ps(s + (size_t)i * VKQ_ATT_C + c, hsum4x(a00, a01, a02, a03));
            _mm_storeu_ps(s + (size_t)(i + 1) * VKQ_ATT_C + c, hsum4x(a10, a11, a12, a13));
        }
    }
}

/* Weighted V: tiles of 4 queries x 16 dims, 8 accumulators, 2 loads and 4 broadcasts per key;
 * the outer loop over 16-wide slices of V keeps a slice (nc x 64 bytes) in L1 for every query. */
static void attn_pv_avx2(const float *s, uint32_t nq, const float *v, size_t ldv, uint32_t nc, uint32_t dv, float *a)
{
    for (uint32_t e0 = 0; e0 < dv; e0 += 16) {
        for (uint32_t i = 0; i < nq; i += 4) {
            float *a0 = a + (size_t)i * dv + e0, *a1 = a0 + dv, *a2 = a1 + dv, *a3 = a2 + dv;
            __m256 c00 = _mm256_loadu_ps(a0), c01 = _mm256_loadu_ps(a0 + 8);
            __m256 c10 = _mm256_loadu_ps(a1), c11 = _mm256_loadu_ps(a1 + 8);
            __m256 c20 = _mm256_loadu_ps(a2), c21 = _mm256_loadu_ps(a2 + 8);
            __m256 c30 = _mm256_loadu_ps(a3), c31 = _mm256_loadu_ps(a3 + 8);
            const float *s0 = s + (size_t)i * VKQ_ATT_C;
            for (uint32_t c = 0; c < nc; c++) {
                const float *vr = v + (size_t)c * ldv + e0;
                const __m256 v0 = _mm256_loadu_ps(vr), v1 = _mm256_loadu_ps(vr + 8);
                __m256 b = _mm256_broadcast_ss(s0 + c);
                c00 = _mm256_fmadd_ps(b, v0, c00);
                c01 = _mm256_fmadd_ps(b, v1, c01);
                b = _mm256_broadcast_ss(s0 + VKQ_ATT_C + c);
                c10 = _mm256_fmadd_ps(b, v0, c10);
                c11 = _mm256_fmadd_ps(b, v1, c11);
                b = _mm256_broadcast_ss(s0 + 2 * VKQ_ATT_C + c);
                c20 = _mm256_fmadd_ps(b, v0, c20);
                c21 = _mm256_fmadd_ps(b, v1, c21);
                b = _mm256_broadcast_ss(s0 + 3 * VKQ_ATT_C + c);
                c30 = _mm256_fmadd_ps(b, v0, c30);
                c31 = _mm256_fmadd_ps(b, v1, c31);
            }
            _mm256_storeu_ps(a0, c00);
            _mm256_storeu_ps(a0 + 8, c01);
            _mm256_storeu_ps(a1, c10);
            _mm256_storeu_ps(a1 + 8, c11);
            _mm256_storeu_ps(a2, c20);
            _mm256_storeu_ps(a2 + 8, c21);
            _mm256_storeu_ps(a3, c30);
            _mm256_storeu_ps(a3 + 8, c31);
        }
    }
}

static void exp_chunk_avx2(float *x)
{
    for (int i = 0; i < VKQ_ATT_C; i += 8) _mm256_storeu_ps(x + i, exp256(_mm256_loadu_ps(x + i)));
}

/* vcvtph2ps: NaN payloads kept quiet and subnormals exact, as vkq_fp16_to_f32 does. */
static void f16_row_avx2(const uint8_t *src, uint32_t n, float *dst)
{
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * (size_t)i))));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * (size_t)i, 2);
        dst[i] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
    }
}

const vkq_cpu_ops_isa vkq_cpu_avx2_ops = {glu_avx2, attn_scores_avx2, attn_pv_avx2, exp_chunk_avx2, f16_row_avx2};
