/* Kernel configuration (internal): a pure function of the probed device, the descriptor and
 * the environment. Knows no handle. */
#ifndef VKQ_CONFIG_H
#define VKQ_CONFIG_H

#include "vkquant/vulkan.h"

/* The profile (desc->profile, else VKQ_KERNEL_PROFILE, else chosen from `info`), with the
 * desc's overrides and VKQ_NO_FP16/VKQ_NO_INT8, checked against the device's limits. On error
 * the sentence is recorded for vkq_last_error. *profile_name is static. */
vkq_status vkq_config_choose(const vkq_device_info *info, const vkq_device_desc *desc, vkq_kernel_config *out,
                             const char **profile_name);

#endif
