/* AVX2 int8 kernels of vkq_cpu_matmul for the 256-element super-block types (K-quants, TQ1_0,
 * TQ2_0, the IQ types but IQ4_NL), against X quantized per 256 elements (vkq_xk_block, like
 * ggml's Q8_K).
 *
 * Why a second X format: with one X scale per super-block, every integer product of a
 * super-block (sub-block scales applied with madd_epi16) adds up in one int32 vector, and the
 * float work is one convert + FMA per 256 weights instead of per 32. The block sums of X per
 * 16 elements turn the min / offset terms (q - 32, q - 4, q - 1, dmin * m) into one madd per
 * super-block. Built once per int8 variant like cpu_int8_avx2.c; the K-quants and IQ types
 * apply their sub-block scales with madd_epi16 on maddubs's int16 pairs in every variant (a
 * vpdpbusd would need a 32-bit multiply per sub-block), the others use dot4. Integer ranges:
 * |qx| <= 127, so maddubs pairs stay within int16 (noted per kernel) and super-block sums
 * within int32. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "cpu/x86/cpu_avx2_util.h"
#include "cpu/cpu_kernels.h"
#include "formats/tables_gen.h"

typedef vkq_xk_block xk_block;

static inline __m256i load256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* The fp16 pair (d, dmin) at p times X's scale, broadcast: one conversion for both. */
static inline void d_dmin(const uint8_t *p, float xd, __m256 *d, __m256 *dmin)
{
    uint32_t u;
    memcpy(&u, p, 4);
    const __m128 v = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)u)), _mm_set1_ps(xd));
    *d = _mm256_broadcastss_ps(v);
    *dmin = _mm256_broadcastss_ps(_mm_movehdup_ps(v));
}

/* One column of X (k a multiple of 256) to k / 256 blocks: d = amax / 127, q = round(x / d),
 * bsums[j] = sum of q[16 j .. 16 j + 15]. */
void VKQ_ISA_FN(quantize_xk)(const float *x, uint64_t k, void *out)
{
    xk_block *q = (xk_block *)out;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (uint64_t b = 0; b < k / 256; ++b, x += 256) {
        __m256 mx = _mm256_setzero_ps();
        for (int i = 0; i < 32; ++i) mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * i)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const __m256 id = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
        for (int g = 0; g < 8; ++g) {
            __m256i iv[4];
            for (int i = 0; i < 4; ++i)
                iv[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * i), id),
                                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(iv[0], iv[1]), _mm256_packs_epi32(iv[2], iv[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(q[b].q + 32 * g), p);
        }
        for (int j = 0; j < 16; ++j) {
            int s = 0;
            for (int i = 0; i < 16; ++i) s += q[b].q[16 * j + i];
            q[b].bsums[j] = (int16_t)s;
        }
        q[b].d = amax / 127.0f;
    }
}

/* The 16 int16 scales of a super-block (one per 16 elements) laid out for pair_scales: the
 * first 8 in both 128-bit lanes of s[0], the last 8 in both lanes of s[1]. */
static inline void scales16(__m256i w, __m256i s[2])
{
    s[0] = _mm256_permute4x64_epi64(w, 0x44);
    s[1] = _mm256_permute4x64_epi64(w, 0xEE);
}

/* Sub-block t of 32 elements whose halves of 16 carry scales 2t and 2t + 1: those two, each
 * repeated 8 times, as 16 x int16 (one byte shuffle; t is a constant after unrolling). */
static inline __m256i pair_scales(const __m256i s[2], int t)
{
    const char j = (char)(4 * (t % 4));
    const __m256i idx = _mm256_setr_epi8(j, j + 1, j, j + 1, j, j + 1, j, j + 1, j, j + 1, j, j + 1, j, j + 1, j, j + 1,
                                         j + 2, j + 3, j + 2, j + 3, j + 2, j + 3, j + 2, j + 3, j + 2, j + 3, j + 2, j + 3,
                                         j + 2, j + 3, j + 2, j + 3);
    return _mm256_shuffle_epi8(s[t / 4], idx);
}

/* Q2_K / TQ2_0 2-bit layout (docs/FORMATS.md §7): element 128 h + 32 l + i is bits 2l of
 * qs[32 h + i]. Sub-block t = 4 h + l. */
#define Q2_SUB(raw, l) _mm256_and_si256(_mm256_srli_epi16((raw), 2 * (l)), _mm256_set1_epi8(3))

/* q2_k: y = d (sc & 15) q - dmin (sc >> 4) per 16; pairs <= 2 * 3 * 127. */
VKQ_XK_DOT(q2_k)
{
    const xk_block *x = (const xk_block *)xv;
    __m256 acc = _mm256_setzero_ps();
    const __m128i m4 = _mm_set1_epi8(0x0F);
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 84;
        const __m128i raw = _mm_loadu_si128((const __m128i *)blk);
        const __m128i sc = _mm_and_si128(raw, m4);
        const __m256i mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
        const __m256i msum = _mm256_madd_epi16(mn, load256(x->bsums));
        __m256i s16[2];
        scales16(_mm256_cvtepu8_epi16(sc), s16);
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load256(blk + 16 + 32 * h);
            VKQ_UNROLL
            for (int l = 0; l < 4; ++l) {
                const int t = 4 * h + l;
                const __m256i p = _mm256_maddubs_epi16(Q2_SUB(q, l), load256(x->q + 32 * t));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(s16, t)));
            }
        }
        __m256 dd, dm;
        d_dmin(blk + 80, x->d, &dd, &dm);
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(isum), acc);
        acc = _mm256_fnmadd_ps(dm, _mm256_cvtepi32_ps(msum), acc);
    }
    return hsum256(acc);
}

/* q3_k: y = d (sc - 32) (q2 + 4 hbit - 4); hbit of element 32 t + i is bit t of hmask[i].
 * sum (q - 4) x = sum q x - 4 bsum, q = 0..7 unsigned; pairs <= 2 * 7 * 127. */
