/* vkq_model on a 4-layer model written by gguf-py (tests/make_model_gguf.py): loaded all-GPU,
 * all-CPU, split, without a device, with a tiny budget and with injected allocation failures.
 * Every 2-D weight's vkq_model_matmul (and, in a mixture-of-experts model, every expert's
 * vkq_model_matmul_expert) is compared with the f64 reference of the CPU-decoded weights (fp32
 * paths within the type's bound, the CPU int8 path within 5e-4, both scaled by the case's
 * cancellation, tests/matmul_ref.h), and the runs with each other: a tensor's result is
 * bit-identical to the pure run of the place it landed in. Also demotion records, placement
 * accessors, concurrent calls, malformed files and bad arguments. VKQ_SEED replays.
 *
 * A mixture-of-experts model (3-D blk.N.ffn_*_exps) is also loaded with its experts kept on the
 * CPU by a rule (one of them host-visible) while the rest is on the GPU; the expert slices of the
 * test model start at byte offsets that are not multiples of 256 (nor of 16, the storage buffer
 * offset alignment of lavapipe), which the test checks it really covered.
 *
 * usage: test_model MODEL.gguf (tests/run_test_model.py writes it) */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_fixture.h"
#include "matmul_ref.h"
#include "test_util.h"
#include "core/error.h"
#include "core/types.h"
#include "vkquant/cpu.h"
#include "vkquant/model.h"

#define INT8_TOL 5e-4
#define MAX_T    256

typedef struct weight_case {
    const char *name;
    uint32_t expert; /* of a 3-D expert tensor */
    int is_expert;   /* 1: vkq_model_matmul_expert; 0: a 2-D weight, vkq_model_matmul */
    uint64_t offset; /* byte offset of the expert's slice in its tensor */
    vkq_type type;
    uint64_t m, k, n;
    const void *data; /* the weight bytes (the expert's slice) in the test's own mapping of the file */
    uint64_t nbytes;
    float *wf; /* decoded weights, m x k */
    float *x;  /* k x n */
    double *ref;
} weight_case;

static weight_case g_cases[MAX_T];
static uint32_t g_n_cases;
static const char *g_path;
static vkq_gguf g_file;
static uint32_t g_n_expert_tensors; /* 3-D tensors: the model is a mixture of experts */

/* Expert e of tensor t (e = 0 for a 2-D weight): its decoded weights, a random X and the f64
 * reference. */
static void add_case(const vkq_gguf_tensor *t, uint32_t e, uint64_t *rng)
{
    weight_case *c = &g_cases[g_n_cases++];
    c->name = strdup(t->name);
    c->expert = e;
    c->is_expert = t->n_dims == 3;
    c->type = t->type;
    c->nbytes = t->nbytes / (uint64_t)t->ne[2];
    c->offset = (uint64_t)e * c->nbytes;
    c->data = (const uint8_t *)t->data + c->offset;
    c->k = (uint64_t)t->ne[0];
    c->m = (uint64_t)t->ne[1];
    c->n = 1 + g_n_cases % 3; /* decode steps (n = 1) and small batches */
    c->wf = xmalloc(c->m * c->k * sizeof(float));
    CHECK_OK(vkq_decode_cpu(t->type, c->data, c->nbytes, c->wf, c->m * c->k));
    c->x = xmalloc(c->k * c->n * sizeof(float));
    for (uint64_t j = 0; j < c->k * c->n; ++j)
        c->x[j] = (float)((double)vkq_test_rand_below(rng, 1u << 24) / (1u << 23) - 1.0);
    c->ref = xmalloc(c->m * c->n * sizeof(double));
    matmul_ref_f64(c->wf, c->x, c->ref, c->m, c->k, c->n);
}

/* Every 2-D tensor and every expert of every 3-D tensor of the file. */
static int build_cases(uint64_t *rng)
{
    if (vkq_gguf_create(g_path, &g_file) != VKQ_SUCCESS) {
        fprintf(stderr, "cannot open %s: %s\n", g_path, vkq_last_error());
        return 1;
    }
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g_file); ++i) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g_file, i, &t);
        if (t.n_dims != 2 && t.n_dims != 3) continue;
        g_n_expert_tensors += t.n_dims == 3;
        for (int64_t e = 0; e < t.ne[2]; ++e) {
            if (g_n_cases == MAX_T) {
                fprintf(stderr, "more than %d weights in %s: raise MAX_T\n", MAX_T, g_path);
                return 1;
            }
            add_case(&t, (uint32_t)e, rng);
        }
    }
    return 0;
}

/* The call under test: by index or by name (alternating), vkq_model_matmul for 2-D weights,
 * vkq_model_matmul_expert for the experts. */
