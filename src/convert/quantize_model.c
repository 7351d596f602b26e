/* The streaming re-quantizer (include/vkquant/convert.h): plan, header, then each tensor in file
 * order, decoded and quantized a chunk of rows at a time so that memory stays a few MiB above
 * the largest row, whatever the model's size. */
#include "vkquant/convert.h"
#include "vkquant/quant.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* f32 values per chunk: 16 MiB of them (at least one row). */
#define CHUNK_ELEMS ((uint64_t)4 << 20)

typedef struct job {
    vkq_gguf in;
    const vkq_quantize_model_options *opt;
    vkq_tensor_plan *plans;
    vkq_gguf_writer w;
    vkq_quantize_model_result res;
    uint64_t done, total;
    float *f32;
    void *q;
    float *imp;
} job;

static void progress(job *j, int64_t i, const char *name)
{
    if (j->opt->progress)
        j->opt->progress(j->opt->progress_user, i, vkq_gguf_tensor_count(j->in), name, j->done, j->total);
}

static vkq_status copy_tensor(job *j, int64_t i, const vkq_gguf_tensor *t)
{
    const uint8_t *p = t->data;
    for (uint64_t off = 0; off < t->nbytes;) {
        uint64_t n = t->nbytes - off < (CHUNK_ELEMS * 4) ? t->nbytes - off : CHUNK_ELEMS * 4;
        vkq_status st = vkq_gguf_writer_write_data(j->w, p + off, (size_t)n);
        if (st != VKQ_SUCCESS)
            return st;
        off += n;
        j->done += n;
        progress(j, i, t->name);
    }
    return VKQ_SUCCESS;
}

/* The imatrix entry for the tensor, or -1; an entry of another shape is an error (token_embd
 * aside: llama.cpp quantizes it without). */
static vkq_status imatrix_entry_for(job *j, const vkq_gguf_tensor *t, int64_t *out)
{
    *out = -1;
    if (!j->opt->imatrix)
        return VKQ_SUCCESS;
    int64_t e = vkq_imatrix_find(j->opt->imatrix, t->name);
    if (e < 0)
        return VKQ_SUCCESS;
    vkq_imatrix_entry en;
    vkq_imatrix_get(j->opt->imatrix, e, &en);
    uint64_t experts = t->n_dims >= 3 ? (uint64_t)t->ne[2] : 1;
    if (en.n_cols != (uint64_t)t->ne[0] || en.n_experts != experts || t->n_dims > 3) {
        if (strcmp(t->name, "token_embd.weight") == 0)
            return VKQ_SUCCESS;
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT,
                        "imatrix entry %s has %llu columns x %u experts, the tensor %lld x %llu", t->name,
                        (unsigned long long)en.n_cols, en.n_experts, (long long)t->ne[0], (unsigned long long)experts);
    }
    *out = e;
    return VKQ_SUCCESS;
}

static vkq_status quantize_tensor(job *j, int64_t i, const vkq_gguf_tensor *t, const vkq_tensor_plan *p)
{
    int64_t ent;
    vkq_status st = imatrix_entry_for(j, t, &ent);
    if (st != VKQ_SUCCESS)
        return st;
    const uint64_t k = (uint64_t)t->ne[0];
    const uint64_t rows = (uint64_t)t->n_elems / k;
    const uint64_t rows_per_expert = (uint64_t)t->ne[1];
    uint64_t in_row, out_row;
    vkq_type_bytes(t->type, k, &in_row);
    vkq_type_bytes(p->type, k, &out_row);
    uint64_t max_rows = CHUNK_ELEMS / k ? CHUNK_ELEMS / k : 1;
    int64_t cur_expert = -1;
    for (uint64_t r = 0; r < rows;) {
        /* a chunk never crosses an expert: each expert has its own importances */
        uint64_t n = rows - r < max_rows ? rows - r : max_rows;
        uint64_t to_end = rows_per_expert - r % rows_per_expert;
        if (n > to_end)
            n = to_end;
        st = vkq_decode_cpu(t->type, (const uint8_t *)t->data + r * in_row, (size_t)(n * in_row), j->f32, n * k);
        if (st != VKQ_SUCCESS)
            return vkq_fail(st, "tensor %s: decoding %s: %s", t->name, vkq_type_get(t->type)->name, vkq_last_error());
        const void *out = j->f32;
        if (p->type != VKQ_TYPE_F32) {
            int64_t expert = (int64_t)(r / rows_per_expert);
            if (ent >= 0 && expert != cur_expert) {
                vkq_imatrix_importance(j->opt->imatrix, ent, (uint32_t)expert, j->imp);
                cur_expert = expert;
            }
            vkq_quantize_desc d = {.type = p->type, .rows = n, .k = k, .src = j->f32,
                                   .importance = ent >= 0 ? j->imp : NULL, .dst = j->q,
                                   .dst_size = (size_t)(n * out_row), .n_threads = j->opt->n_threads};
            st = vkq_quantize(&d);
            if (st != VKQ_SUCCESS)
                return vkq_fail(st, "tensor %s: quantizing to %s: %s", t->name, vkq_type_get(p->type)->name,
                                vkq_last_error());
            out = j->q;
        }
        st = vkq_gguf_writer_write_data(j->w, out, (size_t)(n * out_row));
        if (st != VKQ_SUCCESS)
            return st;
        r += n;
        j->done += n * out_row;
        progress(j, i, t->name);
    }
    if (ent >= 0)
        j->res.n_with_imatrix++;
    return VKQ_SUCCESS;
}

