/* The type-traits table and the "Types" functions of include/vkquant/core.h. */
#include "core/types.h"
#include "core/error.h"

#include <stddef.h>

#include "formats/decode_cpu.h"
#include "quant/quantize_internal.h"

/* ---- per-type extras -------------------------------------------------------------------
 * T_<NAME> = EXTRA(is_weight_type, oracle_gguf_py, layout, scale fields...).
 * oracle_gguf_py: 1 where the PyPI gguf 0.19 package's gguf.quants.dequantize decodes the type
 * (checked by trying each); tests/oracle_gguf.py then compares against it, else against its own
 * implementation of FORMATS.md. Scale fields: see vkq_scale_kind in types.h. */
#define EXTRA(weight, oracle, layout_str, ...)                                                   \
    .info.is_weight_type = (weight), .oracle_gguf_py = (oracle), .info.layout = (layout_str),    \
    .scales = { __VA_ARGS__ }
#define SC(kind, off) { VKQ_SCALE_##kind, (off) }
#define NO_SCALE { VKQ_SCALE_NONE, 0 }

#define T_F32     EXTRA(1, 1, "y = binary32 (copy); 32 bpw", NO_SCALE)
#define T_F16     EXTRA(1, 1, "y = binary16 (exact); 16 bpw", NO_SCALE)
#define T_BF16    EXTRA(1, 1, "y = bfloat16 << 16; 16 bpw", NO_SCALE)
#define T_Q4_0    EXTRA(1, 1, "y = (q-8)*d; d f16, 32 x u4; 4.5 bpw", SC(F16, 0))
#define T_Q4_1    EXTRA(1, 1, "y = q*d + m; d,m f16, 32 x u4; 5.0 bpw", SC(F16, 0), SC(F16, 2))
#define T_Q5_0    EXTRA(1, 1, "y = (q-16)*d; d f16, qh 32 bits, 32 x u4; 5.5 bpw", SC(F16, 0))
#define T_Q5_1    EXTRA(1, 1, "y = q*d + m; d,m f16, qh 32 bits, 32 x u4; 6.0 bpw", \
                        SC(F16, 0), SC(F16, 2))
#define T_Q8_0    EXTRA(1, 1, "y = q*d; d f16, 32 x i8; 8.5 bpw", SC(F16, 0))
#define T_Q8_1    EXTRA(0, 0, "y = q*d; d,s f16 (s = d*sum q, unused), 32 x i8; 9.0 bpw", \
                        SC(F16, 0), SC(F16, 2))
#define T_Q2_K    EXTRA(1, 1, "y = d*sc*q - dmin*m; 16 x (u4 sc, u4 m), 256 x u2, d,dmin f16; " \
                        "2.625 bpw", SC(F16, 80), SC(F16, 82))
#define T_Q3_K    EXTRA(1, 1, "y = d*(sc-32)*(q-4*!h); hmask, 256 x u2, 16 x 6-bit sc, d f16; " \
                        "3.4375 bpw", SC(F16, 108))
#define T_Q4_K    EXTRA(1, 1, "y = d*sc*q - dmin*m; d,dmin f16, 8 x 6-bit (sc, m), 256 x u4; " \
                        "4.5 bpw", SC(F16, 0), SC(F16, 2))
#define T_Q5_K    EXTRA(1, 1, "y = d*sc*q - dmin*m; d,dmin f16, 8 x 6-bit (sc, m), qh, 256 x u4; " \
                        "5.5 bpw", SC(F16, 0), SC(F16, 2))
#define T_Q6_K    EXTRA(1, 1, "y = d*sc*(q-32); ql u4, qh u2, 16 x i8 sc, d f16; 6.5625 bpw", \
                        SC(F16, 208))
