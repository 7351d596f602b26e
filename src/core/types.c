/* The type-traits table and the "Types" functions of include/vkquant/core.h. */
#include "core/types.h"
#include "core/error.h"

#include <stddef.h>

#include "formats/decode_cpu.h"
#include "quant/quantize_internal.h"

/* ---- the table ---------------------------------------------------------------------------
 * Every fact about a type, in one designated-initializer table: first what the .def does not
 * say (written per type below), then the .def's columns (the X rows after them; they set other
 * members of the same elements, so nothing is overridden). A type of the .def without its
 * entry here fails tests/test_decode_cpu.c ("incomplete traits").
 *
 * layout: the format in one line (vkq_type_info.layout).
 * is_weight_type: 0 for the activation-only formats (Q8_1, Q8_K).
 * oracle_gguf_py: 1 where the PyPI gguf 0.19 package's gguf.quants.dequantize decodes the type
 *   (checked by trying each); tests/oracle_gguf.py then compares against it, else against its
 *   own implementation of docs/FORMATS.md.
 * nmse_quant: upper bound of sum (x - decode(quantize(x)))^2 / sum x^2 on the test data of
 *   tests/test_quantize.c (64 x 4096 LLM-like weights: N(0,1), 1% outliers at 8x, per-row scales
 *   2^-8..2^-3; tests/test_util.c). Chosen as the largest value measured over seeds 2, 3, 4
 *   (which differ by ~2%) times 1.25, rounded up to two digits: a quantizer that gets worse
 *   fails, another seed or libm's last bits do not. F32 is exact.
 * scales: where a block keeps its float scales (vkq_scale_kind in types.h), so tests can make
 *   random blocks with valid scales.
 * tol_matmul_f32 (the same for every type, set with the .def's columns): the fp32 kernels
 *   decode exactly (bit-exact with the CPU) and accumulate in fp32, so their error is the
 *   summation's: about eps^2 = 1.4e-14 per term relative to the square of the terms'
 *   magnitudes, times a factor that grows with k. Measured over the test grid (k <= 4096, every
 *   type): 3e-12 .. 4e-11 where m x n gives many outputs; single outputs whose sum happens to
 *   cancel reach ~1.3e-10, which is why the test scales the bound by the cancellation of each
 *   case (tests/matmul_ref.h). A type would get its own value only if its decode were not
 *   exact, which no fp32 path has. */
#define SC(kind, off) { VKQ_SCALE_##kind, (off) }
#define TOL_MATMUL_F32 1e-10

