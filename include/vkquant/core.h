/* vkquant core: status codes, the type table and the CPU reference decode. Needs no Vulkan
 * headers: with gguf.h, quant.h and cpu.h it is all a CPU-only user includes. The Vulkan part
 * (instance, device, buffers, GPU kernels) is vkquant/vulkan.h; vkquant/vkquant.h includes all.
 *
 * Conventions
 * - Errors: every fallible call returns a vkq_status; VKQ_SUCCESS is 0, errors are negative.
 *   vkq_status_string() names the status. A call that fails also records one sentence saying
 *   what was wrong (which argument, which limit, which key and file offset) in a buffer of the
 *   calling thread, read by vkq_last_error(). The message stays until the next failure on that
 *   thread: read it right after the call that returned the error, on the same thread.
 * - Handles are opaque pointer typedefs, as in Vulkan (vkq_instance, vkq_device, vkq_buffer,
 *   vkq_gguf, vkq_plan, vkq_model, vkq_cpu_pool): passed by value, NULL means none. Every
 *   object is made by vkq_<object>_create*(..., &handle) and freed by vkq_<object>_destroy;
 *   destroying NULL is a no-op. A child (device, buffer, model) must be destroyed before its
 *   parent (instance, device). Accessors that only read take the handle as well: a handle
 *   documented as immutable (vkq_gguf, vkq_plan) may be read from several threads at once.
 * - Nothing in the library aborts or prints on bad input; it returns a status.
 * - Thread safety: vkq_type_* and vkq_decode_cpu are pure and thread-safe. An instance may be
 *   used from several threads for read-only queries. A device and everything created from it
 *   (buffers, dispatches) must be used by one thread at a time (external synchronisation),
 *   like a VkQueue. Different devices are independent.
 * - Sizes are in bytes unless named *_elems. Tensor rows follow ggml: a row of k elements is
 *   k / block_elems blocks packed back to back.
 */
#ifndef VKQUANT_CORE_H
#define VKQUANT_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/version.h" /* VKQ_VERSION_*: generated from meson's project() version */

#ifdef __cplusplus
extern "C" {
#endif

/* Marks every public function: exported from the shared library, while everything else the
 * library defines is hidden (-fvisibility=hidden). */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(VKQ_BUILDING_LIBRARY)
#define VKQ_API __declspec(dllexport)
#elif defined(VKQ_SHARED)
#define VKQ_API __declspec(dllimport)
#else
#define VKQ_API
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define VKQ_API __attribute__((visibility("default")))
#else
#define VKQ_API
#endif

typedef enum vkq_status {
    VKQ_SUCCESS = 0,
    VKQ_ERROR_INVALID_ARGUMENT = -1,   /* NULL handle/pointer, zero size, bad enum value */
    VKQ_ERROR_UNKNOWN_TYPE = -2,       /* type id not in the type table */
    VKQ_ERROR_UNSUPPORTED = -3,        /* the type/operation/device lacks what is needed */
    VKQ_ERROR_BAD_SHAPE = -4,          /* element count not a multiple of the block size, ... */
    VKQ_ERROR_OUT_OF_RANGE = -5,       /* offset + size past the end of a buffer */
    VKQ_ERROR_OUT_OF_HOST_MEMORY = -6,
    VKQ_ERROR_OUT_OF_DEVICE_MEMORY = -7,
    VKQ_ERROR_TOO_LARGE = -8,          /* size overflows or exceeds a device limit */
    VKQ_ERROR_NO_DEVICE = -9,          /* no Vulkan device, or the requested one is absent */
    VKQ_ERROR_LOADER = -10,            /* the Vulkan loader could not be found */
    VKQ_ERROR_VULKAN = -11,            /* a Vulkan call failed (device lost, ...) */
    VKQ_ERROR_IO = -12,                /* file could not be opened/read/written */
    VKQ_ERROR_MALFORMED = -13          /* a file's content is invalid */
} vkq_status;

/* Static string naming the status, e.g. "VKQ_ERROR_BAD_SHAPE: ...". Never NULL. */
VKQ_API const char *vkq_status_string(vkq_status status);
/* The sentence of the most recent failed call on the calling thread ("" if none yet).
 * Never NULL; valid until the next vkquant call on this thread. */
VKQ_API const char *vkq_last_error(void);

/* ---------------------------------------------------------------------------------------- */
/* Types: values equal ggml's enum ggml_type; NF4 is vkquant's own (not a GGUF type).       */

typedef enum vkq_type {
#define X(name, id, ...) VKQ_TYPE_##name = id,
#include "vkquant/types.def"
#undef X
    VKQ_TYPE_MAX_ID = 256
} vkq_type;

typedef struct vkq_type_info {
    vkq_type type;
    const char *name;        /* ggml spelling: "Q4_K", "IQ2_XXS", "NF4" */
    uint32_t block_elems;    /* QK */
    uint32_t block_bytes;
    double bits_per_weight;  /* 8 * block_bytes / block_elems */
    int is_weight_type;      /* 0 for activation-only formats (Q8_1, Q8_K) */
    const char *layout;      /* one line: block formula and bits per weight */
} vkq_type_info;

/* The traits of `type`, or NULL when the id is not a vkquant type. */
VKQ_API const vkq_type_info *vkq_type_get(vkq_type type);
/* Case-insensitive lookup by name. */
VKQ_API vkq_status vkq_type_from_name(const char *name, vkq_type *out);
/* Number of types and the i-th one (for loops over every type). */
VKQ_API uint32_t vkq_type_count(void);
VKQ_API vkq_type vkq_type_at(uint32_t index);
/* Bytes of `n_elems` elements; VKQ_ERROR_BAD_SHAPE if not a whole number of blocks,
 * VKQ_ERROR_TOO_LARGE on overflow. */
VKQ_API vkq_status vkq_type_bytes(vkq_type type, uint64_t n_elems, uint64_t *out_bytes);

/* CPU reference decode, bit-exact with ggml's dequantize_row_*: `n_elems` elements (a whole
 * number of blocks) from `src` (at least vkq_type_bytes bytes, `src_bytes` says how many are
 * there) into `dst`. Any alignment of `src` is fine. Thread-safe. Bit-exact means every
 * non-NaN element has the same bits; an element that is NaN (a NaN or infinite scale) is NaN
 * in both, its sign and payload not promised. */
VKQ_API vkq_status vkq_decode_cpu(vkq_type type, const void *src, size_t src_bytes, float *dst,
                                  uint64_t n_elems);

#ifdef __cplusplus
}
#endif

#endif
