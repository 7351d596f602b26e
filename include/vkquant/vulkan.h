/* vkquant Vulkan: instance, devices, buffers, GPU dequantize and dequant-matmul. The
 * conventions (statuses, errors, handles, thread safety) are those of vkquant/core.h. */
#ifndef VKQUANT_VULKAN_H
#define VKQUANT_VULKAN_H

#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan_core.h> /* VkCommandBuffer for the recording calls */

#include "vkquant/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Instance and devices                                                                     */

typedef struct vkq_instance_s *vkq_instance;

typedef struct vkq_device_s *vkq_device;
typedef struct vkq_buffer_s *vkq_buffer;

enum {
    /* Enable VK_LAYER_KHRONOS_validation; every warning/error it reports is counted (see
     * vkq_instance_validation_count) and printed to stderr. Also set by VKQ_VALIDATION=1. */
    VKQ_INSTANCE_VALIDATION = 1u << 0
};

typedef struct vkq_instance_desc {
    uint32_t flags; /* VKQ_INSTANCE_* */
} vkq_instance_desc;

/* Loads Vulkan (volk) and creates a VkInstance. `desc` may be NULL. */
VKQ_API vkq_status vkq_instance_create(const vkq_instance_desc *desc, vkq_instance *out);
VKQ_API void vkq_instance_destroy(vkq_instance inst);
/* Warnings and errors reported by the validation layer so far (0 without validation). */
VKQ_API uint64_t vkq_instance_validation_count(vkq_instance inst);

typedef enum vkq_device_type {
    VKQ_DEVICE_OTHER = 0,
    VKQ_DEVICE_INTEGRATED = 1,
    VKQ_DEVICE_DISCRETE = 2,
    VKQ_DEVICE_VIRTUAL = 3,
    VKQ_DEVICE_CPU = 4
} vkq_device_type;

VKQ_API const char *vkq_device_type_name(vkq_device_type type);

#define VKQ_MAX_HEAPS 16

typedef struct vkq_heap_info {
    uint64_t size;
    uint64_t budget; /* VK_EXT_memory_budget, else 0 */
    uint64_t usage;  /* VK_EXT_memory_budget, else 0 */
    int device_local;
} vkq_heap_info;

/* What the probe found; stored on the device handle, filled for every physical device. */
typedef struct vkq_device_info {
    uint32_t index; /* physical-device index in enumeration order */
    char name[256];
    char driver_name[256];
    char driver_info[256];
    uint32_t vendor_id, device_id;
    vkq_device_type type;
    uint32_t api_version; /* VK_MAKE_API_VERSION packed */
    uint32_t driver_version;

    uint32_t heap_count;
    vkq_heap_info heaps[VKQ_MAX_HEAPS];
    int has_memory_budget;

    uint32_t subgroup_size;     /* default */
    uint32_t subgroup_min_size; /* VK_EXT_subgroup_size_control, else = subgroup_size */
    uint32_t subgroup_max_size;
    int subgroup_arithmetic;    /* subgroupAdd etc. in compute */
    int subgroup_shuffle;

    int shader_float16;      /* fp16 arithmetic */
    int shader_int8;         /* int8 arithmetic */
    int storage_16bit;       /* storageBuffer16BitAccess */
    int storage_8bit;        /* storageBuffer8BitAccess */
    int integer_dot_product; /* VK_KHR_shader_integer_dot_product */
    int integer_dot_4x8_packed_accelerated; /* signed 4x8 packed dot is fast */
    int denorm_preserve_f32; /* shaderDenormPreserveFloat32 */
    int push_descriptor;     /* VK_KHR_push_descriptor */
    int cooperative_matrix;  /* VK_KHR_cooperative_matrix */
    uint32_t coopmat_shape_count;
    struct { uint32_t m, n, k, a_type, c_type; } coopmat_shapes[16]; /* VkComponentTypeKHR */

    uint64_t max_storage_buffer_range;
    uint64_t max_memory_allocation_size;
    uint64_t max_buffer_size; /* VK_KHR_maintenance4, else max_memory_allocation_size */
    uint64_t min_storage_buffer_offset_alignment;
    uint64_t max_texel_buffer_elements;
    uint64_t min_texel_buffer_offset_alignment;
    uint32_t max_shared_memory;
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    int timestamps;           /* compute queue supports timestamps */
    double timestamp_period_ns;
} vkq_device_info;

