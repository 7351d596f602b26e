/* Logical device: queues, per-device dispatch table, memory types, command buffer, staging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan/internal.h"
#include "vulkan/staging_ring.h"
#include "formats/tables_gen.h"

#define VKQ_STAGING_BYTES (16u << 20)

const vkq_device_info *vkq_device_get_info(vkq_device dev)
{
    return dev ? &dev->info : NULL;
}

uint64_t vkq_parse_size(const char *s)
{
    if (!s || !*s) return 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return 0;
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; ++end; break;
    case 'm': case 'M': v *= 1024.0 * 1024.0; ++end; break;
    case 'g': case 'G': v *= 1024.0 * 1024.0 * 1024.0; ++end; break;
    case 't': case 'T': v *= 1024.0 * 1024.0 * 1024.0 * 1024.0; ++end; break;
    default: break;
    }
    if (*end == 'i' || *end == 'I') ++end;
    if (*end == 'b' || *end == 'B') ++end;
    if (*end != '\0' || v >= 1.8e19) return 0;
    return (uint64_t)v;
}

/* Picks a memory type allowed by `bits` that has `need`, preferring `want` as well and
 * avoiding `avoid`; UINT32_MAX if none. */
static uint32_t pick_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits,
                                 VkMemoryPropertyFlags need, VkMemoryPropertyFlags want,
                                 VkMemoryPropertyFlags avoid)
{
    uint32_t best = UINT32_MAX;
    int best_score = -1;
    for (uint32_t i = 0; i < mp->memoryTypeCount; ++i) {
        VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
        if (!(bits & (1u << i)) || (f & need) != need) continue;
        int score = ((f & want) == want ? 2 : 0) + ((f & avoid) ? 0 : 1);
        if (score > best_score) {
            best = i;
            best_score = score;
        }
    }
    return best;
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

static vkq_status create_staging(vkq_device dev)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = VKQ_STAGING_BYTES,
        .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = dev->vk.vkCreateBuffer(dev->device, &bci, NULL, &dev->staging);
    if (r != VK_SUCCESS) return vkq_status_from_vk(r);
    VkMemoryRequirements req;
    dev->vk.vkGetBufferMemoryRequirements(dev->device, dev->staging, &req);
    uint32_t t = pick_memory_type(&dev->mem_props, req.memoryTypeBits,
                                  VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                  VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
    if (t == UINT32_MAX) return vkq_fail_status(VKQ_ERROR_UNSUPPORTED);
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size, .memoryTypeIndex = t};
    r = dev->vk.vkAllocateMemory(dev->device, &mai, NULL, &dev->staging_mem);
    if (r != VK_SUCCESS) return vkq_status_from_vk(r);
    r = dev->vk.vkBindBufferMemory(dev->device, dev->staging, dev->staging_mem, 0);
    if (r == VK_SUCCESS)
        r = dev->vk.vkMapMemory(dev->device, dev->staging_mem, 0, VK_WHOLE_SIZE, 0, &dev->staging_map);
    if (r != VK_SUCCESS) return vkq_status_from_vk(r);
    dev->staging_size = VKQ_STAGING_BYTES;
    return VKQ_SUCCESS;
}

/* Where the staging ring submits: the desc's choice, overridden by VKQ_TRANSFER_QUEUE. Returns 0
 * on a value it does not know. */
static int choose_ring_mode(const vkq_device_desc *desc, int has_transfer_family, vkq_ring_mode *out)
{
    uint32_t choice = desc ? desc->transfer_queue : VKQ_TRANSFER_QUEUE_AUTO;
    const char *env = getenv("VKQ_TRANSFER_QUEUE");
    if (env && *env) {
        if (!strcmp(env, "auto")) choice = VKQ_TRANSFER_QUEUE_AUTO;
        else if (!strcmp(env, "off") || !strcmp(env, "0")) choice = VKQ_TRANSFER_QUEUE_OFF;
        else if (!strcmp(env, "emulate")) choice = VKQ_TRANSFER_QUEUE_EMULATE;
        else return 0;
    }
    switch (choice) {
    case VKQ_TRANSFER_QUEUE_AUTO:
        *out = has_transfer_family ? VKQ_RING_TRANSFER_QUEUE : VKQ_RING_SAME_QUEUE;
        return 1;
    case VKQ_TRANSFER_QUEUE_OFF: *out = VKQ_RING_SAME_QUEUE; return 1;
    case VKQ_TRANSFER_QUEUE_EMULATE: *out = VKQ_RING_EMULATED; return 1;
    default: return 0;
    }
}

vkq_status vkq_device_create(vkq_instance inst, uint32_t index, const vkq_device_desc *desc,
                             vkq_device *out)
{
    if (!inst || !out) return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "NULL instance or output pointer");
    *out = NULL;
    vkq_error_clear(); /* so the set-up below can tell whether a step left a message */
    if (index >= inst->phys_count)
        return vkq_fail(VKQ_ERROR_NO_DEVICE, "device index %u out of range (%u devices)",
                                 index, inst->phys_count);
    vkq_device dev = calloc(1, sizeof *dev);
    if (!dev) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    dev->inst = inst;
    dev->phys = inst->phys[index];
    dev->info = inst->infos[index];
    vkGetPhysicalDeviceMemoryProperties(dev->phys, &dev->mem_props);
    const vkq_device_info *in = &inst->infos[index]; /* outlives dev on the error paths */
    if (in->api_version < VK_API_VERSION_1_1) {
        free(dev);
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s supports only Vulkan %u.%u; 1.1 is needed",
                                 in->name, VK_API_VERSION_MAJOR(in->api_version),
                                 VK_API_VERSION_MINOR(in->api_version));
    }

    /* Compute queue: prefer a family without graphics (async compute), else any compute. */
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(dev->phys, &nq, NULL);
    VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof *qf);
    if (!qf) {
        free(dev);
        return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    }
    vkGetPhysicalDeviceQueueFamilyProperties(dev->phys, &nq, qf);
    uint32_t fam = UINT32_MAX, xfer = UINT32_MAX;
    for (uint32_t i = 0; i < nq; ++i) {
        if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && fam == UINT32_MAX) fam = i;
        /* A transfer-only family is a DMA engine: copies there run beside the kernels. */
        if ((qf[i].queueFlags & VK_QUEUE_TRANSFER_BIT) && qf[i].queueCount > 0 &&
            !(qf[i].queueFlags & (VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT)) && xfer == UINT32_MAX)
            xfer = i;
    }
    free(qf);
    vkq_ring_mode ring_mode;
    if (!choose_ring_mode(desc, xfer != UINT32_MAX, &ring_mode)) {
        free(dev);
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                                 "transfer_queue %u / VKQ_TRANSFER_QUEUE=%s: expected auto, off or emulate",
                                 desc ? desc->transfer_queue : 0, getenv("VKQ_TRANSFER_QUEUE"));
    }
    if (ring_mode != VKQ_RING_TRANSFER_QUEUE) xfer = UINT32_MAX;
    if (fam == UINT32_MAX) {
        free(dev);
        return vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s has no compute queue", in->name);
    }
    dev->queue_family = fam;

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

    /* Enable exactly the optional features the probe found; kernels pick variants by them. */
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
    if (r != VK_SUCCESS) {
        free(dev);
        return vkq_fail(vkq_status_from_vk(r), "vkCreateDevice failed (%d)", (int)r);
    }
    volkLoadDeviceTable(&dev->vk, dev->device);
    dev->vk.vkGetDeviceQueue(dev->device, fam, 0, &dev->queue);

    /* Effective limits; overrides only ever lower them (for testing the chunked paths). */
    dev->max_allocation = in->max_memory_allocation_size;
    if (in->max_buffer_size && in->max_buffer_size < dev->max_allocation)
        dev->max_allocation = in->max_buffer_size;
    dev->max_binding = in->max_storage_buffer_range;
    const vkq_device_debug_desc *dbg = desc ? desc->debug : NULL;
    uint64_t o_alloc = dbg ? dbg->max_allocation_override : 0;
    uint64_t o_bind = dbg ? dbg->max_binding_override : 0;
    if (!o_alloc) o_alloc = vkq_parse_size(getenv("VKQ_MAX_ALLOCATION"));
    if (!o_bind) o_bind = vkq_parse_size(getenv("VKQ_MAX_BINDING"));
    if (o_alloc && o_alloc < dev->max_allocation) dev->max_allocation = o_alloc;
    if (o_bind && o_bind < dev->max_binding) dev->max_binding = o_bind;
    /* Every input window is also bound as a texel buffer of 4-byte texels. */
    if (in->max_texel_buffer_elements && in->max_texel_buffer_elements * 4 < dev->max_binding)
        dev->max_binding = in->max_texel_buffer_elements * 4;
    /* Bindings are addressed with 32-bit word indices in the shaders. */
    if (dev->max_binding > 0xFFFFFFF0ull) dev->max_binding = 0xFFFFFFF0ull;
    dev->max_binding &= ~(uint64_t)255;

    VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = fam};
    vkq_status st = VKQ_SUCCESS;
    r = dev->vk.vkCreateCommandPool(dev->device, &cpi, NULL, &dev->cmd_pool);
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
    if (r != VK_SUCCESS) st = vkq_status_from_vk(r);
    if (st == VKQ_SUCCESS) st = vkq_config_choose(dev, desc);
    if (st == VKQ_SUCCESS) vkq_pipeline_cache_path(dev, desc ? desc->pipeline_cache : NULL);
    if (st == VKQ_SUCCESS) st = create_staging(dev);
    if (st == VKQ_SUCCESS) {
        VkQueue rq = dev->queue;
        if (xfer != UINT32_MAX) dev->vk.vkGetDeviceQueue(dev->device, xfer, 0, &rq);
        st = vkq_ring_create(dev, ring_mode, rq, xfer != UINT32_MAX ? xfer : fam, desc ? desc->staging_slots : 0,
                             desc ? desc->staging_slot_bytes : 0);
    }
    if (st == VKQ_SUCCESS) st = vkq_pipelines_init(dev);
    if (st == VKQ_SUCCESS)
        st = vkq_buffer_create(dev, sizeof vkq_gpu_tables, VKQ_MEMORY_DEVICE, 0, &dev->tables);
    if (st == VKQ_SUCCESS) st = vkq_buffer_upload(dev->tables, 0, vkq_gpu_tables, sizeof vkq_gpu_tables);
    if (st == VKQ_SUCCESS)
        st = vkq_segment_view(dev, &dev->tables->segments[0], 0, (sizeof vkq_gpu_tables + 3) & ~(size_t)3,
                              VK_FORMAT_R32_UINT, &dev->tables_view);
    if (st != VKQ_SUCCESS) {
        vkq_fail(st, "device set-up on %s failed: %s", in->name,
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
        vkq_buffer_destroy(dev->tables);
        vkq_pipelines_destroy(dev);
        if (dev->staging) dev->vk.vkDestroyBuffer(dev->device, dev->staging, NULL);
        if (dev->staging_mem) dev->vk.vkFreeMemory(dev->device, dev->staging_mem, NULL);
        if (dev->fence) dev->vk.vkDestroyFence(dev->device, dev->fence, NULL);
        if (dev->cmd_pool) dev->vk.vkDestroyCommandPool(dev->device, dev->cmd_pool, NULL);
        dev->vk.vkDestroyDevice(dev->device, NULL);
    }
    free(dev);
}

