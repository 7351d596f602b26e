/* The README's usage example, built by the tests against the installed library:
 *   cc readme_example.c $(pkg-config --cflags --libs vkquant)
 * Quantizes a matrix to Q4_K, multiplies it by two vectors on the GPU and checks the result
 * against the CPU kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

#include <vkquant/vkquant.h>

/* Every fallible call returns a vkq_status; vkq_last_error() says what went wrong. */
#define CHECK(call)                                                                              \
    do {                                                                                         \
        vkq_status st_ = (call);                                                                 \
        if (st_ != VKQ_SUCCESS) {                                                                \
            fprintf(stderr, "%s: %s\n  %s\n", #call, vkq_status_string(st_), vkq_last_error()); \
            return 1;                                                                            \
        }                                                                                        \
    } while (0)

int main(void)
{
    const uint64_t m = 64, k = 512, n = 2;
    float *w = malloc(m * k * 4), *x = malloc(k * n * 4), *y = malloc(m * n * 4), *ref = malloc(m * n * 4);
    for (uint64_t i = 0; i < m * k; ++i) w[i] = sinf(0.37f * (float)i);
    for (uint64_t i = 0; i < k * n; ++i) x[i] = cosf(0.11f * (float)i);

    /* Quantize on the CPU: rows of k elements, k / 256 blocks of 144 bytes each. */
    uint64_t row_bytes;
    CHECK(vkq_type_bytes(VKQ_TYPE_Q4_K, k, &row_bytes)); /* VKQ_ERROR_BAD_SHAPE if k % 256 */
    void *q = malloc(row_bytes * m);
    vkq_quantize_desc qd = {.type = VKQ_TYPE_Q4_K, .rows = m, .k = k, .src = w, .dst = q,
                            .dst_size = row_bytes * m};
    CHECK(vkq_quantize(&qd));

    vkq_instance inst;
    vkq_device dev;
    uint32_t index;
    CHECK(vkq_instance_create(NULL, &inst));          /* loads Vulkan through volk */
    CHECK(vkq_instance_default_device(inst, &index)); /* discrete > integrated > virtual > CPU,
                                                         or VKQ_DEVICE=<index|name> */
    CHECK(vkq_device_create(inst, index, NULL, &dev));

    vkq_buffer wb, xb, yb;
    CHECK(vkq_buffer_create(dev, row_bytes * m, VKQ_MEMORY_DEVICE, row_bytes, &wb));
    CHECK(vkq_buffer_create(dev, k * n * 4, VKQ_MEMORY_DEVICE, 0, &xb));
    CHECK(vkq_buffer_create(dev, m * n * 4, VKQ_MEMORY_DEVICE, 0, &yb));
    CHECK(vkq_buffer_upload(wb, 0, q, row_bytes * m));
    CHECK(vkq_buffer_upload(xb, 0, x, k * n * 4));

    vkq_matmul_desc mm = {.type = VKQ_TYPE_Q4_K, .m = m, .k = k, .n = n, .w = wb, .x = xb, .y = yb};
    CHECK(vkq_matmul(dev, &mm)); /* or vkq_matmul_record(dev, cmd, &mm) into your command buffer */
    CHECK(vkq_buffer_download(yb, 0, y, m * n * 4));

    /* The same product on the CPU kernels, straight from the quantized bytes. */
    vkq_cpu_matmul_desc cd = {.type = VKQ_TYPE_Q4_K, .m = m, .k = k, .n = n, .w = q, .x = x, .y = ref,
                              .flags = VKQ_CPU_EXACT_F32};
    CHECK(vkq_cpu_matmul(&cd));
    double diff = 0, norm = 0;
    for (uint64_t i = 0; i < m * n; ++i) {
        diff += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]);
        norm += (double)ref[i] * ref[i];
    }
    printf("vkquant %s on %s: Q4_K %llux%llu times %llu columns, GPU vs CPU NMSE %.2e\n",
           VKQ_VERSION_STRING, vkq_device_get_info(dev)->name, (unsigned long long)m,
           (unsigned long long)k, (unsigned long long)n, diff / norm);

    vkq_buffer_destroy(wb);
    vkq_buffer_destroy(xb);
    vkq_buffer_destroy(yb);
    vkq_device_destroy(dev);
    vkq_instance_destroy(inst);
    free(w); free(x); free(y); free(ref); free(q);
    return diff / norm < 1e-8 ? 0 : 1;
}
