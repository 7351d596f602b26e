/* Shared set-up of the GPU tests: instance with the Khronos validation layer, the default
 * device, and a check that the layer stayed silent. */
#ifndef VKQ_GPU_FIXTURE_H
#define VKQ_GPU_FIXTURE_H

#include <stdio.h>

#include "vkquant.h"

typedef struct gpu_fixture {
    vkq_instance inst;
    vkq_device dev;
    uint32_t index;
} gpu_fixture;

/* Creates instance (validation on) and default device; prints the device. Returns 0 on success. */
int gpu_fixture_open(gpu_fixture *f, const vkq_device_desc *desc);
/* Destroys everything; returns the number of validation messages seen (0 = clean). */
uint64_t gpu_fixture_close(gpu_fixture *f);

/* Test bookkeeping: CHECK prints the failing expression with context and counts it. */
extern int g_checks, g_failures;
#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        ++g_checks;                                                          \
        if (!(cond)) {                                                       \
            ++g_failures;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)
#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        vkq_status st_ = (expr);                                                              \
        CHECK(st_ == VKQ_SUCCESS, "%s returned %s", #expr, vkq_status_string(st_));           \
    } while (0)

/* Prints the summary line and returns the process exit code. */
int test_summary(const char *name);

#endif