#define T_Q8_K    EXTRA(0, 0, "y = d*q; d f32, 256 x i8, 16 x i16 bsums; 9.125 bpw", SC(F32, 0))
#define T_IQ2_XXS EXTRA(1, 1, "y = d*(0.5+s)/4*grid*sign; d f16, 8 x (4 x u8 idx, u32 signs+s); " \
                        "2.0625 bpw", SC(F16, 0))
#define T_IQ2_XS  EXTRA(1, 1, "y = d*(0.5+s)/4*grid*sign; d f16, 32 x u16 (9-bit idx, 7-bit sign), " \
                        "8 x (u4,u4) s; 2.3125 bpw", SC(F16, 0))
#define T_IQ2_S   EXTRA(1, 1, "y = d*(0.5+s)/4*grid*sign; d f16, 10-bit idx, sign bytes, 8 x (u4,u4) s; " \
                        "2.5625 bpw", SC(F16, 0))
#define T_IQ3_XXS EXTRA(1, 1, "y = d*(0.5+s)/2*grid*sign; d f16, 64 x u8 idx, 8 x u32 signs+s; " \
                        "3.0625 bpw", SC(F16, 0))
#define T_IQ3_S   EXTRA(1, 1, "y = d*(1+2s)*grid*sign; d f16, 9-bit idx, sign bytes, 8 x u4 s; " \
                        "3.4375 bpw", SC(F16, 0))
#define T_IQ1_S   EXTRA(1, 1, "y = d*(2s+1)*(grid+-1/8); d f16, 11-bit idx, 8 x u16 (s, delta); " \
                        "1.5625 bpw", SC(F16, 0))
#define T_IQ1_M   EXTRA(1, 1, "y = d*(2s+1)*(grid+-1/8); 11-bit idx, delta bits, 3-bit s, d f16 " \
                        "in scale nibbles; 1.75 bpw", SC(IQ1M, 48))
#define T_IQ4_NL  EXTRA(1, 1, "y = d*kvalues_iq4nl[q]; d f16, 32 x u4; 4.5 bpw", SC(F16, 0))
#define T_IQ4_XS  EXTRA(1, 1, "y = d*(ls-32)*kvalues_iq4nl[q]; d f16, 8 x 6-bit ls, 256 x u4; " \
                        "4.25 bpw", SC(F16, 0))
#define T_TQ1_0   EXTRA(1, 1, "y = (t-1)*d; 5 (qs) / 4 (qh) base-3 trits per byte, d f16; " \
                        "1.6875 bpw", SC(F16, 52))
#define T_TQ2_0   EXTRA(1, 1, "y = (q-1)*d; 256 x u2, d f16; 2.0625 bpw", SC(F16, 64))
#define T_MXFP4   EXTRA(1, 1, "y = 2*e2m1[c] * 2^(e-128); e E8M0, 32 x E2M1; 4.25 bpw", \
                        SC(E8M0, 0))
#define T_NVFP4   EXTRA(1, 1, "y = 2*e2m1[c] * ue4m3(d[i/16])/2; 4 x UE4M3, 64 x E2M1; 4.5 bpw", \
                        NO_SCALE)
#define T_Q1_0    EXTRA(1, 0, "y = bit ? d : -d; d f16, 128 bits; 1.125 bpw", SC(F16, 0))
#define T_Q2_0    EXTRA(1, 0, "y = (q-1)*d; d f16, 64 x u2; 2.25 bpw", SC(F16, 0))
#define T_NF4     EXTRA(1, 0, "y = nf4[q]*absmax; absmax f32, 64 x u4 (low nibbles first); " \
                        "4.5 bpw", SC(F32, 0))

/* ---- quantizer round-trip bounds ---------------------------------------------------------
 * NMSE_<NAME>: upper bound of sum (x - decode(quantize(x)))^2 / sum x^2 on the test data of
 * tests/test_quantize.c (64 x 4096 LLM-like weights: N(0,1), 1% outliers at 8x, per-row scales
 * 2^-8..2^-3; tests/test_util.c). Chosen as the largest value measured over seeds 2, 3, 4
 * (which differ by ~2%) times 1.25, rounded up to two digits: a quantizer that gets worse fails,
 * another seed or libm's last bits do not. F32 is exact. */
