/* vkq-bench: the project's main job. Sweeps every weight type of the table over mat-vec and
 * GEMM shapes on the default Vulkan device and on the CPU path, measuring throughput (GPU
 * timestamps / CPU wall time, next to the copy bandwidth measured in the same run) and accuracy
 * (bits per weight from bytes, weight error, output error vs the unquantized f64 product, and
 * kernel error vs the f64 product of the decoded weights). This file parses the options and
 * drives the sweep; the measuring, the weights and each output live in their own files. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "test_util.h"

static void usage(void)
{
    printf(
        "usage: vkq-bench [options]\n"
        "With no options: every weight type of the type table, on the default Vulkan device and on the\n"
        "CPU path (vkq_cpu_matmul), at a mat-vec (decode) and a GEMM (prompt) shape. Per type and backend:\n"
        "median time (GPU timestamps after two warm-ups, weight buffers rotated so caches do not flatter\n"
        "it; CPU: wall time), effective weight GB/s, GFLOP/s, %% of the copy bandwidth measured in the\n"
        "same run (Vulkan: the better of a compute copy kernel and vkCmdCopyBuffer; CPU: memcpy), and\n"
        "accuracy on weights quantized with vkq_quantize: bits per weight (from bytes), nmse_weights =\n"
        "NMSE(dequant(quant(W)), W), nmse_output = NMSE of the kernel's output vs the f64 product of the\n"
        "unquantized W, nmse_kernel = vs the f64 product of the CPU-decoded weights (~0). Accuracy uses\n"
        "32 rows spread over W and up to 8 columns of X. Types without a quantizer are timed on random\n"
        "valid blocks and reported as \"skipped: no quantizer\".\n\n"
        "  --types LIST|all     comma-separated type names (default all weight types)\n"
        "  --shapes MxKxN,...   shapes (default 4096x14336x1,4096x14336x512; --quick: 4096x14336x1,\n"
        "                       256x4096x64); k is rounded up to each type's block size\n"
        "  --quick              the small shapes and 5 reps: the default on CPU Vulkan drivers (lavapipe)\n"
        "                       and without a Vulkan device, where the full GEMM takes many minutes\n"
        "  --full               the full shapes even there\n"
        "  --reps N             timed runs per case (default 20, --quick 5); CPU runs stop early\n"
        "                       (at least 3) once a case has taken about a second\n"
        "  --seed N             seed of weights and activations (default VKQ_SEED or the clock)\n"
        "  --device N|NAME      Vulkan device index or name substring (default VKQ_DEVICE or the best)\n"
        "  --cpu-threads N      threads of the CPU path and the quantizer (default: every core)\n"
        "  --no-cpu, --no-vulkan  leave out one backend (its rows say skipped)\n"
        "  --weights FILE       real weights: F32/F16/BF16 tensors of 2+ dimensions from a GGUF or a\n"
        "                       .safetensors file, each measured at its own m x k; n from --shapes\n"
        "                       (default n = 1); a type whose block size does not divide k is skipped\n"
        "                       with the reason (\"skipped: k=384 not a multiple of 256\")\n"
        "  --tensor GLOB        with --weights: tensor names to use, a shell glob (fnmatch), e.g.\n"
        "                       'blk.0.*' (default all; at most 16)\n"
        "  --json FILE          results as JSON: {device {name, driver, type}, date, copy_gbps, rows:\n"
        "                       [{type, backend, m, k, n, bpw, time_us, gbps, gflops, pct_copy_bw,\n"
        "                       nmse_weights, nmse_output, nmse_kernel, status, ...}]}; null = not measured\n"
        "  --csv FILE           the same rows as CSV\n"
        "  --plot DIR           SVG charts: ladder.svg (error vs bits per weight), throughput.svg,\n"
        "                       gemm.svg (throughput vs bits per weight), cpu_vs_gpu.svg\n"
        "  --model FILE.gguf    a different job: partial-offload benchmark of a model (see\n"
        "                       vkq-bench --model FILE --help)\n"
        "  --help               this text\n"
        "The table on stdout has one line per type sorted by bits per weight; a progress bar goes to\n"
        "stderr when it is a terminal. Exit status 0 when the sweep ran (skipped rows included), 1 when\n"
        "an output file could not be written, 2 for bad options or an unreadable --weights file, 3\n"
        "when the Vulkan validation layer (VKQ_VALIDATION=1) reported anything.\n");
}

static int parse_shape_list(const char *shapes, options *o);

int bench_parse_int(const char *opt, const char *v, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && errno == 0 && n >= lo && n <= hi) {
        *out = n;
        return 0;
    }
    if (lo == 1 && hi >= INT_MAX)
        fprintf(stderr, "vkq-bench: %s: expected a positive integer, got '%s'\n", opt, v);
    else
        fprintf(stderr, "vkq-bench: %s: expected an integer from %lld to %lld, got '%s'\n", opt, lo, hi, v);
    return 2;
}

static int parse_types(const char *types, options *o)
{
    if (!strcmp(types, "all")) {
        for (uint32_t i = 0; i < vkq_type_count(); ++i)
            if (vkq_type_get(vkq_type_at(i))->is_weight_type) o->types[o->n_types++] = vkq_type_at(i);
        return 0;
    }
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", types) >= (int)sizeof buf) {
        fprintf(stderr, "vkq-bench: --types: list longer than %zu characters\n", sizeof buf - 1);
        return 2;
    }
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        vkq_type ty;
        if (vkq_type_from_name(t, &ty) != VKQ_SUCCESS) {
            fprintf(stderr, "vkq-bench: --types: unknown type '%s'\n", t);
            return 2;
        }
        if (o->n_types <= VKQ_TYPE_MAX_ID) o->types[o->n_types++] = ty;
    }
    if (!o->n_types) {
        fprintf(stderr,
                "vkq-bench: --types: no type named in '%s' (a comma-separated list such as Q4_0,Q8_0, "
                "or all)\n",
                types);
        return 2;
    }
    return 0;
}

/* Options that take a value; every other argument is a flag or an error. */
static int takes_value(const char *a)
{
    static const char *const names[] = {"--types",       "--shapes",  "--reps",  "--seed",
                                        "--cpu-threads", "--json",    "--csv",   "--plot",
                                        "--device",      "--weights", "--tensor"};
    for (size_t i = 0; i < sizeof names / sizeof *names; ++i)
        if (!strcmp(a, names[i])) return 1;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->reps = 20;
    o->seed = vkq_test_seed();
    const char *types = "all";
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = NULL;
        long long n;
        if (takes_value(a)) {
            /* "--reps --quick": the value is missing, not "--quick". */
            if (i + 1 == argc || !strncmp(argv[i + 1], "--", 2)) {
                fprintf(stderr, "vkq-bench: %s needs a value (see --help)\n", a);
                return 2;
            }
            v = argv[++i];
            if (!*v) {
                fprintf(stderr, "vkq-bench: %s: empty value\n", a);
                return 2;
            }
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--full")) {
            o->quick = -1;
        } else if (!strcmp(a, "--no-cpu")) {
            o->no_cpu = 1;
        } else if (!strcmp(a, "--no-vulkan")) {
            o->no_vulkan = 1;
        } else if (!strcmp(a, "--types")) {
            types = v;
        } else if (!strcmp(a, "--shapes")) {
            o->shape_list = v;
        } else if (!strcmp(a, "--reps")) {
            if (bench_parse_int(a, v, 1, INT_MAX, &n)) return 2;
            o->reps = (int)n, o->reps_given = 1;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 0);
            if (*end || errno || *v == '-') {
                fprintf(stderr, "vkq-bench: --seed: expected a non-negative integer, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--cpu-threads")) {
            if (bench_parse_int(a, v, 0, 4096, &n)) return 2;
            o->cpu_threads = (uint32_t)n;
        } else if (!strcmp(a, "--json")) {
            o->json = v;
        } else if (!strcmp(a, "--csv")) {
            o->csv = v;
        } else if (!strcmp(a, "--plot")) {
            o->plot_dir = v;
        } else if (!strcmp(a, "--device")) {
            o->device = v;
        } else if (!strcmp(a, "--weights")) {
            o->weights = v;
        } else if (!strcmp(a, "--tensor")) {
            o->tensor = v;
        } else {
            fprintf(stderr, "vkq-bench: %s '%s' (see --help)\n",
                    a[0] == '-' ? "unknown option" : "unexpected argument", a);
            return 2;
        }
    }
    if (o->tensor && !o->weights) {
        fprintf(stderr, "vkq-bench: --tensor needs --weights\n");
        return 2;
    }
    if (o->shape_list && parse_shape_list(o->shape_list, o)) return 2;
    return parse_types(types, o);
}

/* A comma-separated list of MxKxN into o->shapes. */
static int parse_shape_list(const char *shapes, options *o)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", shapes) >= (int)sizeof buf) {
        fprintf(stderr, "vkq-bench: --shapes: list longer than %zu characters\n", sizeof buf - 1);
        return 2;
    }
    o->n_shapes = 0;
    for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
        unsigned long long m, k, n;
        int end = 0;
        if (sscanf(s, "%llux%llux%llu%n", &m, &k, &n, &end) != 3 || s[end] || strchr(s, '-') ||
            (!o->weights && (!m || !k)) || !n || m > UINT32_MAX || k > UINT32_MAX || n > UINT32_MAX) {
            fprintf(stderr, "vkq-bench: --shapes: bad shape '%s' (want MxKxN, each 1..2^32-1)\n", s);
            return 2;
        }
        if (o->n_shapes == BENCH_MAX_SHAPES) {
            fprintf(stderr, "vkq-bench: --shapes: more than %d shapes\n", BENCH_MAX_SHAPES);
            return 2;
        }
        o->shapes[o->n_shapes++] = (shape){m, k, n};
    }
    if (!o->n_shapes) {
        fprintf(stderr, "vkq-bench: --shapes: no shape in '%s' (want MxKxN,...)\n", shapes);
        return 2;
    }
    return 0;
}

/* The default shapes are chosen once the device is known: CPU drivers default to --quick. A
 * given --shapes list was parsed with the other options. */
static int parse_shapes(options *o, int cpu_device)
{
    if (o->quick == 0 && cpu_device && !o->shape_list) o->quick = 1;
    if (o->quick == 1 && !o->reps_given) o->reps = 5;
    if (o->shape_list) return 0;
    return parse_shape_list(o->weights      ? "0x0x1"
                            : o->quick == 1 ? "4096x14336x1,256x4096x64"
                                            : "4096x14336x1,4096x14336x512",
                            o);
}

static void fill_report(report *rep, const options *o, const vkq_device_info *di, const char *profile)
{
    time_t now = time(NULL);
    strftime(rep->date, sizeof rep->date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    rep->device_name = di ? di->name : "no Vulkan device";
    rep->driver = di ? di->driver_info : "";
    rep->device_type = di ? vkq_device_type_name(di->type) : "none";
    rep->profile = profile ? profile : "";
    rep->seed = o->seed;
    rep->reps = o->reps;
    rep->quick = o->quick;
    rep->weights = o->weights ? o->weights : "synthetic (Gaussian sigma 0.02, 0.2% outliers at 5-15 sigma)";
    /* What vkq_cpu_matmul does with n_threads = 0: VKQ_CPU_THREADS, else every online core. */
    const char *env = getenv("VKQ_CPU_THREADS");
    rep->cpu_threads = o->cpu_threads                      ? o->cpu_threads
                       : env && strtoul(env, NULL, 10) > 0 ? (uint32_t)strtoul(env, NULL, 10)
                                                           : (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
}

int vkq_bench_model_main(int argc, char **argv); /* bench/bench_model.c */
int main(int argc, char **argv)
{
    /* The --model partial-offload benchmark (bench/bench_model.c) has its own options. */
    for (int i = 1; i < argc; ++i)
        if (!strcmp(argv[i], "--model")) return vkq_bench_model_main(argc, argv);
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    double t_start = (double)time(NULL);

    weight_source *sources[BENCH_MAX_SOURCES];
    int n_sources = 1;
    if (o.weights) {
        n_sources = weights_open_file(o.weights, o.tensor, sources, BENCH_MAX_SOURCES);
        if (n_sources < 0) return 2;
    } else if (!(sources[0] = weights_synthetic(o.seed))) {
        return 1;
    }

    /* A private pipeline cache: the first device compiles from scratch (first use), the second,
     * created after the sweep, starts from what the first saved (cached creation). */
    char cache_path[64], why[300] = "";
    snprintf(cache_path, sizeof cache_path, "/tmp/vkq-bench-cache-%ld.bin", (long)getpid());
    remove(cache_path);
    vkq_instance inst = NULL;
    gpu g;
    memset(&g, 0, sizeof g);
    int have_gpu = 0;
    vkq_device_info dinfo;
    const char *profile = NULL;
    if (!o.no_vulkan) {
        vkq_status st = vkq_instance_create(NULL, &inst);
        if (st != VKQ_SUCCESS)
            snprintf(why, sizeof why, "no Vulkan: %s", vkq_status_string(st));
        else if (gpu_open(&g, inst, o.device, cache_path, why, sizeof why) == 0)
            have_gpu = 1;
        if (have_gpu) {
            dinfo = *vkq_device_get_info(g.dev); /* outlives the device */
            vkq_device_get_config(g.dev, &profile);
        } else {
            fprintf(stderr, "vkq-bench: no Vulkan rows: %s\n", why);
        }
    }
    if ((rc = parse_shapes(&o, !have_gpu || dinfo.type == VKQ_DEVICE_CPU)) != 0) goto out;

    report rep = {0};
    fill_report(&rep, &o, have_gpu ? &dinfo : NULL, profile);
    sweep_env env = {.o = &o, .g = have_gpu ? &g : NULL, .gpu_why = why, .copy_gbps = NAN};
    if (have_gpu) {
        /* The better of a plain compute copy and the driver's buffer copy, so "% of copy
         * bandwidth" is never flattered by a weak copy kernel. */
        rep.copy_kernel_gbps = gpu_copy_gbps(&g, o.reps, 1);
        rep.copy_transfer_gbps = gpu_copy_gbps(&g, o.reps, 2);
        env.copy_gbps =
            rep.copy_kernel_gbps > rep.copy_transfer_gbps ? rep.copy_kernel_gbps : rep.copy_transfer_gbps;
    }
    rep.copy_gbps = env.copy_gbps;
    if (!o.no_cpu) env.cpu_copy_gbps = rep.cpu_copy_gbps = cpu_copy_gbps();
    if (have_gpu)
        printf("vkq-bench %s on %s (%s, %s), profile %s", rep.date, rep.device_name, rep.device_type,
               rep.driver, profile);
    else
        printf("vkq-bench %s without a Vulkan device (%s)", rep.date, o.no_vulkan ? "--no-vulkan" : why);
    printf(", seed %llu, %d reps%s\n", (unsigned long long)o.seed, o.reps,
           o.quick == 1
               ? ", --quick shapes (CPU Vulkan driver or no device: the full GEMM takes many minutes; "
                 "--full forces it)"
               : "");
    printf("copy bandwidth (read + write): ");
    if (have_gpu)
        printf("Vulkan %.2f GB/s (compute copy kernel %.2f, vkCmdCopyBuffer %.2f), ", rep.copy_gbps,
               rep.copy_kernel_gbps, rep.copy_transfer_gbps);
    printf("CPU memcpy %.2f GB/s; CPU path %u threads\n\n", rep.cpu_copy_gbps, rep.cpu_threads);
    fflush(stdout);

    uint32_t total = (uint32_t)n_sources * o.n_shapes * o.n_types, done = 0;
    row *rows = calloc((size_t)total * 2, sizeof *rows);
    if (!rows) {
        rc = 1;
        goto out;
    }
    for (int w = 0; w < n_sources; ++w)
        for (uint32_t si = 0; si < o.n_shapes; ++si)
            for (uint32_t ti = 0; ti < o.n_types; ++ti) {
                progress(done, total, vkq_type_get(o.types[ti])->name);
                env.w = sources[w];
                sweep_case(&env, o.types[ti], o.shapes[si], &rows[2 * done]);
                ++done;
            }
    progress_end();

    /* Cached pipeline creation: a new device that loads the cache the first one saves. */
    if (have_gpu) {
        gpu_close(&g);
        double first_total = 0, cached_total = 0;
        if (gpu_open(&g, inst, o.device, cache_path, why, sizeof why) == 0) {
            for (uint32_t i = 0; i < 2 * total; i += 2) {
                if (!isfinite(rows[i].first_use_ms)) continue;
                rows[i].cached_ms = gpu_pipeline_ms(&g, rows[i].t, rows[i].s.n);
                first_total += rows[i].first_use_ms;
                cached_total += rows[i].cached_ms;
            }
            gpu_close(&g);
        }
        printf("pipeline creation: %.0f ms on first use, %.0f ms on a second device that loaded the saved "
               "pipeline cache\n\n",
               first_total, cached_total);
    }
    remove(cache_path);

    rep.rows = rows;
    rep.n_rows = 2 * total;
    report_table(stdout, &rep);
    printf("\nnmse_w: dequant(quant(W)) vs W; nmse_out: kernel output vs f64 W*X (unquantized); kern_vk, "
           "kern_cpu: "
           "worst kernel output vs f64 of the decoded weights (the CPU int8 path quantizes X to 8 bits). "
           "Wall time %.0f s.\n",
           (double)time(NULL) - t_start);
    if (o.json) rc |= report_json(o.json, &rep);
    if (o.csv) rc |= report_csv(o.csv, &rep);
    if (o.plot_dir) rc |= plot_svg(o.plot_dir, &rep);
    free(rows);
out:
    gpu_close(&g);
    /* Under VKQ_VALIDATION=1 (the tests), a validation message is a failure. */
    if (inst && vkq_instance_validation_count(inst)) {
        fprintf(stderr, "vkq-bench: %llu Vulkan validation messages\n",
                (unsigned long long)vkq_instance_validation_count(inst));
        rc = rc ? rc : 3;
    }
    if (inst) vkq_instance_destroy(inst);
    for (int w = 0; w < n_sources; ++w)
        weights_free(sources[w]);
    return rc;
}
