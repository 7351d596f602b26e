/* Device-level behaviour: selection by index/name, two devices alive at once, kernel profile
 * checks, and the pipeline cache file (written at destruction, reloaded, corrupt files ignored). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_fixture.h"
#include "test_util.h"

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_selection(vkq_instance inst)
{
    uint32_t idx = 99;
    CHECK_OK(vkq_instance_select_device(inst, "0", &idx));
    CHECK(idx == 0, "selector \"0\" chose %u", idx);
    vkq_device_info info;
    CHECK_OK(vkq_instance_device_info(inst, 0, &info));
    char part[8];
    snprintf(part, sizeof part, "%.5s", info.name);
    CHECK_OK(vkq_instance_select_device(inst, part, &idx));
    CHECK(idx == 0 || strstr(info.name, part), "name selector");
    vkq_status st = vkq_instance_select_device(inst, "no-such-device-xyz", &idx);
    CHECK(st == VKQ_ERROR_NO_DEVICE, "unknown name gave %s", vkq_status_string(st));
    CHECK(strstr(vkq_last_error(), "no-such-device-xyz") != NULL, "message names the selector");
    st = vkq_instance_select_device(inst, "4000", &idx);
    CHECK(st == VKQ_ERROR_NO_DEVICE, "index out of range gave %s", vkq_status_string(st));
    st = vkq_instance_device_info(inst, 4000, &info);
    CHECK(st == VKQ_ERROR_NO_DEVICE, "device_info out of range gave %s", vkq_status_string(st));
    vkq_device dev = NULL;
    st = vkq_device_create(inst, 4000, NULL, &dev);
    CHECK(st == VKQ_ERROR_NO_DEVICE && dev == NULL, "device_create out of range gave %s", vkq_status_string(st));
}

static void test_profiles_rejected(vkq_instance inst, uint32_t index)
{
    vkq_device dev = NULL;
    vkq_device_desc bad = {.profile = "voodoo"};
    vkq_status st = vkq_device_create(inst, index, &bad, &dev);
    CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && !dev, "unknown profile gave %s", vkq_status_string(st));
    CHECK(strstr(vkq_last_error(), "voodoo") != NULL, "message names the profile: %s",
          vkq_last_error());
    vkq_kernel_config cfg = {.mm_bm = 64, .mm_tm = 3}; /* 64 % 3 != 0 */
    vkq_device_desc inconsistent = {.profile = "nvidia", .config = &cfg};
    st = vkq_device_create(inst, index, &inconsistent, &dev);
    CHECK(st == VKQ_ERROR_UNSUPPORTED && !dev, "inconsistent tile gave %s", vkq_status_string(st));
    vkq_kernel_config big = {.mv_workgroup = 1u << 20};
    vkq_device_desc too_big = {.config = &big};
    st = vkq_device_create(inst, index, &too_big, &dev);
    CHECK(st == VKQ_ERROR_UNSUPPORTED && !dev, "oversized workgroup gave %s", vkq_status_string(st));
}

/* Runs one small matmul so the device compiles a pipeline. */
static void use_device(vkq_device dev, uint64_t *rng)
{
    uint64_t rb = 0;
    vkq_type_bytes(VKQ_TYPE_Q4_0, 64, &rb);
    vkq_buffer w, x, y;
    CHECK_OK(vkq_buffer_create(dev, rb * 4, VKQ_MEMORY_DEVICE, 0, &w));
    CHECK_OK(vkq_buffer_create(dev, 64 * 4, VKQ_MEMORY_DEVICE, 0, &x));
    CHECK_OK(vkq_buffer_create(dev, 4 * 4, VKQ_MEMORY_DEVICE, 0, &y));
    uint8_t blocks[4 * 36];
    float xf[64];
    vkq_test_random_weights(VKQ_TYPE_Q4_0, 8, rng, blocks);
    for (int i = 0; i < 64; ++i) xf[i] = (float)i / 64.0f;
    CHECK_OK(vkq_buffer_upload(w, 0, blocks, rb * 4));
    CHECK_OK(vkq_buffer_upload(x, 0, xf, sizeof xf));
    vkq_matmul_desc d = {.type = VKQ_TYPE_Q4_0, .m = 4, .k = 64, .n = 1, .w = w, .x = x, .y = y};
    CHECK_OK(vkq_matmul(dev, &d));
    vkq_buffer_destroy(w);
    vkq_buffer_destroy(x);
    vkq_buffer_destroy(y);
}

static void test_pipeline_cache(vkq_instance inst, uint32_t index, uint64_t *rng)
{
    char dir[] = "/tmp/vkq_cache_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/sub/dir/cache.bin", dir);
    vkq_device_desc desc = {.pipeline_cache = path};
    vkq_device a = NULL, b = NULL;
    CHECK_OK(vkq_device_create(inst, index, &desc, &a));
    CHECK(strcmp(vkq_device_pipeline_cache_path(a), path) == 0, "cache path %s", vkq_device_pipeline_cache_path(a));
    /* Two devices on the same physical device at once, each with its own dispatch table. */
    vkq_device_desc other = {.pipeline_cache = "", .profile = "plain"};
    CHECK_OK(vkq_device_create(inst, index, &other, &b));
    use_device(a, rng);
    use_device(b, rng);
    CHECK(file_size(path) < 0, "cache written before destruction");
    vkq_device_destroy(b);
    vkq_device_destroy(a);
    long size = file_size(path);
    CHECK(size >= 32, "cache file not written (%ld bytes)", size);
    CHECK(strlen(vkq_device_pipeline_cache_path(NULL)) == 0, "NULL device path");

    /* Reload: a device starts from the file and works. */
    CHECK_OK(vkq_device_create(inst, index, &desc, &a));
    use_device(a, rng);
    vkq_device_destroy(a);

    /* A corrupt file is ignored, then replaced by a good one. */
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("this is not a pipeline cache, not even close to one", f);
        fclose(f);
    }
    CHECK_OK(vkq_device_create(inst, index, &desc, &a));
    use_device(a, rng);
    CHECK_OK(vkq_device_save_pipeline_cache(a, NULL));
    vkq_device_destroy(a);
    f = fopen(path, "rb");
    uint32_t hdr[2] = {0, 0};
    if (f) {
        CHECK(fread(hdr, 4, 2, f) == 2, "read header");
        fclose(f);
    }
    CHECK(hdr[1] == 1, "rewritten cache has header version %u", hdr[1]);

    /* An unwritable location is reported, not fatal. */
    CHECK_OK(vkq_device_create(inst, index, &desc, &a));
    vkq_status st = vkq_device_save_pipeline_cache(a, "/proc/definitely/not/writable.bin");
    CHECK(st == VKQ_ERROR_IO, "unwritable cache gave %s", vkq_status_string(st));
    vkq_device_destroy(a);
    remove(path);
}

int main(void)
{
    uint64_t seed = vkq_test_seed();
    printf("seed %llu\n", (unsigned long long)seed);
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    test_selection(f.inst);
    test_profiles_rejected(f.inst, f.index);
    test_pipeline_cache(f.inst, f.index, &seed);
    gpu_fixture_close(&f);
    return test_summary("test_device");
}