/* (Macro parameters are upper case so they do not collide with the member names.) */
#define X(NAME, ID, QK, BYTES, FAMILY, GPU_INT8)                                               \
    [VKQ_TYPE_##NAME].info.type = VKQ_TYPE_##NAME,                                             \
    [VKQ_TYPE_##NAME].info.name = #NAME,                                                       \
    [VKQ_TYPE_##NAME].info.block_elems = (QK),                                                 \
    [VKQ_TYPE_##NAME].info.block_bytes = (BYTES),                                              \
    [VKQ_TYPE_##NAME].info.bits_per_weight = 8.0 * (BYTES) / (QK),                             \
    [VKQ_TYPE_##NAME].family = #FAMILY,                                                        \
    [VKQ_TYPE_##NAME].gpu_int8 = (GPU_INT8),                                                   \
    [VKQ_TYPE_##NAME].decode_block = vkq_decode_block_##FAMILY,                                \
    [VKQ_TYPE_##NAME].quantize_block = vkq_quantize_block_##FAMILY,                            \
    [VKQ_TYPE_##NAME].tol_matmul_f32 = TOL_MATMUL_F32,
static const vkq_type_traits k_traits[VKQ_TYPE_MAX_ID + 1] = {
    [VKQ_TYPE_F32] = {
        .info.layout = "y = binary32 (copy); 32 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0,
    },
    [VKQ_TYPE_F16] = {
        .info.layout = "y = binary16 (exact); 16 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 5.5e-08,
    },
    [VKQ_TYPE_Q4_0] = {
        .info.layout = "y = (q-8)*d; d f16, 32 x u4; 4.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.022,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_Q4_1] = {
        .info.layout = "y = q*d + m; d,m f16, 32 x u4; 5.0 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0095,
        .scales = {SC(F16, 0), SC(F16, 2)},
    },
    [VKQ_TYPE_Q5_0] = {
        .info.layout = "y = (q-16)*d; d f16, qh 32 bits, 32 x u4; 5.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0056,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_Q5_1] = {
        .info.layout = "y = q*d + m; d,m f16, qh 32 bits, 32 x u4; 6.0 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0023,
        .scales = {SC(F16, 0), SC(F16, 2)},
    },
    [VKQ_TYPE_Q8_0] = {
        .info.layout = "y = q*d; d f16, 32 x i8; 8.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 8.9e-05,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_Q8_1] = {
        .info.layout = "y = q*d; d,s f16 (s = d*sum q, unused), 32 x i8; 9.0 bpw",
        .info.is_weight_type = 0, .oracle_gguf_py = 0, .nmse_quant = 8.9e-05,
        .scales = {SC(F16, 0), SC(F16, 2)},
    },
    [VKQ_TYPE_Q2_K] = {
        .info.layout = "y = d*sc*q - dmin*m; 16 x (u4 sc, u4 m), 256 x u2, d,dmin f16; 2.625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.098,
        .scales = {SC(F16, 80), SC(F16, 82)},
    },
    [VKQ_TYPE_Q3_K] = {
        .info.layout = "y = d*(sc-32)*(q-4*!h); hmask, 256 x u2, 16 x 6-bit sc, d f16; 3.4375 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.044,
        .scales = {SC(F16, 108)},
    },
    [VKQ_TYPE_Q4_K] = {
        .info.layout = "y = d*sc*q - dmin*m; d,dmin f16, 8 x 6-bit (sc, m), 256 x u4; 4.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0097,
        .scales = {SC(F16, 0), SC(F16, 2)},
    },
    [VKQ_TYPE_Q5_K] = {
        .info.layout = "y = d*sc*q - dmin*m; d,dmin f16, 8 x 6-bit (sc, m), qh, 256 x u4; 5.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0024,
        .scales = {SC(F16, 0), SC(F16, 2)},
    },
    [VKQ_TYPE_Q6_K] = {
        .info.layout = "y = d*sc*(q-32); ql u4, qh u2, 16 x i8 sc, d f16; 6.5625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.0008,
        .scales = {SC(F16, 208)},
    },
    [VKQ_TYPE_Q8_K] = {
        .info.layout = "y = d*q; d f32, 256 x i8, 16 x i16 bsums; 9.125 bpw",
        .info.is_weight_type = 0, .oracle_gguf_py = 0, .nmse_quant = 0.00047,
        .scales = {SC(F32, 0)},
    },
    [VKQ_TYPE_IQ2_XXS] = {
        .info.layout = "y = d*(0.5+s)/4*grid*sign; d f16, 8 x (4 x u8 idx, u32 signs+s); "
                       "2.0625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.23,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ2_XS] = {
        .info.layout = "y = d*(0.5+s)/4*grid*sign; "
                       "d f16, 32 x u16 (9-bit idx, 7-bit sign), 8 x (u4,u4) s; 2.3125 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.16,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ3_XXS] = {
        .info.layout = "y = d*(0.5+s)/2*grid*sign; d f16, 64 x u8 idx, 8 x u32 signs+s; 3.0625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.058,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ1_S] = {
        .info.layout = "y = d*(2s+1)*(grid+-1/8); d f16, 11-bit idx, 8 x u16 (s, delta); "
                       "1.5625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.37,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ4_NL] = {
        .info.layout = "y = d*kvalues_iq4nl[q]; d f16, 32 x u4; 4.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.014,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ3_S] = {
        .info.layout = "y = d*(1+2s)*grid*sign; d f16, 9-bit idx, sign bytes, 8 x u4 s; 3.4375 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.036,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ2_S] = {
        .info.layout = "y = d*(0.5+s)/4*grid*sign; d f16, 10-bit idx, sign bytes, 8 x (u4,u4) s; "
                       "2.5625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.14,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ4_XS] = {
        .info.layout = "y = d*(ls-32)*kvalues_iq4nl[q]; d f16, 8 x 6-bit ls, 256 x u4; 4.25 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.014,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_IQ1_M] = {
        .info.layout = "y = d*(2s+1)*(grid+-1/8); "
                       "11-bit idx, delta bits, 3-bit s, d f16 in scale nibbles; 1.75 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.26,
        .scales = {SC(IQ1M, 48)},
    },
    [VKQ_TYPE_BF16] = {
        .info.layout = "y = bfloat16 << 16; 16 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 3.6e-06,
    },
    [VKQ_TYPE_TQ1_0] = {
        .info.layout = "y = (t-1)*d; 5 (qs) / 4 (qh) base-3 trits per byte, d f16; 1.6875 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.46,
        .scales = {SC(F16, 52)},
    },
    [VKQ_TYPE_TQ2_0] = {
        .info.layout = "y = (q-1)*d; 256 x u2, d f16; 2.0625 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.46,
        .scales = {SC(F16, 64)},
    },
    [VKQ_TYPE_MXFP4] = {
        .info.layout = "y = 2*e2m1[c] * 2^(e-128); e E8M0, 32 x E2M1; 4.25 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.026,
        .scales = {SC(E8M0, 0)},
    },
    [VKQ_TYPE_NVFP4] = {
        .info.layout = "y = 2*e2m1[c] * ue4m3(d[i/16])/2; 4 x UE4M3, 64 x E2M1; 4.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 1, .nmse_quant = 0.01,
    },
    [VKQ_TYPE_Q1_0] = {
        .info.layout = "y = bit ? d : -d; d f16, 128 bits; 1.125 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 0, .nmse_quant = 0.7,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_Q2_0] = {
        .info.layout = "y = (q-1)*d; d f16, 64 x u2; 2.25 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 0, .nmse_quant = 0.25,
        .scales = {SC(F16, 0)},
    },
    [VKQ_TYPE_NF4] = {
        .info.layout = "y = nf4[q]*absmax; absmax f32, 64 x u4 (low nibbles first); 4.5 bpw",
        .info.is_weight_type = 1, .oracle_gguf_py = 0, .nmse_quant = 0.02,
        .scales = {SC(F32, 0)},
    },

#include "vkquant/types.def"
};
#undef X
#undef SC

/* The .def's block geometry must match the field layout the decoders implement. */
#define X(name, id, qk, bytes, family, ...)                                                    \
    _Static_assert((qk) == VKQ_QK_##family && (bytes) == VKQ_BYTES_##family,                   \
                   #name ": vkquant/types.def disagrees with decode_cpu.h");                   \
    _Static_assert((id) >= 0 && (id) <= VKQ_TYPE_MAX_ID, #name ": id out of range");
#include "vkquant/types.def"
#undef X

#define X(...) +1
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