static vkq_status case_matmul(vkq_model m, const weight_case *c, int64_t idx, int by_name, float *y)
{
    if (c->is_expert)
        return by_name ? vkq_model_matmul_expert_named(m, c->name, c->expert, c->x, y, c->n)
                       : vkq_model_matmul_expert(m, idx, c->expert, c->x, y, c->n);
    return by_name ? vkq_model_matmul_named(m, c->name, c->x, y, c->n)
                   : vkq_model_matmul(m, idx, c->x, y, c->n);
}

/* "name" or "name[expert]", for messages. */
static const char *case_label(const weight_case *c)
{
    static _Thread_local char buf[160];
    if (!c->is_expert) return c->name;
    snprintf(buf, sizeof buf, "%s[%u]", c->name, c->expert);
    return buf;
}

/* The bound of one case at the place it ran: the type's fp32 bound on the GPU and on the CPU's
 * exact path, INT8_TOL on the CPU's int8 path. */
static double case_bound(const weight_case *c, vkq_place place)
{
    double tol = vkq_traits(c->type)->tol_matmul_f32;
    if (place == VKQ_PLACE_CPU && strncmp(vkq_cpu_matmul_path(c->type, 0), "int8", 4) == 0) tol = INT8_TOL;
    return matmul_nmse_bound(c->wf, c->x, c->ref, c->m, c->k, c->n, tol);
}

typedef struct run {
    const char *what;
    vkq_model model;
    float *y[MAX_T];
    vkq_place place[MAX_T];
} run;

/* Runs every case on the model and checks it against the reference. */
static void run_all(run *r)
{
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        int64_t idx = vkq_model_find_tensor(r->model, c->name);
        vkq_model_tensor t;
        CHECK(idx >= 0 && vkq_model_tensor_info(r->model, idx, &t) == VKQ_SUCCESS, "%s: %s missing", r->what,
              case_label(c));
        if (idx < 0) continue;
        r->place[i] = t.place;
        r->y[i] = xmalloc(c->m * c->n * sizeof(float));
        for (uint64_t j = 0; j < c->m * c->n; ++j)
            r->y[i][j] = NAN;
        vkq_status st = case_matmul(r->model, c, idx, i % 2 == 0, r->y[i]);
        CHECK(st == VKQ_SUCCESS, "%s: %s: %s (%s)", r->what, case_label(c), vkq_status_string(st),
              vkq_last_error());
        double e = matmul_nmse(r->y[i], c->m, c->ref, c->m, c->n);
        double b = case_bound(c, t.place);
        CHECK(e <= b, "%s: %s (%s, %s, m %" PRIu64 " k %" PRIu64 " n %" PRIu64 "): NMSE %.3g > bound %.3g",
              r->what, case_label(c), vkq_type_get(c->type)->name, vkq_place_name(t.place), c->m, c->k, c->n,
              e, b);
    }
}

static void free_run(run *r)
{
    for (uint32_t i = 0; i < g_n_cases; ++i)
        free(r->y[i]);
    vkq_model_destroy(r->model);
    r->model = NULL;
}

/* A tensor's result is bit-identical to the pure run of the place it landed in (both kernels
 * are deterministic), and the pure GPU and CPU runs agree within their two bounds. */
static void compare_runs(const run *r, const run *gpu, const run *cpu)
{
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        const run *same = r->place[i] == VKQ_PLACE_CPU ? cpu : gpu;
        if (!r->y[i] || !same->y[i]) continue;
        CHECK(memcmp(r->y[i], same->y[i], c->m * c->n * sizeof(float)) == 0,
              "%s: %s (%s) differs from the %s run", r->what, case_label(c), vkq_place_name(r->place[i]),
              same->what);
    }
}

static void compare_gpu_cpu(const run *gpu, const run *cpu)
{
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        if (!gpu->y[i] || !cpu->y[i]) continue;
        double *yc = xmalloc(c->m * c->n * sizeof(double));
        for (uint64_t j = 0; j < c->m * c->n; ++j)
            yc[j] = cpu->y[i][j];
        double e = matmul_nmse(gpu->y[i], c->m, yc, c->m, c->n);
        double b = sqrt(case_bound(c, VKQ_PLACE_GPU)) + sqrt(case_bound(c, VKQ_PLACE_CPU));
        CHECK(e <= b * b, "%s: gpu vs cpu NMSE %.3g > %.3g", case_label(c), e, b * b);
        free(yc);
    }
}

/* The pure runs really ran where their plan says: all-gpu results are bit-identical to
 * vkq_matmul on a buffer the test fills itself, all-cpu results to vkq_cpu_matmul. */
