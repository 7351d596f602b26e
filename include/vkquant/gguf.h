/* vkquant GGUF reader: a strict, bounds-checked reader of GGUF v2/v3 little-endian files.
 *
 * Format: docs/FORMATS.md §11; every item of the §11.8 checklist is enforced at
 * open time, so the accessors below never fail on a handle that opened (only on bad arguments).
 *
 * What is checked when a file is opened
 * - magic "GGUF"; version 2 or 3 (1 is refused as no longer supported, 0 and > 3 as invalid,
 *   a version whose low 16 bits are zero as a big-endian file, which is not supported);
 * - every read is bounds-checked; counts are bounded by the bytes that remain divided by the
 *   smallest possible record, string lengths by the remaining bytes and 2^30, array counts by
 *   the remaining bytes and 2^30; records are stored in arrays that grow as records are parsed,
 *   so no allocation follows a length field that has not been checked against the file;
 * - value types 0..12, nested arrays refused, BOOL values strictly 0 or 1;
 * - keys non-empty, without NUL bytes, unique; general.alignment of type UINT32 and a non-zero
 *   power of two (default 32; 1, 2 and 4 are accepted, as ggml does);
 * - tensor names non-empty, shorter than 64 bytes, without NUL bytes, unique; n_dims 1..4;
 *   every ne[k] >= 0 as int64; element count and byte size overflow-checked; the type is one
 *   of vkquant's (vkq_type_get() != NULL: removed ids and ids >= 43 other than NF4's 256 are
 *   refused with VKQ_ERROR_UNKNOWN_TYPE); ne[0] a multiple of the block size;
 * - offset % alignment == 0, data_offset + offset + nbytes <= file size (overflow-checked),
 *   and no two tensors overlap. Offsets need not be ggml's exact running sums.
 * - Not checked: padding bytes, UTF-8 of strings, quantized payloads (finite scales).
 *
 * Errors: VKQ_ERROR_IO (the file cannot be opened, stat'ed or mapped), VKQ_ERROR_MALFORMED
 * (invalid content), VKQ_ERROR_UNKNOWN_TYPE (a tensor type vkquant does not know),
 * VKQ_ERROR_OUT_OF_HOST_MEMORY, VKQ_ERROR_INVALID_ARGUMENT (NULL pointers). On failure *out is
 * NULL and vkq_last_error() gives one sentence naming the problem: which key or tensor, and the
 * file offset.
 *
 * Ownership: vkq_gguf_create maps the file read-only (mmap); vkq_gguf_create_from_memory uses the
 * caller's bytes without copying them, and the caller keeps them alive and unchanged until
 * vkq_gguf_destroy. Every pointer returned by an accessor (keys, strings, tensor names, array
 * data, tensor data) points into the handle or the mapping and is valid until vkq_gguf_destroy.
 * Strings in the file are not NUL-terminated: they are returned as pointer + length. Keys and
 * tensor names are also available as NUL-terminated copies held by the handle.
 * Multi-byte values returned as raw pointers (array data, tensor data) are little-endian and
 * may be unaligned: read them with memcpy.
 *
 * Thread safety: a handle is immutable after open; any number of threads may call the
 * accessors on the same handle concurrently. vkq_gguf_destroy must not race with them.
 */
#ifndef VKQUANT_GGUF_H
#define VKQUANT_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vkq_gguf_s *vkq_gguf;

/* GGUF metadata value types (ids as in the file). */
typedef enum vkq_gguf_type {
    VKQ_GGUF_UINT8 = 0,
    VKQ_GGUF_INT8 = 1,
    VKQ_GGUF_UINT16 = 2,
    VKQ_GGUF_INT16 = 3,
    VKQ_GGUF_UINT32 = 4,
    VKQ_GGUF_INT32 = 5,
    VKQ_GGUF_FLOAT32 = 6,
    VKQ_GGUF_BOOL = 7,
    VKQ_GGUF_STRING = 8,
    VKQ_GGUF_ARRAY = 9,
    VKQ_GGUF_UINT64 = 10,
    VKQ_GGUF_INT64 = 11,
    VKQ_GGUF_FLOAT64 = 12
} vkq_gguf_type;

/* "UINT8" ... "FLOAT64"; "?" for other values. Never NULL. */
VKQ_API const char *vkq_gguf_type_name(vkq_gguf_type type);

/* A string inside the file: `len` bytes at `data`, not NUL-terminated. */
typedef struct vkq_gguf_string {
    const char *data;
    uint64_t len;
} vkq_gguf_string;

/* One metadata value or array element. `type` says which field is meaningful:
 * unsigned integers -> u, signed integers -> i, FLOAT32/FLOAT64 -> f, BOOL -> b,
 * STRING -> str, ARRAY -> elem_type and count. */
typedef struct vkq_gguf_value {
    vkq_gguf_type type;
    uint64_t u;
    int64_t i;
    double f;
    int b;
    vkq_gguf_string str;
    vkq_gguf_type elem_type;
    uint64_t count;
} vkq_gguf_value;

