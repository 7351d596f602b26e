/* vkquant model conversion: re-quantize a GGUF model tensor by tensor (recipes, importance
 * matrices, the streaming driver behind tools/vkq-quantize).
 *
 * Recipes. A spec is a comma-separated list of items:
 *   - REGEX=TYPE: a rule. REGEX is a POSIX extended regular expression searched anywhere in the
 *     tensor name (anchor it with ^ and $ to match the whole name); TYPE a type name
 *     (vkq_type_from_name, case-insensitive). Rules are tried in order, the first match wins.
 *     A comma inside {...} belongs to the regex (a{1,3}); the item splits at its last '='.
 *   - a base (at most one, any position): a named mix (Q4_K_M, Q5_K_M, Q3_K_M, Q2_K, MOE_IQ2)
 *     or a plain type name (every type vkq_quantize supports: Q8_0, Q4_K, IQ4_NL, F16 ...).
 * Which tensors are quantized at all (as llama.cpp's llama-quantize): tensors of 2+ dimensions
 * whose name ends in "weight", except norms (_norm.weight), MoE router ffn_gate_inp, and the
 * small tensors llama.cpp keeps (src/convert/recipe.c lists them). The others keep their type
 * and bytes. For a quantizable tensor: the first matching rule gives its type; else the base:
 * a plain type is used as it is ("pure": no tensor goes up a type); a named mix applies
 * llama.cpp's choices of which tensors go up a type (the table in src/convert/README.md);
 * without a base and without a matching rule the tensor keeps its type and bytes.
 * Then, when the row length (ne[0]) is not a multiple of the type's block, the type falls back
 * as llama.cpp does (README table; F16 when even the fallback does not fit). A tensor whose
 * final type is its input type is copied byte for byte.
 * MOE_IQ2 is the asymmetric MoE mix: "ffn_(gate|up)_exps\.weight$=IQ2_XXS,
 * ffn_down_exps\.weight$=Q2_K" with the plain base Q8_0 (everything else Q8_0).
 *
 * Importance matrices (llama.cpp's imatrix GGUF): per weight tensor name, the sum over
 * activation rows of x_j^2 for each input column j (per expert for 3-D expert tensors) and the
 * number of rows summed. The file holds, per entry, tensors "<name>.in_sum2" (F32 [n_cols,
 * n_experts]) and "<name>.counts" (F32 [1, n_experts]), keys general.type = "imatrix",
 * imatrix.datasets (string array), imatrix.chunk_count and imatrix.chunk_size (UINT32).
 * The importance of column j of expert e is in_sum2[e][j] / counts[e] (all 1 when the count is
 * 0), as llama-quantize feeds it to the quantizers.
 *
 * Thread safety: recipes and imatrices are immutable after create/read, except
 * vkq_imatrix_accumulate, which must not race with other calls on the same imatrix.
 * Errors: as everywhere, a vkq_status and vkq_last_error()'s sentence.
 */
#ifndef VKQUANT_CONVERT_H
#define VKQUANT_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "vkquant/core.h"
#include "vkquant/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- recipes ---- */
typedef struct vkq_recipe_s *vkq_recipe;

/* Parses `spec` (above). INVALID_ARGUMENT with the item named for a bad regex, an unknown type
 * or mix, a type without a quantizer or an activation-only one (Q8_1, Q8_K), two bases, an
 * empty spec or item. */
VKQ_API vkq_status vkq_recipe_create(const char *spec, vkq_recipe *out);
VKQ_API void vkq_recipe_destroy(vkq_recipe r);
/* The named mixes, for help texts: "Q4_K_M Q5_K_M Q3_K_M Q2_K MOE_IQ2". */
VKQ_API const char *vkq_recipe_mix_names(void);

typedef struct vkq_tensor_plan {
    vkq_type in_type;
    vkq_type type;       /* the output type */
    vkq_type wanted;     /* the type before the row-length fallback (== type when it fit) */
    int quantize;        /* 1: decoded and quantized to `type`; 0: bytes copied */
    uint64_t in_bytes, out_bytes;
    char why[48];        /* "kept: 1-D", "rule 2", "mix: attn_v", "base", "fallback", ... */
} vkq_tensor_plan;

/* One plan per tensor of `model`, in file order (plans has vkq_gguf_tensor_count entries). */
VKQ_API vkq_status vkq_recipe_plan(vkq_recipe r, vkq_gguf model, vkq_tensor_plan *plans);
/* llama.cpp's general.file_type (LLAMA_FTYPE) for the plan: the named mix's; a plain base
 * type's (Q4_K -> Q4_K_S, Q5_K -> Q5_K_S, Q3_K -> Q3_K_S, MOE_IQ2 -> IQ2_XXS: the closest);
 * with rules only, the one of the type that holds most output bytes among the quantized tensors;
 * -1 when nothing is quantized (the input's key is then kept). */