/* Number of physical devices (CPU implementations such as lavapipe included). */
VKQ_API uint32_t vkq_instance_device_count(vkq_instance inst);
/* Probe result of physical device `index`. */
VKQ_API vkq_status vkq_instance_device_info(vkq_instance inst, uint32_t index, vkq_device_info *out);
/* The device vkquant picks: VKQ_DEVICE (an index, or a case-insensitive substring of the
 * name) if set, else discrete > integrated > virtual > CPU > other, first wins on ties.
 * VKQ_ERROR_NO_DEVICE if there is none or VKQ_DEVICE matches none. */
VKQ_API vkq_status vkq_instance_default_device(vkq_instance inst, uint32_t *out_index);
/* Same choice with an explicit selector string (index or name substring; NULL = default). */
VKQ_API vkq_status vkq_instance_select_device(vkq_instance inst, const char *selector,
                                              uint32_t *out_index);

/* Choices of vkq_kernel_config; 0 (*_DEFAULT) in an override keeps the profile's value. */
typedef enum vkq_switch {
    VKQ_SWITCH_DEFAULT = 0,
    VKQ_SWITCH_ON = 1,
    VKQ_SWITCH_OFF = 2
} vkq_switch;
typedef enum vkq_mv_reduce {
    VKQ_MV_REDUCE_DEFAULT = 0,
    VKQ_MV_REDUCE_SUBGROUP = 1,     /* subgroupAdd */
    VKQ_MV_REDUCE_SHARED_MEMORY = 2 /* a tree in shared memory (devices without subgroup ops) */
} vkq_mv_reduce;
typedef enum vkq_mv_lanes {
    VKQ_MV_LANES_DEFAULT = 0,
    VKQ_MV_LANES_ROW_PER_INVOCATION = 1, /* one row per invocation (CPU drivers) */
    VKQ_MV_LANES_SPLIT_K = 2             /* the lanes of a workgroup split k */
} vkq_mv_lanes;
typedef enum vkq_weight_reads {
    VKQ_READS_DEFAULT = 0,
    VKQ_READS_TEXEL = 1,  /* weights, X and tables through texel buffers */
    VKQ_READS_STORAGE = 2 /* through storage buffers */
} vkq_weight_reads;
typedef enum vkq_mm_strategy {
    VKQ_MM_DEFAULT = 0,
    VKQ_MM_VIA_MATVEC = 1, /* n > 8 runs as 8-column mat-vec passes (CPU drivers) */
    VKQ_MM_TILED_GEMM = 2  /* the tiled GEMM kernels */
} vkq_mm_strategy;

/* Kernel shapes, fixed per device at creation (specialization constants). 0 fields take
 * the chosen profile's value. */
typedef struct vkq_kernel_config {
    uint32_t mv_workgroup;       /* mat-vec invocations per workgroup */
    uint32_t mv_rows;            /* mat-vec rows per workgroup (VKQ_MV_LANES_ROW_PER_INVOCATION: a
                                    multiple of mv_workgroup, at most 16 per invocation) */
    vkq_mv_reduce mv_subgroup_reduce; /* how a mat-vec workgroup adds its lanes' partial sums */
    vkq_mv_lanes mv_lanes_along_rows;
    vkq_weight_reads texel_reads;
    vkq_mm_strategy mm_via_matvec;
    uint32_t mm_workgroup;       /* GEMM invocations = (mm_bm/mm_tm) * (mm_bn/mm_tn) */
    uint32_t mm_bm, mm_bn, mm_bk; /* GEMM tile; mm_bk a multiple of 8 */
    uint32_t mm_tm, mm_tn;        /* per-invocation micro-tile */
    /* Reduced-precision GEMM paths (n > 8 only; each NMSE <= 5e-4, tests/test_matmul_fast.c).
     * Where both apply, int8 is taken. VKQ_SWITCH_DEFAULT in an override = the profile's choice:
     * on in every profile but "cpu" (neither is faster than fp32 on lavapipe). */
    vkq_switch mm_fp16; /* ON: fp16 arithmetic where the device has shaderFloat16. VKQ_NO_FP16=1
                           forces OFF. */
    vkq_switch mm_int8; /* ON: int8 dot products (X rounded to 8 bits per 32 elements, as ggml's
                           Q8_1) for the types that have an integer decode, where the device has
                           shaderIntegerDotProduct. VKQ_NO_INT8=1 forces OFF. */
} vkq_kernel_config;

