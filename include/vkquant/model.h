/* vkquant models: every weight of a GGUF file placed on the GPU or left on the CPU under a
 * VRAM budget, and one matmul call that runs wherever the weight lives ("partial offload").
 *
 * Three layers, usable on their own:
 * - VRAM budget (vkq_vram_budget_get): what the weights may take on the GPU.
 * - Placement plan (vkq_plan_*): pure logic over a tensor list, no device needed.
 * - Model (vkq_model_*): maps a GGUF file, computes the plan, uploads the GPU tensors, demotes
 *   to the CPU what does not fit after all, and runs Y = W * X per tensor.
 *
 * Places. VKQ_PLACE_GPU is device-local memory (VRAM); on UMA devices (integrated GPUs, CPU
 * drivers) and with resizable BAR that memory is also mapped, and vkq_buffer_upload fills it
 * with a memcpy. VKQ_PLACE_HOST_VISIBLE is host-visible memory the GPU reads over the bus; it is
 * chosen only by a user rule ("=host") and is not counted against the VRAM budget (on a discrete
 * GPU without resizable BAR it is system memory). VKQ_PLACE_CPU tensors stay in the file's
 * mapping (no copy) and run on the CPU kernels (include/vkquant/cpu.h).
 *
 * Layers. Tensors named "blk.N.<rest>" belong to layer N. Whole layers go to the GPU as one
 * contiguous run, the LAST n layers (as llama.cpp's -ngl does): the pass then starts on the CPU
 * (token embedding, first layers), crosses to the GPU once and stays there through the final
 * layers and the output head, whose logits cross back once: activations cross the bus twice
 * per pass. Putting the FIRST n layers on the GPU would need a third crossing whenever the
 * output head is on the GPU, or leave the largest single matmul (the head) on the CPU.
 * Non-layer tensors: names starting with "token_embd" stay on the CPU (the embedding is only
 * indexed, one row per token, never multiplied) unless the file has no output.weight: then
 * token_embd is also the output head (tied embeddings: Gemma, Qwen2.5, Llama 3.2), its largest
 * matmul, and is placed as the head is. The head tensors (output.weight, output_norm, ...) go to
 * the GPU when at least one layer is there and they fit in what the layers left.
 * User rules ("REGEX=PLACE", POSIX extended regular expressions searched anywhere in the name,
 * the first matching rule wins) override all of this per tensor, e.g. "ffn_.*_exps=cpu" keeps
 * the routed experts of a mixture-of-experts model on the CPU and lets more layers fit.
 *
 * Errors: every fallible call returns a vkq_status and leaves a sentence naming the problem in
 * vkq_last_error() (vkquant/core.h).
 */
#ifndef VKQUANT_MODEL_H
#define VKQUANT_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "vkquant/vulkan.h"
#include "vkquant/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vkq_place {
    VKQ_PLACE_CPU = 0,         /* the file's mapping; CPU kernels */
    VKQ_PLACE_GPU = 1,         /* device-local memory */
    VKQ_PLACE_HOST_VISIBLE = 2 /* host-visible memory read by the GPU (by rule only) */
} vkq_place;

/* "cpu", "gpu", "host"; "?" for other values. */
VKQ_API const char *vkq_place_name(vkq_place place);
/* Parses "cpu", "gpu", "host" (also "host-visible"), case-insensitive. */
VKQ_API vkq_status vkq_place_from_name(const char *name, vkq_place *out);

/* ---------------------------------------------------------------------------------------- */
/* VRAM budget                                                                              */

/* Parses a byte count: digits with an optional fraction and an optional binary suffix K, M, G
 * or T (1024-based), optionally followed by "i" and/or "B": "512M", "6G", "1.5GiB", "1234".
 * VKQ_ERROR_INVALID_ARGUMENT (and a sentence in vkq_last_error) for anything else: empty strings, signs,
 * spaces, "inf", hex, unknown suffixes, values of 2^64 or more. Thread-safe. */
