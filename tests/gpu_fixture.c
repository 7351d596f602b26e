#include "gpu_fixture.h"

#include <stdlib.h>

#include "test_util.h"

int g_checks, g_failures;

int gpu_fixture_open(gpu_fixture *f, const vkq_device_desc *desc)
{
    vkq_instance_desc idesc = {.flags = VKQ_INSTANCE_VALIDATION};
    vkq_status st = vkq_instance_create(&idesc, &f->inst);
    /* What this machine lacks is a skip (exit 77), not a failure of the code under test. */
    if (st == VKQ_ERROR_LOADER) exit(vkq_test_skip("gpu test", "no Vulkan loader (libvulkan)"));
    if (st == VKQ_ERROR_UNSUPPORTED)
        exit(vkq_test_skip("gpu test", "no Khronos validation layer (VK_LAYER_KHRONOS_validation with "
                                       "VK_EXT_debug_utils) or no Vulkan 1.1 loader"));
    if (st == VKQ_ERROR_NO_DEVICE) exit(vkq_test_skip("gpu test", "no Vulkan driver"));
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq_instance_create (with validation) failed: %s\n", vkq_status_string(st));
        return 1;
    }
    st = vkq_instance_default_device(f->inst, &f->index);
    if (st == VKQ_ERROR_NO_DEVICE && vkq_instance_device_count(f->inst) == 0) {
        vkq_instance_destroy(f->inst);
        exit(vkq_test_skip("gpu test", "no Vulkan device"));
    }
    if (st == VKQ_SUCCESS) st = vkq_device_create(f->inst, f->index, desc, &f->dev);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "no usable device: %s (%s)\n", vkq_status_string(st), vkq_last_error());
        vkq_instance_destroy(f->inst);
        return 1;
    }
    const vkq_device_info *info = vkq_device_get_info(f->dev);
    printf("device %u: %s (%s), subgroup %u\n", f->index, info->name, info->driver_info, info->subgroup_size);
    return 0;
}

uint64_t gpu_fixture_close(gpu_fixture *f)
{
    vkq_device_destroy(f->dev);
    uint64_t n = vkq_instance_validation_count(f->inst);
    vkq_instance_destroy(f->inst);
    CHECK(n == 0, "%llu validation messages", (unsigned long long)n);
    return n;
}

int test_summary(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, g_checks, g_failures);
    return g_failures ? 1 : 0;
}
