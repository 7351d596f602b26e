/* Kernel configurations per vendor profile. Numbers follow each architecture's execution width:
 * mat-vec workgroups span a few subgroups and own 1-2 rows; GEMM tiles are 64x64 (32x32 on CPU
 * drivers, where shared memory is plain cache and barriers are expensive). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/env.h"
#include "core/error.h"
#include "vulkan/config.h"

typedef struct profile {
    const char *name;
    vkq_kernel_config cfg;
} profile;

static const profile k_profiles[] = {
    /* CPU drivers: shared-memory tiles cost a scalar loop per lane on llvmpipe, so prompts run
     * as mat-vec passes of 8 columns. Nor do the fast GEMMs pay there (f16 is emulated and
     * OpSDot not accelerated), so the cpu profile keeps them off; a config override still turns
     * them on (the tests do). Figures: bench/RESULTS.md, "Figures behind code choices". */
    /*          mv_wg rows red lanes texel mm_mv  mm_wg  bm  bn  bk tm tn f16 int8 */
    {"nvidia", {128, 2, 1, 2, 2, 2, 256, 64, 64, 16, 4, 4, 1, 1}},
    {"amd",    {64, 2, 1, 2, 2, 2, 256, 64, 64, 16, 4, 4, 1, 1}},
    {"intel",  {64, 2, 1, 2, 2, 2, 128, 64, 32, 16, 4, 4, 1, 1}},
    {"cpu",    {8, 32, 1, 1, 1, 1, 64, 32, 32, 32, 4, 4, 2, 2}},
    {"plain",  {64, 1, 2, 2, 2, 2, 64, 32, 32, 16, 4, 4, 1, 1}},
};

static const profile *find_profile(const char *name)
{
    for (size_t i = 0; i < sizeof k_profiles / sizeof *k_profiles; ++i)
        if (strcasecmp(k_profiles[i].name, name) == 0) return &k_profiles[i];
    return NULL;
}

static const profile *auto_profile(const vkq_device_info *d)
{
    if (!d->subgroup_arithmetic) return find_profile("plain");
    if (d->type == VKQ_DEVICE_CPU) return find_profile("cpu");
    switch (d->vendor_id) {
    case 0x10DE: return find_profile("nvidia");
    case 0x1002: return find_profile("amd");
    case 0x8086: return find_profile("intel");
    default: break;
    }
    if (d->subgroup_size >= 64) return find_profile("amd");
    if (d->subgroup_size >= 32) return find_profile("nvidia");
    return find_profile("intel");
}

/* The desc's non-zero fields replace the profile's. */
static void apply_overrides(vkq_kernel_config *c, const vkq_kernel_config *o)
{
#define OVR(f) if (o->f) c->f = o->f
    OVR(mv_workgroup); OVR(mv_rows); OVR(mv_subgroup_reduce); OVR(mv_lanes_along_rows); OVR(texel_reads);
    OVR(mm_via_matvec); OVR(mm_workgroup); OVR(mm_bm); OVR(mm_bn); OVR(mm_bk); OVR(mm_tm); OVR(mm_tn);
    OVR(mm_fp16); OVR(mm_int8);
#undef OVR
}

/* VKQ_NO_FP16/VKQ_NO_INT8 are kill switches: they only ever turn a reduced-precision path off,
 * even where the desc asks for it (the one place the environment beats the API: a user can
 * rule out a suspect path without rebuilding the program). */
static vkq_status apply_kill_switches(vkq_kernel_config *c)
{
    vkq_env_value no16, no8;
    vkq_status st = vkq_env_get(VKQ_ENV_NO_FP16, &no16);
    if (st == VKQ_SUCCESS) st = vkq_env_get(VKQ_ENV_NO_INT8, &no8);
    if (st != VKQ_SUCCESS) return st;
    if (no16.num) c->mm_fp16 = VKQ_SWITCH_OFF;
    if (no8.num) c->mm_int8 = VKQ_SWITCH_OFF;
    return VKQ_SUCCESS;
}

/* Device limits the configuration must fit; adjusts what can fall back. */
static vkq_status fit_device(vkq_kernel_config *c, const vkq_device_info *d)
{
    /* A profile asking for subgroup reductions on a device without them falls back. */
    if (!d->subgroup_arithmetic) c->mv_subgroup_reduce = VKQ_MV_REDUCE_SHARED_MEMORY;
    /* Rows per invocation: a whole number; the cpu profile's 4 lets each X fetch serve 4 rows
     * (more rows gain little and compile slower). */
    if (c->mv_lanes_along_rows == VKQ_MV_LANES_ROW_PER_INVOCATION && c->mv_workgroup &&
        c->mv_rows % c->mv_workgroup)
        c->mv_rows = c->mv_workgroup * (c->mv_rows / c->mv_workgroup ? c->mv_rows / c->mv_workgroup : 1);
    int pow2 = (c->mv_workgroup & (c->mv_workgroup - 1)) == 0;
    if (!c->mv_workgroup || !pow2 || c->mv_workgroup > d->max_workgroup_invocations || !c->mv_rows ||
        (c->mv_lanes_along_rows != VKQ_MV_LANES_ROW_PER_INVOCATION &&
         (uint64_t)c->mv_workgroup * c->mv_rows * 8 * 4 > d->max_shared_memory) ||
        (c->mv_lanes_along_rows == VKQ_MV_LANES_ROW_PER_INVOCATION && c->mv_rows / c->mv_workgroup > 16))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "mat-vec workgroup %u x %u rows does not fit %s",
                        c->mv_workgroup, c->mv_rows, d->name);
    if (!c->mm_tm || !c->mm_tn || c->mm_bm % c->mm_tm || c->mm_bn % c->mm_tn || c->mm_bk % 8 || !c->mm_bk ||
        (c->mm_bm / c->mm_tm) * (c->mm_bn / c->mm_tn) != c->mm_workgroup ||
        c->mm_workgroup > d->max_workgroup_invocations ||
        (uint64_t)(c->mm_bm + c->mm_bn) * c->mm_bk * 4 > d->max_shared_memory)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED,
                        "GEMM tile %ux%ux%u (%ux%u per invocation, %u invocations) "
                        "is inconsistent or does not fit %s",
                        c->mm_bm, c->mm_bn, c->mm_bk, c->mm_tm, c->mm_tn, c->mm_workgroup, d->name);
    /* The int8 GEMM steps k by whole 32-element X blocks: 1 byte per element of both tiles plus
     * two floats per 16 elements of each row/column. Smaller than the fp32 tiles unless bk < 16. */
    uint64_t ks = (c->mm_bk + 31) / 32 * 32;
    if ((uint64_t)(c->mm_bm + c->mm_bn) * (ks + ks / 16 * 8) > d->max_shared_memory)
        c->mm_int8 = VKQ_SWITCH_OFF;
    return VKQ_SUCCESS;
}

vkq_status vkq_config_choose(const vkq_device_info *info, const vkq_device_desc *desc, vkq_kernel_config *out,
                             const char **profile_name)
{
    const char *name = desc ? desc->profile : NULL, *from = "profile";
    if (!name) {
        vkq_env_value env;
        vkq_status st = vkq_env_get(VKQ_ENV_KERNEL_PROFILE, &env);
        if (st != VKQ_SUCCESS) return st;
        name = env.str;
        from = "VKQ_KERNEL_PROFILE";
    }
    const profile *pr = name && *name ? find_profile(name) : auto_profile(info);
    if (!pr)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "unknown kernel %s \"%s\" (nvidia, amd, intel, cpu or plain)", from, name);
    vkq_kernel_config c = pr->cfg;
    if (desc && desc->config) apply_overrides(&c, desc->config);
    vkq_status st = apply_kill_switches(&c);
    if (st == VKQ_SUCCESS) st = fit_device(&c, info);
    if (st != VKQ_SUCCESS) return st;
    *out = c;
    *profile_name = pr->name;
    return VKQ_SUCCESS;
}