vkq_status vkq_cmd_begin(vkq_device dev, VkCommandBuffer *out)
{
    VkResult r = dev->vk.vkResetCommandBuffer(dev->cmd, 0);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkResetCommandBuffer failed (%d)", (int)r);
    if (dev->desc_pool) dev->vk.vkResetDescriptorPool(dev->device, dev->desc_pool, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    r = dev->vk.vkBeginCommandBuffer(dev->cmd, &bi);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkBeginCommandBuffer failed (%d)", (int)r);
    *out = dev->cmd;
    return VKQ_SUCCESS;
}

vkq_status vkq_cmd_submit_wait(vkq_device dev)
{
    /* Makes this submission's writes available to later submissions on the queue and to the
     * host (mapped buffers), so blocking calls can be chained without further barriers. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT |
                                           VK_ACCESS_HOST_READ_BIT};
    dev->vk.vkCmdPipelineBarrier(dev->cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                                 VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                                 &mb, 0, NULL, 0, NULL);
    vkq_status st = vkq_ring_before_submit(dev);
    if (st != VKQ_SUCCESS) return st;
    VkResult r = dev->vk.vkEndCommandBuffer(dev->cmd);
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                           .pCommandBuffers = &dev->cmd};
        r = dev->vk.vkQueueSubmit(dev->queue, 1, &si, dev->fence);
    }
    if (r == VK_SUCCESS) r = dev->vk.vkWaitForFences(dev->device, 1, &dev->fence, VK_TRUE, UINT64_MAX);
    if (r == VK_SUCCESS) r = dev->vk.vkResetFences(dev->device, 1, &dev->fence);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "queue submission failed (%d)", (int)r);
    return VKQ_SUCCESS;
}

uint32_t vkq_pick_staging_memory(vkq_device dev, uint32_t bits)
{
    return pick_memory_type(&dev->mem_props, bits,
                            VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0,
                            VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
}

vkq_status vkq_device_wait_uploads(vkq_device dev)
{
    if (!dev) return vkq_fail_status(VKQ_ERROR_INVALID_ARGUMENT);
    return vkq_ring_wait(dev, dev->ring ? dev->ring->last_seq : 0);
}

uint32_t vkq_pick_buffer_memory(vkq_device dev, vkq_memory memory, uint32_t bits)
{
    const VkPhysicalDeviceMemoryProperties *mp = &dev->mem_props;
    if (memory == VKQ_MEMORY_HOST_VISIBLE)
        return pick_memory_type(mp, bits,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    uint32_t t = pick_memory_type(mp, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, 0);
    return t != UINT32_MAX ? t : pick_memory_type(mp, bits, 0, 0, 0);
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