typedef struct vkq_device_desc {
    /* Kernel profile: "nvidia" (32-wide subgroups), "amd" (64-wide), "intel" (16/32-wide),
     * "cpu" (lavapipe/SwiftShader), "plain" (no subgroup operations); NULL = chosen from the
     * probed vendor and subgroup size. Also set by VKQ_KERNEL_PROFILE. Any profile runs
     * (correctly) on any device; the choice only affects speed. */
    const char *profile;
    /* Explicit overrides of single fields of the profile (NULL = none). */
    const vkq_kernel_config *config;
    /* Pipeline cache file, loaded at creation and written back (atomically) at destruction so
     * the next process starts without recompiling kernels. NULL = the default,
     * $XDG_CACHE_HOME/vkquant/ (else ~/.cache/vkquant/) with a name per device, driver version
     * and profile; "" = no file. VKQ_PIPELINE_CACHE=<path>|off overrides the default. A missing,
     * foreign or corrupt file is ignored. */
    const char *pipeline_cache;
    /* Upload staging ring: `staging_slots` slots (2..64) of `staging_slot_bytes` bytes each
     * (0 = VKQ_STAGING_SLOTS / VKQ_STAGING_SLOT_BYTES, else 4 x 4 MiB). Tiny slots are for
     * tests: they exercise the ring's wrap-around. */
    uint32_t staging_slots;
    uint64_t staging_slot_bytes;
    /* VKQ_TRANSFER_QUEUE_*; AUTO (0) leaves the choice to VKQ_TRANSFER_QUEUE=auto|off|emulate. */
    uint32_t transfer_queue;
    /* Test and debug settings (NULL = none); see vkq_device_debug_desc. */
    const struct vkq_device_debug_desc *debug;
} vkq_device_desc;

/* Settings that exist for tests and debugging, kept out of vkq_device_desc. */
typedef struct vkq_device_debug_desc {
    /* Pretend maxMemoryAllocationSize and maxStorageBufferRange are at most these (0 = real
     * limits), so the chunking paths run on devices with large limits. Also set by
     * VKQ_MAX_ALLOCATION and VKQ_MAX_BINDING (bytes, K/M/G suffixes allowed). */
    uint64_t max_allocation_override;
    uint64_t max_binding_override;
} vkq_device_debug_desc;

enum {
    /* Uploads use a transfer-only queue family (a DMA engine) when the device has one, else
     * the compute queue. */
    VKQ_TRANSFER_QUEUE_AUTO = 0,
    VKQ_TRANSFER_QUEUE_OFF = 1, /* always the compute queue */
    /* Debug: the compute queue, but synchronised as if it were a separate one (host waits, no
     * barrier between the copies and the kernels), to test that synchronisation on one-queue
     * devices with the validation layer's synchronization checks. */
    VKQ_TRANSFER_QUEUE_EMULATE = 2
};

/* Creates a logical device on physical device `index` (see vkq_instance_default_device).
 * `desc` may be NULL. The device keeps its own VolkDeviceTable; several may coexist. */
VKQ_API vkq_status vkq_device_create(vkq_instance inst, uint32_t index, const vkq_device_desc *desc,
                                     vkq_device *out);
VKQ_API void vkq_device_destroy(vkq_device dev);
/* Probe result for this device; owned by the device. */
VKQ_API const vkq_device_info *vkq_device_get_info(vkq_device dev);
/* Writes the device's pipeline cache to `path` (NULL = the device's cache file) now. */
VKQ_API vkq_status vkq_device_save_pipeline_cache(vkq_device dev, const char *path);
/* The cache file this device loads and saves ("" if none). */
VKQ_API const char *vkq_device_pipeline_cache_path(vkq_device dev);

/* The Vulkan objects behind a device, for engines that record vkquant work into their own
 * command buffers (vkq_matmul_record). Owned by vkquant: do not destroy them. */
typedef struct vkq_vulkan_handles {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    uint32_t queue_family;
    VkQueue queue; /* vkquant submits its blocking calls here; synchronise use from other threads */
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
    /* The transfer-only family uploads run on, or UINT32_MAX when they use `queue`. When set,
     * every vkquant buffer is VK_SHARING_MODE_CONCURRENT between the two families. */
    uint32_t upload_queue_family;
} vkq_vulkan_handles;
VKQ_API vkq_status vkq_device_get_vulkan(vkq_device dev, vkq_vulkan_handles *out);
/* The kernel configuration this device uses, and the profile's name. */
VKQ_API const vkq_kernel_config *vkq_device_get_config(vkq_device dev, const char **profile_name);

/* ---------------------------------------------------------------------------------------- */
/* Buffers                                                                                  */

typedef enum vkq_memory {
    VKQ_MEMORY_DEVICE = 0,       /* device-local (VRAM); filled through the staging ring */
    VKQ_MEMORY_HOST_VISIBLE = 1  /* host-visible, GPU reads it over the bus (UMA, ReBAR) */
} vkq_memory;