VKQ_API int32_t vkq_recipe_file_type(vkq_recipe r, vkq_gguf model, const vkq_tensor_plan *plans);

/* ---- importance matrices ---- */
typedef struct vkq_imatrix_s *vkq_imatrix;

typedef struct vkq_imatrix_entry {
    const char *name;       /* the weight tensor's name, e.g. "blk.0.attn_q.weight" */
    uint64_t n_cols;        /* the weight's ne[0] */
    uint32_t n_experts;     /* 1 for a 2-D weight */
    const double *sums;     /* n_experts x n_cols, expert-major */
    const double *counts;   /* n_experts */
} vkq_imatrix_entry;

VKQ_API vkq_status vkq_imatrix_create(vkq_imatrix *out);
VKQ_API void vkq_imatrix_destroy(vkq_imatrix m);
/* Adds n_rows rows of activations x (n_rows x n_cols, row-major) that multiply the weight
 * `name` (for an expert tensor: the rows routed to `expert` of n_experts): sums[expert][j] +=
 * x[r][j]^2, counts[expert] += n_rows. A name seen before must come with the same n_cols and
 * n_experts (INVALID_ARGUMENT otherwise); non-finite values are refused. */
VKQ_API vkq_status vkq_imatrix_accumulate(vkq_imatrix m, const char *name, uint64_t n_cols, uint32_t n_experts,
                                          uint32_t expert, const float *x, uint64_t n_rows);
/* Writes llama.cpp's layout (entries in name order; sums and counts as F32) through the GGUF
 * writer: temporary + rename. `dataset` may be NULL (an empty list). */
VKQ_API vkq_status vkq_imatrix_write(vkq_imatrix m, const char *path, const char *dataset, uint32_t chunk_count,
                                     uint32_t chunk_size);
/* Reads a file in that layout (MALFORMED for a .in_sum2 without its .counts or the reverse,
 * non-F32 data, sizes that disagree, non-finite or negative values). */
VKQ_API vkq_status vkq_imatrix_read(const char *path, vkq_imatrix *out);
VKQ_API int64_t vkq_imatrix_count(vkq_imatrix m);
/* Index of the entry for `name`, or -1. */
VKQ_API int64_t vkq_imatrix_find(vkq_imatrix m, const char *name);
VKQ_API vkq_status vkq_imatrix_get(vkq_imatrix m, int64_t i, vkq_imatrix_entry *out);
/* The n_cols importances of `expert` of entry i: sums / count, or all 1 when the count is 0. */
VKQ_API vkq_status vkq_imatrix_importance(vkq_imatrix m, int64_t i, uint32_t expert, float *out);

/* ---- the driver ---- */
/* Called after each written piece: tensor i of n (name), and the bytes of the output's
 * tensor data written so far of the total. */
typedef void (*vkq_quantize_progress_fn)(void *user, int64_t i, int64_t n, const char *name, uint64_t done,
                                         uint64_t total);

typedef struct vkq_quantize_model_options {
    vkq_recipe recipe;           /* required */
    vkq_imatrix imatrix;         /* optional: importances for the tensors it has */
    uint32_t n_threads;          /* as vkq_quantize_desc.n_threads */
    vkq_quantize_progress_fn progress;
    void *progress_user;
} vkq_quantize_model_options;

typedef struct vkq_quantize_model_result {
    uint64_t file_bytes;         /* of the written file */
    uint64_t in_tensor_bytes, out_tensor_bytes;
    uint64_t n_weights;          /* elements of all tensors */
    int64_t n_quantized, n_copied, n_with_imatrix;
    int32_t file_type;
} vkq_quantize_model_result;

/* Re-quantizes `in` as the recipe says: metadata copied in order, general.file_type set (see
 * vkq_recipe_file_type), general.quantization_version = 2, alignment kept; each tensor in file
 * order decoded (vkq_decode_cpu) in chunks of rows (a few MiB of f32, never a whole tensor when
 * it is larger) and quantized with the imatrix's importances when it has the tensor (an entry
 * whose n_cols or n_experts disagree with the tensor is an error, except for token_embd, which
 * is then quantized without). Output to a path (temporary + rename; refused when `out_path` is
 * the file at `in_path`, which may be NULL) or to an open descriptor (to_fd: written from its
 * position, not closed). `result` may be NULL. */
VKQ_API vkq_status vkq_quantize_model_to_path(vkq_gguf in, const char *in_path, const char *out_path,
                                              const vkq_quantize_model_options *opt,
                                              vkq_quantize_model_result *result);
VKQ_API vkq_status vkq_quantize_model_to_fd(vkq_gguf in, int fd, const vkq_quantize_model_options *opt,
                                            vkq_quantize_model_result *result);

#ifdef __cplusplus
}
#endif

#endif
