/* Test bookkeeping shared by every C test: CHECK prints the failing expression with context and
 * counts it; test_summary prints the totals. Counters live in tests/gpu_fixture.c. */
#ifndef VKQ_TEST_CHECK_H
#define VKQ_TEST_CHECK_H

#include <stdio.h>

#include "vkquant/vkquant.h"

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
