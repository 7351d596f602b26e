/* Unit tests of the type table, the scalar converters and vkq_decode_cpu: argument checks,
 * exhaustive converter checks against a floating-point restatement of docs/FORMATS.md §1.3, and
 * hand-derived blocks for the spec's edge cases. Exit status 0 only if every check passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/decode_cpu.h"
#include "core/fp_convert.h"
#include "test_util.h"
#include "core/types.h"

static int g_checks, g_failures;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        g_checks++;                                                                            \
        if (!(cond)) {                                                                         \
            g_failures++;                                                                      \
            if (g_failures <= 50) {                                                            \
                printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                         \
                printf(__VA_ARGS__);                                                           \
                printf("\n");                                                                  \
            }                                                                                  \
        }                                                                                      \
    } while (0)

#define CHECK_STATUS(expr, want)                                                               \
    do {                                                                                       \
        const vkq_status st_ = (expr);                                                         \
        CHECK(st_ == (want), "got %s, want %s", vkq_status_string(st_),                        \
              vkq_status_string(want));                                                        \
    } while (0)

/* Decodes one block of `type` and compares element i with the binary32 bits want[k] for each
 * (i, want) pair. */
typedef struct { int i; uint32_t bits; } expect;

static void check_block(const char *what, vkq_type type, const uint8_t *blk,
                        const expect *ex, int n_ex)
{
    const vkq_type_info *info = vkq_type_get(type);
    float out[256];
    CHECK_STATUS(vkq_decode_cpu(type, blk, info->block_bytes, out, info->block_elems),
                 VKQ_SUCCESS);
    for (int k = 0; k < n_ex; k++) {
        const uint32_t got = vkq_f32_to_bits(out[ex[k].i]);
        CHECK(got == ex[k].bits, "%s: element %d is 0x%08x (%g), want 0x%08x (%g)", what,
              ex[k].i, (unsigned)got, (double)out[ex[k].i], (unsigned)ex[k].bits,
              (double)vkq_f32_from_bits(ex[k].bits));
    }
}

static uint32_t bits_of_double(double v) /* exact when v is a binary32 value */
{
    return vkq_f32_to_bits((float)v);
}

/* ---- type table and API checks ----------------------------------------------------------- */

