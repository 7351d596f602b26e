/* Placement plan and VRAM budget logic, no device: auto layer count against the budget (the
 * last layers, contiguous), -ngl, override rules, the head and token embedding, demotion,
 * printing, size and VKQ_VRAM_BUDGET parsing. Layer sizes are random (seed printed, VKQ_SEED
 * replays). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_fixture.h" /* CHECK, test_summary */
#include "core/error.h"
#include "model/placement.h"
#include "test_util.h"
#include "vkquant/model.h"

#define MAX_T 512

/* A llama-like list: token_embd, per layer a norm + attn + 2 expert tensors, then the head. */
typedef struct model_list {
    vkq_plan_tensor t[MAX_T];
    char names[MAX_T][64];
    uint32_t n, n_layers;
    uint64_t layer_bytes[64];      /* every tensor of the layer */
    uint64_t layer_exps_bytes[64]; /* the ffn_*_exps tensors */
    uint64_t head_bytes, embd_bytes;
} model_list;

static void add(model_list *m, const char *name, uint64_t bytes, uint32_t n_dims)
{
    uint32_t i = m->n++;
    snprintf(m->names[i], sizeof m->names[i], "%s", name);
    m->t[i] = (vkq_plan_tensor){
        .name = m->names[i], .type = VKQ_TYPE_Q4_0, .n_dims = n_dims, .ne = {32, 1, 1, 1}, .nbytes = bytes};
}

static void make_list(model_list *m, uint32_t n_layers, uint64_t *rng)
{
    memset(m, 0, sizeof *m);
    m->n_layers = n_layers;
    m->embd_bytes = 5000 + vkq_test_rand_below(rng, 1000);
    add(m, "token_embd.weight", m->embd_bytes, 2);
    char name[64];
    for (uint32_t l = 0; l < n_layers; ++l) {
        uint64_t norm = 64, attn = 1000 + vkq_test_rand_below(rng, 2000);
        uint64_t up = 3000 + vkq_test_rand_below(rng, 3000), down = 3000 + vkq_test_rand_below(rng, 3000);
        snprintf(name, sizeof name, "blk.%u.attn_norm.weight", l);
        add(m, name, norm, 1);
        snprintf(name, sizeof name, "blk.%u.attn_q.weight", l);
        add(m, name, attn, 2);
        snprintf(name, sizeof name, "blk.%u.ffn_up_exps.weight", l);
        add(m, name, up, 3);
        snprintf(name, sizeof name, "blk.%u.ffn_down_exps.weight", l);
        add(m, name, down, 3);
        m->layer_bytes[l] = norm + attn + up + down;
        m->layer_exps_bytes[l] = up + down;
    }
    uint64_t out = 800 + vkq_test_rand_below(rng, 400);
    add(m, "output_norm.weight", 64, 1);
    add(m, "output.weight", out, 2);
    m->head_bytes = 64 + out;
}

static vkq_plan plan(const model_list *m, uint64_t budget, int32_t ngl, const char *const *rules,
                      uint32_t n_rules)
{
    vkq_plan_options o = {.budget = budget, .n_gpu_layers = ngl, .overrides = rules, .n_overrides = n_rules};
    vkq_plan p = NULL;
    vkq_status st = vkq_plan_create(m->t, m->n, &o, &p);
    CHECK(st == VKQ_SUCCESS && p, "vkq_plan_create: %s %s", vkq_status_string(st), vkq_last_error());
    return p;
}

