/* Pipeline cache persistence: kernels compile once per machine, not once per process. The
 * file is the driver's own blob (VkPipelineCacheHeaderVersionOne first); the driver rejects
 * data from another device or driver version, and we check the header before handing it over
 * so a truncated or foreign file is simply ignored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/env.h"
#include "vulkan/pipeline_cache.h"

#define VKQ_CACHE_MAX_BYTES (256u << 20)

static int mkdir_p(char *dir)
{
    for (char *p = dir + 1; *p; ++p) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir(dir, 0755);
        *p = '/';
        if (r != 0 && errno != EEXIST) return -1;
    }
    return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

vkq_status vkq_pipeline_cache_path(const vkq_device_info *info, const char *profile, const char *requested,
                                   char *out, size_t out_size)
{
    out[0] = '\0';
    if (requested) {
        snprintf(out, out_size, "%s", requested);
        return VKQ_SUCCESS;
    }
    vkq_env_value env;
    vkq_status st = vkq_env_get(VKQ_ENV_PIPELINE_CACHE, &env);
    if (st != VKQ_SUCCESS) return st;
    if (env.set) {
        if (strcmp(env.str, "off") != 0 && strcmp(env.str, "0") != 0) snprintf(out, out_size, "%s", env.str);
        return VKQ_SUCCESS;
    }
    /* Not VKQ_* variables: the platform's own, read as they are. */
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[768];
    if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/vkquant", xdg);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/vkquant", home);
    else return VKQ_SUCCESS;
    snprintf(out, out_size, "%s/%04x-%04x-%08x-%s.bin", dir, info->vendor_id, info->device_id,
             info->driver_version, profile);
    return VKQ_SUCCESS;
}

/* Reads the cache file if it looks like this device's; the caller frees *data. */
void vkq_pipeline_cache_load(const vkq_device_info *info, const char *path, void **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (!path[0]) return;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 32 && len <= (long)VKQ_CACHE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0) {
        uint8_t *buf = malloc((size_t)len);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            uint32_t hdr[4];
            memcpy(hdr, buf, sizeof hdr);
            /* headerSize, headerVersion (1), vendorID, deviceID */
            if (hdr[0] >= 32 && hdr[0] <= (uint32_t)len && hdr[1] == 1 && hdr[2] == info->vendor_id &&
                hdr[3] == info->device_id) {
                *data = buf;
                *size = (size_t)len;
                buf = NULL;
            }
        }
        free(buf);
    }
    fclose(f);
}

vkq_status vkq_pipeline_cache_write(vkq_device dev, VkPipelineCache cache, const char *path)
{
    if (!path[0]) return VKQ_SUCCESS;
    size_t size = 0;
    VkResult r = dev->vk.vkGetPipelineCacheData(dev->device, cache, &size, NULL);
    if (r != VK_SUCCESS) return vkq_fail(vkq_status_from_vk(r), "vkGetPipelineCacheData failed (%d)", (int)r);
    void *data = malloc(size ? size : 1);
    if (!data) return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    r = dev->vk.vkGetPipelineCacheData(dev->device, cache, &size, data);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(data);
        return vkq_fail(vkq_status_from_vk(r), "vkGetPipelineCacheData failed (%d)", (int)r);
    }
    char dir[1024], tmp[1100];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir_p(dir);
    }
    /* Write a private temporary and rename it: concurrent processes never see half a file. */
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    vkq_status st = VKQ_SUCCESS;
    if (!f || fwrite(data, 1, size, f) != size) st = VKQ_ERROR_IO;
    if (f && fclose(f) != 0) st = VKQ_ERROR_IO;
    if (st == VKQ_SUCCESS && rename(tmp, path) != 0) st = VKQ_ERROR_IO;
    if (st != VKQ_SUCCESS) {
        remove(tmp);
        vkq_fail(st, "cannot write the pipeline cache %s: %s", path, strerror(errno));
    }
    free(data);
    return st;
}
