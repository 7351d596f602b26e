/* vkq-bench internals shared by its files: options, one measured row, the weight sources, the
 * Vulkan timing context and the report writers. Not a public API. */
#ifndef VKQ_BENCH_H
#define VKQ_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "vkquant/vkquant.h"
#include "volk.h"

#define BENCH_MAX_SHAPES  32
#define BENCH_MAX_SOURCES 16

typedef struct shape {
    uint64_t m, k, n;
} shape;

typedef struct options {
    vkq_type types[VKQ_TYPE_MAX_ID + 1];
    uint32_t n_types;
    shape shapes[BENCH_MAX_SHAPES];
    uint32_t n_shapes;
    int reps;
    int reps_given;
    uint64_t seed;
    uint32_t cpu_threads;
    int no_cpu, no_vulkan;
    const char *json, *csv, *plot_dir;
    const char *device;
    const char *shape_list;
    const char *weights, *tensor;
    int quick; /* 1 --quick (or a CPU device), -1 --full, 0 not said */
} options;

/* Parses `v`, the value of option `opt`, as a decimal integer in [lo, hi] into *out. Returns 0,
 * or 2 (the usage-error exit status) after printing "vkq-bench: OPT: expected ..., got 'V'". */
int bench_parse_int(const char *opt, const char *v, long long lo, long long hi, long long *out);

/* One measurement: a type on one backend and shape, with its accuracy. NaN = not measured. */
typedef struct row {
    const char *type;
    vkq_type t;
    const char *backend; /* "vulkan" | "cpu" */
    const char *source;  /* "synthetic" or the tensor's name */
    shape s;
    double bpw, time_us, gbps, gflops, pct, nmse_weights, nmse_output, nmse_kernel;
    double first_use_ms, cached_ms;
    int reps;           /* timed runs the median is of */
    const char *kernel; /* "mat-vec", "mv-x8", "gemm-f32/f16/int8", or the CPU path */
    char status[200];   /* "ok" or "skipped: reason" */
} row;

/* ---- weights (weights.c): where the f32 weights come from ---- */
typedef struct weight_source weight_source;
/* The synthetic source: seeded Gaussian with a small fraction of large outliers; any shape. */
weight_source *weights_synthetic(uint64_t seed);
/* Every F32/F16/BF16 tensor of at least two dimensions in a GGUF or .safetensors file whose name
 * matches the glob `pattern` (NULL = all), up to `max` of them. Returns the count (> 0), or -1
 * after printing why to stderr. */
int weights_open_file(const char *path, const char *pattern, weight_source **out, int max);
void weights_free(weight_source *w);
const char *weights_name(const weight_source *w);
/* A file tensor's fixed m x k; 0 for the synthetic source (takes the shape's). */
uint64_t weights_rows(const weight_source *w);
uint64_t weights_cols(const weight_source *w);
/* Row `r`, first `k` elements as f32 (k <= the tensor's columns). */
void weights_row(const weight_source *w, uint64_t r, uint64_t k, float *out);

/* ---- safetensors.c ---- */
typedef struct st_tensor {
    char name[128];
    vkq_type type; /* F32, F16 or BF16; VKQ_TYPE_MAX_ID for another dtype */
    char dtype[16];
    uint32_t n_dims;
    uint64_t shape[8];
    const uint8_t *data;
    uint64_t nbytes;
} st_tensor;
/* Parses a .safetensors image of `size` bytes. Returns the tensor count (tensors malloc'ed into
 * *out), or -1 with one sentence in `err`. */
int safetensors_parse(const uint8_t *file, uint64_t size, st_tensor **out, char *err, size_t err_size);

/* ---- Vulkan timing (gpu.c) ---- */
typedef struct gpu {
    vkq_device dev;
    struct VolkDeviceTable vk;
    VkDevice device;
    VkQueue queue;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkQueryPool queries;
    double period_ns;
} gpu;

/* Returns 0, or 1 with the reason in `why`. */
int gpu_open(gpu *g, vkq_instance inst, const char *sel, const char *cache_path, char *why, size_t why_size);
void gpu_close(gpu *g);
/* Median GPU microseconds of `reps` runs (after two warm-ups) of the matmul `d`, rotating its
 * weights through `bufs`; <0 on a recording failure. */
double gpu_time_matmul(gpu *g, vkq_matmul_desc d, const vkq_buffer *bufs, int n_bufs, int reps);
/* Read + write GB/s of a 64 MiB copy: compute copy kernel (kind 1) or vkCmdCopyBuffer (kind 2). */
double gpu_copy_gbps(gpu *g, int reps, int kind);
/* Milliseconds of a tiny matmul needing the same pipelines as n columns of `t`. */
double gpu_pipeline_ms(gpu *g, vkq_type t, uint64_t n);

/* ---- the sweep (sweep.c) ---- */
typedef struct sweep_env {
    const options *o;
    gpu *g;              /* NULL when no Vulkan device opened */
    const char *gpu_why; /* why not, then */
    double copy_gbps, cpu_copy_gbps;
    const weight_source *w;
} sweep_env;
/* Measures type `t` at shape `s` on both backends into r[0] (vulkan) and r[1] (cpu). */
void sweep_case(const sweep_env *e, vkq_type t, shape s, row r[2]);
/* Host memcpy read + write GB/s over 256 MiB. */
double cpu_copy_gbps(void);
/* Rows of the accuracy slice (spread evenly over the matrix). */
uint64_t sweep_accuracy_rows(uint64_t m);

/* ---- output ---- */
typedef struct report {
    const char *device_name, *driver, *device_type, *profile;
    char date[32];
    double copy_gbps, copy_kernel_gbps, copy_transfer_gbps, cpu_copy_gbps;
    uint64_t seed;
    int reps, quick;
    uint32_t cpu_threads;
    const char *weights;
    const row *rows;
    uint32_t n_rows;
} report;
void report_table(FILE *f, const report *r);
int report_json(const char *path, const report *r);
int report_csv(const char *path, const report *r);
/* Writes ladder.svg, throughput.svg and cpu_vs_gpu.svg into `dir` (created if missing). */
int plot_svg(const char *dir, const report *r);

/* progress.c: a bar on stderr when it is a terminal, nothing otherwise. */
void progress(uint32_t done, uint32_t total, const char *what);
void progress_end(void);

#endif
