/* The VKQ_* environment variables: see env.h; README.md documents the same table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/env.h"
#include "core/error.h"

typedef enum env_kind {
    ENV_FLAG,   /* 0/1, off/on, no/yes, false/true */
    ENV_UINT,   /* decimal in [min, max] */
    ENV_SIZE,   /* vkq_parse_size, in [min, max] */
    ENV_CHOICE, /* one of `choices` (index), case-insensitive */
    ENV_STRING  /* any text */
} env_kind;

typedef struct env_entry {
    const char *name;
    env_kind kind;
    uint64_t min, max;
    const char *const *choices; /* NULL-terminated */
} env_entry;

/* VKQ_TRANSFER_QUEUE's words, in the order of VKQ_TRANSFER_QUEUE_AUTO/OFF/EMULATE ("0" = off). */
static const char *const k_transfer_queue[] = {"auto", "off", "emulate", "0", NULL};

static const env_entry k_env[VKQ_ENV_COUNT] = {
    [VKQ_ENV_VALIDATION] = {"VKQ_VALIDATION", ENV_FLAG, 0, 1, NULL},
    [VKQ_ENV_DEVICE] = {"VKQ_DEVICE", ENV_STRING, 0, 0, NULL},
    [VKQ_ENV_KERNEL_PROFILE] = {"VKQ_KERNEL_PROFILE", ENV_STRING, 0, 0, NULL},
    [VKQ_ENV_NO_FP16] = {"VKQ_NO_FP16", ENV_FLAG, 0, 1, NULL},
    [VKQ_ENV_NO_INT8] = {"VKQ_NO_INT8", ENV_FLAG, 0, 1, NULL},
    [VKQ_ENV_PIPELINE_CACHE] = {"VKQ_PIPELINE_CACHE", ENV_STRING, 0, 0, NULL},
    [VKQ_ENV_MAX_ALLOCATION] = {"VKQ_MAX_ALLOCATION", ENV_SIZE, 1, UINT64_MAX, NULL},
    [VKQ_ENV_MAX_BINDING] = {"VKQ_MAX_BINDING", ENV_SIZE, 1, UINT64_MAX, NULL},
    [VKQ_ENV_TRANSFER_QUEUE] = {"VKQ_TRANSFER_QUEUE", ENV_CHOICE, 0, 0, k_transfer_queue},
    [VKQ_ENV_STAGING_SLOTS] = {"VKQ_STAGING_SLOTS", ENV_UINT, 2, 64, NULL},
    [VKQ_ENV_STAGING_SLOT_BYTES] = {"VKQ_STAGING_SLOT_BYTES", ENV_SIZE, 16, 1ull << 30, NULL},
    [VKQ_ENV_FORCE_STAGING] = {"VKQ_FORCE_STAGING", ENV_FLAG, 0, 1, NULL},
    [VKQ_ENV_VRAM_BUDGET] = {"VKQ_VRAM_BUDGET", ENV_SIZE, 0, UINT64_MAX, NULL},
    [VKQ_ENV_MODEL_FAIL_ALLOC] = {"VKQ_MODEL_FAIL_ALLOC", ENV_UINT, 0, UINT32_MAX, NULL},
    [VKQ_ENV_CPU_THREADS] = {"VKQ_CPU_THREADS", ENV_UINT, 1, UINT32_MAX, NULL},
    [VKQ_ENV_CPU_ISA] = {"VKQ_CPU_ISA", ENV_STRING, 0, 0, NULL},
    [VKQ_ENV_CPU_NO_SIMD] = {"VKQ_CPU_NO_SIMD", ENV_FLAG, 0, 1, NULL},
    [VKQ_ENV_CPU_POOL_SPIN_US] = {"VKQ_CPU_POOL_SPIN_US", ENV_UINT, 0, 1000000, NULL},
};

const char *vkq_env_name(vkq_env_var var)
{
    return (unsigned)var < VKQ_ENV_COUNT ? k_env[var].name : "?";
}

/* Decimal digits only: strtoul would take signs, spaces and hex. */
static int parse_uint(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s) return 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return 0;
        const uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int parse_flag(const char *s, uint64_t *out)
{
    static const char *const on[] = {"1", "on", "yes", "true"}, *const off[] = {"0", "off", "no", "false"};
    for (size_t i = 0; i < 4; ++i) {
        if (strcasecmp(s, on[i]) == 0) return *out = 1, 1;
        if (strcasecmp(s, off[i]) == 0) return *out = 0, 1;
    }
    return 0;
}

vkq_status vkq_env_get(vkq_env_var var, vkq_env_value *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)var >= VKQ_ENV_COUNT) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    const env_entry *e = &k_env[var];
    const char *s = getenv(e->name);
    if (!s || !*s) return VKQ_SUCCESS;
    char why[200] = "";
    int ok = 0;
    switch (e->kind) {
    case ENV_FLAG:
        ok = parse_flag(s, &out->num);
        if (!ok) snprintf(why, sizeof why, "expected 0 or 1 (also off/on, no/yes, false/true)");
        break;
    case ENV_UINT:
        ok = parse_uint(s, &out->num) && out->num >= e->min && out->num <= e->max;
        if (!ok)
            snprintf(why, sizeof why, "expected a whole number from %llu to %llu", (unsigned long long)e->min,
                     (unsigned long long)e->max);
        break;
    case ENV_SIZE:
        ok = vkq_parse_size(s, &out->num) == VKQ_SUCCESS;
        if (!ok) snprintf(why, sizeof why, "%s", vkq_last_error());
        if (ok && (out->num < e->min || out->num > e->max)) {
            ok = 0;
            if (e->max == UINT64_MAX)
                snprintf(why, sizeof why, "expected at least %llu bytes", (unsigned long long)e->min);
            else
                snprintf(why, sizeof why, "expected %llu to %llu bytes", (unsigned long long)e->min,
                         (unsigned long long)e->max);
        }
        break;
    case ENV_CHOICE:
        for (size_t i = 0; e->choices[i] && !ok; ++i)
            if (strcasecmp(s, e->choices[i]) == 0) {
                out->num = i;
                ok = 1;
            }
        if (!ok) {
            size_t len = (size_t)snprintf(why, sizeof why, "expected one of");
            for (size_t i = 0; e->choices[i] && len < sizeof why; ++i)
                len += (size_t)snprintf(why + len, sizeof why - len, "%s %s", i ? "," : "", e->choices[i]);
        }
        break;
    case ENV_STRING:
        ok = 1;
        break;
    }
    if (!ok) {
        out->num = 0;
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "%s=%s: %s", e->name, s, why);
    }
    out->set = 1;
    out->str = s;
    return VKQ_SUCCESS;
}

vkq_status vkq_parse_size(const char *s, uint64_t *out)
{
    if (!s || !out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL size string");
    /* Hand-written rather than strtod: strtod would accept " 1", "+1", "inf", "0x10", "1e3". */
    const char *p = s;
    uint64_t whole = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; ++p, ++digits) {
        const uint64_t d = (uint64_t)(*p - '0');
        if (whole > UINT64_MAX / 10 || whole * 10 > UINT64_MAX - d) goto too_big;
        whole = whole * 10 + d;
    }
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        ++p;
        for (; *p >= '0' && *p <= '9'; ++p, ++digits, scale *= 0.1)
            frac += (*p - '0') * scale;
    }
    if (digits == 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "\"%s\" is not a size: expected digits, e.g. 512M, 6G, 1.5GiB or 1234", s);
    unsigned shift = 0;
    switch (*p) {
    case 'k':
    case 'K':
        shift = 10;
        ++p;
        break;
    case 'm':
    case 'M':
        shift = 20;
        ++p;
        break;
    case 'g':
    case 'G':
        shift = 30;
        ++p;
        break;
    case 't':
    case 'T':
        shift = 40;
        ++p;
        break;
    default:
        break;
    }
    if (shift && (*p == 'i' || *p == 'I')) ++p;
    if (*p == 'b' || *p == 'B') ++p;
    if (*p != '\0')
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "\"%s\" is not a size: unexpected \"%s\" (suffixes: K, M, G, T, optionally "
                        "followed by i and/or B)",
                        s, p);
    if (shift && whole > (UINT64_MAX >> shift)) goto too_big;
    uint64_t v = whole << shift;
    uint64_t f = (uint64_t)(frac * (double)(1ull << shift));
    if (v > UINT64_MAX - f) goto too_big;
    *out = v + f;
    return VKQ_SUCCESS;
too_big:
    return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "\"%s\" is too large (2^64 bytes or more)", s);
}
