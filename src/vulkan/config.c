/* Kernel configurations per vendor profile. Numbers follow each architecture's execution width:
 * mat-vec workgroups span a few subgroups and own 1-2 rows; GEMM tiles are 64x64 (32x32 on CPU
 * drivers, where shared memory is plain cache and barriers are expensive). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vulkan/internal.h"

typedef struct profile {
    const char *name;
    vkq_kernel_config cfg;
} profile;

static const profile k_profiles[] = {
    /* CPU drivers: shared-memory tiles cost a scalar loop per lane on llvmpipe, so prompts run
     * as mat-vec passes of 8 columns (2.4 vs 0.7 GFLOP/s on lavapipe, bench/RESULTS.md). Nor do
     * the fast GEMMs pay there (lavapipe, Q4_0 1024x4096x64, plain tiles: fp32 0.65, fp16 0.36,
     * int8 0.63 GFLOP/s; f16 is emulated and OpSDot not accelerated), so the cpu profile keeps
     * them off; a config override still turns them on (the tests do). */
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

/* An environment switch counts as set unless absent, empty or "0". */
static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

vkq_status vkq_config_choose(vkq_device dev, const vkq_device_desc *desc)
{
    const char *name = desc && desc->profile ? desc->profile : getenv("VKQ_KERNEL_PROFILE");
    const profile *pr = name && *name ? find_profile(name) : auto_profile(&dev->info);
    if (!pr) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "unknown kernel profile \"%s\"", name);
    vkq_kernel_config c = pr->cfg;
    if (desc && desc->config) {
        const vkq_kernel_config *o = desc->config;
#define OVR(f) if (o->f) c.f = o->f
        OVR(mv_workgroup); OVR(mv_rows); OVR(mv_subgroup_reduce); OVR(mv_lanes_along_rows); OVR(texel_reads); OVR(mm_via_matvec); OVR(mm_workgroup);
        OVR(mm_bm); OVR(mm_bn); OVR(mm_bk); OVR(mm_tm); OVR(mm_tn); OVR(mm_fp16); OVR(mm_int8);
#undef OVR
    }
    if (env_on("VKQ_NO_FP16")) c.mm_fp16 = VKQ_SWITCH_OFF;
    if (env_on("VKQ_NO_INT8")) c.mm_int8 = VKQ_SWITCH_OFF;
    /* A profile asking for subgroup reductions on a device without them falls back. */
    if (!dev->info.subgroup_arithmetic) c.mv_subgroup_reduce = VKQ_MV_REDUCE_SHARED_MEMORY;
    /* Rows per invocation: a whole number, 4 on the cpu profile (each X fetch serves 4 rows:
     * lavapipe mat-vec 4096x14336 Q4_0 50 -> 33 ms; more rows gain little and compile slower). */
    if (c.mv_lanes_along_rows == VKQ_MV_LANES_ROW_PER_INVOCATION && c.mv_workgroup && c.mv_rows % c.mv_workgroup)
        c.mv_rows = c.mv_workgroup * (c.mv_rows / c.mv_workgroup ? c.mv_rows / c.mv_workgroup : 1);
    const vkq_device_info *d = &dev->info;
    int pow2 = (c.mv_workgroup & (c.mv_workgroup - 1)) == 0;
    if (!c.mv_workgroup || !pow2 || c.mv_workgroup > d->max_workgroup_invocations || !c.mv_rows ||
        (c.mv_lanes_along_rows != VKQ_MV_LANES_ROW_PER_INVOCATION && (uint64_t)c.mv_workgroup * c.mv_rows * 8 * 4 > d->max_shared_memory) ||
        (c.mv_lanes_along_rows == VKQ_MV_LANES_ROW_PER_INVOCATION && c.mv_rows / c.mv_workgroup > 16))
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "mat-vec workgroup %u x %u rows does not fit %s",
                        c.mv_workgroup, c.mv_rows, d->name);
    if (!c.mm_tm || !c.mm_tn || c.mm_bm % c.mm_tm || c.mm_bn % c.mm_tn || c.mm_bk % 8 || !c.mm_bk ||
        (c.mm_bm / c.mm_tm) * (c.mm_bn / c.mm_tn) != c.mm_workgroup ||
        c.mm_workgroup > d->max_workgroup_invocations ||
        (uint64_t)(c.mm_bm + c.mm_bn) * c.mm_bk * 4 > d->max_shared_memory)
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "GEMM tile %ux%ux%u (%ux%u per invocation, %u invocations) "
                        "is inconsistent or does not fit %s", c.mm_bm, c.mm_bn, c.mm_bk, c.mm_tm, c.mm_tn,
                        c.mm_workgroup, d->name);
    /* The int8 GEMM steps k by whole 32-element X blocks: 1 byte per element of both tiles plus
     * two floats per 16 elements of each row/column. Smaller than the fp32 tiles unless bk < 16. */
    uint64_t ks = (c.mm_bk + 31) / 32 * 32;
    if ((uint64_t)(c.mm_bm + c.mm_bn) * (ks + ks / 16 * 8) > d->max_shared_memory) c.mm_int8 = VKQ_SWITCH_OFF;
    dev->config = c;
    dev->profile = pr->name;
    return VKQ_SUCCESS;
}

const vkq_kernel_config *vkq_device_get_config(vkq_device dev, const char **profile_name)
{
    if (!dev) return NULL;
    if (profile_name) *profile_name = dev->profile;
    return &dev->config;
}