static void check_kernels_used(vkq_device dev, const run *gpu, const run *cpu)
{
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        const uint64_t yb = c->m * c->n * sizeof(float);
        float *y = xmalloc(yb);
        vkq_cpu_matmul_desc cd = {
            .type = c->type, .m = c->m, .k = c->k, .n = c->n, .w = c->data, .x = c->x, .y = y};
        CHECK_OK(vkq_cpu_matmul(&cd));
        CHECK(cpu->y[i] && memcmp(cpu->y[i], y, yb) == 0, "all-cpu: %s is not vkq_cpu_matmul's result",
              case_label(c));
        vkq_buffer w = NULL, x = NULL, yy = NULL;
        CHECK_OK(vkq_buffer_create(dev, c->nbytes, VKQ_MEMORY_DEVICE, c->nbytes / c->m, &w));
        CHECK_OK(vkq_buffer_create(dev, c->k * c->n * sizeof(float), VKQ_MEMORY_DEVICE, 0, &x));
        CHECK_OK(vkq_buffer_create(dev, yb, VKQ_MEMORY_DEVICE, 0, &yy));
        if (w && x && yy && gpu->place[i] != VKQ_PLACE_CPU) { /* token_embd stays on the cpu */
            CHECK_OK(vkq_buffer_upload(w, 0, c->data, c->nbytes));
            CHECK_OK(vkq_buffer_upload(x, 0, c->x, c->k * c->n * sizeof(float)));
            vkq_matmul_desc md = {.type = c->type, .m = c->m, .k = c->k, .n = c->n, .w = w, .x = x, .y = yy};
            CHECK_OK(vkq_matmul(dev, &md));
            CHECK_OK(vkq_buffer_download(yy, 0, y, yb));
            CHECK(gpu->y[i] && memcmp(gpu->y[i], y, yb) == 0, "all-gpu: %s is not vkq_matmul's result",
                  case_label(c));
        }
        vkq_buffer_destroy(w);
        vkq_buffer_destroy(x);
        vkq_buffer_destroy(yy);
        free(y);
    }
}

static int g_log_calls;
static void count_log(void *user, const char *msg)
{
    (void)user;
    ++g_log_calls;
    printf("  log: %s\n", msg);
}

static vkq_model load(vkq_device dev, const vkq_model_desc *d, const char *what)
{
    vkq_model m = NULL;
    vkq_status st = vkq_model_create(dev, g_path, d, &m);
    CHECK(st == VKQ_SUCCESS && m, "%s: vkq_model_create: %s: %s", what, vkq_status_string(st), vkq_last_error());
    if (m) {
        vkq_plan_totals t;
        vkq_plan_get_totals(vkq_model_plan(m), &t);
        printf("%s: %u of %u layers on the gpu, %" PRIu64 " gpu bytes, %" PRIu64 " host-visible, %" PRIu64
               " cpu, %u demotions\n",
               what, t.n_gpu_layers, t.n_layers, t.gpu_bytes, t.host_bytes, t.cpu_bytes,
               vkq_model_demotion_count(m));
    }
    return m;
}

/* Places of every tensor: layers >= first_gpu on `in_run`, others and token_embd on the CPU. */
static void check_places(vkq_model m, int32_t first_gpu, vkq_place head, const char *what)
{
    for (int64_t i = 0; i < vkq_model_tensor_count(m); ++i) {
        vkq_model_tensor t;
        CHECK_OK(vkq_model_tensor_info(m, i, &t));
        vkq_place want = VKQ_PLACE_CPU;
        if (t.layer >= 0)
            want = t.layer >= first_gpu ? VKQ_PLACE_GPU : VKQ_PLACE_CPU;
        else if (strncmp(t.name, "token_embd", 10) != 0)
            want = head;
        if (strstr(t.name, "blk.3.attn_q") && !strcmp(what, "split")) want = VKQ_PLACE_HOST_VISIBLE;
        CHECK(t.place == want, "%s: %s on %s, expected %s", what, t.name, vkq_place_name(t.place),
              vkq_place_name(want));
    }
}

typedef struct thread_arg {
    vkq_model model;
    float *y[MAX_T];
    int failures;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    for (int rep = 0; rep < 3; ++rep)
        for (uint32_t i = 0; i < g_n_cases; ++i)
            if (case_matmul(a->model, &g_cases[i], -1, 1, a->y[i]) != VKQ_SUCCESS) a->failures++;
    return NULL;
}

/* Two threads on the split model (GPU calls serialise, CPU calls overlap) get the same bits. */
static void concurrent_calls(const run *split)
{
    thread_arg a[2] = {{.model = split->model}, {.model = split->model}};
    for (int t = 0; t < 2; ++t)
        for (uint32_t i = 0; i < g_n_cases; ++i)
            a[t].y[i] = xmalloc(g_cases[i].m * g_cases[i].n * sizeof(float));
    pthread_t th[2];
    int started[2];
    for (int t = 0; t < 2; ++t)
        started[t] = pthread_create(&th[t], NULL, thread_main, &a[t]) == 0;
    for (int t = 0; t < 2; ++t)
        if (started[t]) pthread_join(th[t], NULL);
    for (int t = 0; t < 2; ++t) {
        CHECK(started[t] && a[t].failures == 0, "thread %d: %d failed calls", t, a[t].failures);
        for (uint32_t i = 0; i < g_n_cases; ++i) {
            CHECK(memcmp(a[t].y[i], split->y[i], g_cases[i].m * g_cases[i].n * sizeof(float)) == 0,
                  "thread %d: %s differs from the single-threaded result", t, case_label(&g_cases[i]));
            free(a[t].y[i]);
        }
    }
}

/* Tiny budget: -ngl asks for every layer, the budget holds only the last one and a half; the
 * loader demotes from layer 2 down and the results stay right. */
static void tiny_budget(vkq_device dev, const run *gpu, const run *cpu)
{
    vkq_plan_layer l2, l3;
    CHECK_OK(vkq_plan_layer_info(vkq_model_plan(gpu->model), 2, &l2));
    CHECK_OK(vkq_plan_layer_info(vkq_model_plan(gpu->model), 3, &l3));
    vkq_model_desc d = vkq_model_desc_default();
    d.n_gpu_layers = 4;
    d.vram_budget = l3.bytes + l2.bytes / 2;
    d.log = count_log;
    g_log_calls = 0;
    run r = {.what = "tiny budget", .model = load(dev, &d, "tiny budget")};
    if (!r.model) return;
    vkq_plan_totals t;
    vkq_plan_get_totals(vkq_model_plan(r.model), &t);
    vkq_model_demotion dm;
    CHECK(vkq_model_demotion_count(r.model) >= 1 && g_log_calls == (int)vkq_model_demotion_count(r.model),
          "tiny budget: %u demotions, %d log calls", vkq_model_demotion_count(r.model), g_log_calls);
    CHECK(vkq_model_demotion_info(r.model, 0, &dm) == VKQ_SUCCESS && dm.layer == 2 && dm.n_layers == 3 &&
              dm.reason == VKQ_ERROR_OUT_OF_DEVICE_MEMORY && strstr(dm.message, "budget"),
          "tiny budget: first demotion layer %d, %u layers: %s", (int)dm.layer, dm.n_layers, dm.message);
    CHECK(t.n_gpu_layers == 1 && t.first_gpu_layer == 3 && t.gpu_bytes <= d.vram_budget && !t.over_budget,
          "tiny budget: %u gpu layers from %d, %" PRIu64 " bytes of %" PRIu64, t.n_gpu_layers,
          (int)t.first_gpu_layer, t.gpu_bytes, d.vram_budget);
    for (uint32_t l = 0; l < 3; ++l) {
        vkq_plan_layer L;
        CHECK(vkq_plan_layer_info(vkq_model_plan(r.model), l, &L) == VKQ_SUCCESS && L.demoted && !L.on_gpu &&
                  L.gpu_bytes == 0,
              "tiny budget: layer %u not demoted", l);
    }
    run_all(&r);
    compare_runs(&r, gpu, cpu);
    free_run(&r);
}

/* Injected failures: allocation 12 is the third tensor of layer 2 (layer 3 has 9), so layer 3
 * stays, layers 2..0 are demoted, and the two head tensors (allocations 13, 14) fail alone. */
