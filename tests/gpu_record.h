/* A command buffer of the test's own for the GPU operation tests (test_gpu_ops, test_gpu_moe):
 * they record vkquant's ops (src/vulkan/ops.h) into it, submit and read back. */
#ifndef VKQ_GPU_RECORD_H
#define VKQ_GPU_RECORD_H

#include "gpu_fixture.h"
#include "volk.h"

typedef struct gpu_rec {
    vkq_device dev;
    vkq_vulkan_handles h;
    struct VolkDeviceTable vk;
    VkCommandPool pool;
    VkCommandBuffer cmd;
} gpu_rec;

/* Opens the fixture's device and a command buffer. 0 on success; else the test's exit status
 * (77: the device cannot record ops, reported as a skip under the test's name). */
int gpu_rec_open(gpu_rec *c, gpu_fixture *f, const char *test);
/* The command buffer reset and begun. */
VkCommandBuffer gpu_rec_begin(gpu_rec *c);
/* Ends it with a barrier to host and transfer reads, submits it and waits. */
void gpu_rec_submit(gpu_rec *c);
/* Destroys the command pool (the fixture stays open). */
void gpu_rec_close(gpu_rec *c);

#endif
