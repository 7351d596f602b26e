/* vkq_cpu_matmul against the f64 reference, every type of the table, every path:
 * the exact f32 path and the scalar path within the type's fp32 NMSE bound, the int8 path
 * within 5e-4 (both scaled by the cancellation of the case, tests/matmul_ref.h; for int8 also
 * 30x the expected error of rounding X to 8 bits, see int8_bound, and at m=257 k=4096 n=31
 * within 3x that error); plus bad arguments, strided and misaligned W/X/Y, and bit-identical
 * repeats across thread counts. VKQ_SEED replays. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matmul_ref.h"
#include "check.h"
#include "test_util.h"
#include "cpu/cpu_kernels.h"
#include "core/types.h"
#include "vkquant/cpu.h"

#define INT8_TOL 5e-4

static void random_x(uint64_t *rng, float *x, size_t count)
{
    for (size_t i = 0; i < count; ++i)
        x[i] = (float)((double)vkq_test_rand_below(rng, 1u << 24) / (1u << 23) - 1.0);
}

/* The int8 path's bound. Its error comes from rounding X to 8 bits: per element uniform in
 * +-step/2 with step = amax(block of xb) / 127, xb = 32 or 256 (the K-quants, TQ1_0, TQ2_0 and
 * the IQ super-block types quantize X per 256 like ggml's Q8_K; vkq_cpu_int8_x_block says which), so the expected squared error of all outputs is
 * E = sum_j sum_r sum_i w_ri^2 step_j(i)^2 / 12. (NF4 adds its int8 codebook's own error,
 * NMSE 1.8e-5: measured 3.2e-5 in all at m=257 k=4096 n=31, against 1.4-1.6e-5 for the rest.) NMSE may reach INT8_TOL (scaled by the
 * cancellation like the fp32 bound), or 30 E / sum ref^2 where few large weights dominate a
 * sum (one output then carries a Gaussian error of variance E; 30 x is 5.5 sigma). */
static double int8_bound(const float *wf, const float *x, const double *ref, uint64_t m, uint64_t k,
                         uint64_t n, uint32_t xb, uint32_t wb, double cond_bound, double *expected)
{
    double e = 0, den = 0;
    /* NF4's int8 codebook: each weight off by up to half a step of amax(its block of wb) / 127,
     * the same kind of error as X's, on the W side (seed 0x18e2bb1f36d5d28c: a single output
     * that cancels, m = n = 1, k = 4096, reached NMSE 0.0168 against the X term's 0.0149). */
    for (uint64_t b = 0; wb && b < k / wb; ++b)
        for (uint64_t r = 0; r < m; ++r) {
            double amax = 0;
            for (uint64_t i = wb * b; i < wb * b + wb; ++i) amax = fmax(amax, fabs(wf[r * k + i]));
            const double step = amax / 127;
            for (uint64_t j = 0; j < n; ++j)
                for (uint64_t i = wb * b; i < wb * b + wb; ++i)
                    e += (double)x[j * k + i] * x[j * k + i] * step * step / 12;
        }
    for (uint64_t b = 0; b < k / xb; ++b) {
        double w2 = 0;
        for (uint64_t r = 0; r < m; ++r)
            for (uint64_t i = xb * b; i < xb * b + xb; ++i) w2 += (double)wf[r * k + i] * wf[r * k + i];
        for (uint64_t j = 0; j < n; ++j) {
            double amax = 0;
            for (uint64_t i = xb * b; i < xb * b + xb; ++i) amax = fmax(amax, fabs(x[j * k + i]));
            const double step = amax / 127;
            e += w2 * step * step / 12;
        }
    }
    for (uint64_t i = 0; i < m * n; ++i) den += ref[i] * ref[i];
    if (expected) *expected = den > 0 ? e / den : 0;
    const double stat = den > 0 ? 30 * e / den : 0;
    return fmax(cond_bound, stat);
}

enum { P_SCALAR, P_F32, P_INT8, P_COUNT };
static const char *const k_path_names[P_COUNT] = {"scalar", "exact-f32", "int8"};
static const uint32_t k_path_flags[P_COUNT] = {VKQ_CPU_FORCE_SCALAR, VKQ_CPU_EXACT_F32, 0};

static void bad_arguments(void)
{
    float x[64] = {0}, y[8];
    uint8_t w[64 * 4] = {0};
    vkq_cpu_matmul_desc ok = {.type = VKQ_TYPE_Q4_0, .m = 2, .k = 32, .n = 1, .w = w, .x = x, .y = y,
                              .n_threads = 1};
    CHECK(vkq_cpu_matmul(&ok) == VKQ_SUCCESS, "valid call");
    CHECK(vkq_cpu_matmul(NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL desc");
    vkq_cpu_matmul_desc d;
    for (int i = 0; i < 8; ++i) y[i] = 1234.0f;
    d = ok; d.w = NULL; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "NULL w");
    d = ok; d.x = NULL; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "NULL x");
    d = ok; d.y = NULL; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "NULL y");
    d = ok; d.type = (vkq_type)4; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_UNKNOWN_TYPE, "type 4");
    d = ok; d.type = (vkq_type)-1; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_UNKNOWN_TYPE, "type -1");
    d = ok; d.type = (vkq_type)1000; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_UNKNOWN_TYPE, "type 1000");
    d = ok; d.k = 33; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_BAD_SHAPE, "k %% QK");
    d = ok; d.type = VKQ_TYPE_Q4_K; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_BAD_SHAPE, "k < QK_K");
    d = ok; d.m = 0; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "m = 0");
    d = ok; d.k = 0; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "k = 0");
    d = ok; d.n = 0; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "n = 0");
    d = ok; d.m = 1ull << 32; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_TOO_LARGE, "m = 2^32");
    d = ok; d.n = 1ull << 32; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_TOO_LARGE, "n = 2^32");
    d = ok; d.type = VKQ_TYPE_F32; d.k = 0xFFFFFFFFull; d.m = 0xFFFFFFFFull;
    CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_TOO_LARGE || sizeof(size_t) > 4, "huge W on 32-bit");
    d = ok; d.w_row_stride = 17; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "W stride < row");
    d = ok; d.ldx = 31; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "ldx < k");
    d = ok; d.ldy = 1; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "ldy < m");
    d = ok; d.ldx = SIZE_MAX / 2; d.n = 3; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_TOO_LARGE, "ldx overflow");
    d = ok; d.w_row_stride = SIZE_MAX / 2; d.m = 3; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_TOO_LARGE, "W overflow");
    d = ok; d.flags = 1u << 7; CHECK(vkq_cpu_matmul(&d) == VKQ_ERROR_INVALID_ARGUMENT, "unknown flag");
    for (int i = 2; i < 8; ++i) CHECK(y[i] == 1234.0f, "Y written on an error");
    CHECK(vkq_cpu_matmul_path((vkq_type)4, 0) == NULL, "path of unknown type");
    CHECK(strcmp(vkq_cpu_matmul_path(VKQ_TYPE_Q4_0, VKQ_CPU_FORCE_SCALAR), "scalar") == 0, "scalar name");
}

/* The int8 variant this run takes (VKQ_CPU_ISA may pick one) against the AVX2 one
 * (VKQ_CPU_NO_VNNI): the same bits, on d's X (y holds its default-variant result) and on an X
 * whose every element quantizes to +-127, the largest int16 pair sums maddubs sees. Under
 * VKQ_CPU_ISA=vnni-emu this checks the VNNI code paths on any AVX2 CPU. */