/* Creates a buffer of `size` bytes. Sizes above the device's maxMemoryAllocationSize or
 * maxBufferSize are split into several Vulkan allocations ("segments"); no `granule`-byte
 * unit (a tensor row, a block; 0 = 4 bytes) is ever split between segments, so kernels can
 * address whole rows. Returns VKQ_ERROR_OUT_OF_DEVICE_MEMORY when the device is full
 * (nothing is left allocated). The buffer's content is undefined until written. */
VKQ_API vkq_status vkq_buffer_create(vkq_device dev, uint64_t size, vkq_memory memory, uint64_t granule,
                                     vkq_buffer *out);
VKQ_API void vkq_buffer_destroy(vkq_buffer buf);
VKQ_API uint64_t vkq_buffer_size(vkq_buffer buf);
/* Number of Vulkan allocations backing the buffer (1 unless it is larger than a limit). */
VKQ_API uint32_t vkq_buffer_segment_count(vkq_buffer buf);
/* Blocking copies between host memory and the buffer; any offset and size in range. Device-local
 * memory that is not mappable is filled through the device's staging ring: the CPU copies chunk
 * i+1 into the ring while the GPU copies chunk i out of it, on a transfer-only queue where the
 * device has one (discrete GPUs), else on the compute queue. Mapped memory takes a memcpy. */
VKQ_API vkq_status vkq_buffer_upload(vkq_buffer buf, uint64_t offset, const void *src, uint64_t size);
VKQ_API vkq_status vkq_buffer_download(vkq_buffer buf, uint64_t offset, void *dst, uint64_t size);
/* Like vkq_buffer_upload, but returns once `src` has been copied into the staging ring (or into
 * mapped memory): `src` may be freed or reused as soon as it returns, while the GPU copies may
 * still be in flight (the ring waits only when it comes round to a slot still in use). Later
 * vkquant calls that use the buffer (vkq_matmul, vkq_dequantize, downloads, uploads into
 * mapped memory, vkq_buffer_destroy) wait for its copies themselves: only what they touch, so
 * on a transfer queue uploads of other buffers keep running beside the kernels. Command
 * buffers of your own (vkq_*_record) that use such a buffer: call vkq_device_wait_uploads
 * before submitting them. On an error, part of the range may have been written. */
VKQ_API vkq_status vkq_buffer_upload_async(vkq_buffer buf, uint64_t offset, const void *src, uint64_t size);
/* Submits whatever the staging ring still holds and waits until every upload of the device is
 * in its buffer. */
VKQ_API vkq_status vkq_device_wait_uploads(vkq_device dev);

/* ---------------------------------------------------------------------------------------- */
/* Dequantize on the GPU                                                                    */

/* Decodes `n_elems` elements of `type` starting at byte `src_offset` of `src` (any offset for
 * block types; a multiple of the element size for F32/F16/BF16) into `dst` at
 * byte `dst_offset`, as f32 or f16 (round-to-nearest-even of that f32; needs no device
 * feature). The f32 output equals vkq_decode_cpu's in value: the same bits for every non-NaN
 * element, and NaN exactly where vkq_decode_cpu gives NaN, with sign and payload not promised
 * (Vulkan does not specify the bits of a NaN that arithmetic produces). The same holds for
 * f16 against the rounded reference. `n_elems` must be a whole number of blocks and the
 * range must not cross a segment boundary of either buffer (use the row size as the
 * buffer's granule). Blocking: returns when the result is in `dst`. */
VKQ_API vkq_status vkq_dequantize(vkq_device dev, vkq_type type, vkq_buffer src, uint64_t src_offset,
                                  vkq_buffer dst, uint64_t dst_offset, uint64_t n_elems,
                                  vkq_type out_type);
/* Records the same dispatches into the caller's command buffer (a compute-capable, recording
 * one of this device) instead of running them: the caller adds the barriers that order the
 * source's writes before and the destination's reads after, and keeps both buffers alive until
 * the command buffer completes. Every argument and chunk is checked first; nothing is recorded
 * on an error. Needs VK_KHR_push_descriptor (VKQ_ERROR_UNSUPPORTED without it; use
 * vkq_dequantize then). Same rules as vkq_matmul_record. */
VKQ_API vkq_status vkq_dequantize_record(vkq_device dev, VkCommandBuffer cmd, vkq_type type, vkq_buffer src,
                                         uint64_t src_offset, vkq_buffer dst, uint64_t dst_offset,
                                         uint64_t n_elems, vkq_type out_type);