#define NMSE_F32     0.0
#define NMSE_F16     5.5e-08
#define NMSE_BF16    3.6e-06
#define NMSE_Q4_0    0.022
#define NMSE_Q4_1    0.0095
#define NMSE_Q5_0    0.0056
#define NMSE_Q5_1    0.0023
#define NMSE_Q8_0    8.9e-05
#define NMSE_Q8_1    8.9e-05
#define NMSE_Q2_K    0.098
#define NMSE_Q3_K    0.044
#define NMSE_Q4_K    0.0097
#define NMSE_Q5_K    0.0024
#define NMSE_Q6_K    0.0008
#define NMSE_Q8_K    0.00047
#define NMSE_IQ2_XXS 0.23
#define NMSE_IQ2_XS  0.16
#define NMSE_IQ2_S   0.14
#define NMSE_IQ3_XXS 0.058
#define NMSE_IQ3_S   0.036
#define NMSE_IQ1_S   0.37
#define NMSE_IQ1_M   0.26
#define NMSE_IQ4_NL  0.014
#define NMSE_IQ4_XS  0.014
#define NMSE_TQ1_0   0.46
#define NMSE_TQ2_0   0.46
#define NMSE_MXFP4   0.026
#define NMSE_NVFP4   0.01
#define NMSE_Q1_0    0.7
#define NMSE_Q2_0    0.25
#define NMSE_NF4     0.02

/* ---- the table --------------------------------------------------------------------------- */

/* (Macro parameters are upper case so they do not collide with the member names.)
 * tol_matmul_f32: the fp32 kernels decode exactly (bit-exact with the CPU) and accumulate in
 * fp32, so their error is the summation's: about eps^2 = 1.4e-14 per term relative to the
 * square of the terms' magnitudes, times a factor that grows with k. Measured over the test
 * grid (k <= 4096, every type): 3e-12 .. 4e-11 where m x n gives many outputs; single outputs
 * whose sum happens to cancel reach ~1.3e-10, which is why the test scales the bound by the
 * cancellation of each case (tests/matmul_ref.h). A type gets its own value
 * only if its decode is not exact, which no fp32 path has. */
#define X(NAME, ID, QK, BYTES, FAMILY)                                                         \
    [VKQ_TYPE_##NAME] = {                                                                      \
        .info.type = VKQ_TYPE_##NAME,                                                          \
        .info.name = #NAME,                                                                    \
        .info.block_elems = (QK),                                                              \
        .info.block_bytes = (BYTES),                                                           \
        .info.bits_per_weight = 8.0 * (BYTES) / (QK),                                          \
        .family = #FAMILY,                                                                     \
        .decode_block = vkq_decode_block_##FAMILY,                                             \
        .tol_matmul_f32 = 1e-10,                                                               \
        .quantize_block = vkq_quantize_block_##FAMILY,                                         \
        .nmse_quant = NMSE_##NAME,                                                             \
        T_##NAME,                                                                              \
    },
static const vkq_type_traits k_traits[VKQ_TYPE_MAX_ID + 1] = {
#include "vkquant/types.def"
};
#undef X