VKQ_XK_DOT(q3_k)
{
    const xk_block *x = (const xk_block *)xv;
    __m256 acc = _mm256_setzero_ps();
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i m1 = _mm256_set1_epi8(1);
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 110;
        const uint8_t *S = blk + 96;
        /* sc[j] = (nibble j of S[0..7] | 2 bits of S[8 + j % 4] at 2 (j / 4) << 4) - 32 */
        const __m128i s8 = _mm_loadl_epi64((const __m128i *)S);
        const __m128i lo = _mm_unpacklo_epi64(_mm_and_si128(s8, m4), _mm_and_si128(_mm_srli_epi16(s8, 4), m4));
        uint32_t h32;
        memcpy(&h32, S + 8, 4);
        const __m128i hv = _mm_srlv_epi32(_mm_set1_epi32((int)h32), _mm_setr_epi32(0, 2, 4, 6));
        const __m128i hi = _mm_slli_epi16(_mm_and_si128(hv, _mm_set1_epi8(3)), 4);
        const __m128i sc = _mm_sub_epi8(_mm_or_si128(lo, hi), _mm_set1_epi8(32));
        const __m256i hm = load256(blk);
        /* 4 sum_j sc_j bsum_j, subtracted from the scaled q x sums below */
        __m256i s16[2];
        scales16(_mm256_cvtepi8_epi16(sc), s16);
        __m256i isum = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), load256(x->bsums)), 2);
        isum = _mm256_sub_epi32(_mm256_setzero_si256(), isum);
        VKQ_UNROLL
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load256(blk + 32 + 32 * h);
            VKQ_UNROLL
            for (int l = 0; l < 4; ++l) {
                const int t = 4 * h + l;
                const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, t), m1), 2);
                const __m256i qq = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * l), _mm256_set1_epi8(3)), hb);
                const __m256i p = _mm256_maddubs_epi16(qq, load256(x->q + 32 * t));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(s16, t)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 108) * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* The 6-bit scales and mins of q4_k / q5_k (12 bytes at blk + 4) as 8 + 8 bytes. */
static inline void kq_scales_mins(const uint8_t *p, uint64_t *sc, uint64_t *mn)
{
    uint32_t a0, a1, a2;
    memcpy(&a0, p, 4);
    memcpy(&a1, p + 4, 4);
    memcpy(&a2, p + 8, 4);
    const uint32_t sc_lo = a0 & 0x3F3F3F3Fu, mn_lo = a1 & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (a2 & 0x0F0F0F0Fu) | ((a0 >> 6) & 0x03030303u) << 4;
    const uint32_t mn_hi = ((a2 >> 4) & 0x0F0F0F0Fu) | ((a1 >> 6) & 0x03030303u) << 4;
    *sc = (uint64_t)sc_hi << 32 | sc_lo;
    *mn = (uint64_t)mn_hi << 32 | mn_lo;
}

/* Codes of q4_k / q5_k sub-blocks 2c and 2c + 1 (64 elements from qs[32 c]) as bytes 0..31. */
static VKQ_ALWAYS_INLINE void q45_codes(const uint8_t *blk, __m256i qh, int five, int c, __m256i *q0, __m256i *q1)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), m1 = _mm256_set1_epi8(1);
    const __m256i raw = load256(blk + (five ? 48 : 16) + 32 * c);
    *q0 = _mm256_and_si256(raw, m4);
    *q1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    if (five) {
        *q0 = _mm256_or_si256(*q0, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), m1), 4));
        *q1 = _mm256_or_si256(*q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), m1), 4));
    }
}

/* q4_k (144 bytes) and q5_k (176 bytes; bit 2c / 2c+1 of qh[i] adds 16 to the low / high
 * nibble of qs[32 c + i]): y = d sc q - dmin m over 8 sub-blocks of 32. The 8 scales as int16
 * in both 128-bit lanes; sub-block t picks its scale with one byte shuffle. Pairs <= 2 * 31 *
 * 127; times sc <= 63 fits int32. nr rows w, w + ws, .. at once (nr <= 8): X's block is
 * loaded once per group, and nr weight streams are in flight at once, which is what helps
 * when W comes from DRAM (8 rows measured faster than 4, 4 faster than 1; in L3 all equal).
 * Each row does the same operations in the same order whatever nr is, so results do not
 * depend on the row grouping (thread count). */
static VKQ_ALWAYS_INLINE void q45_k_rows(const uint8_t *w, size_t ws, uint64_t nb, const xk_block *x, int five,
                                         int nr, float *out)
{
    __m256 acc[8];
    for (int i = 0; i < nr; ++i) acc[i] = _mm256_setzero_ps();
    const uint32_t bb = five ? 176 : 144;
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const __m256i bsums = load256(x->bsums);
        VKQ_UNROLL
        for (int i = 0; i < nr; ++i) {
            const uint8_t *blk = w + i * ws + b * bb;
            uint64_t sc, mn;
            kq_scales_mins(blk + 4, &sc, &mn);
            const __m128i mn8 = _mm_cvtsi64_si128((long long)mn);
            /* each min twice: one per 16-element bsum */
            const __m256i msum = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8)), bsums);
            const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
            const __m256i qh = five ? load256(blk + 16) : _mm256_setzero_si256();
            __m256i isum = _mm256_setzero_si256();
            VKQ_UNROLL
            for (int c = 0; c < 4; ++c) {
                __m256i q0, q1;
                q45_codes(blk, qh, five, c, &q0, &q1);
                const __m256i s0 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)((4 * c + 1) << 8 | 4 * c)));
                const __m256i s1 =
                    _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)((4 * c + 3) << 8 | (4 * c + 2))));
                const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, load256(x->q + 64 * c)), s0);
                const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, load256(x->q + 64 * c + 32)), s1);
                isum = _mm256_add_epi32(isum, _mm256_add_epi32(p0, p1));
            }
            __m256 dd, dm;
            d_dmin(blk, x->d, &dd, &dm);
            acc[i] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(isum), acc[i]);
            acc[i] = _mm256_fnmadd_ps(dm, _mm256_cvtepi32_ps(msum), acc[i]);
        }
    }
    for (int i = 0; i < nr; ++i) out[i] = hsum256(acc[i]);
}

/* The GEMM path of q4_k / q5_k (vkq_int8_group.decode / pre_fn): a row group's super-blocks
 * decoded once into what q45_k_rows computes per column before its dot products (codes as
 * bytes, scales, mins, d and dmin), then every column runs only the dot products, two columns
 * per pass sharing each load of the decoded codes. The same integer sums and the same float
 * operations in the same order per (row, column) as q45_k_rows: the same bits. */
