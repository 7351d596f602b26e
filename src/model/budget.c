/* VRAM budget for weights: what the device says this process may use, minus a reserve for
 * activations and scratch, or what the user says (API, then VKQ_VRAM_BUDGET). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/env.h"
#include "core/error.h"
#include "vkquant/model.h"
#include "vulkan/device_core.h"

#define MIB (1024ull * 1024ull)

vkq_status vkq_size_parse(const char *s, uint64_t *out)
{
    return vkq_parse_size(s, out);
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
    vkq_env_value env;
    vkq_status st = vkq_env_get(VKQ_ENV_VRAM_BUDGET, &env);
    if (st != VKQ_SUCCESS) return st;
    if (env.set) {
        out->budget = env.num;
        out->source = VKQ_BUDGET_ENV;
        return VKQ_SUCCESS;
    }
    if (!dev) return VKQ_SUCCESS;
    /* Read now: the budget and usage change as this and other processes allocate. */
    int from_ext = 0;
    vkq_device_heap_available(dev, &out->available, &from_ext);
    out->source = from_ext ? VKQ_BUDGET_MEMORY_EXT : VKQ_BUDGET_HEAP_SIZE;
    out->reserve = reserve_bytes ? (reserve_bytes < out->available ? reserve_bytes : out->available)
                                 : vkq_vram_default_reserve(out->available);
    out->budget = out->available - out->reserve;
    return VKQ_SUCCESS;
}
