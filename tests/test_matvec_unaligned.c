/* Mat-vec with weight rows at every byte alignment, for every type of the table. The mat-vec
 * sub-block decoders read whole words and shift them into place (VKQ_WORDS in
 * shaders/common.glsl), so a wrong shift or a word missed at an unaligned start would only show
 * when rows do not start on a 4-byte boundary, which packed rows of most sizes always do.
 * Here the first row starts at byte offset 1, 2 or 3 and the row stride is the row size plus
 * 1..3 bytes, so consecutive rows cycle through all alignments; the weights end exactly at the
 * end of their buffer. k covers several blocks (element-wise types: an odd k, so the tail path
 * runs too), m is not a multiple of the rows per workgroup, n in {1, 3, 8}. Checked against the
 * f64 product of the CPU-decoded weights with the type's NMSE bound. Fresh random data per run. */
#include <stdlib.h>
#include <string.h>

#include "gpu_fixture.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "core/types.h"

static uint64_t g_rng;

static void random_x(float *x, uint64_t count)
{
    for (uint64_t i = 0; i < count; ++i)
        x[i] = (float)((double)(vkq_test_rand(&g_rng) >> 11) * 0x1p-52 - 1.0);
}

/* Returns the worst NMSE over the offsets and column counts tried for type t. */
static double run_type(vkq_device dev, vkq_type t)
{
    static const uint64_t k_ns[] = {1, 3, 8};
    const vkq_type_traits *tr = vkq_traits(t);
    const uint64_t qk = tr->info.block_elems, bb = tr->info.block_bytes;
    const uint64_t m = 37, k = qk == 1 ? 1001 : (qk >= 256 ? 2 * qk : 512);
    const uint64_t max_n = 8;
    uint64_t rb = 0;
    vkq_type_bytes(t, k, &rb);
    double worst = 0;
    /* element-wise types must start on an element (the host rejects the rest): step by its size */
    for (uint64_t skew = 1; skew <= 3; ++skew) {
        uint64_t off = qk == 1 ? bb * skew : skew, ws = rb + (qk == 1 ? bb * skew : skew);
        uint64_t wbytes = off + ws * (m - 1) + rb;
        uint8_t *packed = malloc(rb * m), *wq = calloc(wbytes, 1);
        float *wf = malloc(sizeof(float) * m * k), *x = malloc(sizeof(float) * k * max_n);
        float *y = malloc(sizeof(float) * m * max_n);
        double *ref = malloc(sizeof(double) * m * max_n);
        vkq_buffer w = NULL, xb = NULL, yb = NULL;
        CHECK_OK(vkq_buffer_create(dev, wbytes, VKQ_MEMORY_DEVICE, 0, &w));
        CHECK_OK(vkq_buffer_create(dev, sizeof(float) * k * max_n, VKQ_MEMORY_DEVICE, 0, &xb));
        CHECK_OK(vkq_buffer_create(dev, sizeof(float) * m * max_n, VKQ_MEMORY_DEVICE, 0, &yb));
        vkq_test_random_weights(t, m * k / qk, &g_rng, packed);
        CHECK_OK(vkq_decode_cpu(t, packed, rb * m, wf, m * k));
        for (uint64_t r = 0; r < m; ++r) memcpy(wq + off + r * ws, packed + r * rb, rb);
        CHECK_OK(vkq_buffer_upload(w, 0, wq, wbytes));
        for (size_t ni = 0; ni < sizeof k_ns / sizeof *k_ns; ++ni) {
            uint64_t n = k_ns[ni];
            random_x(x, k * n);
            CHECK_OK(vkq_buffer_upload(xb, 0, x, sizeof(float) * k * n));
            vkq_matmul_desc d = {.type = t, .m = m, .k = k, .n = n, .w = w, .w_offset = off,
                                 .w_row_stride = ws, .x = xb, .y = yb, .flags = VKQ_MATMUL_FORCE_MATVEC};
            vkq_status st = vkq_matmul(dev, &d);
            CHECK(st == VKQ_SUCCESS, "%s offset %llu stride %llu n=%llu: %s (%s)", tr->info.name,
                  (unsigned long long)off, (unsigned long long)ws, (unsigned long long)n,
                  vkq_status_string(st), vkq_last_error());
            CHECK_OK(vkq_buffer_download(yb, 0, y, sizeof(float) * m * n));
            matmul_ref_f64(wf, x, ref, m, k, n);
            double e = matmul_nmse(y, m, ref, m, n);
            double bound = matmul_nmse_bound(wf, x, ref, m, k, n, tr->tol_matmul_f32);
            CHECK(e <= bound, "%s offset %llu stride %llu (row %llu bytes) n=%llu: NMSE %.3g > bound %.3g",
                  tr->info.name, (unsigned long long)off, (unsigned long long)ws, (unsigned long long)rb,
                  (unsigned long long)n, e, bound);
            if (!(e <= worst)) worst = e;
        }
        vkq_buffer_destroy(w);
        vkq_buffer_destroy(xb);
        vkq_buffer_destroy(yb);
        free(packed); free(wq); free(wf); free(x); free(y); free(ref);
    }
    return worst;
}

int main(void)
{
    uint64_t seed = vkq_test_seed();
    printf("seed %llu (replay with VKQ_SEED=%llu)\n", (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    for (uint32_t i = 0; i < vkq_type_count(); ++i) {
        vkq_type t = vkq_type_at(i);
        double e = run_type(f.dev, t);
        printf("%-8s offsets 1-3, strides row+1..3: worst NMSE %.2e (bound %.0e)\n", vkq_type_get(t)->name, e,
               vkq_traits(t)->tol_matmul_f32);
    }
    gpu_fixture_close(&f);
    return test_summary("test_matvec_unaligned");
}
