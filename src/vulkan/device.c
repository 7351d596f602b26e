/* vkq_device_create and vkq_device_destroy: the composition root of src/vulkan. It resolves
 * the descriptor against the environment, makes the logical device and its queues, and then
 * builds each layer on the one below (device_core.h lists them), with one unwind path:
 * vkq_device_destroy takes a device made up to any step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "vulkan/buffer.h"
#include "vulkan/config.h"
#include "vulkan/device_core.h"
#include "vulkan/pipeline.h"
#include "vulkan/pipeline_cache.h"
#include "vulkan/staging_ring.h"

/* What the descriptor and the environment ask for; the descriptor's non-zero fields win. */
typedef struct device_options {
    uint32_t transfer_queue; /* VKQ_TRANSFER_QUEUE_* */
    uint32_t staging_slots;
    uint64_t staging_slot_bytes;
    uint64_t max_allocation, max_binding; /* 0: the device's limits */
} device_options;

static vkq_status resolve_options(const vkq_device_desc *desc, device_options *o)
{
    static const uint32_t k_queue_words[] = {VKQ_TRANSFER_QUEUE_AUTO, VKQ_TRANSFER_QUEUE_OFF,
                                             VKQ_TRANSFER_QUEUE_EMULATE, VKQ_TRANSFER_QUEUE_OFF};
    const vkq_device_desc none = {0};
    if (!desc) desc = &none;
    if (desc->transfer_queue > VKQ_TRANSFER_QUEUE_EMULATE)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "transfer_queue %u: expected VKQ_TRANSFER_QUEUE_AUTO, _OFF or _EMULATE",
                        desc->transfer_queue);
    *o = (device_options){.transfer_queue = desc->transfer_queue,
                          .staging_slots = desc->staging_slots,
                          .staging_slot_bytes = desc->staging_slot_bytes,
                          .max_allocation = desc->debug ? desc->debug->max_allocation_override : 0,
                          .max_binding = desc->debug ? desc->debug->max_binding_override : 0};
    vkq_env_value v;
    vkq_status st = VKQ_SUCCESS;
    if (!o->transfer_queue && (st = vkq_env_get(VKQ_ENV_TRANSFER_QUEUE, &v)) == VKQ_SUCCESS && v.set)
        o->transfer_queue = k_queue_words[v.num];
    if (st == VKQ_SUCCESS && !o->staging_slots &&
        (st = vkq_env_get(VKQ_ENV_STAGING_SLOTS, &v)) == VKQ_SUCCESS)
        o->staging_slots = (uint32_t)v.num;
    if (st == VKQ_SUCCESS && !o->staging_slot_bytes &&
        (st = vkq_env_get(VKQ_ENV_STAGING_SLOT_BYTES, &v)) == VKQ_SUCCESS)
        o->staging_slot_bytes = v.num;
    if (st == VKQ_SUCCESS && !o->max_allocation &&
        (st = vkq_env_get(VKQ_ENV_MAX_ALLOCATION, &v)) == VKQ_SUCCESS)
        o->max_allocation = v.num;
    if (st == VKQ_SUCCESS && !o->max_binding && (st = vkq_env_get(VKQ_ENV_MAX_BINDING, &v)) == VKQ_SUCCESS)
        o->max_binding = v.num;
    return st;
}

static int device_has_ext(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS || !n) return 0;
    VkExtensionProperties *e = calloc(n, sizeof *e);
    int found = 0;
    if (e && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; ++i)
            if (strcmp(e[i].extensionName, name) == 0) found = 1;
    free(e);
    return found;
}


/* The compute queue family (the first with compute) and, if the options allow, a transfer-only
 * family (a DMA engine: copies there run beside the kernels), else UINT32_MAX. */
static vkq_status find_queues(vkq_device dev, const device_options *o, uint32_t *compute, uint32_t *transfer,
                              vkq_ring_mode *mode)
{
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(dev->phys, &nq, NULL);
    VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof *qf);
    if (!qf) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    vkGetPhysicalDeviceQueueFamilyProperties(dev->phys, &nq, qf);
    uint32_t fam = UINT32_MAX, xfer = UINT32_MAX;
    for (uint32_t i = 0; i < nq; ++i) {
        if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && fam == UINT32_MAX) fam = i;
        if ((qf[i].queueFlags & VK_QUEUE_TRANSFER_BIT) && qf[i].queueCount > 0 &&
            !(qf[i].queueFlags & (VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT)) && xfer == UINT32_MAX)
            xfer = i;
    }
    free(qf);
    if (fam == UINT32_MAX) return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s has no compute queue", dev->info.name);
    switch (o->transfer_queue) {
    case VKQ_TRANSFER_QUEUE_OFF: *mode = VKQ_RING_SAME_QUEUE; break;
    case VKQ_TRANSFER_QUEUE_EMULATE: *mode = VKQ_RING_EMULATED; break;
    default: *mode = xfer != UINT32_MAX ? VKQ_RING_TRANSFER_QUEUE : VKQ_RING_SAME_QUEUE; break;
    }
    *compute = fam;
    *transfer = *mode == VKQ_RING_TRANSFER_QUEUE ? xfer : UINT32_MAX;
    return VKQ_SUCCESS;
}

