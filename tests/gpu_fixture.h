/* Shared set-up of the GPU tests: instance with the Khronos validation layer, the default
 * device, and a check that the layer stayed silent. */
#ifndef VKQ_GPU_FIXTURE_H
#define VKQ_GPU_FIXTURE_H

#include <stdio.h>

#include "check.h"
#include "vkquant/vkquant.h"

typedef struct gpu_fixture {
    vkq_instance inst;
    vkq_device dev;
    uint32_t index;
} gpu_fixture;

/* Creates instance (validation on) and default device; prints the device. Returns 0 on success. */
int gpu_fixture_open(gpu_fixture *f, const vkq_device_desc *desc);
/* Destroys everything; returns the number of validation messages seen (0 = clean). */
uint64_t gpu_fixture_close(gpu_fixture *f);


#endif
