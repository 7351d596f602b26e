/* vkq-bench: times the dequant-matmul kernels per type and shape with GPU timestamps, next to
 * the device's copy bandwidth measured in the same run, and checks each kernel's error against
 * the f64 reference. Table on stdout, --json FILE for scripts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "matmul_ref.h"
#include "test_util.h"
#include "vkquant.h"
#include "volk.h"

typedef struct shape {
    uint64_t m, k, n;
} shape;

typedef struct options {
    vkq_type types[VKQ_TYPE_MAX_ID + 1];
    uint32_t n_types;
    shape shapes[32];
    uint32_t n_shapes;
    int reps;
    uint64_t seed;
    const char *json;
    const char *device;
    const char *shape_list;
    int shapes_given;
    int quick; /* 1 --quick (or a CPU device), -1 --full, 0 not said */
} options;

typedef struct ctx {
    vkq_device dev;
    struct VolkDeviceTable vk;
    VkDevice device;
    VkQueue queue;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkQueryPool queries;
    double period_ns;
} ctx;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    printf("usage: vkq-bench [options]\n"
           "Times vkquant's dequant-matmul kernels (mat-vec for n <= 8, tiled GEMM above) on the\n"
           "default Vulkan device with GPU timestamps: median of --reps runs after warm-up, rotating\n"
           "several weight buffers so caches do not flatter the result. Reports effective weight\n"
           "GB/s, GFLOP/s, %% of the copy bandwidth a plain copy kernel reaches in the same run, and\n"
           "the kernel's NMSE against the f64 reference.\n\n"
           "  --types LIST|all     comma-separated type names (default: all weight types)\n"
           "  --shapes MxKxN,...   shapes (default 4096x14336x1 and 4096x14336x512; --quick: smaller)\n"
           "  --reps N             timed runs per case (default 20)\n"
           "  --seed N             random seed for weights and activations\n"
           "  --device SEL         device index or name substring (default: VKQ_DEVICE or the best)\n"
           "  --json FILE          write the results as JSON\n"
           "  --quick              small shapes and 5 reps (the default on CPU drivers such as\n"
           "                       lavapipe, where the full shapes take many minutes)\n"
           "  --full               the full shapes even on a CPU driver\n"
           "  --help               this text\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->reps = 20;
    o->seed = vkq_test_seed();
    const char *types = "all", *shapes = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--full")) {
            o->quick = -1;
        } else if (v && !strcmp(a, "--types")) {
            types = v, ++i;
        } else if (v && !strcmp(a, "--shapes")) {
            shapes = v, ++i;
        } else if (v && !strcmp(a, "--reps")) {
            o->reps = atoi(v), ++i;
        } else if (v && !strcmp(a, "--seed")) {
            o->seed = strtoull(v, NULL, 0), ++i;
        } else if (v && !strcmp(a, "--json")) {
            o->json = v, ++i;
        } else if (v && !strcmp(a, "--device")) {
            o->device = v, ++i;
        } else {
            fprintf(stderr, "vkq-bench: unknown or incomplete option %s (see --help)\n", a);
            return 2;
        }
    }
    if (o->reps < 1) o->reps = 1;
    o->shapes_given = shapes != NULL;
    if (!strcmp(types, "all")) {
        for (uint32_t i = 0; i < vkq_type_count(); ++i)
            if (vkq_type_get(vkq_type_at(i))->is_weight_type) o->types[o->n_types++] = vkq_type_at(i);
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", types);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            vkq_type ty;
            if (vkq_type_from_name(t, &ty) != VKQ_SUCCESS) {
                fprintf(stderr, "vkq-bench: unknown type %s\n", t);
                return 2;
            }
            o->types[o->n_types++] = ty;
        }
    }
    o->shape_list = shapes;
    return 0;
}

/* Shapes are parsed once the device is known: CPU drivers default to --quick. */
static int parse_shapes(options *o, int cpu_device)
{
    if (o->quick == 0 && cpu_device && !o->shapes_given) o->quick = 1;
    if (o->quick == 1 && o->reps == 20) o->reps = 5;
    const char *shapes = o->shape_list;
    if (!shapes) shapes = o->quick == 1 ? "4096x14336x1,256x4096x64" : "4096x14336x1,4096x14336x512";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", shapes);
    for (char *s = strtok(buf, ","); s && o->n_shapes < 32; s = strtok(NULL, ",")) {
        unsigned long long m, k, n;
        if (sscanf(s, "%llux%llux%llu", &m, &k, &n) != 3 || !m || !k || !n) {
            fprintf(stderr, "vkq-bench: bad shape %s (want MxKxN)\n", s);
            return 2;
        }
        o->shapes[o->n_shapes++] = (shape){m, k, n};
    }
    return 0;
}

static int ctx_open(ctx *c, vkq_instance inst, const char *sel, const char *cache_path)
{
    uint32_t idx;
    vkq_device_desc desc = {.pipeline_cache = cache_path};
    vkq_status st = sel ? vkq_instance_select_device(inst, sel, &idx) : vkq_instance_default_device(inst, &idx);
    if (st == VKQ_SUCCESS) st = vkq_device_create(inst, idx, &desc, &c->dev);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-bench: %s: %s\n", vkq_status_string(st), vkq_instance_last_error(inst));
        return 1;
    }
    vkq_vulkan_handles h;
    vkq_device_get_vulkan(c->dev, &h);
    volkLoadInstanceOnly(h.instance);
    volkLoadDeviceTable(&c->vk, h.device);
    c->device = h.device;
    c->queue = h.queue;
    c->period_ns = vkq_device_get_info(c->dev)->timestamp_period_ns;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = h.queue_family};
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                 .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2};
    if (c->vk.vkCreateCommandPool(c->device, &pci, NULL, &c->pool) != VK_SUCCESS) return 1;
    ai.commandPool = c->pool;
    if (c->vk.vkAllocateCommandBuffers(c->device, &ai, &c->cmd) != VK_SUCCESS) return 1;
    if (c->vk.vkCreateQueryPool(c->device, &qci, NULL, &c->queries) != VK_SUCCESS) return 1;
    return 0;
}

static void ctx_close(ctx *c)
{
    if (c->queries) c->vk.vkDestroyQueryPool(c->device, c->queries, NULL);
    if (c->pool) c->vk.vkDestroyCommandPool(c->device, c->pool, NULL);
    vkq_device_destroy(c->dev);
}

/* What one timed submission records. */
typedef struct work {
    int is_copy;
    vkq_matmul_desc mm;
    vkq_buffer src, dst;
    uint64_t bytes;
} work;

/* Runs `w` between two timestamps; returns GPU microseconds (or wall time if none), <0 on error. */
static double timed_run(ctx *c, const work *w)
{
    c->vk.vkResetCommandBuffer(c->cmd, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    c->vk.vkBeginCommandBuffer(c->cmd, &bi);
    c->vk.vkCmdResetQueryPool(c->cmd, c->queries, 0, 2);
    c->vk.vkCmdWriteTimestamp(c->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, c->queries, 0);
    vkq_status st = w->is_copy == 2 ? vkq_buffer_copy_record(c->dev, c->cmd, w->src, 0, w->dst, 0, w->bytes)
                    : w->is_copy  ? vkq_copy_record(c->dev, c->cmd, w->src, 0, w->dst, 0, w->bytes)
                                  : vkq_matmul_record(c->dev, c->cmd, &w->mm);
    c->vk.vkCmdWriteTimestamp(c->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries, 1);
    c->vk.vkEndCommandBuffer(c->cmd);
    if (st != VKQ_SUCCESS) return -1;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &c->cmd};
    double t0 = now_s();
    if (c->vk.vkQueueSubmit(c->queue, 1, &si, VK_NULL_HANDLE) != VK_SUCCESS) return -1;
    c->vk.vkQueueWaitIdle(c->queue);
    double wall = now_s() - t0;
    uint64_t ts[2];
    if (c->period_ns > 0 &&
        c->vk.vkGetQueryPoolResults(c->device, c->queries, 0, 2, sizeof ts, ts, sizeof ts[0],
                                    VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS &&
        ts[1] > ts[0])
        return (double)(ts[1] - ts[0]) * c->period_ns * 1e-3;
    return wall * 1e6;
}

static double median_us(ctx *c, work *w, int n_bufs, vkq_buffer *bufs, int reps)
{
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int i = -2; i < reps; ++i) { /* two warm-up runs */
        if (!w->is_copy) w->mm.w = bufs[(i + 2) % n_bufs];
        else w->src = bufs[(i + 2) % n_bufs];
        double us = timed_run(c, w);
        if (us < 0) {
            free(t);
            return -1;
        }
        if (i >= 0) t[i] = us;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    free(t);
    return med;
}

/* Buffers rotated between runs: enough that together they exceed typical last-level caches. */
static int rotation_count(uint64_t bytes)
{
    uint64_t want = 256ull << 20;
    int n = (int)((want + bytes - 1) / bytes);
    return n < 2 ? 2 : n > 8 ? 8 : n;
}

/* Read + write GB/s of a copy of 64 MiB buffers: the compute copy kernel (kind 1) or the
 * driver's vkCmdCopyBuffer (kind 2). */
static double copy_bandwidth(ctx *c, int reps, int kind)
{
    const uint64_t bytes = 64ull << 20;
    vkq_buffer bufs[4], dst;
    for (int i = 0; i < 4; ++i)
        if (vkq_buffer_create(c->dev, bytes, VKQ_MEMORY_DEVICE, 0, &bufs[i]) != VKQ_SUCCESS) return 0;
    if (vkq_buffer_create(c->dev, bytes, VKQ_MEMORY_DEVICE, 0, &dst) != VKQ_SUCCESS) return 0;
    work w = {.is_copy = kind, .dst = dst, .bytes = bytes};
    double us = median_us(c, &w, 4, bufs, reps);
    for (int i = 0; i < 4; ++i) vkq_buffer_destroy(bufs[i]);
    vkq_buffer_destroy(dst);
    return us > 0 ? 2.0 * (double)bytes / us * 1e-3 : 0; /* read + write, GB/s */
}

typedef struct row {
    const char *type;
    shape s;
    double bpw, time_us, gbps, gflops, pct, nmse_kernel, first_use_ms, cached_ms;
    const char *kernel;
    char status[160];
} row;

/* Milliseconds of a tiny matmul that needs the same pipelines as n columns of type t: on a
 * fresh device this is dominated by pipeline creation (compile, or a pipeline-cache hit). */
static double pipeline_ms(ctx *c, vkq_type t, uint64_t n)
{
    const vkq_type_info *ti = vkq_type_get(t);
    uint64_t k = ti->block_elems < 8 ? 8 : ti->block_elems, rb = 0;
    vkq_type_bytes(t, k, &rb);
    vkq_buffer w = NULL, x = NULL, y = NULL;
    double ms = -1;
    if (vkq_buffer_create(c->dev, rb, VKQ_MEMORY_DEVICE, 0, &w) == VKQ_SUCCESS &&
        vkq_buffer_create(c->dev, k * n * 4, VKQ_MEMORY_DEVICE, 0, &x) == VKQ_SUCCESS &&
        vkq_buffer_create(c->dev, n * 4, VKQ_MEMORY_DEVICE, 0, &y) == VKQ_SUCCESS) {
        vkq_matmul_desc d = {.type = t, .m = 1, .k = k, .n = n, .w = w, .x = x, .y = y};
        double t0 = now_s();
        if (vkq_matmul(c->dev, &d) == VKQ_SUCCESS) ms = (now_s() - t0) * 1e3;
    }
    vkq_buffer_destroy(w);
    vkq_buffer_destroy(x);
    vkq_buffer_destroy(y);
    return ms;
}

static void bench_case(ctx *c, const options *o, vkq_type t, shape s, double copy_gbps, uint64_t *rng, row *r)
{
    const vkq_type_info *ti = vkq_type_get(t);
    memset(r, 0, sizeof *r);
    r->type = ti->name;
    r->s = s;
    const vkq_kernel_config *cfg = vkq_device_get_config(c->dev, NULL);
    r->kernel = s.n <= 8 ? "mat-vec" : cfg->mm_via_matvec == 1 ? "mv-x8" : "gemm";
    uint64_t k = (s.k + ti->block_elems - 1) / ti->block_elems * ti->block_elems;
    r->s.k = k;
    uint64_t rb = 0;
    vkq_type_bytes(t, k, &rb);
    uint64_t wbytes = rb * s.m;
    r->bpw = 8.0 * (double)wbytes / (double)(s.m * k);
    snprintf(r->status, sizeof r->status, "ok");
    int nb = rotation_count(wbytes);
    vkq_buffer bufs[8] = {0}, x = NULL, y = NULL;
    uint8_t *wq = malloc(wbytes);
    float *xf = malloc(sizeof(float) * k * s.n);
    if (!wq || !xf) {
        snprintf(r->status, sizeof r->status, "skipped: out of host memory");
        goto done;
    }
    vkq_test_random_weights(t, wbytes / ti->block_bytes, rng, wq);
    for (uint64_t i = 0; i < k * s.n; ++i) xf[i] = (float)((double)(vkq_test_rand(rng) >> 11) * 0x1p-52 - 1.0);
    for (int i = 0; i < nb; ++i) {
        vkq_status st = vkq_buffer_create(c->dev, wbytes, VKQ_MEMORY_DEVICE, rb, &bufs[i]);
        if (st == VKQ_SUCCESS) st = vkq_buffer_upload(bufs[i], 0, wq, wbytes);
        if (st != VKQ_SUCCESS) {
            snprintf(r->status, sizeof r->status, "skipped: %s", vkq_device_last_error(c->dev));
            goto done;
        }
    }
    if (vkq_buffer_create(c->dev, k * s.n * 4, VKQ_MEMORY_DEVICE, k * 4, &x) != VKQ_SUCCESS ||
        vkq_buffer_create(c->dev, s.m * s.n * 4, VKQ_MEMORY_DEVICE, s.m * 4, &y) != VKQ_SUCCESS ||
        vkq_buffer_upload(x, 0, xf, k * s.n * 4) != VKQ_SUCCESS) {
        snprintf(r->status, sizeof r->status, "skipped: %s", vkq_device_last_error(c->dev));
        goto done;
    }
    work w = {.mm = {.type = t, .m = s.m, .k = k, .n = s.n, .w = bufs[0], .x = x, .y = y}};
    vkq_matmul_path path; /* name the GEMM variant (fp32/fp16/int8) the library picks */
    if (vkq_matmul_get_path(c->dev, &w.mm, &path) == VKQ_SUCCESS && path != VKQ_MATMUL_PATH_MATVEC)
        r->kernel = vkq_matmul_path_name(path);
    r->first_use_ms = pipeline_ms(c, t, s.n);
    vkq_status st = vkq_matmul(c->dev, &w.mm);
    if (st != VKQ_SUCCESS) {
        snprintf(r->status, sizeof r->status, "skipped: %s", vkq_device_last_error(c->dev));
        goto done;
    }
    /* Kernel error vs the f64 reference, on a slice of rows (the whole product is too slow). */
    uint64_t mc = s.m < 64 ? s.m : 64, nc = s.n < 4 ? s.n : 4;
    float *wf = malloc(sizeof(float) * mc * k), *yv = malloc(sizeof(float) * s.m * nc);
    double *ref = malloc(sizeof(double) * mc * nc);
    float *xc = malloc(sizeof(float) * k * nc);
    if (wf && yv && ref && xc && vkq_decode_cpu(t, wq, rb * mc, wf, mc * k) == VKQ_SUCCESS &&
        vkq_buffer_download(y, 0, yv, s.m * nc * 4) == VKQ_SUCCESS) {
        memcpy(xc, xf, sizeof(float) * k * nc);
        matmul_ref_f64(wf, xc, ref, mc, k, nc);
        r->nmse_kernel = matmul_nmse(yv, s.m, ref, mc, nc);
    } else {
        r->nmse_kernel = NAN;
    }
    free(wf); free(yv); free(ref); free(xc);

    r->time_us = median_us(c, &w, nb, bufs, o->reps);
    if (r->time_us <= 0) {
        snprintf(r->status, sizeof r->status, "skipped: recording failed: %s", vkq_device_last_error(c->dev));
        goto done;
    }
    r->gbps = (double)wbytes / r->time_us * 1e-3;
    r->gflops = 2.0 * (double)s.m * (double)k * (double)s.n / r->time_us * 1e-3;
    r->pct = copy_gbps > 0 ? 100.0 * r->gbps / copy_gbps : 0;
done:
    for (int i = 0; i < nb; ++i) vkq_buffer_destroy(bufs[i]);
    vkq_buffer_destroy(x);
    vkq_buffer_destroy(y);
    free(wq);
    free(xf);
}

static void json_num(FILE *f, const char *key, double v, const char *sep)
{
    if (isfinite(v)) fprintf(f, "\"%s\": %.6g%s", key, v, sep);
    else fprintf(f, "\"%s\": null%s", key, sep);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    vkq_instance inst;
    vkq_status st = vkq_instance_create(NULL, &inst);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-bench: %s\n", vkq_status_string(st));
        return 1;
    }
    /* A private pipeline cache: the first device compiles from scratch (first use), the second,
     * created after the sweep, starts from what the first saved (cached creation). */
    char cache_path[64];
    snprintf(cache_path, sizeof cache_path, "/tmp/vkq-bench-cache-%ld.bin", (long)getpid());
    remove(cache_path);
    ctx c = {0};
    if (ctx_open(&c, inst, o.device, cache_path)) {
        vkq_instance_destroy(inst);
        return 1;
    }
    const vkq_device_info dinfo = *vkq_device_get_info(c.dev); /* outlives the device */
    const vkq_device_info *di = &dinfo;
    if ((rc = parse_shapes(&o, di->type == VKQ_DEVICE_CPU)) != 0) {
        ctx_close(&c);
        vkq_instance_destroy(inst);
        return rc;
    }
    const char *profile;
    vkq_device_get_config(c.dev, &profile);
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    /* The device's copy bandwidth: the better of a plain compute copy kernel and the driver's
     * own buffer copy, so "% of copy bandwidth" is never flattered by a weak copy kernel. */
    double copy_kernel_gbps = copy_bandwidth(&c, o.reps, 1);
    double copy_transfer_gbps = copy_bandwidth(&c, o.reps, 2);
    double copy_gbps = copy_kernel_gbps > copy_transfer_gbps ? copy_kernel_gbps : copy_transfer_gbps;
    printf("vkq-bench %s on %s (%s, %s), profile %s, seed %llu, %d reps%s\n", date, di->name,
           vkq_device_type_name(di->type), di->driver_info, profile, (unsigned long long)o.seed, o.reps,
           o.quick == 1 ? ", --quick shapes (CPU driver: the full ones take many minutes; --full forces them)" : "");
    printf("copy bandwidth (read + write): %.2f GB/s (compute copy kernel %.2f, vkCmdCopyBuffer %.2f)\n\n",
           copy_gbps, copy_kernel_gbps, copy_transfer_gbps);
    printf("%-8s %6s %-8s %18s %11s %9s %9s %7s %10s %9s  %s\n", "type", "bpw", "kernel", "shape m x k x n",
           "time us", "GB/s", "GFLOP/s", "%copy", "NMSE", "1st ms", "status");

    uint64_t rng = o.seed;
    row *rows = calloc((size_t)o.n_types * o.n_shapes, sizeof *rows);
    uint32_t n_rows = 0;
    for (uint32_t si = 0; si < o.n_shapes; ++si)
        for (uint32_t ti = 0; ti < o.n_types; ++ti) {
            row *r = &rows[n_rows++];
            bench_case(&c, &o, o.types[ti], o.shapes[si], copy_gbps, &rng, r);
            char sh[48];
            snprintf(sh, sizeof sh, "%llux%llux%llu", (unsigned long long)r->s.m, (unsigned long long)r->s.k,
                     (unsigned long long)r->s.n);
            printf("%-8s %6.3f %-8s %18s %11.1f %9.3f %9.3f %7.1f %10.2e %9.1f  %s\n", r->type, r->bpw, r->kernel,
                   sh, r->time_us, r->gbps, r->gflops, r->pct, r->nmse_kernel, r->first_use_ms, r->status);
            fflush(stdout);
        }

    /* Cached pipeline creation: a new device that loads the cache the first one saves. */
    ctx_close(&c);
    memset(&c, 0, sizeof c);
    double first_total = 0, cached_total = 0;
    if (ctx_open(&c, inst, o.device, cache_path) == 0) {
        for (uint32_t i = 0; i < n_rows; ++i) {
            vkq_type t;
            vkq_type_from_name(rows[i].type, &t);
            rows[i].cached_ms = pipeline_ms(&c, t, rows[i].s.n);
            first_total += rows[i].first_use_ms;
            cached_total += rows[i].cached_ms;
        }
        printf("\npipeline creation: %.0f ms on first use, %.0f ms on a second device that loaded the saved pipeline cache (%u cases)\n",
               first_total, cached_total, n_rows);
    }
    remove(cache_path);

    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (!f) {
            fprintf(stderr, "vkq-bench: cannot write %s\n", o.json);
        } else {
            fprintf(f, "{\n  \"device\": {\"name\": \"%s\", \"driver\": \"%s\", \"type\": \"%s\", \"profile\": \"%s\"},\n",
                    di->name, di->driver_info, vkq_device_type_name(di->type), profile);
            fprintf(f, "  \"date\": \"%s\",\n  \"seed\": %llu,\n  \"reps\": %d,\n  \"copy_gbps\": %.6g,\n  \"copy_kernel_gbps\": %.6g,\n"
                    "  \"copy_transfer_gbps\": %.6g,\n  \"rows\": [\n",
                    date, (unsigned long long)o.seed, o.reps, copy_gbps, copy_kernel_gbps, copy_transfer_gbps);
            for (uint32_t i = 0; i < n_rows; ++i) {
                row *r = &rows[i];
                fprintf(f, "    {\"type\": \"%s\", \"backend\": \"vulkan\", \"kernel\": \"%s\", \"m\": %llu, \"k\": %llu, "
                        "\"n\": %llu, ", r->type, r->kernel, (unsigned long long)r->s.m, (unsigned long long)r->s.k,
                        (unsigned long long)r->s.n);
                json_num(f, "bpw", r->bpw, ", ");
                json_num(f, "time_us", r->time_us, ", ");
                json_num(f, "gbps", r->gbps, ", ");
                json_num(f, "gflops", r->gflops, ", ");
                json_num(f, "pct_copy_bw", r->pct, ", ");
                json_num(f, "nmse_weights", NAN, ", ");
                json_num(f, "nmse_output", NAN, ", ");
                json_num(f, "nmse_kernel", r->nmse_kernel, ", ");
                json_num(f, "first_use_ms", r->first_use_ms, ", ");
                json_num(f, "cached_ms", r->cached_ms, ", ");
                fprintf(f, "\"status\": \"%s\"}%s\n", r->status, i + 1 < n_rows ? "," : "");
            }
            fprintf(f, "  ]\n}\n");
            fclose(f);
        }
    }
    free(rows);
    if (c.dev) ctx_close(&c);
    vkq_instance_destroy(inst);
    return 0;
}
