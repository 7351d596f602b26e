/* The VKQ_* variables: a bad value fails the call that reads it with VKQ_ERROR_INVALID_ARGUMENT
 * and a sentence naming the variable and the value; an explicit API value beats the variable. */
#include <stdlib.h>
#include <string.h>

#include "gpu_fixture.h"
#include "vkquant/cpu.h"
#include "vkquant/quant.h"
#include "vulkan/staging_ring.h"

/* vkq_device_create with `name`=`value` set; returns the status, *dev the device if made. */
static vkq_status create_with(vkq_instance inst, uint32_t index, const char *name, const char *value,
                              const vkq_device_desc *desc, vkq_device *dev)
{
    setenv(name, value, 1);
    *dev = NULL;
    vkq_status st = vkq_device_create(inst, index, desc, dev);
    unsetenv(name);
    return st;
}

static void expect_rejected(vkq_instance inst, uint32_t index, const char *name, const char *value)
{
    vkq_device dev = NULL;
    vkq_status st = create_with(inst, index, name, value, NULL, &dev);
    const char *msg = vkq_last_error();
    CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && !dev, "%s=%s gave %s", name, value, vkq_status_string(st));
    CHECK(strstr(msg, name) && strstr(msg, value), "%s=%s: message \"%s\" names neither", name, value, msg);
    vkq_device_destroy(dev);
}

static void test_device_variables(vkq_instance inst, uint32_t index)
{
    expect_rejected(inst, index, "VKQ_STAGING_SLOT_BYTES", "12x");
    expect_rejected(inst, index, "VKQ_STAGING_SLOTS", "1");
    expect_rejected(inst, index, "VKQ_STAGING_SLOTS", "four");
    expect_rejected(inst, index, "VKQ_TRANSFER_QUEUE", "sideways");
    expect_rejected(inst, index, "VKQ_MAX_ALLOCATION", "lots");
    expect_rejected(inst, index, "VKQ_MAX_BINDING", "-1");
    expect_rejected(inst, index, "VKQ_KERNEL_PROFILE", "voodoo");
    expect_rejected(inst, index, "VKQ_NO_FP16", "maybe");
}

/* The descriptor's fields win: the variable is not even read where they are set. */
static void test_api_beats_environment(vkq_instance inst, uint32_t index)
{
    vkq_device dev = NULL;
    const vkq_device_desc ring = {.staging_slots = 3, .staging_slot_bytes = 4096};
    setenv("VKQ_STAGING_SLOTS", "9", 1);
    vkq_status st = create_with(inst, index, "VKQ_STAGING_SLOT_BYTES", "12x", &ring, &dev);
    unsetenv("VKQ_STAGING_SLOTS");
    CHECK(st == VKQ_SUCCESS && dev, "desc ring with bad env: %s (%s)", vkq_status_string(st),
          vkq_last_error());
    if (dev) CHECK(dev->ring->n_slots == 3 && dev->ring->slot_bytes == 4096, "ring %u x %llu", dev->ring->n_slots,
                   (unsigned long long)dev->ring->slot_bytes);
    vkq_device_destroy(dev);

    const vkq_device_desc off = {.transfer_queue = VKQ_TRANSFER_QUEUE_OFF};
    st = create_with(inst, index, "VKQ_TRANSFER_QUEUE", "emulate", &off, &dev);
    CHECK(st == VKQ_SUCCESS && dev && dev->ring->mode == VKQ_RING_SAME_QUEUE,
          "transfer_queue OFF with VKQ_TRANSFER_QUEUE=emulate: %s", vkq_status_string(st));
    vkq_device_destroy(dev);
    /* AUTO leaves the choice to the variable. */
    st = create_with(inst, index, "VKQ_TRANSFER_QUEUE", "emulate", NULL, &dev);
    CHECK(st == VKQ_SUCCESS && dev && dev->ring->mode == VKQ_RING_EMULATED,
          "VKQ_TRANSFER_QUEUE=emulate: %s", vkq_status_string(st));
    vkq_device_destroy(dev);

    const vkq_device_desc prof = {.profile = "plain"};
    st = create_with(inst, index, "VKQ_KERNEL_PROFILE", "voodoo", &prof, &dev);
    const char *name = NULL;
    if (dev) vkq_device_get_config(dev, &name);
    CHECK(st == VKQ_SUCCESS && name && !strcmp(name, "plain"), "desc profile with bad env: %s",
          vkq_status_string(st));
    vkq_device_destroy(dev);

    const vkq_device_debug_desc lim_debug = {.max_allocation_override = 1 << 20};
    const vkq_device_desc lim = {.debug = &lim_debug};
    st = create_with(inst, index, "VKQ_MAX_ALLOCATION", "lots", &lim, &dev);
    CHECK(st == VKQ_SUCCESS && dev && dev->max_allocation == 1 << 20, "desc limit with bad env: %s",
          vkq_status_string(st));
    vkq_device_destroy(dev);
}

static void test_buffer_and_budget(vkq_device dev)
{
    vkq_buffer b = NULL;
    setenv("VKQ_FORCE_STAGING", "perhaps", 1);
    vkq_status st = vkq_buffer_create(dev, 1024, VKQ_MEMORY_DEVICE, 0, &b);
    unsetenv("VKQ_FORCE_STAGING");
    CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && !b, "VKQ_FORCE_STAGING=perhaps: %s", vkq_status_string(st));
    CHECK(strstr(vkq_last_error(), "VKQ_FORCE_STAGING=perhaps") != NULL, "message: %s", vkq_last_error());
    vkq_buffer_destroy(b);
}

/* The CPU calls fail the same way, with the sentence in vkq_last_error too. */
static void expect_message(const char *what, const char *name, const char *value)
{
    const char *msg = vkq_last_error();
    CHECK(strstr(msg, name) && strstr(msg, value), "%s: message \"%s\" names neither %s nor %s", what, msg,
          name, value);
}

static void test_cpu_threads(void)
{
    float src[64] = {0};
    uint8_t dst[64 * 4];
    vkq_quantize_desc q = {.type = VKQ_TYPE_Q8_0, .src = src, .rows = 2, .k = 32, .dst = dst, .dst_size = sizeof dst};
    setenv("VKQ_CPU_THREADS", "two", 1);
    CHECK(vkq_quantize(&q) == VKQ_ERROR_INVALID_ARGUMENT, "quantize with VKQ_CPU_THREADS=two");
    expect_message("quantize", "VKQ_CPU_THREADS", "two");
    vkq_cpu_pool pool = NULL;
    CHECK(vkq_cpu_pool_create(0, &pool) == VKQ_ERROR_INVALID_ARGUMENT && !pool, "pool with VKQ_CPU_THREADS=two");
    expect_message("pool", "VKQ_CPU_THREADS", "two");
    /* An explicit thread count beats it. */
    q.n_threads = 2;
    CHECK_OK(vkq_quantize(&q));
    CHECK_OK(vkq_cpu_pool_create(2, &pool));
    vkq_cpu_pool_destroy(pool);
    setenv("VKQ_CPU_THREADS", "0", 1);
    q.n_threads = 0;
    CHECK(vkq_quantize(&q) == VKQ_ERROR_INVALID_ARGUMENT, "quantize with VKQ_CPU_THREADS=0");
    expect_message("quantize", "VKQ_CPU_THREADS", "0");
    unsetenv("VKQ_CPU_THREADS");
    CHECK_OK(vkq_quantize(&q));
}

int main(void)
{
    test_cpu_threads();
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL) != 0) return 1;
    test_device_variables(f.inst, f.index);
    test_api_beats_environment(f.inst, f.index);
    test_buffer_and_budget(f.dev);
    CHECK(gpu_fixture_close(&f) == 0, "validation messages");
    return test_summary("env");
}