/* ---------------------------------------------------------------------------------------- */
/* Dequant-matmul: Y = W * X                                                                */

enum {
    VKQ_MATMUL_FORCE_MATVEC = 1u << 0, /* mat-vec kernel even for n > 8 (in 8-column passes) */
    VKQ_MATMUL_FORCE_GEMM = 1u << 1    /* tiled GEMM even for n <= 8 */
};

/* W: m rows of k elements of `type` (ggml layout), row r at w_offset + r * w_row_stride.
 * X: f32, k x n, column j at x_offset + j * x_col_stride * 4 (contiguous in k).
 * Y: f32, m x n, column j at y_offset + j * y_col_stride * 4 (contiguous in m).
 * Strides of 0 mean packed (row bytes, k, m). x/y offsets are multiples of 4 bytes; F32/F16/BF16
 * weights start (and rows are strided) at a multiple of their element size. k must be
 * a whole number of blocks. Buffers larger than maxStorageBufferRange, or split into several
 * allocations (granule = row size / column size), are handled by cutting the work into
 * dispatches. Accumulation is fp32; results are deterministic for a given device and config.
 * For n > 8 the device may multiply in fp16 or on int8-quantized X (vkq_kernel_config
 * mm_fp16 / mm_int8, vkq_matmul_get_path). */
typedef struct vkq_matmul_desc {
    vkq_type type;
    uint64_t m, k, n;
    vkq_buffer w;
    uint64_t w_offset, w_row_stride;
    vkq_buffer x;
    uint64_t x_offset, x_col_stride;
    vkq_buffer y;
    uint64_t y_offset, y_col_stride;
    uint32_t flags; /* VKQ_MATMUL_* */
} vkq_matmul_desc;

/* Blocking: validates, runs, returns when Y is written. Nothing is launched on an error. */
VKQ_API vkq_status vkq_matmul(vkq_device dev, const vkq_matmul_desc *desc);
/* Records the dispatches into the caller's command buffer (a compute-capable, recording one of
 * this device). The caller adds the barriers that order X's writes before and Y's reads after;
 * the buffers must stay alive until the command buffer completes. Needs
 * VK_KHR_push_descriptor (VKQ_ERROR_UNSUPPORTED without it; use vkq_matmul then). */
VKQ_API vkq_status vkq_matmul_record(vkq_device dev, VkCommandBuffer cmd, const vkq_matmul_desc *desc);

/* The kernel a matmul runs with, as chosen from its shape, type, flags and the device's
 * configuration and features (src/vulkan/matmul.c). */
typedef enum vkq_matmul_path {
    VKQ_MATMUL_PATH_MATVEC = 0,    /* mat-vec kernel (n <= 8, or 8-column passes) */
    VKQ_MATMUL_PATH_GEMM_F32 = 1,  /* tiled GEMM, fp32 arithmetic */
    VKQ_MATMUL_PATH_GEMM_F16 = 2,  /* tiled GEMM, fp16 products, fp32 accumulation */
    VKQ_MATMUL_PATH_GEMM_INT8 = 3  /* tiled GEMM, X quantized to int8, integer dot products */
} vkq_matmul_path;
/* Which path vkq_matmul / vkq_matmul_record would take for `desc`, validated as they do;
 * nothing is launched, but the kernel's pipeline is created if it was not yet (so a failure to
 * create it is reported here). Thread safety: as vkq_matmul. */
VKQ_API vkq_status vkq_matmul_get_path(vkq_device dev, const vkq_matmul_desc *desc, vkq_matmul_path *out);
/* "matvec", "gemm-f32", "gemm-f16", "gemm-int8"; "?" for other values. */
VKQ_API const char *vkq_matmul_path_name(vkq_matmul_path path);

/* Records a transfer-queue style copy (vkCmdCopyBuffer) of `size` bytes between two buffers,
 * any offsets, across segments. Same rules as vkq_matmul_record (no push descriptors needed). */
VKQ_API vkq_status vkq_buffer_copy_record(vkq_device dev, VkCommandBuffer cmd, vkq_buffer src, uint64_t src_offset,
                                          vkq_buffer dst, uint64_t dst_offset, uint64_t size);

/* Records a plain compute copy of `size` bytes (a multiple of 16; offsets multiples of 16)
 * from src to dst: the reference kernel the bench measures copy bandwidth with. Same rules as
 * vkq_matmul_record. */
VKQ_API vkq_status vkq_copy_record(vkq_device dev, VkCommandBuffer cmd, vkq_buffer src, uint64_t src_offset,
                                   vkq_buffer dst, uint64_t dst_offset, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif
