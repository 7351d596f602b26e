/* VRAM budget for weights: what the device says this process may use, minus a reserve for
 * activations and scratch, or what the user says (API, then VKQ_VRAM_BUDGET). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "vulkan/internal.h"
#include "vkquant/model.h"

#define MIB (1024ull * 1024ull)

vkq_status vkq_size_parse(const char *s, uint64_t *out)
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

const char *vkq_budget_source_name(vkq_budget_source source)
{
    switch (source) {
    case VKQ_BUDGET_NONE:
        return "none";
    case VKQ_BUDGET_MEMORY_EXT:
        return "VK_EXT_memory_budget";
    case VKQ_BUDGET_HEAP_SIZE:
        return "heap size";
    case VKQ_BUDGET_ENV:
        return "VKQ_VRAM_BUDGET";
    case VKQ_BUDGET_API:
        return "API";
    }
    return "?";
}

uint64_t vkq_vram_default_reserve(uint64_t available)
{
    uint64_t r = available / 20;
    if (r < 256 * MIB) r = 256 * MIB;
    return r < available ? r : available;
}

/* Largest device-local heap; the budget and usage are read now (they change as this and other
 * processes allocate), not taken from the probe made at instance creation. */
static void device_available(vkq_device dev, uint64_t *available, vkq_budget_source *source)
{
    VkPhysicalDeviceMemoryProperties2 mp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    if (dev->info.has_memory_budget) mp.pNext = &b;
    vkGetPhysicalDeviceMemoryProperties2(dev->phys, &mp);
    const VkPhysicalDeviceMemoryProperties *p = &mp.memoryProperties;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < p->memoryHeapCount; ++i)
        if ((p->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            (best == UINT32_MAX || p->memoryHeaps[i].size > p->memoryHeaps[best].size))
            best = i;
    if (best == UINT32_MAX) { /* no device-local heap (unusual): the largest one */
        for (uint32_t i = 0; i < p->memoryHeapCount; ++i)
            if (best == UINT32_MAX || p->memoryHeaps[i].size > p->memoryHeaps[best].size) best = i;
    }
    if (best == UINT32_MAX) {
        *available = 0;
        *source = VKQ_BUDGET_HEAP_SIZE;
        return;
    }
    if (dev->info.has_memory_budget && b.heapBudget[best] > 0) {
        *available = b.heapBudget[best] > b.heapUsage[best] ? b.heapBudget[best] - b.heapUsage[best] : 0;
        *source = VKQ_BUDGET_MEMORY_EXT;
    } else {
        *available = p->memoryHeaps[best].size;
        *source = VKQ_BUDGET_HEAP_SIZE;
    }
}

vkq_status vkq_vram_budget_get(vkq_device dev, uint64_t override_bytes, uint64_t reserve_bytes,
                               vkq_vram_budget *out)
{
    if (!out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL output");
    memset(out, 0, sizeof *out);
    if (override_bytes) {
        out->budget = override_bytes;
        out->source = VKQ_BUDGET_API;
        return VKQ_SUCCESS;
    }
    const char *env = getenv("VKQ_VRAM_BUDGET");
    if (env) {
        uint64_t v;
        if (vkq_size_parse(env, &v) != VKQ_SUCCESS)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "VKQ_VRAM_BUDGET: %s", vkq_last_error());
        out->budget = v;
        out->source = VKQ_BUDGET_ENV;
        return VKQ_SUCCESS;
    }
    if (!dev) return VKQ_SUCCESS;
    device_available(dev, &out->available, &out->source);
    out->reserve = reserve_bytes ? (reserve_bytes < out->available ? reserve_bytes : out->available)
                                 : vkq_vram_default_reserve(out->available);
    out->budget = out->available - out->reserve;
    return VKQ_SUCCESS;
}