typedef struct kq45_pre {
    __m256i q[8];  /* sub-block t's 32 codes (0..31) */
    __m256i mins;  /* the 8 mins as int16, each twice (one per 16-element bsum) */
    int32_t sc[8]; /* sub-block t's scale in both int16 halves (a 32-bit broadcast load) */
    float d, dmin, pad[6];
} kq45_pre;

static VKQ_ALWAYS_INLINE void q45_k_decode(const uint8_t *w, size_t ws, uint64_t nb, int five, int nr, kq45_pre *pre)
{
    const uint32_t bb = five ? 176 : 144;
    for (int i = 0; i < nr; ++i)
        for (uint64_t b = 0; b < nb; ++b) {
            const uint8_t *blk = w + i * ws + b * bb;
            kq45_pre *P = pre + i * nb + b;
            uint64_t sc, mn;
            kq_scales_mins(blk + 4, &sc, &mn);
            const __m128i mn8 = _mm_cvtsi64_si128((long long)mn);
            P->mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
            for (int t = 0; t < 8; ++t) {
                const uint32_t v = (uint32_t)(sc >> (8 * t)) & 0xFFu;
                P->sc[t] = (int32_t)(v | v << 16);
            }
            const __m256i qh = five ? load256(blk + 16) : _mm256_setzero_si256();
            for (int c = 0; c < 4; ++c) {
                __m256i q0, q1;
                q45_codes(blk, qh, five, c, &q0, &q1);
                _mm256_store_si256(&P->q[2 * c], q0);
                _mm256_store_si256(&P->q[2 * c + 1], q1);
            }
            P->d = half_to_f32(blk);
            P->dmin = half_to_f32(blk + 2);
        }
}

/* One decoded super-block of one row against nc <= 2 columns' X blocks xb[c] (bsums loaded):
 * adds it to acc[c] as q45_k_rows does. */
static VKQ_ALWAYS_INLINE void q45_k_pre_block(const kq45_pre *P, const xk_block *const *xb, const __m256i *bsums,
                                              int nc, __m256 *acc)
{
    __m256i isum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    VKQ_UNROLL
    for (int t = 0; t < 8; ++t) {
        const __m256i q = _mm256_load_si256(&P->q[t]);
        const __m256i sc = _mm256_set1_epi32(P->sc[t]);
        VKQ_UNROLL
        for (int c = 0; c < nc; ++c)
            isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(xb[c]->q + 32 * t)), sc));
    }
    const __m256i mins = _mm256_load_si256(&P->mins);
    VKQ_UNROLL
    for (int c = 0; c < nc; ++c) {
        const __m256i msum = _mm256_madd_epi16(mins, bsums[c]);
        const float xd = xb[c]->d;
        acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(P->d * xd), _mm256_cvtepi32_ps(isum[c]), acc[c]);
        acc[c] = _mm256_fnmadd_ps(_mm256_set1_ps(P->dmin * xd), _mm256_cvtepi32_ps(msum), acc[c]);
    }
}

/* q6_k's GEMM path, as q4_k's: codes (0..63), the pair scales of each sub-block, the 16 scales
 * for the -32 bsum term and d. */
typedef struct q6k_pre {
    __m256i q[8];
    __m256i ps[8];
    __m256i sc16;
    float d, pad[7];
} q6k_pre;

static VKQ_ALWAYS_INLINE void q6_k_decode(const uint8_t *w, size_t ws, uint64_t nb, int nr, q6k_pre *pre)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    for (int i = 0; i < nr; ++i)
        for (uint64_t b = 0; b < nb; ++b) {
            const uint8_t *blk = w + i * ws + b * 210;
            q6k_pre *P = pre + i * nb + b;
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
            __m256i s16[2];
            scales16(sc16, s16);
            _mm256_store_si256(&P->sc16, sc16);
            VKQ_UNROLL
            for (int t = 0; t < 8; ++t) _mm256_store_si256(&P->ps[t], pair_scales(s16, t));
            for (int n = 0; n < 2; ++n) {
                const __m256i ql0 = load256(blk + 64 * n), ql1 = load256(blk + 64 * n + 32);
                const __m256i qh = load256(blk + 128 + 32 * n);
                _mm256_store_si256(&P->q[4 * n],
                                   _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)));
                _mm256_store_si256(&P->q[4 * n + 1],
                                   _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)));
                _mm256_store_si256(&P->q[4 * n + 2], _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                                                     _mm256_and_si256(qh, m30)));
                _mm256_store_si256(&P->q[4 * n + 3], _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                                                     _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)));
            }
            P->d = half_to_f32(blk + 208);
        }
}

static VKQ_ALWAYS_INLINE void q6_k_pre_block(const q6k_pre *P, const xk_block *const *xb, const __m256i *bsums,
                                             int nc, __m256 *acc)
{
    const __m256i sc16 = _mm256_load_si256(&P->sc16);
    __m256i isum[2];
    VKQ_UNROLL
    for (int c = 0; c < nc; ++c)
        isum[c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sc16, bsums[c]), 5));
    VKQ_UNROLL
    for (int t = 0; t < 8; ++t) {
        const __m256i q = _mm256_load_si256(&P->q[t]), ps = _mm256_load_si256(&P->ps[t]);
        VKQ_UNROLL
        for (int c = 0; c < nc; ++c)
            isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(xb[c]->q + 32 * t)), ps));
    }
    VKQ_UNROLL
    for (int c = 0; c < nc; ++c)
        acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(P->d * xb[c]->d), _mm256_cvtepi32_ps(isum[c]), acc[c]);
}

/* nr decoded rows (pre_t each super-block, nb per row) against nc <= 2 columns of X, xcb bytes
 * apart, into out[c * ldo + i]; block adds one row's super-block (q45_k_pre_block,
 * q6_k_pre_block). */
#define XK_PRE_COLS(pre_t, block)                                                                    \
    do {                                                                                           \
        const pre_t *pre_ = (const pre_t *)pre;                                                    \
        const xk_block *xc[2] = {x0, (const xk_block *)((const uint8_t *)x0 + xcb)};              \
        __m256 acc[8][2];                                                                          \
        for (int i = 0; i < nr; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();                  \
        for (uint64_t b = 0; b < nb; ++b) {                                                        \
            const xk_block *xb[2] = {xc[0] + b, xc[1] + b};                                        \
            __m256i bsums[2];                                                                      \
            for (int c = 0; c < nc; ++c) bsums[c] = load256(xb[c]->bsums);                         \
            VKQ_UNROLL                                                                             \
            for (int i = 0; i < nr; ++i) block(pre_ + i * nb + b, xb, bsums, nc, acc[i]);         \
        }                                                                                          \
        for (int c = 0; c < nc; ++c)                                                               \
            for (int i = 0; i < nr; ++i) out[c * ldo + i] = hsum256(acc[i][c]);                    \
    } while (0)

static VKQ_ALWAYS_INLINE void q45_k_pre_cols(const void *pre, uint64_t nb, const xk_block *x0, size_t xcb, int nc,
                                             int nr, float *out, size_t ldo)
{
    XK_PRE_COLS(kq45_pre, q45_k_pre_block);
}

static VKQ_ALWAYS_INLINE void q6_k_pre_cols(const void *pre, uint64_t nb, const xk_block *x0, size_t xcb, int nc,
                                            int nr, float *out, size_t ldo)
{
    XK_PRE_COLS(q6k_pre, q6_k_pre_block);
}

/* The decode / pre_fn pair of a type's group of NR rows: columns two at a time, then one. */
#define XK_GEMM_FNS(name, pre_t, decode_call, cols)                                                  \
    static void decode_##name##_fn(const uint8_t *w, size_t ws, uint64_t nb, void *pre)            \
    {                                                                                              \
        decode_call;                                                                               \
    }                                                                                              \
    static void pre_##name##_fn(const void *pre, const uint8_t *w, size_t ws, uint64_t nb, const void *x, \
                                size_t xcb, uint64_t n, float *y, size_t ldy)                      \
    {                                                                                              \
        (void)w;                                                                                   \
        (void)ws;                                                                                  \
        uint64_t c = 0;                                                                            \
        for (; c + 2 <= n; c += 2)                                                                 \
            cols((const pre_t *)pre, nb, (const xk_block *)((const uint8_t *)x + c * xcb), xcb, 2, NR_##name, \
                 y + c * ldy, ldy);                                                                \
        if (c < n)                                                                                 \
            cols((const pre_t *)pre, nb, (const xk_block *)((const uint8_t *)x + c * xcb), xcb, 1, NR_##name, \
                 y + c * ldy, ldy);                                                                \
    }

#define NR_q4_k 8
#define NR_q5_k 4 /* 8 rows were ~3 % slower (mat-vec) */
#define NR_q6_k 8
XK_GEMM_FNS(q4_k, kq45_pre, q45_k_decode(w, ws, nb, 0, NR_q4_k, (kq45_pre *)pre), q45_k_pre_cols)
XK_GEMM_FNS(q5_k, kq45_pre, q45_k_decode(w, ws, nb, 1, NR_q5_k, (kq45_pre *)pre), q45_k_pre_cols)
VKQ_XK_GEMM_KERNELS(q4_k, q45_k_rows, 0, NR_q4_k, kq45_pre)
VKQ_XK_GEMM_KERNELS(q5_k, q45_k_rows, 1, NR_q5_k, kq45_pre)

/* q6_k: y = d sc[i / 16] (q - 32), q = 4 low bits (ql) | 2 high bits (qh) << 4 in 0..63:
 * sum (q - 32) x = sum q x - 32 bsum. Pairs <= 2 * 63 * 127; int8 scales. nr rows at once
 * as in q45_k_rows (same per-row operations whatever nr is). */
static VKQ_ALWAYS_INLINE void q6_k_rows(const uint8_t *w, size_t ws, uint64_t nb, const xk_block *x,
                                        int unused, int nr, float *out)
{
    (void)unused; /* the template serves one type */
    __m256 acc[8];
    for (int i = 0; i < nr; ++i) acc[i] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const __m256i bsums = load256(x->bsums);
        VKQ_UNROLL
        for (int i = 0; i < nr; ++i) {
            const uint8_t *blk = w + i * ws + b * 210;
            const __m128i sc = _mm_loadu_si128((const __m128i *)(blk + 192));
            __m256i s16[2];
            scales16(_mm256_cvtepi8_epi16(sc), s16);
            __m256i isum = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), bsums), 5);
            isum = _mm256_sub_epi32(_mm256_setzero_si256(), isum);
            VKQ_UNROLL
            for (int n = 0; n < 2; ++n) {
                const __m256i ql0 = load256(blk + 64 * n), ql1 = load256(blk + 64 * n + 32);
                const __m256i qh = load256(blk + 128 + 32 * n);
                __m256i q[4];
                q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
                q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
                q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
                VKQ_UNROLL
                for (int t = 0; t < 4; ++t) {
                    const __m256i p = _mm256_maddubs_epi16(q[t], load256(x->q + 128 * n + 32 * t));
                    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(s16, 4 * n + t)));
                }
            }
            acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 208) * x->d), _mm256_cvtepi32_ps(isum), acc[i]);
        }
    }
    for (int i = 0; i < nr; ++i) out[i] = hsum256(acc[i]);
}

XK_GEMM_FNS(q6_k, q6k_pre, q6_k_decode(w, ws, nb, NR_q6_k, (q6k_pre *)pre), q6_k_pre_cols)
VKQ_XK_GEMM_KERNELS(q6_k, q6_k_rows, 0, NR_q6_k, q6k_pre)

/* tq2_0: y = (q - 1) d: sum q x - sum x. The 8 maddubs results add up in int16 (8 x 2 x 3 x
 * 127 < 2^15) before one madd. */
