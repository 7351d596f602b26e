/* The model handle, shared by src/model/model.c (load, placement, accessors) and src/model/model_matmul.c. */
#ifndef VKQ_MODEL_INTERNAL_H
#define VKQ_MODEL_INTERNAL_H

#include <pthread.h>

#include "vkquant/cpu.h"
#include "vkquant/model.h"

#define VKQ_MODEL_ERRMSG 512

typedef struct vkq_model_record {
    vkq_model_demotion info;
    char *tensor;
    char *message;
} vkq_model_record;

struct vkq_model_s {
    vkq_device dev; /* NULL: CPU only */
    vkq_gguf gguf;
    vkq_plan plan;
    vkq_vram_budget budget;
    vkq_model_desc desc;
    int64_t n_tensors;
    vkq_buffer *buffers; /* per tensor; NULL where the tensor is on the CPU */
    vkq_model_record *demotions;
    uint32_t n_demotions;
    vkq_cpu_pool cpu_pool; /* desc.cpu_threads workers for the CPU tensors; NULL if none */

    /* GPU matmul state: scratch for X and Y, grown on demand; guarded by `lock`. */
    pthread_mutex_t lock;
    vkq_buffer x_scratch, y_scratch;
};

#endif