static void int8_variants_agree(vkq_cpu_matmul_desc *d, const float *y, float *y2, uint64_t *rng)
{
    const char *name = vkq_cpu_matmul_path(d->type, 0);
    const size_t ny = d->m * d->n;
    d->flags = VKQ_CPU_NO_VNNI;
    d->y = y2;
    CHECK(vkq_cpu_matmul(d) == VKQ_SUCCESS, "no-vnni");
    CHECK(memcmp(y, y2, ny * sizeof(float)) == 0, "%s %s: differs from int8-avx2", vkq_type_get(d->type)->name, name);
    float *xs = xmalloc(d->k * d->n * sizeof(float)), *ya = xmalloc(ny * sizeof(float));
    for (uint64_t i = 0; i < d->k * d->n; ++i) xs[i] = (vkq_test_rand_below(rng, 2) ? 1.0f : -1.0f) * 0.5f;
    const float *x = d->x;
    d->x = xs;
    d->y = ya;
    d->flags = 0;
    CHECK(vkq_cpu_matmul(d) == VKQ_SUCCESS, "full-scale X");
    d->y = y2;
    d->flags = VKQ_CPU_NO_VNNI;
    CHECK(vkq_cpu_matmul(d) == VKQ_SUCCESS, "full-scale X, no-vnni");
    CHECK(memcmp(ya, y2, ny * sizeof(float)) == 0, "%s %s: differs from int8-avx2 with X at +-127",
          vkq_type_get(d->type)->name, name);
    d->x = x;
    d->flags = 0;
    free(xs);
    free(ya);
}

/* VKQ_CPU_ISA names the variant the run should take: it must, unless the CPU cannot run it
 * (then the test says so and checks what the CPU runs). */
static void check_variant_choice(void)
{
    const char *want = getenv("VKQ_CPU_ISA");
    const char *got = vkq_cpu_matmul_path(VKQ_TYPE_Q4_0, 0);
    printf("int8 variant: %s (VKQ_CPU_ISA=%s)\n", got, want ? want : "");
    CHECK(strcmp(vkq_cpu_matmul_path(VKQ_TYPE_Q4_0, VKQ_CPU_NO_VNNI), strncmp(got, "int8", 4) == 0 ? "int8-avx2" : got) == 0,
          "VKQ_CPU_NO_VNNI path");
    if (!want || !*want) { /* the default: what Linux says the CPU has (and the OS saves) */
        FILE *f = fopen("/proc/cpuinfo", "r");
        char line[4096];
        int avx512vnni = 0, avxvnni = 0, found = 0;
        while (f && !found && fgets(line, sizeof line, f))
            if (strncmp(line, "flags", 5) == 0) {
                found = 1;
                avx512vnni = strstr(line, " avx512_vnni") && strstr(line, " avx512vl") && strstr(line, " avx512bw");
                avxvnni = strstr(line, " avx_vnni") != NULL;
            }
        if (f) fclose(f);
        /* Only variants this build has count (meson passes the library's VKQ_HAVE_CPU_*). */
#ifndef VKQ_HAVE_CPU_AVX512VNNI
        avx512vnni = 0;
#endif
#ifndef VKQ_HAVE_CPU_AVXVNNI
        avxvnni = 0;
#endif
        if (found && strncmp(got, "int8", 4) == 0) {
            const char *expect = avx512vnni ? "int8-avx512vnni" : avxvnni ? "int8-avxvnni" : "int8-avx2";
            CHECK(strcmp(got, expect) == 0, "default int8 variant %s, /proc/cpuinfo says %s", got, expect);
            printf("/proc/cpuinfo: avx512_vnni+vl+bw %d, avx_vnni %d\n", avx512vnni, avxvnni);
        }
    }
    if (!want || !*want || strncmp(got, "int8", 4) != 0) return;
    if (strcmp(want, "vnni-emu") == 0 || strcmp(want, "avx2") == 0)
        CHECK(strcmp(got + 5, want) == 0, "VKQ_CPU_ISA=%s but the path is %s", want, got);
    else if (strcmp(got + 5, want) != 0)
        printf("note: this CPU (or compiler) has no %s; the checks ran %s\n", want, got);
}

