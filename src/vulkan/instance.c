/* Vulkan instance: loader (volk), validation messenger, physical-device list and selection. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "vulkan/device_core.h"

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                    VkDebugUtilsMessageTypeFlagsEXT type,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                    void *user)
{
    (void)type;
    vkq_instance inst = user;
    if (sev & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
        atomic_fetch_add(&inst->validation_count, 1);
        fprintf(stderr, "vkquant: validation %s: %s\n",
                (sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning",
                data && data->pMessage ? data->pMessage : "(no message)");
    }
    return VK_FALSE;
}

static int has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *props = calloc(n, sizeof *props);
    int found = 0;
    if (props && vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; ++i)
            if (strcmp(props[i].layerName, name) == 0) found = 1;
    free(props);
    return found;
}

static int has_instance_ext(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    int found = 0;
    if (props && vkEnumerateInstanceExtensionProperties(NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; ++i)
            if (strcmp(props[i].extensionName, name) == 0) found = 1;
    free(props);
    return found;
}

/* Which layers and extensions the instance is created with, and its creation flags. */
typedef struct instance_setup {
    const char *layers[1];
    const char *exts[3];
    uint32_t n_layers, n_exts;
    int validation;
    VkInstanceCreateFlags flags;
} instance_setup;

/* The flag can only switch validation on; the variable adds it to programs that do not ask. */
static vkq_status wants_validation(const vkq_instance_desc *desc, int *out)
{
    const uint32_t flags = desc ? desc->flags : 0;
    vkq_env_value validation_env;
    vkq_status st = vkq_env_get(VKQ_ENV_VALIDATION, &validation_env);
    if (st != VKQ_SUCCESS) return st;
    *out = (flags & VKQ_INSTANCE_VALIDATION) || validation_env.num;
    return VKQ_SUCCESS;
}

