/* Feature probe of one physical device: everything the kernel choice and vkq-info need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan/device_core.h"

/* Debian 12's Vulkan headers (1.3.239) predate VK_KHR_cooperative_matrix; declare the few
 * pieces the probe needs (values from the extension's registry entry, extension 507). */
#ifndef VK_KHR_cooperative_matrix
#define VKQ_COOPMAT_EXT "VK_KHR_cooperative_matrix"
#define VKQ_STYPE_COOPMAT_PROPERTIES ((VkStructureType)1000506001)
typedef struct vkq_coopmat_props {
    VkStructureType sType;
    void *pNext;
    uint32_t MSize, NSize, KSize;
    uint32_t AType, BType, CType, ResultType;
    VkBool32 saturatingAccumulation;
    uint32_t scope;
} vkq_coopmat_props;
#else
#define VKQ_COOPMAT_EXT VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME
#define VKQ_STYPE_COOPMAT_PROPERTIES VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR
typedef VkCooperativeMatrixPropertiesKHR vkq_coopmat_props;
#endif
typedef VkResult(VKAPI_PTR *vkq_pfn_coopmat)(VkPhysicalDevice, uint32_t *, vkq_coopmat_props *);

static int has_ext(const VkExtensionProperties *e, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; ++i)
        if (strcmp(e[i].extensionName, name) == 0) return 1;
    return 0;
}

static vkq_device_type map_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VKQ_DEVICE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VKQ_DEVICE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VKQ_DEVICE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VKQ_DEVICE_CPU;
    default: return VKQ_DEVICE_OTHER;
    }
}

/* Which optional extensions the device has (only those the probe and device creation use). */
typedef struct probe_exts {
    int driver, sgsc, m4, fc, idot, f16i8, s16, s8;
} probe_exts;