int main(void)
{
    const uint64_t seed = vkq_test_seed();
    printf("seed 0x%016" PRIx64 " (replay with VKQ_SEED)\n", seed);
    uint64_t rng = seed;
    bad_arguments();
    check_variant_choice();

    static const uint64_t ms[] = {1, 7, 64, 257};
    static const uint64_t ns[] = {1, 2, 3, 8, 9, 31};
    const uint64_t max_m = 257, max_n = 31, max_k = 4096 + 256;
    uint8_t *w = xmalloc(max_m * max_k * 4 + 64);
    float *wf = xmalloc(max_m * max_k * sizeof(float));
    float *x = xmalloc(max_k * max_n * sizeof(float));
    float *y = xmalloc(max_m * max_n * sizeof(float));
    float *y2 = xmalloc(max_m * max_n * sizeof(float));
    double *ref = xmalloc(max_m * max_n * sizeof(double));
    double worst_all[P_COUNT] = {0}, worst_ratio_all[P_COUNT] = {0};
    uint32_t case_index = 0;

    printf("worst NMSE per type and path; 'of bound' = worst NMSE / its case's bound; 'int8 big' =\n"
           "the int8 NMSE at m=257, k=4096, n=31 (little cancellation)\n");
    printf("%-8s %-10s %10s %10s %10s %10s %10s %10s\n", "type", "default", "scalar", "exact-f32",
           "f32 ofbnd", "int8", "int8 ofbnd", "int8 big");
    for (uint32_t ti = 0; ti < vkq_type_count(); ++ti) {
        const vkq_type type = vkq_type_at(ti);
        const vkq_type_traits *tr = vkq_traits(type);
        const uint32_t qk = tr->info.block_elems;
        const int has_int8 = strncmp(vkq_cpu_matmul_path(type, 0), "int8", 4) == 0;
        const uint32_t xb = vkq_cpu_int8_x_block(type, 0);
        CHECK(!has_int8 || xb == 32 || xb == 256, "%s: int8 X block %u", tr->info.name, xb);
        CHECK(vkq_cpu_int8_x_block(type, VKQ_CPU_EXACT_F32) == 0, "%s: exact path has an X block", tr->info.name);
        /* The last k: 3 blocks, and for the 1-element types 37, which the F32/F16/BF16
         * mat-vec kernels take as 2 x 16 vector steps plus a 5-element scalar tail. */
        const uint64_t ks[] = {qk, 2 * qk, (4096 + qk - 1) / qk * qk, qk == 1 ? 37 : 3 * qk};
        double worst[P_COUNT] = {0}, worst_ratio[P_COUNT] = {0}, big[P_COUNT] = {0};
        for (size_t ki = 0; ki < 4; ++ki)
            for (size_t mi = 0; mi < 4; ++mi)
                for (size_t ni = 0; ni < 6; ++ni) {
                    const uint64_t m = ms[mi], k = ks[ki], n = ns[ni];
                    /* The scalar path is slow: skip its largest products. */
                    uint64_t row_bytes;
                    vkq_type_bytes(type, k, &row_bytes);
                    vkq_test_random_weights(type, m * (k / qk), &rng, w);
                    random_x(&rng, x, k * n);
                    CHECK(vkq_decode_cpu(type, w, row_bytes * m, wf, m * k) == VKQ_SUCCESS, "decode");
                    matmul_ref_f64(wf, x, ref, m, k, n);
                    const double bound32 = matmul_nmse_bound(wf, x, ref, m, k, n, tr->tol_matmul_f32);
                    double expected8 = 0;
                    const double bound8 =
                        has_int8 ? int8_bound(wf, x, ref, m, k, n, xb, type == VKQ_TYPE_NF4 ? qk : 0,
                                              bound32 / tr->tol_matmul_f32 * INT8_TOL, &expected8)
                                 : 0;
                    for (int p = 0; p < P_COUNT; ++p) {
                        if (p == P_INT8 && !has_int8) continue;
                        if (p == P_SCALAR && m * k * n > (1u << 22)) continue;
                        const uint32_t threads = 1 + (case_index++ % 3);
                        vkq_cpu_matmul_desc d = {.type = type, .m = m, .k = k, .n = n, .w = w,
                                                 .x = x, .y = y, .n_threads = threads,
                                                 .flags = k_path_flags[p]};
                        vkq_status st = vkq_cpu_matmul(&d);
                        CHECK(st == VKQ_SUCCESS, "%s %s m=%" PRIu64 " k=%" PRIu64 " n=%" PRIu64 ": %s",
                              tr->info.name, k_path_names[p], m, k, n, vkq_status_string(st));
                        const double e = matmul_nmse(y, m, ref, m, n);
                        const double bound = p == P_INT8 ? bound8 : bound32;
                        CHECK(e <= bound, "%s %s m=%" PRIu64 " k=%" PRIu64 " n=%" PRIu64 " t=%u: NMSE %.3g > %.3g",
                              tr->info.name, k_path_names[p], m, k, n, threads, e, bound);
                        if (e > worst[p]) worst[p] = e;
                        if (e / bound > worst_ratio[p]) worst_ratio[p] = e / bound;
                        if (mi == 3 && ni == 5 && ki == 2) {
                            big[p] = e;
                            /* Many outputs, little cancellation: the int8 error must be close to
                             * the rounding of X (plus NF4's int8 codebook, 1.8e-5), which a wrong
                             * scale or element order in any sub-block would exceed. */
                            CHECK(p != P_INT8 || e <= 3 * expected8 + 2.5e-5,
                                  "%s int8: NMSE %.3g, expected %.3g from rounding X", tr->info.name, e,
                                  expected8);
                        }
                        if (mi == 3 && (ni == 0 || ni >= 4) && ki == 2) {
                            /* Determinism: same bits again with the same thread count, and with
                             * another (each row is computed by the same code; n = 1 covers the
                             * F32/F16/BF16 kernels that group rows by 4). */
                            for (uint32_t t2 = threads; t2 <= threads + 1; ++t2) {
                                d.y = y2;
                                d.n_threads = t2;
                                CHECK(vkq_cpu_matmul(&d) == VKQ_SUCCESS, "repeat");
                                CHECK(memcmp(y, y2, m * n * sizeof(float)) == 0,
                                      "%s %s: not bit-identical on repeat (threads %u then %u)",
                                      tr->info.name, k_path_names[p], threads, t2);
                            }
                            if (p == P_INT8) int8_variants_agree(&d, y, y2, &rng);
                            /* int8: a batch (the GEMM path, which decodes a row group once for
                             * every column) gives each column the bits of a mat-vec call. */
                            for (uint64_t c = 0; p == P_INT8 && c < n && n > 1; ++c) {
                                vkq_cpu_matmul_desc dc = d;
                                dc.n = 1;
                                dc.x = x + c * k;
                                dc.y = y2;
                                CHECK(vkq_cpu_matmul(&dc) == VKQ_SUCCESS, "column");
                                CHECK(memcmp(y + c * m, y2, m * sizeof(float)) == 0,
                                      "%s %s m=%" PRIu64 " k=%" PRIu64 " n=%" PRIu64 ": column %" PRIu64
                                      " of the batch differs from a mat-vec of it",
                                      tr->info.name, k_path_names[p], m, k, n, c);
                            }
                        }
                    }
                }

        /* Strided and misaligned: W rows 7 bytes apart beyond the row, X and Y padded. */
        {
            const uint64_t m = 7, k = 2 * qk;
            uint64_t row_bytes;
            vkq_type_bytes(type, k, &row_bytes);
            const size_t ws = row_bytes + 7, ldx = k + 5, ldy = m + 3;
            for (uint64_t n = 3; n <= 9; n += 6) {
                uint8_t *wp = w + 1; /* odd address */
                uint8_t *packed = xmalloc(m * row_bytes);
                vkq_test_random_weights(type, m * (k / qk), &rng, packed);
                for (uint64_t r = 0; r < m; ++r) memcpy(wp + r * ws, packed + r * row_bytes, row_bytes);
                free(packed);
                for (uint64_t r = 0; r < m; ++r)
                    CHECK(vkq_decode_cpu(type, wp + r * ws, row_bytes, wf + r * k, k) == VKQ_SUCCESS, "decode");
                float *xs = xmalloc(ldx * n * sizeof(float));
                float *xp = xmalloc(k * n * sizeof(float));
                random_x(&rng, xs, ldx * n);
                for (uint64_t c = 0; c < n; ++c) memcpy(xp + c * k, xs + c * ldx, k * sizeof(float));
                matmul_ref_f64(wf, xp, ref, m, k, n);
                const double bound32 = matmul_nmse_bound(wf, xp, ref, m, k, n, tr->tol_matmul_f32);
                float *ys = xmalloc(ldy * n * sizeof(float));
                float *yp = xmalloc(m * n * sizeof(float));
                for (int p = 0; p < P_COUNT; ++p) {
                    if (p == P_INT8 && !has_int8) continue;
                    for (size_t i = 0; i < ldy * n; ++i) ys[i] = -777.0f;
                    vkq_cpu_matmul_desc d = {.type = type, .m = m, .k = k, .n = n, .w = wp,
                                             .w_row_stride = ws, .x = xs, .ldx = ldx, .y = ys,
                                             .ldy = ldy, .n_threads = 2, .flags = k_path_flags[p]};
                    CHECK(vkq_cpu_matmul(&d) == VKQ_SUCCESS, "strided");
                    for (uint64_t c = 0; c < n; ++c) {
                        memcpy(yp + c * m, ys + c * ldy, m * sizeof(float));
                        for (uint64_t i = m; i < ldy; ++i)
                            CHECK(ys[c * ldy + i] == -777.0f, "%s %s: Y padding written", tr->info.name,
                                  k_path_names[p]);
                    }
                    const double e = matmul_nmse(yp, m, ref, m, n);
                    const double bound =
                        p == P_INT8 ? int8_bound(wf, xp, ref, m, k, n, xb, type == VKQ_TYPE_NF4 ? tr->info.block_elems : 0,
                                              bound32 / tr->tol_matmul_f32 * INT8_TOL, NULL)
                                   : bound32;
                    CHECK(e <= bound, "%s %s strided n=%" PRIu64 ": NMSE %.3g > %.3g", tr->info.name,
                          k_path_names[p], n, e, bound);
                    if (e > worst[p]) worst[p] = e;
                    if (e / bound > worst_ratio[p]) worst_ratio[p] = e / bound;
                }
                free(xs);
                free(xp);
                free(ys);
                free(yp);
            }
        }

        printf("%-8s %-10s %10.3g %10.3g %10.3g", tr->info.name, vkq_cpu_matmul_path(type, 0),
               worst[P_SCALAR], worst[P_F32], fmax(worst_ratio[P_SCALAR], worst_ratio[P_F32]));
        if (has_int8) printf(" %10.3g %10.3g %10.3g\n", worst[P_INT8], worst_ratio[P_INT8], big[P_INT8]);
        else printf(" %10s %10s %10s\n", "-", "-", "-");
        fflush(stdout);
        for (int p = 0; p < P_COUNT; ++p) {
            if (worst[p] > worst_all[p]) worst_all[p] = worst[p];
            if (worst_ratio[p] > worst_ratio_all[p]) worst_ratio_all[p] = worst_ratio[p];
        }
    }
    printf("worst NMSE: scalar %.3g, exact-f32 %.3g, int8 %.3g (bound fp32 paths = the type's "
           "tol_matmul_f32, int8 %.0e, each scaled by the case's cancellation; int8 also 30x its "
           "expected rounding error)\n",
           worst_all[P_SCALAR], worst_all[P_F32], worst_all[P_INT8], INT8_TOL);
    printf("worst NMSE / bound: scalar %.3g, exact-f32 %.3g, int8 %.3g\n", worst_ratio_all[P_SCALAR],
           worst_ratio_all[P_F32], worst_ratio_all[P_INT8]);
    free(w);
    free(wf);
    free(x);
    free(y);
    free(y2);
    free(ref);
    if (g_failures) {
        printf("%d failure(s); seed 0x%016" PRIx64 "\n", g_failures, seed);
        return 1;
    }
    printf("OK\n");
    return 0;
}