/* Enables exactly the optional extensions and features the probe found; kernels pick variants
 * by them. */
static vkq_status create_logical_device(vkq_device dev, uint32_t fam, uint32_t xfer)
{
    const vkq_device_info *in = &dev->info;
    const char *exts[8];
    uint32_t n_ext = 0;
    if (in->push_descriptor) exts[n_ext++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
    if (in->has_memory_budget) exts[n_ext++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
    if (in->shader_float16 || in->shader_int8) exts[n_ext++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
    if (in->storage_8bit) exts[n_ext++] = VK_KHR_8BIT_STORAGE_EXTENSION_NAME;
    if (device_has_ext(dev->phys, VK_KHR_16BIT_STORAGE_EXTENSION_NAME))
        exts[n_ext++] = VK_KHR_16BIT_STORAGE_EXTENSION_NAME;
    if (device_has_ext(dev->phys, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME))
        exts[n_ext++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
    if (in->integer_dot_product) exts[n_ext++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;

    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    VkPhysicalDeviceShaderFloat16Int8FeaturesKHR f16i8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR,
        .shaderFloat16 = (VkBool32)in->shader_float16, .shaderInt8 = (VkBool32)in->shader_int8};
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = (VkBool32)in->storage_16bit};
    VkPhysicalDevice8BitStorageFeaturesKHR s8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES_KHR,
        .storageBuffer8BitAccess = (VkBool32)in->storage_8bit};
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR idf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR,
        .shaderIntegerDotProduct = VK_TRUE};
    void **tail = &f2.pNext;
    if (in->shader_float16 || in->shader_int8) { *tail = &f16i8; tail = &f16i8.pNext; }
    if (in->storage_16bit) { *tail = &s16; tail = &s16.pNext; }
    if (in->storage_8bit) { *tail = &s8; tail = &s8.pNext; }
    if (in->integer_dot_product) { *tail = &idf; tail = &idf.pNext; }

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci[2] = {
        {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = fam, .queueCount = 1,
         .pQueuePriorities = &prio},
        {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = xfer, .queueCount = 1,
         .pQueuePriorities = &prio}};
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &f2,
        .queueCreateInfoCount = xfer != UINT32_MAX ? 2 : 1,
        .pQueueCreateInfos = qci,
        .enabledExtensionCount = n_ext,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateDevice(dev->phys, &dci, NULL, &dev->device);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkCreateDevice failed (%d)", (int)r);
    volkLoadDeviceTable(&dev->vk, dev->device);
    dev->queue_family = fam;
    dev->vk.vkGetDeviceQueue(dev->device, fam, 0, &dev->queue);
    return VKQ_SUCCESS;
}

/* Effective limits; the overrides only ever lower them (for testing the chunked paths). */
static void set_limits(vkq_device dev, const device_options *o)
{
    const vkq_device_info *in = &dev->info;
    dev->max_allocation = in->max_memory_allocation_size;
    if (in->max_buffer_size && in->max_buffer_size < dev->max_allocation) dev->max_allocation = in->max_buffer_size;
    dev->max_binding = in->max_storage_buffer_range;
    if (o->max_allocation && o->max_allocation < dev->max_allocation) dev->max_allocation = o->max_allocation;
    if (o->max_binding && o->max_binding < dev->max_binding) dev->max_binding = o->max_binding;
    /* Every input window is also bound as a texel buffer of 4-byte texels. */
    if (in->max_texel_buffer_elements && in->max_texel_buffer_elements * 4 < dev->max_binding)
        dev->max_binding = in->max_texel_buffer_elements * 4;
    /* Bindings are addressed with 32-bit word indices in the shaders. */
    if (dev->max_binding > 0xFFFFFFF0ull) dev->max_binding = 0xFFFFFFF0ull;
    dev->max_binding &= ~(uint64_t)255;
}

/* The one-shot command buffer of the blocking calls and its fence. */
static vkq_status create_command_objects(vkq_device dev)
{
    VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = dev->queue_family};
    VkResult r = dev->vk.vkCreateCommandPool(dev->device, &cpi, NULL, &dev->cmd_pool);
    if (r == VK_SUCCESS) {
        VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                           .commandPool = dev->cmd_pool,
                                           .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                           .commandBufferCount = 1};
        r = dev->vk.vkAllocateCommandBuffers(dev->device, &cai, &dev->cmd);
    }
    if (r == VK_SUCCESS) {
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        r = dev->vk.vkCreateFence(dev->device, &fci, NULL, &dev->fence);
    }
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "command buffer set-up failed (%d)", (int)r);
    return VKQ_SUCCESS;
}