static void test_type_table(void)
{
    const uint32_t n = vkq_type_count();
    CHECK(n == 31, "vkq_type_count() = %u", (unsigned)n);
    int prev = -1;
    for (uint32_t k = 0; k < n; k++) {
        const vkq_type t = vkq_type_at(k);
        const vkq_type_traits *tr = vkq_traits(t);
        CHECK(tr != NULL, "type_at(%u)", (unsigned)k);
        if (tr == NULL) {
            continue;
        }
        CHECK((int)t > prev, "type_at not in id order at %u", (unsigned)k);
        prev = (int)t;
        CHECK(tr->info.type == t && tr->decode_block && tr->family && tr->info.layout,
              "%s: incomplete traits", tr->info.name);
        CHECK(tr->info.bits_per_weight == 8.0 * tr->info.block_bytes / tr->info.block_elems,
              "%s: bpw", tr->info.name);
        CHECK(vkq_type_get(t) == &tr->info, "%s: vkq_type_get", tr->info.name);
        vkq_type back;
        CHECK(vkq_type_from_name(tr->info.name, &back) == VKQ_SUCCESS && back == t,
              "%s: from_name", tr->info.name);
        for (int s = 0; s < VKQ_MAX_SCALES; s++) {
            const uint32_t size = tr->scales[s].kind == VKQ_SCALE_F16    ? 2
                                  : tr->scales[s].kind == VKQ_SCALE_F32  ? 4
                                  : tr->scales[s].kind == VKQ_SCALE_E8M0 ? 1
                                  : tr->scales[s].kind == VKQ_SCALE_IQ1M ? 8
                                                                         : 0;
            CHECK(tr->scales[s].offset + size <= tr->info.block_bytes, "%s: scale %d offset",
                  tr->info.name, s);
        }
        const int activation = t == VKQ_TYPE_Q8_1 || t == VKQ_TYPE_Q8_K;
        CHECK(tr->info.is_weight_type == !activation, "%s: is_weight_type", tr->info.name);
    }
    CHECK(vkq_type_get(vkq_type_at(n)) == NULL, "type_at(count) must be invalid");
    CHECK(vkq_type_get((vkq_type)4) == NULL, "removed id 4");
    CHECK(vkq_type_get((vkq_type)43) == NULL, "id 43");
    CHECK(vkq_type_get((vkq_type)257) == NULL, "id 257");
    CHECK(vkq_type_get((vkq_type)-1) == NULL, "id -1");

    const vkq_type_info *nf4 = vkq_type_get(VKQ_TYPE_NF4);
    CHECK(nf4 && nf4->block_elems == 64 && nf4->block_bytes == 36 && nf4->bits_per_weight == 4.5,
          "NF4 geometry");
    const vkq_type_info *q8k = vkq_type_get(VKQ_TYPE_Q8_K);
    CHECK(q8k && q8k->block_elems == 256 && q8k->block_bytes == 292, "Q8_K geometry");

    vkq_type t = VKQ_TYPE_F32;
    CHECK_STATUS(vkq_type_from_name("q4_k", &t), VKQ_SUCCESS);
    CHECK(t == VKQ_TYPE_Q4_K, "q4_k");
    CHECK_STATUS(vkq_type_from_name("Iq2_xXs", &t), VKQ_SUCCESS);
    CHECK(t == VKQ_TYPE_IQ2_XXS, "Iq2_xXs");
    CHECK_STATUS(vkq_type_from_name("nf4", &t), VKQ_SUCCESS);
    CHECK(t == VKQ_TYPE_NF4, "nf4");
    CHECK_STATUS(vkq_type_from_name("Q4", &t), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_type_from_name("Q4_K_M", &t), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_type_from_name("", &t), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_type_from_name(NULL, &t), VKQ_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(vkq_type_from_name("F32", NULL), VKQ_ERROR_INVALID_ARGUMENT);

    uint64_t bytes = 0;
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_Q4_0, 64, &bytes), VKQ_SUCCESS);
    CHECK(bytes == 36, "Q4_0 64 elems = %llu bytes", (unsigned long long)bytes);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_Q4_0, 0, &bytes), VKQ_SUCCESS);
    CHECK(bytes == 0, "0 elems");
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_Q4_0, 33, &bytes), VKQ_ERROR_BAD_SHAPE);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_Q4_K, 128, &bytes), VKQ_ERROR_BAD_SHAPE);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_F32, 5, &bytes), VKQ_SUCCESS);
    CHECK(bytes == 20, "F32 5 elems");
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_F16, UINT64_MAX, &bytes), VKQ_ERROR_TOO_LARGE);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_Q8_K, UINT64_MAX - 255, &bytes), VKQ_ERROR_TOO_LARGE);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_F32, UINT64_MAX / 4, &bytes), VKQ_SUCCESS);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_F32, UINT64_MAX / 4 + 1, &bytes), VKQ_ERROR_TOO_LARGE);
    CHECK_STATUS(vkq_type_bytes((vkq_type)5, 32, &bytes), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_type_bytes(VKQ_TYPE_Q4_0, 32, NULL), VKQ_ERROR_INVALID_ARGUMENT);

    static const vkq_status all[] = {
        VKQ_SUCCESS, VKQ_ERROR_INVALID_ARGUMENT, VKQ_ERROR_UNKNOWN_TYPE, VKQ_ERROR_UNSUPPORTED,
        VKQ_ERROR_BAD_SHAPE, VKQ_ERROR_OUT_OF_RANGE, VKQ_ERROR_OUT_OF_HOST_MEMORY,
        VKQ_ERROR_OUT_OF_DEVICE_MEMORY, VKQ_ERROR_TOO_LARGE, VKQ_ERROR_NO_DEVICE,
        VKQ_ERROR_LOADER, VKQ_ERROR_VULKAN, VKQ_ERROR_IO, VKQ_ERROR_MALFORMED};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        const char *s = vkq_status_string(all[k]);
        CHECK(s && strncmp(s, "VKQ_", 4) == 0 && strchr(s, ':'), "status string %d", (int)all[k]);
    }
    CHECK(vkq_status_string((vkq_status)-100) != NULL, "unknown status string");
    CHECK(strncmp(vkq_status_string(VKQ_ERROR_BAD_SHAPE), "VKQ_ERROR_BAD_SHAPE", 19) == 0,
          "BAD_SHAPE string");
}