typedef struct vkq_gguf_tensor {
    const char *name;     /* NUL-terminated copy, owned by the handle */
    size_t name_len;
    uint32_t n_dims;      /* 1..4 */
    int64_t ne[4];        /* ne[0] innermost; dimensions beyond n_dims are 1 */
    int64_t n_elems;
    vkq_type type;
    uint64_t offset;      /* absolute file offset of the data */
    uint64_t nbytes;
    const void *data;     /* the bytes in the mapping (or the caller's memory) */
} vkq_gguf_tensor;

/* Opens and validates `path`. */
VKQ_API vkq_status vkq_gguf_create(const char *path, vkq_gguf *out);
/* Same checks on `size` bytes at `data` (not copied; keep them alive until close). */
VKQ_API vkq_status vkq_gguf_create_from_memory(const void *data, size_t size, vkq_gguf *out);
/* Unmaps and frees; NULL is a no-op. */
VKQ_API void vkq_gguf_destroy(vkq_gguf g);

VKQ_API uint32_t vkq_gguf_version(vkq_gguf g);
VKQ_API uint32_t vkq_gguf_alignment(vkq_gguf g);
/* Absolute offset of the data section: align_up(end of tensor infos, alignment). */
VKQ_API uint64_t vkq_gguf_data_offset(vkq_gguf g);
VKQ_API uint64_t vkq_gguf_file_size(vkq_gguf g);
/* The whole file's bytes. */
VKQ_API const void *vkq_gguf_file_data(vkq_gguf g);

/* ---- metadata: index i in 0..kv_count-1, in file order ---- */
VKQ_API int64_t vkq_gguf_kv_count(vkq_gguf g);
/* NUL-terminated key; NULL if i is out of range. */
VKQ_API const char *vkq_gguf_kv_key(vkq_gguf g, int64_t i);
/* The value type; (vkq_gguf_type)-1 if i is out of range. */
VKQ_API vkq_gguf_type vkq_gguf_kv_type(vkq_gguf g, int64_t i);
/* Index of the key, or -1. */
VKQ_API int64_t vkq_gguf_find_key(vkq_gguf g, const char *key);
/* The value of any type (for ARRAY: elem_type and count). */
VKQ_API vkq_status vkq_gguf_get_value(vkq_gguf g, int64_t i, vkq_gguf_value *out);

/* Typed getters: VKQ_ERROR_INVALID_ARGUMENT if i is out of range or the value's type is not
 * exactly the one named (no conversions). */
VKQ_API vkq_status vkq_gguf_get_u8(vkq_gguf g, int64_t i, uint8_t *out);
VKQ_API vkq_status vkq_gguf_get_i8(vkq_gguf g, int64_t i, int8_t *out);
VKQ_API vkq_status vkq_gguf_get_u16(vkq_gguf g, int64_t i, uint16_t *out);
VKQ_API vkq_status vkq_gguf_get_i16(vkq_gguf g, int64_t i, int16_t *out);
VKQ_API vkq_status vkq_gguf_get_u32(vkq_gguf g, int64_t i, uint32_t *out);
VKQ_API vkq_status vkq_gguf_get_i32(vkq_gguf g, int64_t i, int32_t *out);
VKQ_API vkq_status vkq_gguf_get_u64(vkq_gguf g, int64_t i, uint64_t *out);
VKQ_API vkq_status vkq_gguf_get_i64(vkq_gguf g, int64_t i, int64_t *out);
VKQ_API vkq_status vkq_gguf_get_f32(vkq_gguf g, int64_t i, float *out);
VKQ_API vkq_status vkq_gguf_get_f64(vkq_gguf g, int64_t i, double *out);
VKQ_API vkq_status vkq_gguf_get_bool(vkq_gguf g, int64_t i, int *out);
VKQ_API vkq_status vkq_gguf_get_string(vkq_gguf g, int64_t i, vkq_gguf_string *out);

/* Arrays. vkq_gguf_get_array gives the element type, the count and, for fixed-size element
 * types, a pointer to the packed little-endian elements (NULL for string arrays; any of the
 * out pointers may be NULL). vkq_gguf_get_array_value gives element j (strings included) in
 * O(1). INVALID_ARGUMENT if the value is not an array or i/j is out of range. */
VKQ_API vkq_status vkq_gguf_get_array(vkq_gguf g, int64_t i, vkq_gguf_type *elem_type,
                                      uint64_t *count, const void **data);
VKQ_API vkq_status vkq_gguf_get_array_value(vkq_gguf g, int64_t i, uint64_t j,
                                            vkq_gguf_value *out);

/* ---- tensors: index i in 0..tensor_count-1, in file order ---- */
VKQ_API int64_t vkq_gguf_tensor_count(vkq_gguf g);
VKQ_API vkq_status vkq_gguf_tensor_info(vkq_gguf g, int64_t i, vkq_gguf_tensor *out);
/* Index of the tensor, or -1. */
VKQ_API int64_t vkq_gguf_find_tensor(vkq_gguf g, const char *name);

