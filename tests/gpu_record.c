#include "gpu_record.h"

#include "test_util.h"

int gpu_rec_open(gpu_rec *c, gpu_fixture *f, const char *test)
{
    *c = (gpu_rec){.dev = f->dev};
    CHECK_OK(vkq_device_get_vulkan(f->dev, &c->h));
    if (!vkq_device_get_info(f->dev)->push_descriptor) {
        gpu_fixture_close(f);
        return vkq_test_skip(test, "the device lacks VK_KHR_push_descriptor (needed to record)");
    }
    CHECK(volkInitialize() == VK_SUCCESS, "volkInitialize");
    volkLoadInstanceOnly(c->h.instance);
    volkLoadDeviceTable(&c->vk, c->h.device);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .queueFamilyIndex = c->h.queue_family};
    CHECK(c->vk.vkCreateCommandPool(c->h.device, &pci, NULL, &c->pool) == VK_SUCCESS, "command pool");
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = c->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    CHECK(c->vk.vkAllocateCommandBuffers(c->h.device, &ai, &c->cmd) == VK_SUCCESS, "command buffer");
    return 0;
}

VkCommandBuffer gpu_rec_begin(gpu_rec *c)
{
    c->vk.vkResetCommandPool(c->h.device, c->pool, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    c->vk.vkBeginCommandBuffer(c->cmd, &bi);
    return c->cmd;
}

void gpu_rec_submit(gpu_rec *c)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    c->vk.vkCmdPipelineBarrier(c->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                               VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0,
                               NULL);
    c->vk.vkEndCommandBuffer(c->cmd);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &c->cmd};
    CHECK(c->vk.vkQueueSubmit(c->h.queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS, "submit");
    c->vk.vkQueueWaitIdle(c->h.queue);
}

void gpu_rec_close(gpu_rec *c)
{
    c->vk.vkDestroyCommandPool(c->h.device, c->pool, NULL);
}
