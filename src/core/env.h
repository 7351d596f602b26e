/* The VKQ_* environment variables: one table (env.c), one strict parser.
 *
 * A variable is read by the call that uses it, so a program may change it between calls. An
 * unset or empty variable is "not set"; anything else must parse, or the call that reads it
 * fails with VKQ_ERROR_INVALID_ARGUMENT and a sentence naming the variable and its value. An
 * explicit API or descriptor value beats the variable: callers consult the environment only
 * where the API left the field at its "default" value. README.md lists every variable. */
#ifndef VKQ_ENV_H
#define VKQ_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/core.h"

typedef enum vkq_env_var {
    VKQ_ENV_VALIDATION,
    VKQ_ENV_DEVICE,
    VKQ_ENV_KERNEL_PROFILE,
    VKQ_ENV_NO_FP16,
    VKQ_ENV_NO_INT8,
    VKQ_ENV_PIPELINE_CACHE,
    VKQ_ENV_MAX_ALLOCATION,
    VKQ_ENV_MAX_BINDING,
    VKQ_ENV_TRANSFER_QUEUE,
    VKQ_ENV_STAGING_SLOTS,
    VKQ_ENV_STAGING_SLOT_BYTES,
    VKQ_ENV_FORCE_STAGING,
    VKQ_ENV_VRAM_BUDGET,
    VKQ_ENV_MODEL_FAIL_ALLOC,
    VKQ_ENV_CPU_THREADS,
    VKQ_ENV_CPU_ISA,
    VKQ_ENV_CPU_NO_SIMD,
    VKQ_ENV_CPU_POOL_SPIN_US,
    VKQ_ENV_COUNT
} vkq_env_var;

typedef struct vkq_env_value {
    int set;       /* 0: unset or empty; the other fields are 0/NULL */
    uint64_t num;  /* flags: 0/1; numbers and sizes: the value; choices: the index in the list */
    const char *str; /* the raw text (strings: the value) */
} vkq_env_value;

/* The variable's name, e.g. "VKQ_STAGING_SLOT_BYTES". */
const char *vkq_env_name(vkq_env_var var);

/* Reads and parses `var` by its kind in the table. On a bad value returns
 * VKQ_ERROR_INVALID_ARGUMENT and records a sentence naming the variable and value (vkq_fail). */
vkq_status vkq_env_get(vkq_env_var var, vkq_env_value *out);

/* The one size parser ("512M", "6G", "1.5GiB", "1234"): digits with an optional fraction, an
 * optional K/M/G/T (powers of 1024), optional i, optional B. The public vkq_size_parse
 * (src/model/budget.c) is this. */
vkq_status vkq_parse_size(const char *s, uint64_t *out);

#endif
