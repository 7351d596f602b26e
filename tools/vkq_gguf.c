/* vkq-gguf FILE: validates a GGUF file with vkquant's strict reader and prints its header,
 * metadata, tensors and a summary by type. vkq-gguf --plan ... FILE prints the placement plan
 * instead (tools/vkq_gguf_plan.c). Exit 0 on success, 1 for a file the reader refuses
 * (its message on stderr), 2 for usage errors. */
#include <stdio.h>
#include <string.h>

#include "vkquant/vkquant.h"
#include "vkquant/gguf.h"

#define MAX_STR 80      /* characters of a string value shown */
#define MAX_ELEMS 8     /* array elements shown */

static void print_str(vkq_gguf_string s)
{
    putchar('"');
    const uint64_t n = s.len < MAX_STR ? s.len : MAX_STR;
    for (uint64_t k = 0; k < n; ++k) {
        const unsigned char c = (unsigned char)s.data[k];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c < 0x20 || c == 0x7F) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (s.len > MAX_STR) printf("... (%llu bytes)", (unsigned long long)s.len);
}

static void print_value(const vkq_gguf_value *v)
{
    switch (v->type) {
    case VKQ_GGUF_UINT8: case VKQ_GGUF_UINT16: case VKQ_GGUF_UINT32: case VKQ_GGUF_UINT64:
        printf("%llu", (unsigned long long)v->u);
        break;
    case VKQ_GGUF_INT8: case VKQ_GGUF_INT16: case VKQ_GGUF_INT32: case VKQ_GGUF_INT64:
        printf("%lld", (long long)v->i);
        break;
    case VKQ_GGUF_FLOAT32: case VKQ_GGUF_FLOAT64:
        printf("%.9g", v->f);
        break;
    case VKQ_GGUF_BOOL:
        printf("%s", v->b ? "true" : "false");
        break;
    case VKQ_GGUF_STRING:
        print_str(v->str);
        break;
    default:
        printf("?");
    }
}

typedef struct type_sum {
    uint64_t count, bytes, elems;
} type_sum;

int vkq_gguf_plan_main(int argc, char **argv); /* tools/vkq_gguf_plan.c */

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i)
        if (!strcmp(argv[i], "--plan")) return vkq_gguf_plan_main(argc, argv);
    if (argc > 2)
        fprintf(stderr, "vkq-gguf: one FILE only (or --plan ...), got %d arguments\n", argc - 1);
    else if (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
        fprintf(stderr, "vkq-gguf: unknown option '%s'\n", argv[1]);
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: vkq-gguf FILE.gguf\n"
                        "       vkq-gguf --plan [--budget SIZE] [--gpu-layers N|auto] [--override REGEX=PLACE]... FILE\n"
                        "Validates the file and prints its metadata, tensors and a summary;\n"
                        "with --plan, where its tensors would live under a VRAM budget.\n");
        return 2;
    }
    vkq_gguf g = NULL;
    const vkq_status st = vkq_gguf_create(argv[1], &g);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-gguf: %s\n", vkq_last_error()[0] ? vkq_last_error() : vkq_status_string(st));
        return 1;
    }

    printf("file: %s\n", argv[1]);
    printf("version: %u\nalignment: %u\ndata offset: %llu\nfile size: %llu\n", vkq_gguf_version(g),
           vkq_gguf_alignment(g), (unsigned long long)vkq_gguf_data_offset(g),
           (unsigned long long)vkq_gguf_file_size(g));

    const int64_t n_kv = vkq_gguf_kv_count(g);
    printf("\nmetadata: %lld keys\n", (long long)n_kv);
    for (int64_t i = 0; i < n_kv; ++i) {
        vkq_gguf_value v;
        vkq_gguf_get_value(g, i, &v);
        printf("  %-40s %-8s ", vkq_gguf_kv_key(g, i), vkq_gguf_type_name(v.type));
        if (v.type == VKQ_GGUF_ARRAY) {
            printf("[%s x %llu]", vkq_gguf_type_name(v.elem_type), (unsigned long long)v.count);
            printf(" [");
            for (uint64_t j = 0; j < v.count && j < MAX_ELEMS; ++j) {
                vkq_gguf_value e;
                vkq_gguf_get_array_value(g, i, j, &e);
                if (j) printf(", ");
                print_value(&e);
            }
            printf("%s]", v.count > MAX_ELEMS ? ", ..." : "");
        } else {
            print_value(&v);
        }
        putchar('\n');
    }

    const int64_t n_t = vkq_gguf_tensor_count(g);
    printf("\ntensors: %lld\n", (long long)n_t);
    printf("  %-40s %-8s %-24s %14s %14s %8s\n", "name", "type", "shape (ne)", "offset", "bytes", "bpw");
    static type_sum sums[VKQ_TYPE_MAX_ID + 1];
    uint64_t total_bytes = 0, total_elems = 0;
    for (int64_t i = 0; i < n_t; ++i) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        const vkq_type_info *ti = vkq_type_get(t.type);
        char shape[96];
        int n = 0;
        for (uint32_t d = 0; d < t.n_dims; ++d)
            n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%lld", d ? " x " : "",
                          (long long)t.ne[d]);
        printf("  %-40s %-8s %-24s %14llu %14llu ", t.name, ti ? ti->name : "?", shape,
               (unsigned long long)t.offset, (unsigned long long)t.nbytes);
        if (t.n_elems) printf("%8.4f\n", 8.0 * (double)t.nbytes / (double)t.n_elems);
        else printf("%8s\n", "-");
        sums[t.type].count++;
        sums[t.type].bytes += t.nbytes;
        sums[t.type].elems += (uint64_t)t.n_elems;
        total_bytes += t.nbytes;
        total_elems += (uint64_t)t.n_elems;
    }

    printf("\nsummary by type:\n");
    printf("  %-8s %8s %16s %16s %8s %8s\n", "type", "tensors", "elements", "bytes", "share", "bpw");
    for (int id = 0; id <= VKQ_TYPE_MAX_ID; ++id) {
        if (!sums[id].count) continue;
        const vkq_type_info *ti = vkq_type_get((vkq_type)id);
        printf("  %-8s %8llu %16llu %16llu %7.2f%% ", ti ? ti->name : "?",
               (unsigned long long)sums[id].count, (unsigned long long)sums[id].elems,
               (unsigned long long)sums[id].bytes,
               total_bytes ? 100.0 * (double)sums[id].bytes / (double)total_bytes : 0.0);
        if (sums[id].elems) printf("%8.4f\n", 8.0 * (double)sums[id].bytes / (double)sums[id].elems);
        else printf("%8s\n", "-");
    }
    printf("  %-8s %8lld %16llu %16llu %7.2f%% ", "total", (long long)n_t,
           (unsigned long long)total_elems, (unsigned long long)total_bytes, total_bytes ? 100.0 : 0.0);
    if (total_elems) printf("%8.4f\n", 8.0 * (double)total_bytes / (double)total_elems);
    else printf("%8s\n", "-");

    vkq_gguf_destroy(g);
    return 0;
}