/* The upload ring, on the transfer family if there is one, and its pre-submit hook. */
static vkq_status create_ring(vkq_device dev, const device_options *o, vkq_ring_mode mode, uint32_t xfer)
{
    VkQueue q = dev->queue;
    if (xfer != UINT32_MAX) dev->vk.vkGetDeviceQueue(dev->device, xfer, 0, &q);
    vkq_status st = vkq_ring_create(dev, mode, q, xfer != UINT32_MAX ? xfer : dev->queue_family, o->staging_slots,
                                    o->staging_slot_bytes);
    if (st == VKQ_SUCCESS) dev->before_submit = vkq_ring_before_submit;
    return st;
}

vkq_status vkq_device_create(vkq_instance inst, uint32_t index, const vkq_device_desc *desc, vkq_device *out)
{
    if (!inst || !out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL instance or output pointer");
    *out = NULL;
    vkq_error_clear(); /* so the set-up below can tell whether a step left a message */
    if (index >= inst->phys_count)
        return vkq_fail(VKQ_ERROR_NO_DEVICE, "device index %u out of range (%u devices)", index,
                        inst->phys_count);
    vkq_device dev = calloc(1, sizeof *dev);
    if (!dev) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    dev->inst = inst;
    dev->phys = inst->phys[index];
    dev->info = inst->infos[index];
    vkGetPhysicalDeviceMemoryProperties(dev->phys, &dev->mem_props);

    device_options opt = {0};
    uint32_t fam = UINT32_MAX, xfer = UINT32_MAX;
    vkq_ring_mode mode = VKQ_RING_SAME_QUEUE;
    char cache_path[1024];
    vkq_status st = resolve_options(desc, &opt);
    if (st == VKQ_SUCCESS && dev->info.api_version < VK_API_VERSION_1_1)
        st = vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s supports only Vulkan %u.%u; 1.1 is needed", dev->info.name,
                      VK_API_VERSION_MAJOR(dev->info.api_version),
                      VK_API_VERSION_MINOR(dev->info.api_version));
    if (st == VKQ_SUCCESS) st = find_queues(dev, &opt, &fam, &xfer, &mode);
    if (st == VKQ_SUCCESS) st = create_logical_device(dev, fam, xfer);
    if (st == VKQ_SUCCESS) set_limits(dev, &opt);
    if (st == VKQ_SUCCESS) st = create_command_objects(dev);
    if (st == VKQ_SUCCESS) st = vkq_config_choose(&dev->info, desc, &dev->config, &dev->profile);
    if (st == VKQ_SUCCESS)
        st = vkq_pipeline_cache_path(&dev->info, dev->profile, desc ? desc->pipeline_cache : NULL, cache_path,
                                     sizeof cache_path);
    if (st == VKQ_SUCCESS) st = vkq_staging_create(dev);
    if (st == VKQ_SUCCESS) st = create_ring(dev, &opt, mode, xfer);
    if (st == VKQ_SUCCESS) st = vkq_pipelines_init(dev, cache_path);
    if (st != VKQ_SUCCESS) {
        vkq_fail(st, "device set-up on %s failed: %s", dev->info.name,
                 vkq_last_error()[0] ? vkq_last_error() : vkq_status_string(st));
        vkq_device_destroy(dev);
        return st;
    }
    *out = dev;
    return VKQ_SUCCESS;
}

void vkq_device_destroy(vkq_device dev)
{
    if (!dev) return;
    if (dev->device) {
        vkq_ring_destroy(dev); /* submits what is still recorded, so wait after it */
        dev->vk.vkDeviceWaitIdle(dev->device);
        vkq_pipelines_destroy(dev);
        vkq_host_buffer_destroy(dev, &dev->staging);
        if (dev->fence) dev->vk.vkDestroyFence(dev->device, dev->fence, NULL);
        if (dev->cmd_pool) dev->vk.vkDestroyCommandPool(dev->device, dev->cmd_pool, NULL);
        dev->vk.vkDestroyDevice(dev->device, NULL);
    }
    free(dev);
}

vkq_status vkq_device_wait_uploads(vkq_device dev)
{
    if (!dev) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    return vkq_ring_wait(dev, dev->ring ? dev->ring->last_seq : 0);
}

const vkq_kernel_config *vkq_device_get_config(vkq_device dev, const char **profile_name)
{
    if (!dev) return NULL;
    if (profile_name) *profile_name = dev->profile;
    return &dev->config;
}

vkq_status vkq_device_get_vulkan(vkq_device dev, vkq_vulkan_handles *out)
{
    if (!dev || !out) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    out->instance = dev->inst->instance;
    out->physical_device = dev->phys;
    out->device = dev->device;
    out->queue_family = dev->queue_family;
    out->queue = dev->queue;
    out->upload_queue_family = dev->ring->mode == VKQ_RING_TRANSFER_QUEUE ? dev->ring->family : UINT32_MAX;
    out->get_instance_proc_addr = vkGetInstanceProcAddr;
    return VKQ_SUCCESS;
}