/* The .def's block geometry must match the field layout the decoders implement. */
#define X(name, id, qk, bytes, family)                                                         \
    _Static_assert((qk) == VKQ_QK_##family && (bytes) == VKQ_BYTES_##family,                   \
                   #name ": vkquant/types.def disagrees with decode_cpu.h");                   \
    _Static_assert((id) >= 0 && (id) <= VKQ_TYPE_MAX_ID, #name ": id out of range");
#include "vkquant/types.def"
#undef X

#define X(name, id, qk, bytes, family) +1
static const uint32_t k_type_count = 0
#include "vkquant/types.def"
    ;
#undef X

/* ---- functions ----------------------------------------------------------------------------- */

const vkq_type_traits *vkq_traits(vkq_type type)
{
    const uint64_t id = (uint64_t)(int64_t)type; /* negative values become huge */
    if (id > VKQ_TYPE_MAX_ID || k_traits[id].info.name == NULL) {
        return NULL;
    }
    return &k_traits[id];
}

const vkq_type_info *vkq_type_get(vkq_type type)
{
    const vkq_type_traits *t = vkq_traits(type);
    return t ? &t->info : NULL;
}

static int ascii_tolower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int name_equal_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (ascii_tolower((unsigned char)*a) != ascii_tolower((unsigned char)*b)) {
            return 0;
        }
    }
    return *a == *b;
}

vkq_status vkq_type_from_name(const char *name, vkq_type *out)
{
    if (name == NULL || out == NULL) {
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    }
    for (uint32_t id = 0; id <= VKQ_TYPE_MAX_ID; id++) {
        if (k_traits[id].info.name && name_equal_nocase(name, k_traits[id].info.name)) {
            *out = k_traits[id].info.type;
            return VKQ_SUCCESS;
        }
    }
    return vkq_fail_status(VKQ_ERROR_UNKNOWN_TYPE);
}

uint32_t vkq_type_count(void)
{
    return k_type_count;
}

/* The index-th present type in id order; out of range gives (vkq_type)-1, which vkq_type_get
 * and vkq_traits reject. */
vkq_type vkq_type_at(uint32_t index)
{
    uint32_t seen = 0;
    for (uint32_t id = 0; id <= VKQ_TYPE_MAX_ID; id++) {
        if (k_traits[id].info.name == NULL) {
            continue;
        }
        if (seen == index) {
            return k_traits[id].info.type;
        }
        seen++;
    }
    return (vkq_type)-1;
}

vkq_status vkq_type_bytes(vkq_type type, uint64_t n_elems, uint64_t *out_bytes)
{
    if (out_bytes == NULL) {
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    }
    const vkq_type_traits *t = vkq_traits(type);
    if (t == NULL) {
        return vkq_fail_status(VKQ_ERROR_UNKNOWN_TYPE);
    }
    if (n_elems % t->info.block_elems != 0) {
        return vkq_fail_status(VKQ_ERROR_BAD_SHAPE);
    }
    const uint64_t blocks = n_elems / t->info.block_elems;
    if (blocks > UINT64_MAX / t->info.block_bytes) {
        return vkq_fail_status(VKQ_ERROR_TOO_LARGE);
    }
    *out_bytes = blocks * t->info.block_bytes;
    return VKQ_SUCCESS;
}

vkq_status vkq_decode_cpu(vkq_type type, const void *src, size_t src_bytes, float *dst,
                          uint64_t n_elems)
{
    if (src == NULL || dst == NULL) {
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    }
    const vkq_type_traits *t = vkq_traits(type);
    if (t == NULL) {
        return vkq_fail_status(VKQ_ERROR_UNKNOWN_TYPE);
    }
    if (n_elems == 0) {
        return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    }
    uint64_t need;
    const vkq_status st = vkq_type_bytes(type, n_elems, &need);
    if (st != VKQ_SUCCESS) {
        return st;
    }
    if (n_elems > SIZE_MAX / sizeof(float)) {
        return vkq_fail_status(VKQ_ERROR_TOO_LARGE); /* dst could not be that large (32-bit hosts) */
    }
    if ((uint64_t)src_bytes < need) {
        return vkq_fail_status(VKQ_ERROR_OUT_OF_RANGE);
    }
    const uint8_t *p = (const uint8_t *)src;
    const uint64_t n_blocks = n_elems / t->info.block_elems;
    for (uint64_t b = 0; b < n_blocks; b++) {
        t->decode_block(p + b * t->info.block_bytes, dst + b * t->info.block_elems);
    }
    return VKQ_SUCCESS;
}