static void injected_failures(vkq_device dev, const run *gpu, const run *cpu)
{
    vkq_model_desc d = vkq_model_desc_default();
    vkq_model_debug_desc dbg = {0};
    d.vram_budget = 1ull << 30;
    dbg.fail_alloc_at = 12;
    d.debug = &dbg;
    d.log = count_log;
    g_log_calls = 0;
    run r = {.what = "injected failure", .model = load(dev, &d, "injected failure at 12")};
    if (!r.model) return;
    vkq_model_demotion dm[3];
    uint32_t nd = vkq_model_demotion_count(r.model);
    CHECK(nd == 3 && g_log_calls == 3, "injected: %u demotions, %d log calls (expected 3)", nd, g_log_calls);
    for (uint32_t i = 0; i < 3 && i < nd; ++i)
        CHECK_OK(vkq_model_demotion_info(r.model, i, &dm[i]));
    if (nd == 3) {
        CHECK(dm[0].layer == 2 && dm[0].n_layers == 3 && strstr(dm[0].tensor, "blk.2.") &&
                  strstr(dm[0].message, "injected"),
              "injected: first demotion %s layer %d n %u", dm[0].tensor, (int)dm[0].layer, dm[0].n_layers);
        CHECK(dm[1].layer == -1 && !strcmp(dm[1].tensor, "output_norm.weight") && dm[2].layer == -1 &&
                  !strcmp(dm[2].tensor, "output.weight"),
              "injected: head demotions %s, %s", dm[1].tensor, dm[2].tensor);
    }
    vkq_plan_totals t;
    vkq_plan_get_totals(vkq_model_plan(r.model), &t);
    CHECK(t.n_gpu_layers == 1 && t.first_gpu_layer == 3, "injected: run of %u from %d", t.n_gpu_layers,
          (int)t.first_gpu_layer);
    run_all(&r);
    compare_runs(&r, gpu, cpu);
    free_run(&r);

    /* The environment hook: the very first allocation fails, so nothing stays on the GPU. */
    setenv("VKQ_MODEL_FAIL_ALLOC", "1", 1);
    dbg.fail_alloc_at = 0;
    d.debug = &dbg;
    d.log = NULL;
    run e = {.what = "env failure", .model = load(dev, &d, "VKQ_MODEL_FAIL_ALLOC=1")};
    unsetenv("VKQ_MODEL_FAIL_ALLOC");
    if (!e.model) return;
    vkq_plan_get_totals(vkq_model_plan(e.model), &t);
    CHECK(t.gpu_bytes == 0 && t.host_bytes == 0 && vkq_model_demotion_count(e.model) == 3,
          "env failure: %" PRIu64 " gpu bytes, %u demotions", t.gpu_bytes, vkq_model_demotion_count(e.model));
    run_all(&e);
    compare_runs(&e, gpu, cpu);
    free_run(&e);

    /* A tensor a rule put on the GPU inside a CPU layer is demoted alone. */
    const char *rule[] = {"blk\\.1\\.attn_q=gpu"};
    d = vkq_model_desc_default();
    d.n_gpu_layers = 0;
    d.vram_budget = 1ull << 30;
    d.overrides = rule;
    d.n_overrides = 1;
    dbg.fail_alloc_at = 1;
    d.debug = &dbg;
    run q = {.what = "rule tensor failure", .model = load(dev, &d, "rule tensor, injected failure")};
    if (!q.model) return;
    vkq_model_demotion dq;
    CHECK(vkq_model_demotion_count(q.model) == 1 && vkq_model_demotion_info(q.model, 0, &dq) == VKQ_SUCCESS &&
              !strcmp(dq.tensor, "blk.1.attn_q.weight") && dq.layer == 1 && dq.n_layers == 0 &&
              strstr(dq.message, "tensor"),
          "rule tensor demotion: %u demotions", vkq_model_demotion_count(q.model));
    vkq_plan_get_totals(vkq_model_plan(q.model), &t);
    CHECK(t.gpu_bytes == 0 && t.cpu_bytes == t.total_bytes && t.n_demoted == 1,
          "rule tensor: %" PRIu64 " gpu bytes", t.gpu_bytes);
    run_all(&q);
    compare_runs(&q, gpu, cpu);
    free_run(&q);
}

static void bad_input(vkq_device dev, const run *split)
{
    vkq_model m = (vkq_model)1;
    /* A truncated copy of the model. */
    FILE *in = fopen(g_path, "rb");
    char tpath[] = "/tmp/vkq-model-truncated-XXXXXX";
    int fd = mkstemp(tpath);
    if (in && fd >= 0) {
        FILE *out = fdopen(fd, "wb");
        fseek(in, 0, SEEK_END);
        long size = ftell(in);
        rewind(in);
        char *buf = xmalloc((size_t)size);
        size_t got = fread(buf, 1, (size_t)size, in);
        fwrite(buf, 1, got / 2, out);
        fclose(out);
        free(buf);
        vkq_error_clear();
        vkq_status st = vkq_model_create(dev, tpath, NULL, &m);
        CHECK(st == VKQ_ERROR_MALFORMED && m == NULL && vkq_last_error()[0], "truncated file: %s, \"%s\"",
              vkq_status_string(st), vkq_last_error());
        printf("truncated file: %s\n", vkq_last_error());
        remove(tpath);
    }
    if (in) fclose(in);
    m = (vkq_model)1;
    vkq_error_clear();
    vkq_status st = vkq_model_create(dev, "/nonexistent/model.gguf", NULL, &m);
    CHECK(st == VKQ_ERROR_IO && m == NULL && vkq_last_error()[0], "missing file: %s", vkq_status_string(st));
    const char *bad_rule[] = {"ffn_up=vram"};
    vkq_model_desc d = vkq_model_desc_default();
    d.overrides = bad_rule;
    d.n_overrides = 1;
    st = vkq_model_create(dev, g_path, &d, &m);
    CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && m == NULL && strstr(vkq_last_error(), "vram"), "bad rule: %s \"%s\"",
          vkq_status_string(st), vkq_last_error());
    setenv("VKQ_VRAM_BUDGET", "plenty", 1);
    st = vkq_model_create(dev, g_path, NULL, &m);
    unsetenv("VKQ_VRAM_BUDGET");
    CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && m == NULL && strstr(vkq_last_error(), "plenty"),
          "bad VKQ_VRAM_BUDGET: %s \"%s\"", vkq_status_string(st), vkq_last_error());
    CHECK(vkq_model_create(dev, g_path, NULL, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL out");

    /* Bad matmul arguments on a loaded model. */
    float x[1024] = {0}, y[1024];
    vkq_model s = split->model;
    st = vkq_model_matmul_named(s, "blk.0.attn_norm.weight", x, y, 1);
    CHECK(st == VKQ_ERROR_BAD_SHAPE && strstr(vkq_last_error(), "attn_norm"), "1-D tensor: %s (%s)",
          vkq_status_string(st), vkq_last_error());
    CHECK(vkq_model_matmul_named(s, "no.such.tensor", x, y, 1) == VKQ_ERROR_INVALID_ARGUMENT &&
              strstr(vkq_last_error(), "no.such.tensor"),
          "unknown name");
    CHECK(vkq_model_matmul(s, -1, x, y, 1) == VKQ_ERROR_INVALID_ARGUMENT, "index -1");
    CHECK(vkq_model_matmul(s, vkq_model_tensor_count(s), x, y, 1) == VKQ_ERROR_INVALID_ARGUMENT,
          "index = count");
    CHECK(vkq_model_matmul(s, 1, x, y, 0) == VKQ_ERROR_INVALID_ARGUMENT, "n = 0");
    CHECK(vkq_model_matmul(s, 1, NULL, y, 1) == VKQ_ERROR_INVALID_ARGUMENT, "NULL x");
    CHECK(vkq_model_matmul(NULL, 1, x, y, 1) == VKQ_ERROR_INVALID_ARGUMENT, "NULL model");
    vkq_model_tensor t;
    CHECK(vkq_model_tensor_info(s, -1, &t) == VKQ_ERROR_INVALID_ARGUMENT, "tensor_info -1");
    vkq_model_destroy(NULL);
}

/* ---- mixture of experts ---------------------------------------------------------------- */

/* Experts kept on the CPU by the usual MoE rule while everything else of all 4 layers is on the
 * GPU; one expert tensor host-visible by an earlier rule (the first matching rule wins). */
static void experts_on_cpu(vkq_device dev, const run *gpu, const run *cpu)
{
    const char *rules[] = {"blk\\.3\\.ffn_up_exps=host", "ffn_.*_exps=cpu"};
    vkq_model_desc d = vkq_model_desc_default();
    d.vram_budget = 1ull << 30;
    d.n_gpu_layers = 4;
    d.overrides = rules;
    d.n_overrides = 2;
    run r = {.what = "experts on cpu", .model = load(dev, &d, "experts on cpu")};
    if (!r.model) return;
    uint32_t n_cpu = 0, n_host = 0;
    for (int64_t i = 0; i < vkq_model_tensor_count(r.model); ++i) {
        vkq_model_tensor t;
        CHECK_OK(vkq_model_tensor_info(r.model, i, &t));
        vkq_place want = strncmp(t.name, "token_embd", 10) ? VKQ_PLACE_GPU : VKQ_PLACE_CPU;
        if (strstr(t.name, "_exps")) want = VKQ_PLACE_CPU;
        if (!strcmp(t.name, "blk.3.ffn_up_exps.weight")) want = VKQ_PLACE_HOST_VISIBLE;
        CHECK(t.place == want, "experts on cpu: %s on %s, expected %s", t.name, vkq_place_name(t.place),
              vkq_place_name(want));
        n_cpu += t.place == VKQ_PLACE_CPU && t.n_dims == 3;
        n_host += t.place == VKQ_PLACE_HOST_VISIBLE && t.n_dims == 3;
    }
    CHECK(n_cpu == g_n_expert_tensors - 1 && n_host == 1,
          "experts on cpu: %u expert tensors on the cpu, %u host", n_cpu, n_host);
    run_all(&r);
    compare_runs(&r, gpu, cpu);
    free_run(&r);
}

/* The run covered what MoE files need: expert slices on the GPU whose byte offset is not a
 * multiple of 256 (a common minStorageBufferOffsetAlignment) nor of the device's own alignment. */
static void check_offsets_covered(vkq_device dev, const run *gpu)
{
    const uint64_t align = vkq_device_get_info(dev)->min_storage_buffer_offset_alignment;
    uint32_t n_experts = 0, off256 = 0, off_dev = 0;
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        if (!c->is_expert || gpu->place[i] == VKQ_PLACE_CPU) continue;
        ++n_experts;
        off256 += c->offset % 256 != 0;
        off_dev += align > 1 && c->offset % align != 0;
    }
    printf("experts: %u tensors, %u expert matrices on the gpu; %u start off a 256-byte boundary, %u off the "
           "device's %" PRIu64 "-byte storage offset alignment\n",
           g_n_expert_tensors, n_experts, off256, off_dev, align);
    CHECK(n_experts > 0 && off256 > 0 && (align <= 1 || off_dev > 0),
          "no expert at an unaligned offset was run (%u of %u off 256, %u off %" PRIu64 ")", off256,
          n_experts, off_dev, align);
    /* Under VKQ_MAX_ALLOCATION a tensor is cut into segments of as many whole rows as fit
     * (src/buffer.c): some expert slices must then straddle two allocations. */
    const char *cap_env = getenv("VKQ_MAX_ALLOCATION");
    if (!cap_env) return;
    const uint64_t cap = strtoull(cap_env, NULL, 10);
    uint32_t straddle = 0;
    for (uint32_t i = 0; cap && i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        const uint64_t seg = cap - cap % (c->nbytes / c->m);
        if (c->is_expert && gpu->place[i] != VKQ_PLACE_CPU &&
            c->offset / seg != (c->offset + c->nbytes - 1) / seg)
            ++straddle;
    }
    printf("experts: %u expert matrices straddle two %s-byte allocations\n", straddle, cap_env);
    CHECK(straddle > 0, "VKQ_MAX_ALLOCATION=%s: no expert straddles two allocations", cap_env);
    /* ... and VKQ_MAX_BINDING is meant to be smaller than an expert: one call, several bindings */
    const char *bind_env = getenv("VKQ_MAX_BINDING");
    uint32_t wider = 0;
    for (uint32_t i = 0; bind_env && i < g_n_cases; ++i)
        wider += g_cases[i].is_expert && g_cases[i].nbytes > strtoull(bind_env, NULL, 10);
    CHECK(!bind_env || wider > 0, "VKQ_MAX_BINDING=%s: no expert is larger than a binding", bind_env);
}

/* Expert numbers and shapes the call must refuse with a sentence, on each place. */
static void expert_errors(vkq_model m, const char *what)
{
    float x[1024] = {0}, y[1024];
    for (int64_t i = 0; i < vkq_model_tensor_count(m); ++i) {
        vkq_model_tensor t;
        CHECK_OK(vkq_model_tensor_info(m, i, &t));
        const char *err = vkq_last_error();
        vkq_status st;
        char want[64];
        if (t.n_dims == 3) {
            snprintf(want, sizeof want, "expert %lld out of range (%lld experts", (long long)t.ne[2],
                     (long long)t.ne[2]);
            st = vkq_model_matmul_expert(m, i, (uint32_t)t.ne[2], x, y, 1);
            CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && strstr(err, t.name) && strstr(err, want),
                  "%s: %s expert %lld: %s \"%s\"", what, t.name, (long long)t.ne[2], vkq_status_string(st),
                  err);
            st = vkq_model_matmul_expert_named(m, t.name, UINT32_MAX, x, y, 1);
            CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && strstr(err, "4294967295"),
                  "%s: %s expert 2^32-1: %s \"%s\"", what, t.name, vkq_status_string(st), err);
            st = vkq_model_matmul(m, i, x, y, 1);
            CHECK(st == VKQ_ERROR_BAD_SHAPE && strstr(err, t.name) && strstr(err, "vkq_model_matmul_expert"),
                  "%s: vkq_model_matmul on 3-D %s: %s \"%s\"", what, t.name, vkq_status_string(st), err);
        } else if (t.n_dims == 2) {
            st = vkq_model_matmul_expert(m, i, 1, x, y, 1);
            CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && strstr(err, t.name) && strstr(err, "expert must be 0"),
                  "%s: expert 1 of 2-D %s: %s \"%s\"", what, t.name, vkq_status_string(st), err);
        } else {
            st = vkq_model_matmul_expert(m, i, 0, x, y, 1);
            CHECK(st == VKQ_ERROR_BAD_SHAPE && strstr(err, t.name), "%s: %u-D %s: %s \"%s\"", what, t.n_dims,
                  t.name, vkq_status_string(st), err);
            st = vkq_model_matmul(m, i, x, y, 1);
            CHECK(st == VKQ_ERROR_BAD_SHAPE && strstr(err, t.name), "%s: %u-D %s: %s \"%s\"", what, t.n_dims,
                  t.name, vkq_status_string(st), err);
        }
    }
    CHECK(vkq_model_matmul_expert(NULL, 0, 0, x, y, 1) == VKQ_ERROR_INVALID_ARGUMENT, "NULL model");
    CHECK(vkq_model_matmul_expert_named(m, "no.such_exps", 0, x, y, 1) == VKQ_ERROR_INVALID_ARGUMENT &&
              strstr(vkq_last_error(), "no.such_exps"),
          "unknown name");
    CHECK(vkq_model_matmul_expert(m, 1, 0, x, y, 0) == VKQ_ERROR_INVALID_ARGUMENT, "n = 0");
}