VKQ_API vkq_status vkq_size_parse(const char *s, uint64_t *out);

typedef enum vkq_budget_source {
    VKQ_BUDGET_NONE = 0,       /* no device and no override: 0 bytes */
    VKQ_BUDGET_MEMORY_EXT = 1, /* VK_EXT_memory_budget: heap budget - usage now, minus reserve */
    VKQ_BUDGET_HEAP_SIZE = 2,  /* size of the largest device-local heap, minus reserve */
    VKQ_BUDGET_ENV = 3,        /* VKQ_VRAM_BUDGET */
    VKQ_BUDGET_API = 4         /* the caller's override */
} vkq_budget_source;

/* "none", "VK_EXT_memory_budget", "heap size", "VKQ_VRAM_BUDGET", "API". */
VKQ_API const char *vkq_budget_source_name(vkq_budget_source source);

typedef struct vkq_vram_budget {
    uint64_t budget;    /* bytes the weights may take on the GPU */
    uint64_t available; /* what the device reports for this process (0 when overridden) */
    uint64_t reserve;   /* held back for activations and scratch (0 when overridden) */
    vkq_budget_source source;
} vkq_vram_budget;

/* Default reserve for activations, scratch and the driver: max(256 MiB, 5% of available),
 * never more than `available`. 5% covers a long context's activations on a large card; the
 * 256 MiB floor covers the staging buffer, scratch and pipelines of a small one. */
VKQ_API uint64_t vkq_vram_default_reserve(uint64_t available);

/* The VRAM budget for weights: `override_bytes` if non-zero; else VKQ_VRAM_BUDGET if set (a
 * size as vkq_size_parse reads it; "0" means nothing on the GPU); else from the device:
 * VK_EXT_memory_budget's heapBudget - heapUsage of the largest device-local heap, queried now,
 * when the extension is present, else that heap's size; minus `reserve_bytes` (0 = the default
 * reserve). `dev` may be NULL (then only the override or the environment can give a budget,
 * else 0 with source VKQ_BUDGET_NONE). VKQ_ERROR_INVALID_ARGUMENT for an unreadable
 * VKQ_VRAM_BUDGET, with a message. Thread-safe with respect to other calls on `dev` that do
 * not destroy it. */
VKQ_API vkq_status vkq_vram_budget_get(vkq_device dev, uint64_t override_bytes, uint64_t reserve_bytes,
                                       vkq_vram_budget *out);

/* ---------------------------------------------------------------------------------------- */
/* Placement plan (no device needed)                                                        */

#define VKQ_GPU_LAYERS_AUTO (-1)

typedef struct vkq_plan_tensor {
    const char *name; /* copied by vkq_plan_create */
    vkq_type type;
    uint32_t n_dims;
    int64_t ne[4];
    uint64_t nbytes;
} vkq_plan_tensor;

typedef struct vkq_plan_options {
    uint64_t budget; /* bytes of GPU tensors allowed (vkq_vram_budget_get) */
    /* VKQ_GPU_LAYERS_AUTO: as many of the last layers as fit in the budget, contiguous;
     * N >= 0: the last N layers (all if N >= the layer count), even over the budget (the plan
     * then says so, and vkq_model_create demotes what exceeds it). */
    int32_t n_gpu_layers;
    const char *const *overrides; /* "REGEX=PLACE" strings; copied */
    uint32_t n_overrides;
    int cpu_only; /* no device: every tensor on the CPU whatever the rules say */
    /* Bytes each GPU layer needs besides its tensors (its KV cache: vkq_llm_kv_bytes_per_layer),
     * counted against the budget before the weights: AUTO fits fewer layers, and the totals
     * say what the reserve takes. 0 = none. */
    uint64_t layer_reserve;
} vkq_plan_options;

typedef struct vkq_plan_s *vkq_plan;

typedef struct vkq_plan_layer {
    int32_t index; /* N of blk.N */
    uint32_t n_tensors;
    uint64_t bytes;      /* all tensors of the layer */
    uint64_t gpu_bytes;  /* those on the GPU (VKQ_PLACE_GPU) */
    uint64_t host_bytes; /* those in host-visible memory */
    int on_gpu;          /* part of the GPU run (rules may still keep some tensors on the CPU) */
    int demoted;         /* was in the GPU run; moved to the CPU by vkq_model_create */
} vkq_plan_layer;

typedef struct vkq_plan_totals {
    uint64_t budget;
    uint64_t gpu_bytes, host_bytes, cpu_bytes, total_bytes;
    uint32_t n_layers;            /* highest blk.N + 1 (0 if no layer tensors) */
    uint32_t n_gpu_layers;        /* length of the GPU run */
    int32_t first_gpu_layer;      /* first layer of the run; n_layers if the run is empty */
    int32_t requested_gpu_layers; /* the option as given (VKQ_GPU_LAYERS_AUTO or N) */
    uint64_t reserve_bytes;       /* layer_reserve x n_gpu_layers */
    int over_budget;              /* gpu_bytes + reserve_bytes > budget */
    uint32_t n_demoted;           /* tensors moved to the CPU after planning */
} vkq_plan_totals;

/* Computes the plan for `n` tensors. Errors: VKQ_ERROR_INVALID_ARGUMENT (NULL pointers, a bad
 * rule: no '=', an unknown place, a regex that does not compile, a NULL or empty name, a name
 * listed twice), VKQ_ERROR_OUT_OF_HOST_MEMORY. The plan owns copies of everything it needs. */
VKQ_API vkq_status vkq_plan_create(const vkq_plan_tensor *tensors, uint32_t n, const vkq_plan_options *opt,
                                   vkq_plan *out);
VKQ_API void vkq_plan_destroy(vkq_plan plan);

VKQ_API uint32_t vkq_plan_tensor_count(vkq_plan plan);
/* The place of tensor i (input order); VKQ_PLACE_CPU for an index out of range. */
VKQ_API vkq_place vkq_plan_tensor_place(vkq_plan plan, uint32_t i);
/* Layer of tensor i (blk.N), -1 for non-layer tensors or an index out of range. */
VKQ_API int32_t vkq_plan_tensor_layer(vkq_plan plan, uint32_t i);
/* 0-based index of the rule that placed tensor i, -1 if none. */
VKQ_API int32_t vkq_plan_tensor_rule(vkq_plan plan, uint32_t i);
/* Layer `layer` (0..n_layers-1); VKQ_ERROR_OUT_OF_RANGE otherwise. */
VKQ_API vkq_status vkq_plan_layer_info(vkq_plan plan, uint32_t layer, vkq_plan_layer *out);
VKQ_API void vkq_plan_get_totals(vkq_plan plan, vkq_plan_totals *out);

/* Prints the plan: one line per layer (place, bytes), the non-layer tensors and every tensor a
 * rule moved, demotions, and totals against the budget. */
VKQ_API void vkq_plan_print(vkq_plan plan, FILE *f);

/* ---------------------------------------------------------------------------------------- */
/* Model                                                                                    */

typedef struct vkq_model_s *vkq_model;

/* Called once per demotion with a sentence ("blk.3.ffn_up.weight: out of device memory
 * (...); layer 3 and the 1 GPU layer(s) before it moved to the CPU"). */
typedef void (*vkq_model_log_fn)(void *user, const char *message);