static void probe_extensions(VkPhysicalDevice phys, probe_exts *x, vkq_device_info *out)
{
    uint32_t n_ext = 0;
    VkExtensionProperties *exts = NULL;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, NULL) == VK_SUCCESS && n_ext) {
        exts = calloc(n_ext, sizeof *exts);
        if (!exts || vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, exts) != VK_SUCCESS)
            n_ext = 0;
    }
    x->driver = has_ext(exts, n_ext, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    x->sgsc = has_ext(exts, n_ext, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    x->m4 = has_ext(exts, n_ext, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);
    x->fc = has_ext(exts, n_ext, VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME);
    x->idot = has_ext(exts, n_ext, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    x->f16i8 = has_ext(exts, n_ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    x->s16 = has_ext(exts, n_ext, VK_KHR_16BIT_STORAGE_EXTENSION_NAME);
    x->s8 = has_ext(exts, n_ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
    out->has_memory_budget = has_ext(exts, n_ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    out->push_descriptor = has_ext(exts, n_ext, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
    out->cooperative_matrix = has_ext(exts, n_ext, VKQ_COOPMAT_EXT);
    free(exts);
}

#define CHAIN(s) do { *tail = &(s); tail = &(s).pNext; } while (0)

static void probe_properties(VkPhysicalDevice phys, const probe_exts *x, vkq_device_info *out)
{
    /* Properties chain. Only structs whose extension is present go in (validation rule). */
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sgsc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
    VkPhysicalDeviceDriverPropertiesKHR drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES_KHR};
    VkPhysicalDeviceMaintenance4PropertiesKHR m4 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES_KHR};
    VkPhysicalDeviceFloatControlsPropertiesKHR fc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FLOAT_CONTROLS_PROPERTIES_KHR};
    VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR idp = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    void **tail = &p2.pNext;
    CHAIN(sg);
    CHAIN(m3);
    if (x->sgsc) CHAIN(sgsc);
    if (x->driver) CHAIN(drv);
    if (x->m4) CHAIN(m4);
    if (x->fc) CHAIN(fc);
    if (x->idot) CHAIN(idp);
    vkGetPhysicalDeviceProperties2(phys, &p2);

    const VkPhysicalDeviceProperties *p = &p2.properties;
    snprintf(out->name, sizeof out->name, "%s", p->deviceName);
    if (x->driver) {
        snprintf(out->driver_name, sizeof out->driver_name, "%s", drv.driverName);
        snprintf(out->driver_info, sizeof out->driver_info, "%s", drv.driverInfo);
    }
    out->vendor_id = p->vendorID;
    out->device_id = p->deviceID;
    out->type = map_type(p->deviceType);
    out->api_version = p->apiVersion;
    out->driver_version = p->driverVersion;

    out->subgroup_size = sg.subgroupSize;
    out->subgroup_min_size = x->sgsc && sgsc.minSubgroupSize ? sgsc.minSubgroupSize : sg.subgroupSize;
    out->subgroup_max_size = x->sgsc && sgsc.maxSubgroupSize ? sgsc.maxSubgroupSize : sg.subgroupSize;
    int compute_sg = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
    out->subgroup_arithmetic = compute_sg && (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    out->subgroup_shuffle = compute_sg && (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
    out->denorm_preserve_f32 = x->fc && fc.shaderDenormPreserveFloat32;
    out->integer_dot_4x8_packed_accelerated =
        x->idot && idp.integerDotProduct4x8BitPackedSignedAccelerated;

    out->max_storage_buffer_range = p->limits.maxStorageBufferRange;
    out->max_memory_allocation_size = m3.maxMemoryAllocationSize;
    out->max_buffer_size = x->m4 ? m4.maxBufferSize : m3.maxMemoryAllocationSize;
    out->min_storage_buffer_offset_alignment = p->limits.minStorageBufferOffsetAlignment;
    out->max_texel_buffer_elements = p->limits.maxTexelBufferElements;
    out->min_texel_buffer_offset_alignment = p->limits.minTexelBufferOffsetAlignment;
    out->max_shared_memory = p->limits.maxComputeSharedMemorySize;
    out->max_workgroup_invocations = p->limits.maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; ++i) out->max_workgroup_count[i] = p->limits.maxComputeWorkGroupCount[i];
    out->timestamp_period_ns = p->limits.timestampPeriod;
}

static void probe_features(VkPhysicalDevice phys, const probe_exts *x, vkq_device_info *out)
{
    /* Features chain. */
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    VkPhysicalDeviceShaderFloat16Int8FeaturesKHR f16i8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR};
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDevice8BitStorageFeaturesKHR s8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES_KHR};
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR idf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
    void **tail = &f2.pNext;
    if (x->f16i8) CHAIN(f16i8);
    if (x->s16 || out->api_version >= VK_API_VERSION_1_1) CHAIN(s16);
    if (x->s8) CHAIN(s8);
    if (x->idot) CHAIN(idf);
    vkGetPhysicalDeviceFeatures2(phys, &f2);
    out->shader_float16 = x->f16i8 && f16i8.shaderFloat16;
    out->shader_int8 = x->f16i8 && f16i8.shaderInt8;
    out->storage_16bit = s16.storageBuffer16BitAccess;
    out->storage_8bit = x->s8 && s8.storageBuffer8BitAccess;
    out->integer_dot_product = x->idot && idf.shaderIntegerDotProduct;
}

#undef CHAIN

/* Memory heaps, with budget/usage where VK_EXT_memory_budget reports them. */
static void probe_heaps(VkPhysicalDevice phys, vkq_device_info *out)
{
    VkPhysicalDeviceMemoryProperties2 mp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    if (out->has_memory_budget) mp.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(phys, &mp);
    out->heap_count = mp.memoryProperties.memoryHeapCount < VKQ_MAX_HEAPS
                          ? mp.memoryProperties.memoryHeapCount : VKQ_MAX_HEAPS;
    for (uint32_t i = 0; i < out->heap_count; ++i) {
        out->heaps[i].size = mp.memoryProperties.memoryHeaps[i].size;
        out->heaps[i].device_local =
            (mp.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
        if (out->has_memory_budget) {
            out->heaps[i].budget = budget.heapBudget[i];
            out->heaps[i].usage = budget.heapUsage[i];
        }
    }
}

/* Timestamps on the compute queue family we will use. */
static void probe_timestamps(VkPhysicalDevice phys, vkq_device_info *out)
{
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, NULL);
    VkQueueFamilyProperties *qf = nq ? calloc(nq, sizeof *qf) : NULL;
    if (qf) {
        vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, qf);
        for (uint32_t i = 0; i < nq; ++i)
            if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
                out->timestamps = qf[i].timestampValidBits > 0 && out->timestamp_period_ns > 0;
                break;
            }
        free(qf);
    }
}

static void probe_cooperative_matrix(VkInstance instance, VkPhysicalDevice phys, vkq_device_info *out)
{
    if (out->cooperative_matrix) {
        vkq_pfn_coopmat fn = (vkq_pfn_coopmat)vkGetInstanceProcAddr(
            instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
        uint32_t n = 0;
        if (fn && fn(phys, &n, NULL) == VK_SUCCESS && n) {
            vkq_coopmat_props *cp = calloc(n, sizeof *cp);
            if (cp) {
                for (uint32_t i = 0; i < n; ++i) cp[i].sType = VKQ_STYPE_COOPMAT_PROPERTIES;
                if (fn(phys, &n, cp) == VK_SUCCESS || n) {
                    for (uint32_t i = 0; i < n && out->coopmat_shape_count < 16; ++i) {
                        uint32_t k = out->coopmat_shape_count++;
                        out->coopmat_shapes[k].m = cp[i].MSize;
                        out->coopmat_shapes[k].n = cp[i].NSize;
                        out->coopmat_shapes[k].k = cp[i].KSize;
                        out->coopmat_shapes[k].a_type = (uint32_t)cp[i].AType;
                        out->coopmat_shapes[k].c_type = (uint32_t)cp[i].CType;
                    }
                }
                free(cp);
            }
        }
    }
}

void vkq_probe_physical_device(VkInstance instance, VkPhysicalDevice phys, uint32_t index,
                               vkq_device_info *out)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    probe_exts x;
    probe_extensions(phys, &x, out);
    probe_properties(phys, &x, out);
    probe_features(phys, &x, out);
    probe_heaps(phys, out);
    probe_timestamps(phys, out);
    probe_cooperative_matrix(instance, phys, out);
}