VKQ_XK_DOT(tq2_0)
{
    const xk_block *x = (const xk_block *)xv;
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 66;
        __m256i s16 = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load256(blk + 32 * h);
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(Q2_SUB(q, 0), load256(x->q + 128 * h)));
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(Q2_SUB(q, 1), load256(x->q + 128 * h + 32)));
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(Q2_SUB(q, 2), load256(x->q + 128 * h + 64)));
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(Q2_SUB(q, 3), load256(x->q + 128 * h + 96)));
        }
        const __m256i isum = _mm256_madd_epi16(_mm256_sub_epi16(s16, load256(x->bsums)), ones16);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 64) * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* Bytes b * p mod 256, p per 16-bit lane (both bytes of a lane share it; p * 255 < 2^16). */
static inline __m256i mul_u8_wrap(__m256i v, __m256i p)
{
    const __m256i lo = _mm256_mullo_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x00FF)), p);
    const __m256i hi = _mm256_mullo_epi16(_mm256_and_si256(v, _mm256_set1_epi16((short)0xFF00)), p);
    return _mm256_or_si256(_mm256_and_si256(lo, _mm256_set1_epi16(0x00FF)), hi);
}

/* The trit of a wrapped byte m: (3 m) >> 8 = (m >= 86) + (m >= 171). */
static inline __m256i trit(__m256i m)
{
    const __m256i one = _mm256_set1_epi8(1);
    return _mm256_add_epi8(_mm256_min_epu8(_mm256_subs_epu8(m, _mm256_set1_epi8(85)), one),
                           _mm256_min_epu8(_mm256_subs_epu8(m, _mm256_set1_epi8((char)170)), one));
}

/* 3 b mod 256 per byte. */
static inline __m256i times3(__m256i v)
{
    return _mm256_add_epi8(v, _mm256_add_epi8(v, v));
}

/* tq1_0 (docs/FORMATS.md §6.4): y = (trit - 1) d. Elements 0..159: qs[0..31] times 3^n for n = 0..4
 * (32 each); 160..239: qs[32..47] times 3^n (16 each); 240..255: qs[48..51] times 3^n, n =
 * 0..3 (4 each). Trits <= 2: 8 maddubs results add up in int16 (8 x 2 x 2 x 127). */
VKQ_XK_DOT(tq1_0)
{
    const xk_block *x = (const xk_block *)xv;
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i p01 = _mm256_setr_epi16(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i p23 = _mm256_setr_epi16(9, 9, 9, 9, 9, 9, 9, 9, 27, 27, 27, 27, 27, 27, 27, 27);
    const __m256i p4h = _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 1, 1, 3, 3, 9, 9, 27, 27);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 54;
        __m256i m = load256(blk);
        __m256i s16 = _mm256_maddubs_epi16(trit(m), load256(x->q));
        VKQ_UNROLL
        for (int n = 1; n < 5; ++n) {
            m = times3(m);
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trit(m), load256(x->q + 32 * n)));
        }
        const __m128i mid = _mm_loadu_si128((const __m128i *)(blk + 32));
        const __m256i v = _mm256_broadcastsi128_si256(mid);
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trit(mul_u8_wrap(v, p01)), load256(x->q + 160)));
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trit(mul_u8_wrap(v, p23)), load256(x->q + 192)));
        uint32_t tail;
        memcpy(&tail, blk + 48, 4);
        const __m256i v4 = _mm256_inserti128_si256(_mm256_castsi128_si256(mid), _mm_set1_epi32((int)tail), 1);
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trit(mul_u8_wrap(v4, p4h)), load256(x->q + 224)));
        const __m256i isum = _mm256_madd_epi16(_mm256_sub_epi16(s16, load256(x->bsums)), ones16);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk + 52) * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* iq1_m (docs/FORMATS.md §8.7): y = d (2 s + 1) (g + delta), g in {-1, 0, 1}, delta = +-1/8 per 8
 * elements; computed as d / 8 (2 s + 1) v with v = 8 g +- 1 (|v| <= 9, signed through the
 * sign trick). s per 16 elements; pairs <= 2 * 9 * 127, times 15 fits int32. Per super-block
 * the 32 delta signs and 16 scales are unpacked with vector ops first. The grid indices stay
 * scalar: storing them from a vector and reloading them one by one was slower (store-to-load
 * forwarding). */
VKQ_XK_DOT(iq1_m)
{
    const xk_block *x = (const xk_block *)xv;
    const __m256i mf8 = _mm256_set1_epi8((char)0xF8);
    const __m128i m4 = _mm_set1_epi8(0x0F), b3 = _mm_set1_epi8(8), one = _mm_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 56;
        uint16_t sw[4];
        memcpy(sw, blk + 48, 8);
        const uint16_t dbits = (uint16_t)((sw[0] >> 12) | ((sw[1] >> 8) & 0x00F0u) | ((sw[2] >> 4) & 0x0F00u) |
                                          (sw[3] & 0xF000u));
        /* nibble j (group j = 4 ib + l of 8 elements): low / high nibble of qh[j / 2] */
        const __m128i qh = _mm_loadu_si128((const __m128i *)(blk + 32));
        const __m128i qhl = _mm_and_si128(qh, m4), qhh = _mm_and_si128(_mm_srli_epi16(qh, 4), m4);
        const __m128i nib0 = _mm_unpacklo_epi8(qhl, qhh), nib1 = _mm_unpackhi_epi8(qhl, qhh);
        /* delta byte per group: -1 (0xFF) where nibble bit 3 is set, else +1 */
        const __m256i dl0 = _mm256_broadcastsi128_si256(_mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(nib0, b3), b3), one));
        const __m256i dl1 = _mm256_broadcastsi128_si256(_mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(nib1, b3), b3), one));
        /* 2 s + 1 for the 16 halves of sub-blocks, in order: word k holds fields 4k..4k+3 at
         * bits 0, 3, 6, 9 */
        const __m128i wv = _mm_cvtepu16_epi32(_mm_loadl_epi64((const __m128i *)(blk + 48)));
        const __m128i f = _mm_or_si128(_mm_or_si128(_mm_and_si128(wv, _mm_set1_epi32(7)),
                                                    _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(wv, 3), _mm_set1_epi32(7)), 8)),
                                       _mm_or_si128(_mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(wv, 6), _mm_set1_epi32(7)), 16),
                                                    _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(wv, 9), _mm_set1_epi32(7)), 24)));
        const __m128i sc = _mm_add_epi8(_mm_add_epi8(f, f), one);
        __m256i s16[2];
        scales16(_mm256_cvtepu8_epi16(sc), s16);
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *lo = blk + 4 * ib;
            const unsigned q0 = blk[32 + 2 * ib], q1 = blk[33 + 2 * ib];
            const __m256i g = _mm256_set_epi64x((long long)vkq_iq1s_grid[lo[3] | (q1 >> 4 & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[2] | (q1 & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[1] | (q0 >> 4 & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[0] | (q0 & 7) << 8]);
            const int j = 4 * (ib % 4);
            const __m256i sel = _mm256_setr_epi8(j, j, j, j, j, j, j, j, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1,
                                                 j + 2, j + 2, j + 2, j + 2, j + 2, j + 2, j + 2, j + 2,
                                                 j + 3, j + 3, j + 3, j + 3, j + 3, j + 3, j + 3, j + 3);
            const __m256i delta = _mm256_shuffle_epi8(ib < 4 ? dl0 : dl1, sel);
            /* 8 g per byte: the shift's carries into the next byte land in its low 3 bits */
            const __m256i v = _mm256_add_epi8(_mm256_and_si256(_mm256_slli_epi16(g, 3), mf8), delta);
            const __m256i qx = load256(x->q + 32 * ib);
            const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(qx, v));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(s16, ib)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(dbits) * 0.125f * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* ---- IQ types against X per 256 (docs/FORMATS.md §8) -------------------------------------------
 * Each sub-block of 32 (IQ2_XS / IQ2_S: each half of 16) has a small integer scale c, and the
 * super-block's value is f d dx sum c (q . x): the products go through maddubs (int16 pairs,
 * bound noted per kernel) and madd_epi16 with c (int16), and the 8 sub-blocks add up in one
 * int32 vector; one float convert + FMA per super-block with f d dx. With |c| <= 120 (IQ1_S's
 * 8 c; the others <= 32) and pairs < 2^15, a madd result is < 2^23 and eight of them (plus
 * IQ1_S's bsum term, < 2^17) < 2^27: int32 never overflows. */

/* 8 int16 sub-block scales in both 128-bit lanes; the one at position pos (a constant after
 * unrolling) in all 16 int16 lanes, for madd_epi16. */
static inline __m256i sub_scale(__m256i s8, int pos)
{
    const short j = (short)(2 * pos);
    return _mm256_shuffle_epi8(s8, _mm256_set1_epi16((short)((j + 1) << 8 | j)));
}

/* 8 int32 lanes (values < 2^15) to 8 int16 in both 128-bit lanes, times 2 plus 1. */
static inline __m256i odd_scales8(__m256i s32)
{
    const __m128i s = _mm_packs_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    return _mm256_broadcastsi128_si256(_mm_add_epi16(_mm_add_epi16(s, s), _mm_set1_epi16(1)));
}

/* X's 32 bytes with byte e negated where bit e of sg is set (|qx| <= 127: no overflow). */
static inline __m256i signs_to_x(__m256i qx, uint32_t sg)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sg), shuf);
    const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_sub_epi8(_mm256_xor_si256(qx, neg), neg);
}

/* ksigns_iq2xs[k] (bits 0-6: k, bit 7: parity of k) expanded to 8 bytes of +1 / -1 (0xFF), for
 * sign_epi8: four table loads per 32 elements replace the byte lookups and their expansion
 * into a mask (1 thread, m=1024: IQ2_XXS 12 %, IQ2_XS 23 % faster; IQ3_XXS, whose 8 grid
 * loads per 32 dominate, unchanged, kept on the same path). Built by the preprocessor from
 * that definition (docs/FORMATS.md §8); the products of tests/test_cpu_matmul.c check it against
 * the bit-exact decoders. */
#define KS_BYTE(bit, j) ((uint64_t)((bit) & 1 ? 0xFF : 0x01) << (8 * (j)))
#define KS_PARITY(k)    (((k) ^ (k) >> 1 ^ (k) >> 2 ^ (k) >> 3 ^ (k) >> 4 ^ (k) >> 5 ^ (k) >> 6) & 1)
#define KS_ROW(k)                                                                                            \
    (KS_BYTE(k, 0) | KS_BYTE((k) >> 1, 1) | KS_BYTE((k) >> 2, 2) | KS_BYTE((k) >> 3, 3) |                    \
     KS_BYTE((k) >> 4, 4) | KS_BYTE((k) >> 5, 5) | KS_BYTE((k) >> 6, 6) | KS_BYTE(KS_PARITY(k), 7))
#define KS_4(k)  KS_ROW(k), KS_ROW((k) + 1), KS_ROW((k) + 2), KS_ROW((k) + 3)
#define KS_16(k) KS_4(k), KS_4((k) + 4), KS_4((k) + 8), KS_4((k) + 12)
#define KS_64(k) KS_16(k), KS_16((k) + 16), KS_16((k) + 32), KS_16((k) + 48)
static const uint64_t k_sign8[128] = {KS_64(0), KS_64(64)};

/* X's 32 bytes signed by the 4 ksigns entries i0..i3 (8 elements each). */
static inline __m256i ksigns_x(__m256i qx, unsigned i0, unsigned i1, unsigned i2, unsigned i3)
{
    return _mm256_sign_epi8(qx, _mm256_set_epi64x((long long)k_sign8[i3], (long long)k_sign8[i2],
                                                  (long long)k_sign8[i1], (long long)k_sign8[i0]));
}

/* iq2_xxs: y = d (0.5 + s) / 4 grid sign = d / 8 (2 s + 1) grid sign; 8-byte record per
 * sub-block: 4 grid indices, u32 W (4 x 7-bit sign indices, s in bits 28-31). Grid bytes <=
 * 43: pairs <= 2 * 43 * 127 < 2^14; c = 2 s + 1 <= 31. */
VKQ_XK_DOT(iq2_xxs)
{
    const xk_block *x = (const xk_block *)xv;
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 66;
        /* s is the top nibble of each record's last byte: records 0-3 (64-bit lanes of one
         * load) and 4-7; int32 lanes s0 s4 s1 s5 s2 s6 s3 s7, so sub-block t at 2 (t % 4) + t / 4 */
        const __m256i s = _mm256_or_si256(_mm256_srli_epi64(load256(blk + 2), 60),
                                          _mm256_slli_epi64(_mm256_srli_epi64(load256(blk + 34), 60), 32));
        const __m256i sc = odd_scales8(s);
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *R = blk + 2 + 8 * ib;
            uint32_t W;
            memcpy(&W, R + 4, 4);
            const __m256i q =
                _mm256_set_epi64x((long long)vkq_iq2xxs_grid[R[3]], (long long)vkq_iq2xxs_grid[R[2]],
                                  (long long)vkq_iq2xxs_grid[R[1]], (long long)vkq_iq2xxs_grid[R[0]]);
            const __m256i p =
                _mm256_maddubs_epi16(q, ksigns_x(load256(x->q + 32 * ib), W & 127, (W >> 7) & 127,
                                                 (W >> 14) & 127, (W >> 21) & 127));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sub_scale(sc, 2 * (ib % 4) + ib / 4)));
        }
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * 0.125f * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* iq3_xxs: y = d (0.5 + s) / 2 grid sign = d / 4 (2 s + 1) grid sign; element e of sub-block
 * ib is byte e % 4 of iq3xxs_grid[qs[8 ib + e / 4]]; u32 W at 66 + 4 ib as in iq2_xxs. Grid
 * bytes <= 62: pairs <= 2 * 62 * 127 < 2^14; c <= 31. */
VKQ_XK_DOT(iq3_xxs)
{
    const xk_block *x = (const xk_block *)xv;
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 98;
        const __m256i sc = odd_scales8(_mm256_srli_epi32(load256(blk + 66), 28));
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *g = blk + 2 + 8 * ib;
            uint32_t W;
            memcpy(&W, blk + 66 + 4 * ib, 4);
            const __m256i q = _mm256_setr_epi32((int)vkq_iq3xxs_grid[g[0]], (int)vkq_iq3xxs_grid[g[1]],
                                                (int)vkq_iq3xxs_grid[g[2]], (int)vkq_iq3xxs_grid[g[3]],
                                                (int)vkq_iq3xxs_grid[g[4]], (int)vkq_iq3xxs_grid[g[5]],
                                                (int)vkq_iq3xxs_grid[g[6]], (int)vkq_iq3xxs_grid[g[7]]);
            const __m256i p =
                _mm256_maddubs_epi16(q, ksigns_x(load256(x->q + 32 * ib), W & 127, (W >> 7) & 127,
                                                 (W >> 14) & 127, (W >> 21) & 127));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sub_scale(sc, ib)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * 0.25f * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* The 16 scales 2 s + 1 of iq2_xs / iq2_s (one per 16 elements) from 8 bytes of nibbles (low:
 * first 16 elements of sub-block ib, high: last 16), laid out for pair_scales. */
static inline void iq2_scales16(const uint8_t *p, __m256i s16[2])
{
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i v = _mm_loadl_epi64((const __m128i *)p);
    const __m128i n = _mm_unpacklo_epi8(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    const __m256i s = _mm256_cvtepu8_epi16(n);
    scales16(_mm256_add_epi16(_mm256_add_epi16(s, s), _mm256_set1_epi16(1)), s16);
}

/* iq2_xs: y = d / 8 (2 s + 1) grid sign, s per 16 elements; 32 x u16 (9-bit grid index, 7-bit
 * ksigns index) @2, scales @66. Grid bytes <= 43: pairs < 2^14; c <= 31. */
VKQ_XK_DOT(iq2_xs)
{
    const xk_block *x = (const xk_block *)xv;
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 74;
        __m256i s16[2];
        iq2_scales16(blk + 66, s16);
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            uint16_t u[4];
            memcpy(u, blk + 2 + 8 * ib, 8);
            const __m256i q = _mm256_set_epi64x(
                (long long)vkq_iq2xs_grid[u[3] & 511], (long long)vkq_iq2xs_grid[u[2] & 511],
                (long long)vkq_iq2xs_grid[u[1] & 511], (long long)vkq_iq2xs_grid[u[0] & 511]);
            const __m256i p = _mm256_maddubs_epi16(
                q, ksigns_x(load256(x->q + 32 * ib), u[0] >> 9, u[1] >> 9, u[2] >> 9, u[3] >> 9));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(s16, ib)));
        }
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * 0.125f * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* iq2_s: as iq2_xs with explicit sign bytes; index low bits @2, sign bytes @34, index bits
 * 8-9 @66, scales @74. Grid bytes <= 43: pairs < 2^14; c <= 31. */
VKQ_XK_DOT(iq2_s)
{
    const xk_block *x = (const xk_block *)xv;
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 82;
        __m256i s16[2];
        iq2_scales16(blk + 74, s16);
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *lo = blk + 2 + 4 * ib;
            const unsigned hb = blk[66 + ib];
            uint32_t sg;
            memcpy(&sg, blk + 34 + 4 * ib, 4);
            const __m256i q = _mm256_set_epi64x((long long)vkq_iq2s_grid[lo[3] | ((hb >> 6) & 3) << 8],
                                                (long long)vkq_iq2s_grid[lo[2] | ((hb >> 4) & 3) << 8],
                                                (long long)vkq_iq2s_grid[lo[1] | ((hb >> 2) & 3) << 8],
                                                (long long)vkq_iq2s_grid[lo[0] | (hb & 3) << 8]);
            const __m256i p = _mm256_maddubs_epi16(q, signs_to_x(load256(x->q + 32 * ib), sg));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(s16, ib)));
        }
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * 0.125f * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* iq3_s: y = d (1 + 2 s) grid sign; element e of sub-block ib is byte e % 4 of
 * iq3s_grid[qs[8 ib + e / 4] | bit e / 4 of qh[ib] << 8], sign bit e of the 4 sign bytes at
 * 74 + 4 ib; s: nibbles at 106. Grid bytes <= 15: pairs <= 2 * 15 * 127; c <= 31. The 8
 * grid words by scalar loads: 23 % faster than vpgatherdd on Zen 3 (1 thread, m=1024). */
VKQ_XK_DOT(iq3_s)
{
    const xk_block *x = (const xk_block *)xv;
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 110;
        uint32_t s4;
        memcpy(&s4, blk + 106, 4);
        const __m128i sv = _mm_cvtsi32_si128((int)s4);
        const __m256i sc = odd_scales8(_mm256_cvtepu8_epi32(
            _mm_unpacklo_epi8(_mm_and_si128(sv, m4), _mm_and_si128(_mm_srli_epi16(sv, 4), m4))));
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *g = blk + 2 + 8 * ib;
            const unsigned h = blk[66 + ib];
#define IQ3S_G(k) (int)vkq_iq3s_grid[g[k] | (h << (8 - k) & 256)]
            const __m256i q = _mm256_setr_epi32(IQ3S_G(0), IQ3S_G(1), IQ3S_G(2), IQ3S_G(3), IQ3S_G(4),
                                                IQ3S_G(5), IQ3S_G(6), IQ3S_G(7));
#undef IQ3S_G
            uint32_t sg;
            memcpy(&sg, blk + 74 + 4 * ib, 4);
            const __m256i p = _mm256_maddubs_epi16(q, signs_to_x(load256(x->q + 32 * ib), sg));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sub_scale(sc, ib)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* iq1_s: y = d (2 s + 1) (g + delta), g in {-1, 0, 1} (int8 grid rows), delta = +-1/8 per
 * sub-block; with c = 2 s + 1 and e = +-1 the sign of delta, a sub-block gives d / 8 c (8 g.x
 * + e sum x): the g.x products (sign trick, pairs <= 2 * 127) get 8 c <= 120 in madd, and the
 * delta terms come from X's sums per 16 in one madd per super-block (|bsum| <= 16 * 127, |c e|
 * <= 15), as ggml does with Q8_K. qh[ib] (u16 @34): index bits 8-10 of group l at 3 l, s at
 * 12, delta sign at 15. The grid indices stay scalar (as in iq1_m). */
VKQ_XK_DOT(iq1_s)
{
    const xk_block *x = (const xk_block *)xv;
    const __m128i one = _mm_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 50;
        const __m128i h = _mm_loadu_si128((const __m128i *)(blk + 34));
        const __m128i s = _mm_and_si128(_mm_srli_epi16(h, 12), _mm_set1_epi16(7));
        const __m128i c = _mm_add_epi16(_mm_add_epi16(s, s), one);
        /* c e per sub-block, each twice: one per bsum of 16 */
        const __m128i ce = _mm_sign_epi16(c, _mm_or_si128(_mm_srai_epi16(h, 15), one));
        const __m256i ce16 = _mm256_set_m128i(_mm_unpackhi_epi16(ce, ce), _mm_unpacklo_epi16(ce, ce));
        const __m256i sc = _mm256_broadcastsi128_si256(_mm_slli_epi16(c, 3));
        __m256i isum = _mm256_madd_epi16(load256(x->bsums), ce16);
        VKQ_UNROLL
        for (int ib = 0; ib < 8; ++ib) {
            const uint8_t *lo = blk + 2 + 4 * ib;
            const uint32_t hw = (uint32_t)blk[34 + 2 * ib] | (uint32_t)blk[35 + 2 * ib] << 8;
            const __m256i g = _mm256_set_epi64x((long long)vkq_iq1s_grid[lo[3] | ((hw >> 9) & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[2] | ((hw >> 6) & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[1] | ((hw >> 3) & 7) << 8],
                                                (long long)vkq_iq1s_grid[lo[0] | (hw & 7) << 8]);
            const __m256i qx = load256(x->q + 32 * ib);
            const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(g, g), _mm256_sign_epi8(qx, g));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sub_scale(sc, ib)));
        }
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * 0.125f * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}

/* iq4_xs: y = d (ls - 32) kvalues[q], 6-bit ls per sub-block (low nibbles @4, high 2 bits
 * @2), 16 bytes of nibbles per sub-block @8 (low: elements 0-15, high: 16-31). One 32-byte
 * load serves two sub-blocks. Sign trick: |kvalues| <= 127, pairs <= 2 * 127 * 127 < 2^15;
 * |c| <= 32. */
VKQ_XK_DOT(iq4_xs)
{
    const xk_block *x = (const xk_block *)xv;
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)vkq_kvalues_iq4nl));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m128i m4s = _mm_set1_epi8(0x0F);
    /* bits 2 ib, 2 ib + 1 of scales_h to the top of int16 lane ib */
    const __m128i hmul = _mm_setr_epi16(1 << 14, 1 << 12, 1 << 10, 1 << 8, 1 << 6, 1 << 4, 1 << 2, 1);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t b = 0; b < nb; ++b, ++x) {
        const uint8_t *blk = w + b * 136;
        uint16_t sh;
        uint32_t sl;
        memcpy(&sh, blk + 2, 2);
        memcpy(&sl, blk + 4, 4);
        const __m128i lv = _mm_cvtsi32_si128((int)sl);
        const __m128i lo = _mm_cvtepu8_epi16(
            _mm_unpacklo_epi8(_mm_and_si128(lv, m4s), _mm_and_si128(_mm_srli_epi16(lv, 4), m4s)));
        const __m128i hi =
            _mm_slli_epi16(_mm_srli_epi16(_mm_mullo_epi16(_mm_set1_epi16((short)sh), hmul), 14), 4);
        const __m256i sc =
            _mm256_broadcastsi128_si256(_mm_sub_epi16(_mm_or_si128(lo, hi), _mm_set1_epi16(32)));
        __m256i isum = _mm256_setzero_si256();
        VKQ_UNROLL
        for (int c = 0; c < 4; ++c) {
            /* lanes: sub-blocks 2c, 2c + 1; low nibbles elements 0-15, high 16-31 */
            const __m256i raw = load256(blk + 8 + 32 * c);
            const __m256i l = _mm256_and_si256(raw, m4), h = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            VKQ_UNROLL
            for (int u = 0; u < 2; ++u) {
                const __m256i n =
                    u ? _mm256_permute2x128_si256(l, h, 0x31) : _mm256_permute2x128_si256(l, h, 0x20);
                const __m256i q = _mm256_shuffle_epi8(table, n);
                const __m256i qx = load256(x->q + 32 * (2 * c + u));
                const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(qx, q));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sub_scale(sc, 2 * c + u)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_f32(blk) * x->d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum256(acc);
}