/* The GPU run is exactly layers [n_layers - run, n_layers) and every tensor agrees. */
static void check_run(vkq_plan p, const model_list *m, uint32_t run, const char *what)
{
    vkq_plan_totals t;
    vkq_plan_get_totals(p, &t);
    CHECK(t.n_gpu_layers == run, "%s: %u GPU layers, expected %u", what, t.n_gpu_layers, run);
    CHECK(t.first_gpu_layer == (int32_t)(m->n_layers - run), "%s: first GPU layer %d, expected %u", what,
          (int)t.first_gpu_layer, m->n_layers - run);
    for (uint32_t l = 0; l < m->n_layers; ++l) {
        vkq_plan_layer L;
        CHECK_OK(vkq_plan_layer_info(p, l, &L));
        CHECK(L.on_gpu == (l >= m->n_layers - run), "%s: layer %u on_gpu %d", what, l, L.on_gpu);
        CHECK(L.bytes == m->layer_bytes[l], "%s: layer %u bytes %" PRIu64 " != %" PRIu64, what, l, L.bytes,
              m->layer_bytes[l]);
    }
    for (uint32_t i = 0; i < m->n; ++i) {
        int32_t l = vkq_plan_tensor_layer(p, i);
        vkq_place pl = vkq_plan_tensor_place(p, i);
        if (l >= 0 && vkq_plan_tensor_rule(p, i) < 0)
            CHECK((pl == VKQ_PLACE_GPU) == (l >= (int32_t)(m->n_layers - run)), "%s: %s in %s", what,
                  m->names[i], vkq_place_name(pl));
        if (!strcmp(m->names[i], "token_embd.weight"))
            CHECK(pl == VKQ_PLACE_CPU, "%s: token_embd on %s", what, vkq_place_name(pl));
    }
}

static void auto_fits_last_layers(uint64_t *rng)
{
    model_list m;
    make_list(&m, 2 + vkq_test_rand_below(rng, 30), rng);
    for (uint32_t k = 0; k <= m.n_layers; ++k) {
        /* Budget for exactly the last k layers, plus slack smaller than the next layer. */
        uint64_t b = 0;
        for (uint32_t l = m.n_layers - k; l < m.n_layers; ++l)
            b += m.layer_bytes[l];
        uint64_t next = k < m.n_layers ? m.layer_bytes[m.n_layers - 1 - k] : 1000;
        uint64_t slack = vkq_test_rand_below(rng, (uint32_t)next);
        vkq_plan p = plan(&m, b + slack, VKQ_GPU_LAYERS_AUTO, NULL, 0);
        if (!p) return;
        char what[64];
        snprintf(what, sizeof what, "auto, budget for %u layers", k);
        check_run(p, &m, k, what);
        vkq_plan_totals t;
        vkq_plan_get_totals(p, &t);
        CHECK(t.gpu_bytes <= t.budget && !t.over_budget, "%s: %" PRIu64 " > %" PRIu64, what, t.gpu_bytes,
              t.budget);
        /* The head goes to the GPU exactly when a layer does and it fits in the slack. */
        int head_gpu = vkq_plan_tensor_place(p, m.n - 1) == VKQ_PLACE_GPU;
        uint64_t out_bytes = m.head_bytes - 64;
        int64_t left = (int64_t)slack - (k > 0 ? 64 : 0); /* output_norm comes first */
        CHECK(head_gpu == (k > 0 && left >= (int64_t)out_bytes),
              "%s: output.weight on %s (slack %" PRIu64 ")", what, head_gpu ? "gpu" : "cpu", slack);
        CHECK(t.total_bytes == t.gpu_bytes + t.cpu_bytes + t.host_bytes, "%s: totals do not add up", what);
        vkq_plan_destroy(p);
    }
    /* Budget 0 or smaller than the last layer: everything on the CPU. */
    vkq_plan p = plan(&m, m.layer_bytes[m.n_layers - 1] - 1, VKQ_GPU_LAYERS_AUTO, NULL, 0);
    if (!p) return;
    vkq_plan_totals t;
    vkq_plan_get_totals(p, &t);
    CHECK(t.gpu_bytes == 0 && t.n_gpu_layers == 0 && t.cpu_bytes == t.total_bytes,
          "budget too small: %" PRIu64 " bytes on the GPU", t.gpu_bytes);
    vkq_plan_destroy(p);
}

static void explicit_gpu_layers(uint64_t *rng)
{
    model_list m;
    make_list(&m, 6, rng);
    for (int32_t ngl = 0; ngl <= 8; ++ngl) {
        vkq_plan p = plan(&m, 1000, ngl, NULL, 0); /* far too small a budget: -ngl still wins */
        if (!p) return;
        char what[64];
        snprintf(what, sizeof what, "-ngl %d", ngl);
        check_run(p, &m, (uint32_t)(ngl < 6 ? ngl : 6), what);
        vkq_plan_totals t;
        vkq_plan_get_totals(p, &t);
        CHECK(t.requested_gpu_layers == ngl, "%s: requested %d", what, (int)t.requested_gpu_layers);
        CHECK(t.over_budget == (ngl > 0), "%s: over_budget %d", what, t.over_budget);
        vkq_plan_destroy(p);
    }
    /* cpu_only (no device) overrides both -ngl and rules. */
    const char *rule[] = {"attn_q=gpu"};
    vkq_plan_options o = {
        .budget = 1u << 30, .n_gpu_layers = 6, .overrides = rule, .n_overrides = 1, .cpu_only = 1};
    vkq_plan p = NULL;
    CHECK_OK(vkq_plan_create(m.t, m.n, &o, &p));
    vkq_plan_totals t;
    vkq_plan_get_totals(p, &t);
    CHECK(t.cpu_bytes == t.total_bytes && t.n_gpu_layers == 0, "cpu_only: %" PRIu64 " bytes off the CPU",
          t.total_bytes - t.cpu_bytes);
    vkq_plan_destroy(p);
}

static void override_rules(uint64_t *rng)
{
    model_list m;
    make_list(&m, 8, rng);
    /* Budget for 2 whole layers: keeping the experts on the CPU must let more layers fit. */
    uint64_t b = m.layer_bytes[7] + m.layer_bytes[6];
    const char *exps[] = {"ffn_.*_exps=cpu"};
    vkq_plan p = plan(&m, b, VKQ_GPU_LAYERS_AUTO, exps, 1);
    if (!p) return;
    uint32_t expect = 0;
    uint64_t used = 0;
    while (expect < 8 && used + (m.layer_bytes[7 - expect] - m.layer_exps_bytes[7 - expect]) <= b)
        used += m.layer_bytes[7 - expect] - m.layer_exps_bytes[7 - expect], ++expect;
    vkq_plan_totals t;
    vkq_plan_get_totals(p, &t);
    CHECK(expect > 2 && t.n_gpu_layers == expect, "experts on cpu: %u GPU layers, expected %u (> 2)",
          t.n_gpu_layers, expect);
    for (uint32_t i = 0; i < m.n; ++i)
        if (strstr(m.names[i], "_exps"))
            CHECK(vkq_plan_tensor_place(p, i) == VKQ_PLACE_CPU && vkq_plan_tensor_rule(p, i) == 0,
                  "%s not kept on the cpu by the rule", m.names[i]);
    vkq_plan_destroy(p);

    /* A =gpu rule on a CPU layer is taken from the budget first; the first matching rule wins;
     * =host tensors are not counted against the budget. */
    const char *rules[] = {"blk\\.0\\.attn_q=gpu", "attn_q=cpu", "^blk\\.1\\.ffn_up_exps=host"};
    uint64_t q0 = m.t[2].nbytes; /* blk.0.attn_q */
    p = plan(&m, m.layer_bytes[7] + q0, VKQ_GPU_LAYERS_AUTO, rules, 3);
    if (!p) return;
    vkq_plan_get_totals(p, &t);
    CHECK(vkq_plan_tensor_place(p, 2) == VKQ_PLACE_GPU && vkq_plan_tensor_rule(p, 2) == 0,
          "blk.0.attn_q: %s by rule %d", vkq_place_name(vkq_plan_tensor_place(p, 2)),
          (int)vkq_plan_tensor_rule(p, 2));
    uint64_t host = 0;
    for (uint32_t i = 0; i < m.n; ++i) {
        if (strstr(m.names[i], "attn_q") && strncmp(m.names[i], "blk.0.", 6) != 0)
            CHECK(vkq_plan_tensor_place(p, i) == VKQ_PLACE_CPU && vkq_plan_tensor_rule(p, i) == 1,
                  "%s should be kept on the cpu by rule 2", m.names[i]);
        if (!strcmp(m.names[i], "blk.1.ffn_up_exps.weight")) {
            CHECK(vkq_plan_tensor_place(p, i) == VKQ_PLACE_HOST_VISIBLE, "host rule not applied");
            host = m.t[i].nbytes;
        }
    }
    CHECK(t.host_bytes == host && host > 0, "host bytes %" PRIu64 " != %" PRIu64, t.host_bytes, host);
    /* Layer 7 without its attn_q fits after the forced tensor; layer 6 does not. */
    CHECK(t.n_gpu_layers >= 1 && t.gpu_bytes <= t.budget, "rules: %u layers, %" PRIu64 " of %" PRIu64,
          t.n_gpu_layers, t.gpu_bytes, t.budget);
    vkq_plan_destroy(p);

    /* Bad rules and bad lists are refused with a message. */
    const char *bad[][1] = {{"no_equals"}, {"=gpu"}, {"x=vram"}, {"(unclosed=cpu"}};
    for (size_t r = 0; r < sizeof bad / sizeof bad[0]; ++r) {
        vkq_plan_options o = {.budget = 1, .n_gpu_layers = -1, .overrides = bad[r], .n_overrides = 1};
        vkq_plan q = (vkq_plan)1;
        vkq_status st = vkq_plan_create(m.t, m.n, &o, &q);
        CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && q == NULL && strstr(vkq_last_error(), bad[r][0]),
              "rule \"%s\": %s, message \"%s\"", bad[r][0], vkq_status_string(st), vkq_last_error());
    }
    model_list dup = m;
    dup.t[3].name = dup.names[2];
    vkq_plan_options o = {.budget = 1, .n_gpu_layers = -1};
    vkq_plan q = NULL;
    CHECK(vkq_plan_create(dup.t, dup.n, &o, &q) == VKQ_ERROR_INVALID_ARGUMENT &&
              strstr(vkq_last_error(), "listed twice"),
          "duplicate name accepted: %s", vkq_last_error());
    CHECK(vkq_plan_create(m.t, m.n, NULL, &q) == VKQ_ERROR_INVALID_ARGUMENT, "NULL options");
}

static void demotion_and_print(uint64_t *rng)
{
    model_list m;
    make_list(&m, 5, rng);
    vkq_plan p = plan(&m, 1ull << 40, VKQ_GPU_LAYERS_AUTO, NULL, 0);
    if (!p) return;
    check_run(p, &m, 5, "all layers");
    uint32_t n_layers = 0;
    uint64_t moved = vkq_plan_demote_layers_upto(p, 2, &n_layers);
    CHECK(n_layers == 3 && moved == m.layer_bytes[0] + m.layer_bytes[1] + m.layer_bytes[2],
          "demote up to layer 2: %u layers, %" PRIu64 " bytes", n_layers, moved);
    check_run(p, &m, 2, "after demotion");
    vkq_plan_totals t;
    vkq_plan_get_totals(p, &t);
    CHECK(t.n_demoted == 12, "%u tensors demoted, expected 12", t.n_demoted);
    FILE *f = tmpfile();
    if (f) {
        vkq_plan_print(p, f);
        rewind(f);
        char buf[16384];
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        buf[len] = '\0';
        fclose(f);
        CHECK(strstr(buf, "gpu layers: 2") && strstr(buf, "blk.3..blk.4") && strstr(buf, "demoted") &&
                  strstr(buf, "token_embd.weight"),
              "plan print lacks the run or demotions:\n%s", buf);
    }
    vkq_plan_destroy(p);
}

static void sizes_and_budget(void)
{
    static const struct {
        const char *s;
        uint64_t v;
    } good[] = {
        {"0", 0},
        {"1234", 1234},
        {"512M", 512ull << 20},
        {"6G", 6ull << 30},
        {"1.5GiB", 3ull << 29},
        {"2k", 2048},
        {"1T", 1ull << 40},
        {"100B", 100},
        {"7MB", 7ull << 20},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
        uint64_t v = 1;
        vkq_status st = vkq_size_parse(good[i].s, &v);
        CHECK(st == VKQ_SUCCESS && v == good[i].v, "\"%s\" -> %s %" PRIu64, good[i].s, vkq_status_string(st),
              v);
    }
    static const char *const bad[] = {"",   "G",   "-1",    "+5",           " 5",
                                      "5 ", "1e3", "0x10",  "inf",          "nan",
                                      "5X", "5GG", "1.2.3", "20000000000G", "18446744073709551616",
                                      "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        uint64_t v = 7;
        vkq_error_clear();
        vkq_status st = vkq_size_parse(bad[i], &v);
        CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && v == 7 && vkq_last_error()[0], "\"%s\" accepted (%" PRIu64 ")", bad[i],
              v);
    }
    /* Without a device: the API override, then VKQ_VRAM_BUDGET, else nothing. */
    vkq_vram_budget b;
    unsetenv("VKQ_VRAM_BUDGET");
    CHECK_OK(vkq_vram_budget_get(NULL, 0, 0, &b));
    CHECK(b.budget == 0 && b.source == VKQ_BUDGET_NONE, "no device, no override: %" PRIu64, b.budget);
    setenv("VKQ_VRAM_BUDGET", "6G", 1);
    CHECK_OK(vkq_vram_budget_get(NULL, 0, 0, &b));
    CHECK(b.budget == 6ull << 30 && b.source == VKQ_BUDGET_ENV, "env 6G: %" PRIu64, b.budget);
    CHECK_OK(vkq_vram_budget_get(NULL, 12345, 0, &b));
    CHECK(b.budget == 12345 && b.source == VKQ_BUDGET_API, "API override: %" PRIu64, b.budget);
    setenv("VKQ_VRAM_BUDGET", "lots", 1);
    CHECK(vkq_vram_budget_get(NULL, 0, 0, &b) == VKQ_ERROR_INVALID_ARGUMENT &&
              strstr(vkq_last_error(), "VKQ_VRAM_BUDGET") && strstr(vkq_last_error(), "lots"),
          "bad env accepted: \"%s\"", vkq_last_error());
    unsetenv("VKQ_VRAM_BUDGET");
    CHECK(vkq_vram_default_reserve(1ull << 30) == 256ull << 20, "reserve of 1 GiB");
    CHECK(vkq_vram_default_reserve(80ull << 30) == 4ull << 30, "reserve of 80 GiB");
    CHECK(vkq_vram_default_reserve(100ull << 20) == 100ull << 20, "reserve capped at what is there");
    vkq_place pl;
    CHECK(vkq_place_from_name("HOST-visible", &pl) == VKQ_SUCCESS && pl == VKQ_PLACE_HOST_VISIBLE,
          "place name");
    CHECK(vkq_place_from_name("vram", &pl) == VKQ_ERROR_INVALID_ARGUMENT, "unknown place accepted");
}

int main(void)
{
    uint64_t seed = vkq_test_seed();
    printf("test_plan: seed %" PRIu64 " (VKQ_SEED to replay)\n", seed);
    uint64_t rng = seed;
    for (int rep = 0; rep < 20; ++rep)
        auto_fits_last_layers(&rng);
    explicit_gpu_layers(&rng);
    override_rules(&rng);
    demotion_and_print(&rng);
    sizes_and_budget();
    return test_summary("test_plan");
}