/* Expert 0 of a 2-D weight is that weight: the same bits as vkq_model_matmul. */
static void expert_zero_of_2d(const run *r)
{
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        const weight_case *c = &g_cases[i];
        if (c->is_expert || !r->y[i]) continue;
        float *y = xmalloc(c->m * c->n * sizeof(float));
        CHECK_OK(vkq_model_matmul_expert_named(r->model, c->name, 0, c->x, y, c->n));
        CHECK(memcmp(y, r->y[i], c->m * c->n * sizeof(float)) == 0, "%s: %s expert 0 differs", r->what,
              c->name);
        free(y);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_model MODEL.gguf\n");
        return 2;
    }
    g_path = argv[1];
    uint64_t seed = vkq_test_seed();
    printf("test_model: seed %" PRIu64 " (VKQ_SEED to replay), model %s%s\n", seed, g_path,
           getenv("VKQ_FORCE_STAGING") ? ", every transfer through the staging buffer" : "");
    uint64_t rng = seed;
    if (build_cases(&rng)) return 1;
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL)) return 1;
    unsetenv("VKQ_VRAM_BUDGET");

    /* The device's own budget: available (VK_EXT_memory_budget or the heap) minus the reserve. */
    vkq_vram_budget vb;
    CHECK_OK(vkq_vram_budget_get(f.dev, 0, 0, &vb));
    printf("device budget: %" PRIu64 " = %" PRIu64 " available - %" PRIu64 " reserve (%s)\n", vb.budget,
           vb.available, vb.reserve, vkq_budget_source_name(vb.source));
    CHECK((vb.source == VKQ_BUDGET_MEMORY_EXT) == (vkq_device_get_info(f.dev)->has_memory_budget != 0) &&
              vb.available > 0 && vb.reserve == vkq_vram_default_reserve(vb.available) &&
              vb.budget == vb.available - vb.reserve,
          "device budget %" PRIu64 " from %s", vb.budget, vkq_budget_source_name(vb.source));
    CHECK_OK(vkq_vram_budget_get(f.dev, 0, 1000, &vb));
    CHECK(vb.reserve == 1000 && vb.budget == vb.available - 1000, "explicit reserve: %" PRIu64, vb.reserve);

    vkq_model_desc d = vkq_model_desc_default();
    d.vram_budget = 1ull << 30;
    run gpu = {.what = "all-gpu", .model = load(f.dev, &d, "all-gpu")};
    d.n_gpu_layers = 0;
    run cpu = {.what = "all-cpu", .model = load(f.dev, &d, "all-cpu")};
    const char *host_rule[] = {"blk\\.3\\.attn_q=host"};
    d.n_gpu_layers = 2;
    d.overrides = host_rule;
    d.n_overrides = 1;
    run split = {.what = "split", .model = load(f.dev, &d, "split")};
    run nodev = {.what = "no device", .model = load(NULL, NULL, "no device")};
    if (gpu.model && cpu.model && split.model && nodev.model) {
        check_places(gpu.model, 0, VKQ_PLACE_GPU, "all-gpu");
        check_places(cpu.model, 4, VKQ_PLACE_CPU, "all-cpu");
        check_places(split.model, 2, VKQ_PLACE_GPU, "split");
        check_places(nodev.model, 4, VKQ_PLACE_CPU, "no device");
        vkq_plan_print(vkq_model_plan(split.model), stdout);
        run_all(&gpu);
        run_all(&cpu);
        run_all(&split);
        run_all(&nodev);
        compare_gpu_cpu(&gpu, &cpu);
        check_kernels_used(f.dev, &gpu, &cpu);
        compare_runs(&split, &gpu, &cpu);
        compare_runs(&nodev, &gpu, &cpu);
        concurrent_calls(&split);
        tiny_budget(f.dev, &gpu, &cpu);
        injected_failures(f.dev, &gpu, &cpu);
        bad_input(f.dev, &split);
        expert_zero_of_2d(&split);
        expert_errors(gpu.model, "all-gpu");
        expert_errors(cpu.model, "all-cpu");
        if (g_n_expert_tensors) {
            check_offsets_covered(f.dev, &gpu);
            experts_on_cpu(f.dev, &gpu, &cpu);
        }
    }
    free_run(&gpu);
    free_run(&cpu);
    free_run(&split);
    free_run(&nodev);
    gpu_fixture_close(&f);
    for (uint32_t i = 0; i < g_n_cases; ++i) {
        free((void *)g_cases[i].name);
        free(g_cases[i].wf);
        free(g_cases[i].x);
        free(g_cases[i].ref);
    }
    vkq_gguf_destroy(g_file);
    return test_summary("test_model");
}
