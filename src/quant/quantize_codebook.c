/* Quantizers of the 16-level codebook types: IQ4_NL and IQ4_XS (kvalues_iq4nl), NF4, and the
 * FP4 microscaling types MXFP4 (E8M0 scale) and NVFP4 (UE4M3 scale per 16).
 *
 * Codes are always the nearest level to x / d; what the quantizers search is the scale. */
#include <float.h>
#include <pthread.h>

#include "formats/decode_cpu.h"
#include "quant/quantize_internal.h"
#include "formats/tables_gen.h"

typedef struct codebook {
    float lev[16], mid[16];
    uint8_t code[16];
} codebook;

static codebook g_iq4nl, g_nf4, g_fp4;
static float g_ue4m3[127]; /* decoded UE4M3 "half" of codes 0..0x7E, increasing */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_codebooks(void)
{
    vkq_codebook_init(vkq_kvalues_iq4nl, 16, 1.0f, g_iq4nl.lev, g_iq4nl.mid, g_iq4nl.code);
    vkq_codebook_init(vkq_kvalues_mxfp4, 16, 1.0f, g_fp4.lev, g_fp4.mid, g_fp4.code);
    /* NF4's levels are floats, already ascending in code order. */
    for (int c = 0; c < 16; c++) {
        g_nf4.lev[c] = vkq_f32_from_bits(vkq_nf4_bits[c]);
        g_nf4.code[c] = (uint8_t)c;
    }
    for (int c = 0; c < 15; c++)
        g_nf4.mid[c] = 0.5f * (g_nf4.lev[c] + g_nf4.lev[c + 1]);
    g_nf4.mid[15] = INFINITY;
    for (int c = 0; c < 127; c++)
        g_ue4m3[c] = vkq_ue4m3_half_to_f32((uint8_t)c);
}

/* Codes (as stored) of x / d for the decoded scale d, and their weighted error. */
static float assign(const codebook *cb, const float *x, const float *w, int n, float d, uint8_t *code)
{
    /* NF4 and MXFP4 scales can be binary32 subnormals, whose inverse overflows. */
    const int tiny = fabsf(d) < VKQ_TINY;
    const float id = d != 0.0f && !tiny ? 1.0f / d : 0.0f;
    float e = 0.0f;
    for (int j = 0; j < n; j++) {
        const int k = vkq_nearest16(cb->mid, tiny ? (d != 0.0f ? x[j] / d : 0.0f) : x[j] * id);
        code[j] = cb->code[k];
        const float t = x[j] - cb->lev[k] * d;
        e += w[j] * t * t;
    }
    return e;
}

/* Element i < half in the low nibble of qs[i], else the high nibble of qs[i - half]. */
static void put_nibbles(uint8_t *qs, const uint8_t *code, int half)
{
    for (int j = 0; j < half; j++)
        qs[j] = (uint8_t)(code[j] | code[j + half] << 4);
}

/* Searched scale vs absmax scale (largest |x| on the codebook's far end), both rounded to
 * fp16 if `fp16` (else kept: NF4's scale is binary32), the better kept. Returns the stored scale's decoded
 * value and fills code. */
static float fit_scale(const codebook *cb, const float *x, const float *w, int n, int fp16, uint16_t *h_out,
                       uint8_t *code)
{
    uint8_t idx[64], cur[64];
    float m = vkq_signed_absmax(x, n);
    if (fabsf(m) < VKQ_TINY) m = 0.0f;
    const float cand[2] = {vkq_search_scale_codebook(x, w, n, cb->lev, cb->mid, 16, 8, idx),
                           m / (m < 0.0f ? cb->lev[0] : cb->lev[15])};
    if (m == 0.0f) { /* all (near) zero: scale 0, codes of 0 */
        *h_out = 0;
        assign(cb, x, w, n, 0.0f, code);
        return 0.0f;
    }
    float best_e = FLT_MAX, best_d = 0.0f;
    for (int c = 0; c < 2; c++) {
        const uint16_t h = fp16 ? vkq_scale_fp16(cand[c]) : 0;
        const float d = fp16 ? vkq_fp16_to_f32(h) : cand[c];
        const float e = assign(cb, x, w, n, d, cur);
        if (c == 0 || e < best_e) {
            best_e = e;
            best_d = d;
            *h_out = h;
            for (int j = 0; j < n; j++)
                code[j] = cur[j];
        }
    }
    return best_d;
}

void vkq_quantize_block_iq4_nl(const float *x, const float *w, uint8_t *blk)
{
    pthread_once(&g_once, init_codebooks);
    uint8_t code[32];
    uint16_t h;
    fit_scale(&g_iq4nl, x, w, 32, 1, &h, code);
    vkq_put_u16(blk, h);
    put_nibbles(blk + 2, code, 16);
}

/* NF4's absmax is binary32, so the searched scale is stored as it is. */
void vkq_quantize_block_nf4(const float *x, const float *w, uint8_t *blk)
{
    pthread_once(&g_once, init_codebooks);
    uint8_t code[64];
    uint16_t h;
    const float d = fit_scale(&g_nf4, x, w, 64, 0, &h, code);
    vkq_put_u32(blk, vkq_f32_to_bits(d));
    put_nibbles(blk + 4, code, 32);
}

/* IQ4_XS: y = d * (ls - 32) * kvalues[q] per 32. Each sub-block's best scale is searched, d is
 * chosen so the largest of them lands on ls - 32 = -32 (or +31), the 6-bit ls are rounded and
 * tried one step either way against the decoded values; the better d of the two is kept. */
void vkq_quantize_block_iq4_xs(const float *x, const float *w, uint8_t *blk)
{
    pthread_once(&g_once, init_codebooks);
    const codebook *cb = &g_iq4nl;
    float sub[8], smax = 0.0f;
    uint8_t idx[32];
    for (int ib = 0; ib < 8; ib++) {
        sub[ib] = vkq_search_scale_codebook(x + 32 * ib, w + 32 * ib, 32, cb->lev, cb->mid, 16, 8, idx);
        if (fabsf(sub[ib]) > fabsf(smax)) smax = sub[ib];
    }
    float best_total = FLT_MAX;
    uint8_t out[136];
    for (int c = 0; c < 2; c++) {
        const uint16_t h = vkq_scale_fp16(smax / (c == 0 ? -32.0f : 31.0f));
        const float d = vkq_fp16_to_f32(h);
        uint8_t tmp[136] = {0};
        uint32_t scales_h = 0;
        float total = 0.0f;
        for (int ib = 0; ib < 8; ib++) {
            const int l0 = d != 0.0f ? vkq_round_clamp(sub[ib] / d, -32, 31) : 0;
            float be = FLT_MAX;
            int bl = l0;
            uint8_t bcode[32], code[32];
            for (int l = l0 - 1; l <= l0 + 1; l++) {
                if (l < -32 || l > 31) continue;
                const float e = assign(cb, x + 32 * ib, w + 32 * ib, 32, d * (float)l, code);
                if (e < be) {
                    be = e;
                    bl = l;
                    for (int j = 0; j < 32; j++)
                        bcode[j] = code[j];
                }
            }
            total += be;
            const int ls = bl + 32;
            tmp[4 + ib / 2] |= (uint8_t)((ls & 0xF) << (4 * (ib % 2)));
            scales_h |= (uint32_t)(ls >> 4) << (2 * ib);
            put_nibbles(tmp + 8 + 16 * ib, bcode, 16);
        }
        vkq_put_u16(tmp, h);
        vkq_put_u16(tmp + 2, scales_h);
        if (c == 0 || total < best_total) {
            best_total = total;
            for (int b = 0; b < 136; b++)
                out[b] = tmp[b];
        }
    }
    for (int b = 0; b < 136; b++)
        blk[b] = out[b];
}

/* MXFP4: the E8M0 exponent e with 12 * 2^(e-128) nearest to the absmax, and its neighbours;
 * the one with the lowest weighted error wins. */
void vkq_quantize_block_mxfp4(const float *x, const float *w, uint8_t *blk)
{
    pthread_once(&g_once, init_codebooks);
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    int e0 = 0;
    if (amax > 0.0f) {
        int ex;
        frexpf(amax / 12.0f, &ex); /* amax / 12 in [2^(ex-1), 2^ex) */
        e0 = ex + 127;
    }
    float best_e = FLT_MAX;
    uint8_t code[32], bcode[32];
    int be = 0;
    /* 255 decodes as 2^127, never needed for finite x; 0 is the floor for tiny blocks. */
    const int e_lo = e0 - 2 < 0 ? 0 : (e0 - 2 > 254 ? 254 : e0 - 2);
    const int e_hi = e0 + 1 < e_lo ? e_lo : (e0 + 1 > 254 ? 254 : e0 + 1);
    for (int e = e_lo; e <= e_hi; e++) {
        const float err = assign(&g_fp4, x, w, 32, vkq_e8m0_half_to_f32((uint8_t)e), code);
        if (err < best_e) {
            best_e = err;
            be = e;
            for (int j = 0; j < 32; j++)
                bcode[j] = code[j];
        }
    }
    blk[0] = (uint8_t)be;
    put_nibbles(blk + 1, bcode, 16);
}

/* NVFP4: per 16 values, the UE4M3 codes around absmax / 12 (binary search in the increasing
 * table of decoded codes) are tried and the lowest weighted error kept. */
void vkq_quantize_block_nvfp4(const float *x, const float *w, uint8_t *blk)
{
    pthread_once(&g_once, init_codebooks);
    for (int s = 0; s < 4; s++) {
        const float *xs = x + 16 * s, *ws = w + 16 * s;
        float amax = 0.0f;
        for (int j = 0; j < 16; j++)
            amax = fmaxf(amax, fabsf(xs[j]));
        int lo = 0, hi = 126; /* first code whose scale reaches amax / 12 */
        const float target = amax / 12.0f;
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            if (g_ue4m3[mid] < target)
                lo = mid + 1;
            else
                hi = mid;
        }
        float best_e = FLT_MAX;
        uint8_t code[16], bcode[16] = {0};
        int bc = 0;
        for (int c = lo - 2; c <= lo + 1; c++) {
            if (c < 0 || c > 126) continue;
            const float err = assign(&g_fp4, xs, ws, 16, g_ue4m3[c], code);
            if (err < best_e) {
                best_e = err;
                bc = c;
                for (int j = 0; j < 16; j++)
                    bcode[j] = code[j];
            }
        }
        blk[s] = (uint8_t)bc;
        put_nibbles(blk + 4 + 8 * s, bcode, 8);
    }
}