/* Plan, metadata and tensor infos into the writer; buffers for the largest chunk. */
static vkq_status prepare(job *j)
{
    const int64_t n = vkq_gguf_tensor_count(j->in);
    j->plans = calloc(n ? (size_t)n : 1, sizeof *j->plans);
    if (!j->plans)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "quantize model: out of memory");
    vkq_status st = vkq_recipe_plan(j->opt->recipe, j->in, j->plans);
    if (st == VKQ_SUCCESS)
        st = vkq_gguf_writer_create(&j->w);
    if (st == VKQ_SUCCESS)
        st = vkq_gguf_writer_copy_kv(j->w, j->in);
    if (st != VKQ_SUCCESS)
        return st;
    /* in llama-quantize's order, so that keys new to the file come out where it puts them */
    j->res.file_type = vkq_recipe_file_type(j->opt->recipe, j->in, j->plans);
    st = vkq_gguf_writer_set_u32(j->w, "general.quantization_version", 2);
    if (st == VKQ_SUCCESS && j->res.file_type >= 0)
        st = vkq_gguf_writer_set_u32(j->w, "general.file_type", (uint32_t)j->res.file_type);
    uint64_t max_k = 1, max_q = 1;
    for (int64_t i = 0; i < n && st == VKQ_SUCCESS; i++) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(j->in, i, &t);
        st = vkq_gguf_writer_add_tensor(j->w, t.name, t.n_dims, t.ne, j->plans[i].type);
        j->total += j->plans[i].out_bytes;
        j->res.in_tensor_bytes += j->plans[i].in_bytes;
        j->res.n_weights += (uint64_t)t.n_elems;
        if (j->plans[i].quantize) {
            uint64_t k = (uint64_t)t.ne[0], rows = CHUNK_ELEMS / k ? CHUNK_ELEMS / k : 1, qb;
            vkq_type_bytes(j->plans[i].type, k, &qb);
            if (rows * k > max_k)
                max_k = rows * k;
            if (rows * qb > max_q)
                max_q = rows * qb;
        }
    }
    if (st != VKQ_SUCCESS)
        return st;
    j->f32 = malloc((size_t)max_k * sizeof(float));
    j->imp = malloc((size_t)max_k * sizeof(float));
    j->q = malloc((size_t)max_q);
    if (!j->f32 || !j->q || !j->imp)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "quantize model: out of memory for %llu values",
                        (unsigned long long)max_k);
    return VKQ_SUCCESS;
}

static vkq_status stream(job *j)
{
    for (int64_t i = 0; i < vkq_gguf_tensor_count(j->in); i++) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(j->in, i, &t);
        vkq_status st = j->plans[i].quantize ? quantize_tensor(j, i, &t, &j->plans[i]) : copy_tensor(j, i, &t);
        if (st != VKQ_SUCCESS)
            return st;
        if (j->plans[i].quantize)
            j->res.n_quantized++;
        else
            j->res.n_copied++;
        j->res.out_tensor_bytes += j->plans[i].out_bytes;
    }
    return vkq_gguf_writer_finish(j->w, &j->res.file_bytes);
}

static vkq_status run(vkq_gguf in, const char *in_path, const char *out_path, int fd,
                      const vkq_quantize_model_options *opt, vkq_quantize_model_result *result)
{
    if (!in || !opt || !opt->recipe || (!out_path && fd < 0))
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "quantize model: NULL model, options, recipe or output");
    job j = {.in = in, .opt = opt};
    vkq_status st = prepare(&j);
    if (st == VKQ_SUCCESS)
        st = out_path ? vkq_gguf_writer_begin_path(j.w, out_path, in_path) : vkq_gguf_writer_begin_fd(j.w, fd);
    if (st == VKQ_SUCCESS)
        st = stream(&j);
    vkq_gguf_writer_destroy(j.w);  /* removes the temporary after an error */
    free(j.plans);
    free(j.f32);
    free(j.q);
    free(j.imp);
    if (st == VKQ_SUCCESS && result)
        *result = j.res;
    return st;
}

vkq_status vkq_quantize_model_to_path(vkq_gguf in, const char *in_path, const char *out_path,
                                      const vkq_quantize_model_options *opt, vkq_quantize_model_result *result)
{
    if (!out_path)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "quantize model: NULL output path");
    return run(in, in_path, out_path, -1, opt, result);
}

vkq_status vkq_quantize_model_to_fd(vkq_gguf in, int fd, const vkq_quantize_model_options *opt,
                                    vkq_quantize_model_result *result)
{
    if (fd < 0)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "quantize model: bad descriptor %d", fd);
    return run(in, NULL, NULL, fd, opt, result);
}