static void test_decode_args(void)
{
    uint8_t blk[2 * 292] = {0};
    float out[512];
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, NULL, 18, out, 32), VKQ_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 18, NULL, 32), VKQ_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 18, out, 0), VKQ_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(vkq_decode_cpu((vkq_type)4, blk, 18, out, 32), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_decode_cpu((vkq_type)255, blk, 18, out, 32), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_decode_cpu((vkq_type)100000, blk, 18, out, 32), VKQ_ERROR_UNKNOWN_TYPE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 18, out, 31), VKQ_ERROR_BAD_SHAPE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 18, out, 48), VKQ_ERROR_BAD_SHAPE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 17, out, 32), VKQ_ERROR_OUT_OF_RANGE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 35, out, 64), VKQ_ERROR_OUT_OF_RANGE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 0, out, 32), VKQ_ERROR_OUT_OF_RANGE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q8_K, blk, 291, out, 256), VKQ_ERROR_OUT_OF_RANGE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q8_K, blk, 292, out, 256), VKQ_SUCCESS);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q8_K, blk, sizeof blk, out, 512), VKQ_SUCCESS);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q8_K, blk, sizeof blk, out, UINT64_MAX - 255),
                 VKQ_ERROR_TOO_LARGE);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 36, out, 64), VKQ_SUCCESS);
    CHECK_STATUS(vkq_decode_cpu(VKQ_TYPE_Q4_0, blk, 1000, out, 32), VKQ_SUCCESS);
}

/* ---- scalar converters -------------------------------------------------------------------- */

static void test_converters(void)
{
    /* fp16: every input against §1.3.1 evaluated in double with ldexp. */
    for (uint32_t h = 0; h < 65536; h++) {
        const uint32_t s = h >> 15, e = (h >> 10) & 0x1F, m = h & 0x3FF;
        uint32_t want;
        if (e == 31) {
            want = m == 0 ? (s << 31 | 0x7F800000u) : (s << 31 | 0x7FC00000u | m << 13);
        } else {
            const double mag = e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, (int)e - 25);
            want = bits_of_double(s ? -mag : mag);
        }
        const uint32_t got = vkq_fp16_to_f32_bits((uint16_t)h);
        CHECK(got == want, "fp16 0x%04x -> 0x%08x, want 0x%08x", (unsigned)h, (unsigned)got,
              (unsigned)want);
        /* round trip (NaN: quiet payload survives, as the top 10 payload bits) */
        const uint16_t back = vkq_f32_bits_to_fp16(got);
        const uint16_t want_back = (e == 31 && m != 0) ? (uint16_t)(h | 0x200) : (uint16_t)h;
        CHECK(back == want_back, "fp16 round trip 0x%04x -> 0x%04x", (unsigned)h, (unsigned)back);
        /* bf16 */
        CHECK(vkq_bf16_to_f32_bits((uint16_t)h) == h << 16, "bf16 0x%04x", (unsigned)h);
    }

    /* f32 -> fp16 rounding edge cases (round to nearest, ties to even). */
    static const struct { double x; uint16_t h; } rt[] = {
        {65504.0, 0x7BFF},          {65519.99, 0x7BFF},           {65520.0, 0x7C00},
        {1e10, 0x7C00},             {-65520.0, 0xFC00},           {1.0 + 0x1p-11, 0x3C00},
        {1.0 + 0x1.8p-11, 0x3C01},  {1.0 + 0x1p-10 + 0x1p-11, 0x3C02},
        {0x1p-25, 0x0000},          {0x1.000002p-25, 0x0001},     {0x1.8p-24, 0x0002},
        {0x1.4p-23, 0x0002},        {0x1.ff8p-15, 0x03FF},        {0x1.ffcp-15, 0x0400},
        {-0x1p-24, 0x8001},         {-0x1p-26, 0x8000},           {0x1p-14, 0x0400},
        {3.14159265, 0x4248},       {-0.0, 0x8000},               {0x1p-149, 0x0000},
    };
    for (size_t k = 0; k < sizeof rt / sizeof rt[0]; k++) {
        const uint16_t got = vkq_f32_to_fp16((float)rt[k].x);
        CHECK(got == rt[k].h, "f32 %a -> fp16 0x%04x, want 0x%04x", rt[k].x, (unsigned)got,
              (unsigned)rt[k].h);
    }
    CHECK(vkq_f32_bits_to_fp16(0x7F800000u) == 0x7C00, "inf");
    CHECK((vkq_f32_bits_to_fp16(0x7F800001u) & 0x7E00) == 0x7E00, "nan stays nan");

    /* E8M0 half: 2^(e-128) for every byte, 255 included. */
    for (uint32_t e = 0; e < 256; e++) {
        const uint32_t want = bits_of_double(ldexp(1.0, (int)e - 128));
        CHECK(vkq_e8m0_half_to_f32_bits((uint8_t)e) == want, "e8m0 %u", (unsigned)e);
    }
    CHECK(vkq_e8m0_half_to_f32_bits(0) == 0x00200000u, "e8m0 0");
    CHECK(vkq_e8m0_half_to_f32_bits(1) == 0x00400000u, "e8m0 1");
    CHECK(vkq_e8m0_half_to_f32_bits(255) == 0x7F000000u, "e8m0 255");

    /* UE4M3 half, §1.3.4 in double. */
    for (uint32_t x = 0; x < 256; x++) {
        const uint32_t E = (x >> 3) & 0xF, M = x & 7;
        double v;
        if (x == 0x00 || x == 0x7F) {
            v = 0.0;
        } else if (E == 0) {
            v = ldexp((double)M, -9) * 0.5;
        } else {
            v = (1.0 + M / 8.0) * ldexp(1.0, (int)E - 7) * 0.5;
        }
        CHECK(vkq_ue4m3_half_to_f32_bits((uint8_t)x) == bits_of_double(v), "ue4m3 0x%02x",
              (unsigned)x);
    }
    CHECK(vkq_ue4m3_half_to_f32(0x7F) == 0.0f && vkq_ue4m3_half_to_f32(0xFF) == 240.0f &&
              vkq_ue4m3_half_to_f32(0x80) == 0.0f && vkq_ue4m3_half_to_f32(0x7E) == 224.0f,
          "ue4m3 specials");
}

