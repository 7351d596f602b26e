/* Device core: memory types, the host-visible allocator, the one-shot command
 * buffer. See device_core.h for the layering of src/vulkan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan/device_core.h"

vkq_status vkq_status_from_vk(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return VKQ_SUCCESS;
    case VK_ERROR_OUT_OF_HOST_MEMORY: return VKQ_ERROR_OUT_OF_HOST_MEMORY;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return VKQ_ERROR_OUT_OF_DEVICE_MEMORY;
    default: return VKQ_ERROR_VULKAN;
    }
}

const vkq_device_info *vkq_device_get_info(vkq_device dev)
{
    return dev ? &dev->info : NULL;
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

uint32_t vkq_pick_memory(vkq_device dev, vkq_mem_kind kind, uint32_t bits)
{
    const VkPhysicalDeviceMemoryProperties *mp = &dev->mem_props;
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    switch (kind) {
    case VKQ_MEM_HOST_VISIBLE: return pick_memory_type(mp, bits, host, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    case VKQ_MEM_UPLOAD: return pick_memory_type(mp, bits, host, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    case VKQ_MEM_DOWNLOAD: return pick_memory_type(mp, bits, host, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
    case VKQ_MEM_DEVICE: break;
    }
    uint32_t t = pick_memory_type(mp, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, 0);
    return t != UINT32_MAX ? t : pick_memory_type(mp, bits, 0, 0, 0);
}

static const char *kind_name(vkq_mem_kind kind)
{
    return kind == VKQ_MEM_DEVICE ? "device-local" : "host-visible";
}

vkq_status vkq_host_buffer_create(vkq_device dev, const VkBufferCreateInfo *bci, vkq_mem_kind kind, int map,
                                  const char *what, vkq_host_buffer *out)
{
    memset(out, 0, sizeof *out);
    VkResult r = dev->vk.vkCreateBuffer(dev->device, bci, NULL, &out->buffer);
    if (r != VK_SUCCESS)
        return vkq_fail(vkq_status_from_vk(r), "%s: vkCreateBuffer(%llu bytes) failed (%d)", what,
                        (unsigned long long)bci->size, (int)r);
    VkMemoryRequirements req;
    dev->vk.vkGetBufferMemoryRequirements(dev->device, out->buffer, &req);
    vkq_status st = VKQ_SUCCESS;
    uint32_t type = vkq_pick_memory(dev, kind, req.memoryTypeBits);
    if (type == UINT32_MAX) {
        st = vkq_fail(VKQ_ERROR_UNSUPPORTED, "%s: no memory type for a %s buffer", what, kind_name(kind));
        goto fail;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    r = dev->vk.vkAllocateMemory(dev->device, &mai, NULL, &out->memory);
    if (r != VK_SUCCESS) {
        st = vkq_fail(vkq_status_from_vk(r), "%s: allocating %llu bytes of %s memory failed (%d)", what,
                      (unsigned long long)req.size, kind_name(kind), (int)r);
        goto fail;
    }
    r = dev->vk.vkBindBufferMemory(dev->device, out->buffer, out->memory, 0);
    if (r != VK_SUCCESS) {
        st = vkq_fail(vkq_status_from_vk(r), "%s: vkBindBufferMemory failed (%d)", what, (int)r);
        goto fail;
    }
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    if (map && (dev->mem_props.memoryTypes[type].propertyFlags & host) == host) {
        r = dev->vk.vkMapMemory(dev->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->map);
        if (r != VK_SUCCESS) out->map = NULL;
        /* Staging buffers exist to be mapped; a device buffer just takes the copy path. */
        if (r != VK_SUCCESS && kind != VKQ_MEM_DEVICE && kind != VKQ_MEM_HOST_VISIBLE) {
            st = vkq_fail(vkq_status_from_vk(r), "%s: vkMapMemory failed (%d)", what, (int)r);
            goto fail;
        }
    }
    out->size = bci->size;
    return VKQ_SUCCESS;
fail:
    vkq_host_buffer_destroy(dev, out);
    return st;
}

void vkq_host_buffer_destroy(vkq_device dev, vkq_host_buffer *b)
{
    if (b->map) dev->vk.vkUnmapMemory(dev->device, b->memory);
    if (b->buffer) dev->vk.vkDestroyBuffer(dev->device, b->buffer, NULL);
    if (b->memory) dev->vk.vkFreeMemory(dev->device, b->memory, NULL);
    memset(b, 0, sizeof *b);
}

vkq_status vkq_cmd_begin(vkq_device dev, VkCommandBuffer *out)
{
    VkResult r = dev->vk.vkResetCommandBuffer(dev->cmd, 0);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkResetCommandBuffer failed (%d)", (int)r);
    if (dev->after_begin) dev->after_begin(dev);
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
    vkq_status st = dev->before_submit ? dev->before_submit(dev) : VKQ_SUCCESS;
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

void vkq_device_heap_available(vkq_device dev, uint64_t *available, int *from_budget_ext)
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
    *available = 0;
    *from_budget_ext = 0;
    if (best == UINT32_MAX) return;
    if (dev->info.has_memory_budget && b.heapBudget[best] > 0) {
        *available = b.heapBudget[best] > b.heapUsage[best] ? b.heapBudget[best] - b.heapUsage[best] : 0;
        *from_budget_ext = 1;
    } else {
        *available = p->memoryHeaps[best].size;
    }
}
