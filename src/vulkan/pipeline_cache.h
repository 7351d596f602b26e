/* Pipeline cache file (internal): where it lives, reading it, writing it. Below pipeline.h. */
#ifndef VKQ_PIPELINE_CACHE_H
#define VKQ_PIPELINE_CACHE_H

#include <stddef.h>

#include "vulkan/device_core.h"

/* The cache file of a device: `requested` (the descriptor's, "" = none) if not NULL, else
 * VKQ_PIPELINE_CACHE (a path, or off/0 = none), else one per device, driver version and profile
 * under $XDG_CACHE_HOME/vkquant (else ~/.cache/vkquant). out[0] = '\0': no file. */
vkq_status vkq_pipeline_cache_path(const vkq_device_info *info, const char *profile, const char *requested,
                                   char *out, size_t out_size);
/* Reads the cache file if it looks like this device's; the caller frees *data. */
void vkq_pipeline_cache_load(const vkq_device_info *info, const char *path, void **data, size_t *size);
/* Writes `cache`'s data to `path` atomically (a private temporary, then rename). */
vkq_status vkq_pipeline_cache_write(vkq_device dev, VkPipelineCache cache, const char *path);

#endif