/* ---- hand-derived blocks (docs/FORMATS.md edge cases) ----------------------------------------- */

static void test_edge_blocks(void)
{
    uint8_t b[292];

    /* Q4_0, d = -1.0 (0xBC00): q = 8 -> 0 * d = -0.0; q = 0 -> -8 * -1 = 8; q = 7 -> 1;
     * q = 15 -> -7. Element 0/16 from qs[0], 1/17 from qs[1]. */
    memset(b, 0, sizeof b);
    b[0] = 0x00, b[1] = 0xBC;
    b[2] = 0x08;  /* element 0: 8, element 16: 0 */
    b[3] = 0xF7;  /* element 1: 7, element 17: 15 */
    {
        static const expect ex[] = {{0, 0x80000000u}, {16, 0x41000000u}, {1, 0x3F800000u},
                                    {17, 0xC0E00000u}, {2, 0x41000000u}};
        check_block("Q4_0 d<0", VKQ_TYPE_Q4_0, b, ex, 5);
    }

    /* Q1_0, d = +0: bit 1 -> +0.0, bit 0 -> -0.0 (sign flip, not a multiply). */
    memset(b, 0, sizeof b);
    b[2] = 0x01;   /* element 0 set */
    b[17] = 0x80;  /* element 127 set */
    {
        static const expect ex[] = {{0, 0x00000000u}, {1, 0x80000000u}, {126, 0x80000000u},
                                    {127, 0x00000000u}};
        check_block("Q1_0 d=+0", VKQ_TYPE_Q1_0, b, ex, 4);
    }
    b[0] = 0x00, b[1] = 0x3C; /* d = 1.0 */
    {
        static const expect ex[] = {{0, 0x3F800000u}, {1, 0xBF800000u}, {127, 0x3F800000u}};
        check_block("Q1_0 d=1", VKQ_TYPE_Q1_0, b, ex, 3);
    }

    /* MXFP4: e = 0 -> scale 2^-128 (subnormal), e = 1 -> 2^-127, e = 255 -> 2^127 (not NaN).
     * Codes: 1 -> 1, 7 -> 12, 8 -> +0, 9 -> -1, 15 -> -12, 2 -> 2. */
    memset(b, 0, sizeof b);
    b[0] = 0;
    b[1] = 0x71;  /* element 0: code 1, element 16: code 7 */
    b[2] = 0x98;  /* element 1: code 8, element 17: code 9 */
    b[3] = 0x2F;  /* element 2: code 15, element 18: code 2 */
    {
        static const expect ex[] = {{0, 0x00200000u},  {16, 0x01400000u}, {1, 0x00000000u},
                                    {17, 0x80200000u}, {2, 0x81400000u},  {18, 0x00400000u}};
        check_block("MXFP4 e=0", VKQ_TYPE_MXFP4, b, ex, 6);
    }
    b[0] = 1;
    {
        static const expect ex[] = {{0, 0x00400000u}, {17, 0x80400000u}, {18, 0x00800000u}};
        check_block("MXFP4 e=1", VKQ_TYPE_MXFP4, b, ex, 3);
    }
    b[0] = 255;
    {
        /* 1 * 2^127; 12 * 2^127 and 2 * 2^127 overflow to +Inf; code 8 -> 0 * 2^127 = +0 */
        static const expect ex[] = {{0, 0x7F000000u}, {16, 0x7F800000u}, {1, 0x00000000u},
                                    {17, 0xFF000000u}, {18, 0x7F800000u}};
        check_block("MXFP4 e=255", VKQ_TYPE_MXFP4, b, ex, 5);
    }

    /* NVFP4: sub-block scales 0x7F (-> 0), 0xFF (-> 240), 0x80 (-> 0), 0x01 (-> 2^-10).
     * Sub-block s: element r < 8 low nibble of B[4+8s+r], r >= 8 high nibble of B[4+8s+r-8]. */
    memset(b, 0, sizeof b);
    b[0] = 0x7F, b[1] = 0xFF, b[2] = 0x80, b[3] = 0x01;
    for (int s = 0; s < 4; s++) {
        b[4 + 8 * s + 0] = 0x91;  /* r = 0: code 1 (+1), r = 8: code 9 (-1) */
        b[4 + 8 * s + 1] = 0x07;  /* r = 1: code 7 (12), r = 9: code 0 */
    }
    {
        static const expect ex[] = {
            {0, 0x00000000u},  {8, 0x80000000u},  {1, 0x00000000u},  /* scale +0 */
            {16, 0x43700000u}, {24, 0xC3700000u}, {17, 0x45340000u}, /* 240, -240, 2880 */
            {25, 0x00000000u},                                       /* code 0 * 240 */
            {32, 0x00000000u}, {40, 0x80000000u},                    /* 0x80 -> +0 */
            {48, 0x3A800000u}, {56, 0xBA800000u}, {49, 0x3C400000u}, /* 2^-10, 12 * 2^-10 */
        };
        check_block("NVFP4 UE4M3 0x7F/0xFF/0x80/0x01", VKQ_TYPE_NVFP4, b, ex,
                    (int)(sizeof ex / sizeof ex[0]));
    }

    /* fp16 subnormal scales: Q8_0 with d = 0x0001 (2^-24) and d = 0x83FF (-1023 * 2^-24). */
    memset(b, 0, sizeof b);
    b[0] = 0x01, b[1] = 0x00;
    b[2] = 127, b[3] = 0x80, b[4] = 1, b[5] = 0xFF; /* q = 127, -128, 1, -1 */
    {
        static const expect ex[] = {{0, 0x36FE0000u}, {1, 0xB7000000u}, {2, 0x33800000u},
                                    {3, 0xB3800000u}, {4, 0x00000000u}};
        check_block("Q8_0 d=2^-24", VKQ_TYPE_Q8_0, b, ex, 5);
    }
    b[0] = 0xFF, b[1] = 0x83;
    {
        static const expect ex[] = {{2, 0xB87FC000u}, {3, 0x387FC000u}, {4, 0x80000000u}};
        check_block("Q8_0 d=-1023*2^-24", VKQ_TYPE_Q8_0, b, ex, 3);
    }

    /* TQ1_0 trits with the uint8 wrap: byte 200 -> trits (2,1,0,0,0), 100 -> (1,0,1,1,1),
     * 250 (qh, 4 trits) -> (2,2,2,1); byte 0 -> all 0. Without the wrap 200 would give
     * (2,7,21,63,189). d = -1.0, y = (t - 1) * d: t=2 -> -1, t=1 -> -0.0, t=0 -> +1. */
    memset(b, 0, sizeof b);
    b[52] = 0x00, b[53] = 0xBC;
    b[1] = 200;       /* elements 1, 33, 65, 97, 129 */
    b[32 + 1] = 100;  /* elements 161, 177, 193, 209, 225 */
    b[48 + 2] = 250;  /* elements 242, 246, 250, 254 */
    {
        static const expect ex[] = {
            {1, 0xBF800000u},   {33, 0x80000000u},  {65, 0x3F800000u},  {97, 0x3F800000u},
            {129, 0x3F800000u}, {161, 0x80000000u}, {177, 0x3F800000u}, {193, 0x80000000u},
            {209, 0x80000000u}, {225, 0x80000000u}, {242, 0xBF800000u}, {246, 0xBF800000u},
            {250, 0xBF800000u}, {254, 0x80000000u}, {0, 0x3F800000u},   {255, 0x3F800000u},
        };
        check_block("TQ1_0 trits", VKQ_TYPE_TQ1_0, b, ex, (int)(sizeof ex / sizeof ex[0]));
    }

    /* Q8_K with a subnormal d = 2^-140 (bits 0x200): outputs are subnormal, no flush. */
    memset(b, 0, sizeof b);
    b[1] = 0x02; /* d bits 0x00000200 */
    b[4] = 3, b[5] = 0xFF, b[6] = 0x80; /* q = 3, -1, -128 */
    {
        static const expect ex[] = {{0, 0x00000600u}, {1, 0x80000200u}, {2, 0x80010000u},
                                    {3, 0x00000000u}};
        check_block("Q8_K subnormal d", VKQ_TYPE_Q8_K, b, ex, 4);
    }

    /* NF4: absmax = 2.0; element 0 code 0 (-1 -> -2), element 32 code 15 (+2), element 1
     * code 7 (0.0 * 2 = +0), element 33 code 8 (0x3DA2FAFF * 2 = 0x3E22FAFF). */
    memset(b, 0, sizeof b);
    b[3] = 0x40; /* 2.0f = 0x40000000 */
    b[4] = 0xF0;
    b[5] = 0x87;
    {
        static const expect ex[] = {{0, 0xC0000000u}, {32, 0x40000000u}, {1, 0x00000000u},
                                    {33, 0x3E22FAFFu}};
        check_block("NF4", VKQ_TYPE_NF4, b, ex, 4);
    }
}

/* ---- random blocks: unaligned sources, no NaN from valid data ----------------------------- */

static void test_random_blocks(uint64_t seed)
{
    uint64_t rng = seed;
    enum { NB = 9 };
    uint8_t *buf = malloc(NB * 292 + 1);
    float *a = malloc(NB * 256 * sizeof(float));
    float *c = malloc(NB * 256 * sizeof(float));
    if (!buf || !a || !c) {
        CHECK(0, "out of memory");
        free(buf), free(a), free(c);
        return;
    }
    for (uint32_t k = 0; k < vkq_type_count(); k++) {
        const vkq_type t = vkq_type_at(k);
        const vkq_type_info *info = vkq_type_get(t);
        const uint64_t n = (uint64_t)NB * info->block_elems;
        const size_t bytes = (size_t)NB * info->block_bytes;
        vkq_test_random_blocks(t, NB, &rng, buf);
        CHECK_STATUS(vkq_decode_cpu(t, buf, bytes, a, n), VKQ_SUCCESS);
        memmove(buf + 1, buf, bytes); /* odd address */
        CHECK_STATUS(vkq_decode_cpu(t, buf + 1, bytes, c, n), VKQ_SUCCESS);
        int same = 1, nan = 0;
        for (uint64_t i = 0; i < n; i++) {
            same &= vkq_f32_to_bits(a[i]) == vkq_f32_to_bits(c[i]);
            nan |= isnan(a[i]) != 0;
        }
        CHECK(same, "%s: unaligned decode differs", info->name);
        CHECK(!nan, "%s: NaN from valid random blocks", info->name);
    }
    free(buf), free(a), free(c);
}

int main(void)
{
    const uint64_t seed = vkq_test_seed();
    printf("test_decode_cpu: seed %llu (set VKQ_SEED to replay)\n", (unsigned long long)seed);
    test_type_table();
    test_decode_args();
    test_converters();
    test_edge_blocks();
    test_random_blocks(seed);
    if (g_failures) {
        printf("test_decode_cpu: FAILED (%d of %d checks)\n", g_failures, g_checks);
        return 1;
    }
    printf("test_decode_cpu: all %d checks passed\n", g_checks);
    return 0;
}