/* ---- writer ----
 * Builds a GGUF v3 file: metadata (copied from a reader and/or set key by key), tensor infos
 * (declared in file order), then the tensors' bytes streamed in that order. Layout as ggml
 * writes it: the data section starts at align_up(end of tensor infos, alignment), each
 * tensor's data starts at a multiple of the alignment and is followed by zero padding up to the
 * next multiple (the last one too). The alignment is general.alignment when the metadata holds
 * it as UINT32 (a power of two), else 32.
 *
 * Sequence: create; copy_kv / set_* / remove_key; add_tensor for each tensor; begin_path or
 * begin_fd (writes the header, nothing can be declared after it); write_data with each
 * tensor's bytes in declaration order (any chunking); finish. A tensor's bytes must all be
 * written before the next one's; finish fails unless every byte was written.
 *
 * begin_path writes to a temporary file beside `path` (path.tmp.XXXXXX, mode 0666 & ~umask)
 * and finish renames it over `path`: `path` never holds a half-written file. An error, or
 * destroy before finish, removes the temporary. begin_path refuses (VKQ_ERROR_INVALID_ARGUMENT)
 * when `path` exists and is the same file (st_dev and st_ino) as `protect` (the input, may be
 * NULL). begin_fd writes at the descriptor's current position (a memfd, a pipe...), does not
 * close it and leaves it as it is on errors.
 *
 * Errors: INVALID_ARGUMENT (NULL, a key or name that is empty, too long (names < 64 bytes) or
 * duplicated, calls out of sequence, more bytes than declared), UNKNOWN_TYPE, BAD_SHAPE (n_dims
 * not 1..4, ne[k] < 1, ne[0] not a multiple of the block), IO (open, write, rename failures,
 * with the path and errno's words), OUT_OF_HOST_MEMORY; after an error in begin/write/finish
 * the writer only accepts destroy.
 * Thread safety: a writer is used by one thread at a time. Values are copied at set time. */
typedef struct vkq_gguf_writer_s *vkq_gguf_writer;

VKQ_API vkq_status vkq_gguf_writer_create(vkq_gguf_writer *out);
/* Removes an unfinished temporary file, frees everything; NULL is a no-op. */
VKQ_API void vkq_gguf_writer_destroy(vkq_gguf_writer w);
/* Every key of `src` in its order (values of all types, arrays of strings included); a key that
 * is already set keeps its place and takes src's value. */
VKQ_API vkq_status vkq_gguf_writer_copy_kv(vkq_gguf_writer w, vkq_gguf src);
/* Set a key (added at the end, or replacing the value of an existing key in place). */
VKQ_API vkq_status vkq_gguf_writer_set_u32(vkq_gguf_writer w, const char *key, uint32_t v);
VKQ_API vkq_status vkq_gguf_writer_set_i32(vkq_gguf_writer w, const char *key, int32_t v);
VKQ_API vkq_status vkq_gguf_writer_set_u64(vkq_gguf_writer w, const char *key, uint64_t v);
VKQ_API vkq_status vkq_gguf_writer_set_f32(vkq_gguf_writer w, const char *key, float v);
VKQ_API vkq_status vkq_gguf_writer_set_bool(vkq_gguf_writer w, const char *key, int v);
VKQ_API vkq_status vkq_gguf_writer_set_string(vkq_gguf_writer w, const char *key, const char *v);
/* An array of `count` fixed-size elements (not STRING, not ARRAY), packed little-endian. */
VKQ_API vkq_status vkq_gguf_writer_set_array(vkq_gguf_writer w, const char *key, vkq_gguf_type elem_type,
                                             uint64_t count, const void *data);
VKQ_API vkq_status vkq_gguf_writer_set_string_array(vkq_gguf_writer w, const char *key,
                                                    const char *const *v, uint64_t count);
/* Removes the key if present (no error if absent). */
VKQ_API vkq_status vkq_gguf_writer_remove_key(vkq_gguf_writer w, const char *key);
/* Declares the next tensor: ne[0] innermost, n_dims 1..4. */
VKQ_API vkq_status vkq_gguf_writer_add_tensor(vkq_gguf_writer w, const char *name, uint32_t n_dims,
                                              const int64_t *ne, vkq_type type);
/* Bytes of the declared tensor i (0 if out of range). */
VKQ_API uint64_t vkq_gguf_writer_tensor_bytes(vkq_gguf_writer w, int64_t i);
VKQ_API vkq_status vkq_gguf_writer_begin_path(vkq_gguf_writer w, const char *path, const char *protect);
VKQ_API vkq_status vkq_gguf_writer_begin_fd(vkq_gguf_writer w, int fd);
VKQ_API vkq_status vkq_gguf_writer_write_data(vkq_gguf_writer w, const void *data, size_t n);
/* Flushes; for a path: fsync, close, rename over the path. Returns the total file size. */
VKQ_API vkq_status vkq_gguf_writer_finish(vkq_gguf_writer w, uint64_t *out_size);

#ifdef __cplusplus
}
#endif

#endif