static vkq_status choose_layers(int validation, instance_setup *s)
{
    if (validation) {
        if (!has_layer("VK_LAYER_KHRONOS_validation") || !has_instance_ext("VK_EXT_debug_utils"))
            return vkq_fail_status(VKQ_ERROR_UNSUPPORTED);
        s->layers[s->n_layers++] = "VK_LAYER_KHRONOS_validation";
        s->exts[s->n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        s->validation = 1;
    }
    /* Lets the loader list portability (non-conformant) drivers such as MoltenVK too. */
    if (has_instance_ext(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        s->exts[s->n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        s->flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    return VKQ_SUCCESS;
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(vkq_instance inst)
{
    return (VkDebugUtilsMessengerCreateInfoEXT){
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity =
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation,
        .pUserData = inst,
    };
}

/* Chaining the messenger info into the create info also reports problems in vkCreateInstance
 * itself, before the real messenger exists. */
static vkq_status create_vk_instance(vkq_instance inst, const instance_setup *s,
                                     const VkDebugUtilsMessengerCreateInfoEXT *dbg)
{
    const uint32_t api =
        volkGetInstanceVersion() >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_1;
    const VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkquant",
        .pEngineName = "vkquant",
        .engineVersion = VK_MAKE_VERSION(VKQ_VERSION_MAJOR, VKQ_VERSION_MINOR, VKQ_VERSION_PATCH),
        .apiVersion = api,
    };
    const VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = s->validation ? dbg : NULL,
        .flags = s->flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = s->n_layers,
        .ppEnabledLayerNames = s->layers,
        .enabledExtensionCount = s->n_exts,
        .ppEnabledExtensionNames = s->exts,
    };
    /* Into a local: a failed create leaves its output undefined, and the unwind must not
     * destroy it. */
    VkInstance vk = VK_NULL_HANDLE;
    const VkResult r = vkCreateInstance(&ci, NULL, &vk);
    if (r != VK_SUCCESS)
        return vkq_fail(r == VK_ERROR_INCOMPATIBLE_DRIVER ? VKQ_ERROR_NO_DEVICE : vkq_status_from_vk(r),
                        "vkCreateInstance failed (VkResult %d)%s", (int)r,
                        r == VK_ERROR_INCOMPATIBLE_DRIVER ? ": no Vulkan driver supports the requested version"
                        : r == VK_ERROR_LAYER_NOT_PRESENT ? ": a requested layer is not installed"
                                                          : "");
    inst->instance = vk;
    volkLoadInstanceOnly(inst->instance);
    return VKQ_SUCCESS;
}

static vkq_status create_messenger(vkq_instance inst, const VkDebugUtilsMessengerCreateInfoEXT *dbg)
{
    if (vkCreateDebugUtilsMessengerEXT(inst->instance, dbg, NULL, &inst->messenger) != VK_SUCCESS)
        return vkq_fail_status(VKQ_ERROR_VULKAN);
    return VKQ_SUCCESS;
}

/* A loader that cannot list devices leaves an instance with none, which selection reports. */
static vkq_status list_physical_devices(vkq_instance inst)
{
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst->instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) return VKQ_SUCCESS;
    inst->phys = calloc(n, sizeof *inst->phys);
    inst->infos = calloc(n, sizeof *inst->infos);
    if (!inst->phys || !inst->infos) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    r = vkEnumeratePhysicalDevices(inst->instance, &n, inst->phys);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) n = 0;
    inst->phys_count = n;
    for (uint32_t i = 0; i < n; ++i)
        vkq_probe_physical_device(inst->instance, inst->phys[i], i, &inst->infos[i]);
    return VKQ_SUCCESS;
}

vkq_status vkq_instance_create(const vkq_instance_desc *desc, vkq_instance *out)
{
    if (!out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    *out = NULL;
    /* volkInitialize only fills loader entry points; it is idempotent and keeps no per-instance
     * state, so several instances/devices can coexist. */
    if (volkInitialize() != VK_SUCCESS) return vkq_fail_status(VKQ_ERROR_LOADER);
    if (volkGetInstanceVersion() < VK_API_VERSION_1_1) return vkq_fail_status(VKQ_ERROR_UNSUPPORTED);

    vkq_instance inst = calloc(1, sizeof *inst);
    if (!inst) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    /* The messenger info points at inst, so it lives here for both creates that use it. */
    const VkDebugUtilsMessengerCreateInfoEXT dbg = messenger_info(inst);
    instance_setup setup = {0};
    int validation = 0;
    vkq_status st = wants_validation(desc, &validation);
    if (st == VKQ_SUCCESS) st = choose_layers(validation, &setup);
    if (st == VKQ_SUCCESS) st = create_vk_instance(inst, &setup, &dbg);
    if (st == VKQ_SUCCESS && setup.validation) st = create_messenger(inst, &dbg);
    if (st == VKQ_SUCCESS) st = list_physical_devices(inst);
    if (st != VKQ_SUCCESS) {
        /* Destroying skips whatever was not created yet. */
        vkq_instance_destroy(inst);
        return st;
    }
    *out = inst;
    return VKQ_SUCCESS;
}

void vkq_instance_destroy(vkq_instance inst)
{
    if (!inst) return;
    if (inst->messenger) vkDestroyDebugUtilsMessengerEXT(inst->instance, inst->messenger, NULL);
    if (inst->instance) vkDestroyInstance(inst->instance, NULL);
    free(inst->phys);
    free(inst->infos);
    free(inst);
}

uint64_t vkq_instance_validation_count(vkq_instance inst)
{
    return inst ? (uint64_t)atomic_load(&inst->validation_count) : 0;
}

uint32_t vkq_instance_device_count(vkq_instance inst)
{
    return inst ? inst->phys_count : 0;
}

vkq_status vkq_instance_device_info(vkq_instance inst, uint32_t index, vkq_device_info *out)
{
    if (!inst || !out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (index >= inst->phys_count)
        return vkq_fail(VKQ_ERROR_NO_DEVICE, "device index %u out of range (%u devices)", index,
                        inst->phys_count);
    *out = inst->infos[index];
    return VKQ_SUCCESS;
}

static int type_rank(vkq_device_type t)
{
    switch (t) {
    case VKQ_DEVICE_DISCRETE: return 4;
    case VKQ_DEVICE_INTEGRATED: return 3;
    case VKQ_DEVICE_VIRTUAL: return 2;
    case VKQ_DEVICE_CPU: return 1;
    default: return 0;
    }
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; ++hay) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            ++i;
        if (i == n) return 1;
    }
    return n == 0;
}

vkq_status vkq_instance_select_device(vkq_instance inst, const char *sel, uint32_t *out_index)
{
    if (!inst || !out_index) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    if (inst->phys_count == 0) return vkq_fail(VKQ_ERROR_NO_DEVICE, "no Vulkan physical device found");
    if (sel && *sel) {
        char *end = NULL;
        unsigned long idx = strtoul(sel, &end, 10);
        if (end && *end == '\0') {
            if (idx >= inst->phys_count)
                return vkq_fail(VKQ_ERROR_NO_DEVICE, "device index %lu out of range (%u devices)", idx,
                                inst->phys_count);
            *out_index = (uint32_t)idx;
            return VKQ_SUCCESS;
        }
        for (uint32_t i = 0; i < inst->phys_count; ++i)
            if (contains_nocase(inst->infos[i].name, sel)) {
                *out_index = i;
                return VKQ_SUCCESS;
            }
        return vkq_fail(VKQ_ERROR_NO_DEVICE, "no device name contains \"%s\"", sel);
    }
    uint32_t best = 0;
    for (uint32_t i = 1; i < inst->phys_count; ++i)
        if (type_rank(inst->infos[i].type) > type_rank(inst->infos[best].type)) best = i;
    *out_index = best;
    return VKQ_SUCCESS;
}

vkq_status vkq_instance_default_device(vkq_instance inst, uint32_t *out_index)
{
    if (!inst || !out_index) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    vkq_env_value sel;
    vkq_status st = vkq_env_get(VKQ_ENV_DEVICE, &sel);
    return st != VKQ_SUCCESS ? st : vkq_instance_select_device(inst, sel.str, out_index);
}

const char *vkq_device_type_name(vkq_device_type type)
{
    switch (type) {
    case VKQ_DEVICE_INTEGRATED: return "integrated";
    case VKQ_DEVICE_DISCRETE: return "discrete";
    case VKQ_DEVICE_VIRTUAL: return "virtual";
    case VKQ_DEVICE_CPU: return "cpu";
    default: return "other";
    }
}