typedef struct vkq_model_desc {
    int32_t n_gpu_layers;         /* VKQ_GPU_LAYERS_AUTO or N, see vkq_plan_options */
    uint64_t vram_budget;         /* 0 = VKQ_VRAM_BUDGET, else from the device */
    uint64_t vram_reserve;        /* 0 = vkq_vram_default_reserve */
    const char *const *overrides; /* "REGEX=PLACE" rules */
    uint32_t n_overrides;
    uint32_t cpu_threads; /* threads of the model's vkq_cpu_pool for CPU tensors (0 = default) */
    uint32_t cpu_flags;   /* VKQ_CPU_* of CPU tensors */
    vkq_model_log_fn log; /* NULL = silent */
    void *log_user;
    /* Test and debug settings (NULL = none); read during vkq_model_create only. */
    const struct vkq_model_debug_desc *debug;
    /* Bytes each GPU layer needs besides its tensors, reserved in the budget before weights:
     * the KV cache of the contexts to be created (vkq_llm_kv_bytes_per_layer). 0 = none. */
    uint64_t layer_reserve;
} vkq_model_desc;

/* Settings that exist for tests and debugging, kept out of vkq_model_desc. */
typedef struct vkq_model_debug_desc {
    /* The fail_alloc_at-th GPU allocation of the load (1-based) and every later one fail as
     * VKQ_ERROR_OUT_OF_DEVICE_MEMORY, as on a full device. 0 = off; the environment variable
     * VKQ_MODEL_FAIL_ALLOC=N does the same when this is 0. */
    uint32_t fail_alloc_at;
} vkq_model_debug_desc;

/* The defaults (n_gpu_layers = VKQ_GPU_LAYERS_AUTO, everything else 0); a NULL desc means these. */
VKQ_API vkq_model_desc vkq_model_desc_default(void);

/* Maps the GGUF file at `path` (vkq_gguf_create), plans the placement with the budget of
 * vkq_vram_budget_get(dev, desc->vram_budget, desc->vram_reserve) and uploads the GPU tensors
 * through the device's staging ring (vkq_buffer_upload_async): the CPU reads tensor i+1 from
 * the mapping while the GPU copies tensor i, on the transfer queue where the device has one;
 * one wait at the end, so every GPU tensor is in place when this returns.
 * GPU layers are allocated from the last one backwards, then the other tensors off the CPU.
 * When an allocation fails (out of device or host memory, an injected failure, or the running
 * total would pass the budget, which happens when n_gpu_layers asked for more than fits), the
 * layer of that tensor and the GPU layers before it are demoted to the CPU (the run stays
 * contiguous), or only the tensor if it is not part of the run (non-layer tensors, tensors a
 * rule placed); the plan is updated, the demotion recorded (vkq_model_demotion_info) and
 * logged, and loading goes on. `dev` NULL: everything on the CPU. When any tensor ends up on
 * the CPU, the model starts a vkq_cpu_pool of desc->cpu_threads threads (0 = VKQ_CPU_THREADS
 * or every online core) that sleep between CPU matmuls; vkq_model_destroy joins them.
 * Errors: those of vkq_gguf_create, of the budget and the plan, a Vulkan error
 * other than out of memory during an upload, VKQ_ERROR_OUT_OF_HOST_MEMORY when the CPU threads
 * cannot be started. Nothing is left allocated on an error.
 * The model keeps `dev` and uses it until vkq_model_destroy; destroy the model first. */
VKQ_API vkq_status vkq_model_create(vkq_device dev, const char *path, const vkq_model_desc *desc, vkq_model *out);
VKQ_API void vkq_model_destroy(vkq_model model);

/* The file (metadata, tensor data) and the plan; owned by the model. */
VKQ_API vkq_gguf vkq_model_gguf(vkq_model model);
VKQ_API vkq_plan vkq_model_plan(vkq_model model);
/* The budget the plan was made with. */
VKQ_API vkq_vram_budget vkq_model_budget(vkq_model model);

typedef struct vkq_model_tensor {
    const char *name;
    vkq_type type;
    uint32_t n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    vkq_place place; /* after demotions */
    int32_t layer;   /* N of blk.N, -1 if none */
} vkq_model_tensor;

VKQ_API int64_t vkq_model_tensor_count(vkq_model model);
VKQ_API vkq_status vkq_model_tensor_info(vkq_model model, int64_t i, vkq_model_tensor *out);
/* Index of the tensor, or -1. */
VKQ_API int64_t vkq_model_find_tensor(vkq_model model, const char *name);

typedef struct vkq_model_demotion {
    const char *tensor;  /* the tensor whose allocation failed */
    int32_t layer;       /* its layer, -1 if none */
    uint32_t n_layers;   /* layers moved to the CPU by this demotion (0 when only the tensor moved) */
    uint64_t bytes;      /* bytes moved to the CPU */
    vkq_status reason;   /* VKQ_ERROR_OUT_OF_DEVICE_MEMORY (real, injected or over budget), or
                            VKQ_ERROR_OUT_OF_HOST_MEMORY (a host-visible allocation) */
    const char *message; /* the sentence that was logged */
} vkq_model_demotion;

VKQ_API uint32_t vkq_model_demotion_count(vkq_model model);
VKQ_API vkq_status vkq_model_demotion_info(vkq_model model, uint32_t i, vkq_model_demotion *out);

/* Y = W * X for the 2-D tensor `tensor` (index; the _named form looks it up): W is m = ne[1]
 * rows of k = ne[0] elements, X host f32 k x n (column j at x + j * k), Y host f32 m x n
 * (column j at y + j * m). GPU/host-visible tensors: X is uploaded to a scratch buffer kept by
 * the model (grown as needed), the matmul runs, Y is downloaded; one blocking submission (a
 * memcpy where the scratch is mapped, else staging copies recorded with the matmul). CPU
 * tensors: vkq_cpu_matmul on the mapped bytes with the desc's cpu_flags on the model's pool.
 * Results agree within the kernels' bounds wherever the weight lives. Errors:
 * VKQ_ERROR_INVALID_ARGUMENT (NULL, n == 0, index out of range, unknown name),
 * VKQ_ERROR_BAD_SHAPE (not a 2-D tensor; a 3-D stack of experts takes
 * vkq_model_matmul_expert), and those of the kernels; the sentence is in vkq_last_error.
 * Thread safety: may be called from several threads at once; GPU calls are serialised on a
 * mutex of the model (and nothing else may use the device meanwhile), CPU calls run
 * concurrently: one at a time on the model's pool, any other meanwhile without it (see
 * vkq_cpu_pool_create; same results). */
VKQ_API vkq_status vkq_model_matmul(vkq_model model, int64_t tensor, const float *x, float *y, uint64_t n);
VKQ_API vkq_status vkq_model_matmul_named(vkq_model model, const char *tensor, const float *x, float *y, uint64_t n);

/* Mixture of experts: Y = W_e * X for expert `expert` of a 3-D tensor with ne = [k, m, n_expert]
 * (the routed experts of Mixtral, Qwen-MoE, DeepSeek, gpt-oss: blk.N.ffn_{gate,up,down}_exps),
 * whose expert e is the m x k matrix stored at byte e * m * row_bytes of the tensor. X, Y, n,
 * the places and the results as for vkq_model_matmul: the tensor stays one buffer (or one range
 * of the mapping) and the call reads only expert e's bytes, at any byte offset (no alignment
 * needed) and at any depth in a tensor larger than maxStorageBufferRange or split into several
 * allocations. A 2-D tensor is one expert: `expert` must be 0, and the call is
 * vkq_model_matmul. Errors: VKQ_ERROR_INVALID_ARGUMENT for expert >= ne[2] (or != 0 on a 2-D
 * tensor), with a sentence naming the tensor, the expert and the expert count; VKQ_ERROR_BAD_SHAPE
 * for 1-D and 4-D tensors; the rest as vkq_model_matmul. Thread safety: as vkq_model_matmul. */
VKQ_API vkq_status vkq_model_matmul_expert(vkq_model model, int64_t tensor, uint32_t expert, const float *x,
                                           float *y, uint64_t n);
VKQ_API vkq_status vkq_model_matmul_expert_named(vkq_model model, const char *tensor, uint32_t expert,
                                                 const float *x, float *y, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif
