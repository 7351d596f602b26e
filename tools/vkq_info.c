/* vkq-info: the feature probe of every Vulkan device, as text or JSON (--json). */
#include <stdio.h>
#include <string.h>

#include "vkquant/vkquant.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static const char *component_name(uint32_t t)
{
    static const char *names[] = {"f16", "f32", "f64", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"};
    return t < sizeof names / sizeof *names ? names[t] : "other";
}

static void print_json(const vkq_device_info *d, int is_default, int last)
{
    printf("    {\"index\": %u, \"name\": ", d->index);
    json_str(d->name);
    printf(", \"type\": \"%s\", \"default\": %s, \"driver\": ", vkq_device_type_name(d->type),
           is_default ? "true" : "false");
    json_str(d->driver_name);
    printf(", \"driver_info\": ");
    json_str(d->driver_info);
    printf(", \"vendor_id\": %u, \"device_id\": %u, \"api_version\": \"%u.%u.%u\",\n", d->vendor_id,
           d->device_id, d->api_version >> 22, (d->api_version >> 12) & 0x3FF, d->api_version & 0xFFF);
    printf("     \"memory_budget_ext\": %s, \"heaps\": [", d->has_memory_budget ? "true" : "false");
    for (uint32_t i = 0; i < d->heap_count; ++i)
        printf("%s{\"size\": %llu, \"device_local\": %s, \"budget\": %llu, \"usage\": %llu}", i ? ", " : "",
               (unsigned long long)d->heaps[i].size, d->heaps[i].device_local ? "true" : "false",
               (unsigned long long)d->heaps[i].budget, (unsigned long long)d->heaps[i].usage);
    printf("],\n     \"subgroup_size\": %u, \"subgroup_min_size\": %u, \"subgroup_max_size\": %u, "
           "\"subgroup_arithmetic\": %s,\n",
           d->subgroup_size, d->subgroup_min_size, d->subgroup_max_size, d->subgroup_arithmetic ? "true" : "false");
    printf("     \"shader_float16\": %s, \"shader_int8\": %s, \"storage_16bit\": %s, \"storage_8bit\": %s, "
           "\"integer_dot_product\": %s, \"integer_dot_4x8_accelerated\": %s, \"denorm_preserve_f32\": %s, "
           "\"push_descriptor\": %s,\n",
           d->shader_float16 ? "true" : "false", d->shader_int8 ? "true" : "false",
           d->storage_16bit ? "true" : "false", d->storage_8bit ? "true" : "false",
           d->integer_dot_product ? "true" : "false", d->integer_dot_4x8_packed_accelerated ? "true" : "false",
           d->denorm_preserve_f32 ? "true" : "false", d->push_descriptor ? "true" : "false");
    printf("     \"cooperative_matrix\": %s, \"cooperative_matrix_shapes\": [", d->cooperative_matrix ? "true" : "false");
    for (uint32_t i = 0; i < d->coopmat_shape_count; ++i)
        printf("%s{\"m\": %u, \"n\": %u, \"k\": %u, \"a\": \"%s\", \"c\": \"%s\"}", i ? ", " : "",
               d->coopmat_shapes[i].m, d->coopmat_shapes[i].n, d->coopmat_shapes[i].k,
               component_name(d->coopmat_shapes[i].a_type), component_name(d->coopmat_shapes[i].c_type));
    printf("],\n     \"max_storage_buffer_range\": %llu, \"max_memory_allocation_size\": %llu, "
           "\"max_buffer_size\": %llu, \"min_storage_buffer_offset_alignment\": %llu,\n",
           (unsigned long long)d->max_storage_buffer_range, (unsigned long long)d->max_memory_allocation_size,
           (unsigned long long)d->max_buffer_size, (unsigned long long)d->min_storage_buffer_offset_alignment);
    printf("     \"max_shared_memory\": %u, \"max_workgroup_invocations\": %u, \"timestamps\": %s, "
           "\"timestamp_period_ns\": %g}%s\n",
           d->max_shared_memory, d->max_workgroup_invocations, d->timestamps ? "true" : "false",
           d->timestamp_period_ns, last ? "" : ",");
}

static const char *yn(int b) { return b ? "yes" : "no"; }

static void print_text(const vkq_device_info *d, int is_default)
{
    printf("Device %u%s: %s\n", d->index, is_default ? " (default)" : "", d->name);
    printf("  type %s, vendor 0x%04x, device 0x%04x, Vulkan %u.%u.%u\n", vkq_device_type_name(d->type),
           d->vendor_id, d->device_id, d->api_version >> 22, (d->api_version >> 12) & 0x3FF,
           d->api_version & 0xFFF);
    printf("  driver %s (%s)\n", d->driver_name[0] ? d->driver_name : "?", d->driver_info);
    for (uint32_t i = 0; i < d->heap_count; ++i) {
        printf("  heap %u: %.2f GiB%s", i, d->heaps[i].size / 1073741824.0,
               d->heaps[i].device_local ? " device-local" : "");
        if (d->has_memory_budget)
            printf(", budget %.2f GiB, used %.2f GiB", d->heaps[i].budget / 1073741824.0,
                   d->heaps[i].usage / 1073741824.0);
        putchar('\n');
    }
    if (!d->has_memory_budget) printf("  memory budget: no VK_EXT_memory_budget (heap size is the budget)\n");
    printf("  subgroup size %u (range %u-%u), arithmetic %s, shuffle %s\n", d->subgroup_size,
           d->subgroup_min_size, d->subgroup_max_size, yn(d->subgroup_arithmetic), yn(d->subgroup_shuffle));
    printf("  fp16 arithmetic %s, int8 arithmetic %s, 16-bit storage %s, 8-bit storage %s\n",
           yn(d->shader_float16), yn(d->shader_int8), yn(d->storage_16bit), yn(d->storage_8bit));
    printf("  integer dot product %s (4x8 packed accelerated %s), fp32 denorm preserve %s\n",
           yn(d->integer_dot_product), yn(d->integer_dot_4x8_packed_accelerated), yn(d->denorm_preserve_f32));
    printf("  cooperative matrix %s", yn(d->cooperative_matrix));
    for (uint32_t i = 0; i < d->coopmat_shape_count; ++i)
        printf("%s %ux%ux%u %s->%s", i ? "," : ":", d->coopmat_shapes[i].m, d->coopmat_shapes[i].n,
               d->coopmat_shapes[i].k, component_name(d->coopmat_shapes[i].a_type),
               component_name(d->coopmat_shapes[i].c_type));
    printf("\n  push descriptors %s, timestamps %s (period %g ns)\n", yn(d->push_descriptor),
           yn(d->timestamps), d->timestamp_period_ns);
    printf("  maxStorageBufferRange %llu, maxMemoryAllocationSize %llu, maxBufferSize %llu\n",
           (unsigned long long)d->max_storage_buffer_range, (unsigned long long)d->max_memory_allocation_size,
           (unsigned long long)d->max_buffer_size);
    printf("  shared memory %u bytes, workgroup invocations %u, storage offset alignment %llu\n",
           d->max_shared_memory, d->max_workgroup_invocations,
           (unsigned long long)d->min_storage_buffer_offset_alignment);
}

int main(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else {
            printf("usage: vkq-info [--json]\n"
                   "Lists every Vulkan device (CPU drivers included) with the features vkquant uses.\n"
                   "The default device is chosen as discrete > integrated > virtual > CPU;\n"
                   "VKQ_DEVICE=<index|name substring> overrides it.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    vkq_instance inst;
    vkq_status st = vkq_instance_create(NULL, &inst);
    if (st != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-info: %s\n", vkq_status_string(st));
        return 1;
    }
    uint32_t n = vkq_instance_device_count(inst), def = UINT32_MAX;
    if (vkq_instance_default_device(inst, &def) != VKQ_SUCCESS) {
        fprintf(stderr, "vkq-info: %s\n", vkq_last_error());
        def = UINT32_MAX;
    }
    if (json) printf("{\n  \"devices\": [\n");
    for (uint32_t i = 0; i < n; ++i) {
        vkq_device_info info;
        if (vkq_instance_device_info(inst, i, &info) != VKQ_SUCCESS) continue;
        if (json) print_json(&info, i == def, i + 1 == n);
        else print_text(&info, i == def);
    }
    if (json) printf("  ]\n}\n");
    else if (n == 0) printf("No Vulkan devices found.\n");
    vkq_instance_destroy(inst);
    return n ? 0 : 1;
}
