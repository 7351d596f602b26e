/* Recipes (include/vkquant/convert.h): rules, bases, llama.cpp's mixes, row-length fallbacks.
 *
 * The mix choices were learnt by reading llama.cpp's src/llama-quant.cpp (which tensors go up a
 * type in each ftype) and are written here as our own tables; src/convert/README.md has them as
 * a table. Not modelled: Falcon's and the 70B-size special cases (the file does not say the
 * model size), and llama.cpp's refusal of IQ1/IQ2 types without an imatrix. */
#include "vkquant/convert.h"
#include "vkquant/quant.h"
#include "core/error.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mix_id { MIX_NONE, MIX_Q2_K, MIX_Q3_K_M, MIX_Q4_K_M, MIX_Q5_K_M };

/* Named mixes: a base type with llama.cpp's bumps, or an alias for a spec. */
static const struct named_mix {
    const char *name;
    enum mix_id id;
    vkq_type base;
    int32_t ftype;        /* LLAMA_FTYPE */
    const char *alias;    /* a spec this name stands for (then id is MIX_NONE) */
} MIXES[] = {
    {"Q4_K_M", MIX_Q4_K_M, VKQ_TYPE_Q4_K, 15, NULL},
    {"Q5_K_M", MIX_Q5_K_M, VKQ_TYPE_Q5_K, 17, NULL},
    {"Q3_K_M", MIX_Q3_K_M, VKQ_TYPE_Q3_K, 12, NULL},
    {"Q2_K", MIX_Q2_K, VKQ_TYPE_Q2_K, 10, NULL},
    {"MOE_IQ2", MIX_NONE, VKQ_TYPE_Q8_0, 19,
     "ffn_(gate|up)_exps\\.weight$=IQ2_XXS,ffn_down_exps\\.weight$=Q2_K,Q8_0"},
};

/* llama.cpp's LLAMA_FTYPE of a plain type (the closest one for types without their own). */
static const struct { vkq_type type; int32_t ftype; } FTYPES[] = {
    {VKQ_TYPE_F32, 0}, {VKQ_TYPE_F16, 1}, {VKQ_TYPE_Q4_0, 2}, {VKQ_TYPE_Q4_1, 3}, {VKQ_TYPE_Q8_0, 7},
    {VKQ_TYPE_Q5_0, 8}, {VKQ_TYPE_Q5_1, 9}, {VKQ_TYPE_Q2_K, 10}, {VKQ_TYPE_Q3_K, 11}, {VKQ_TYPE_Q4_K, 14},
    {VKQ_TYPE_Q5_K, 16}, {VKQ_TYPE_Q6_K, 18}, {VKQ_TYPE_IQ2_XXS, 19}, {VKQ_TYPE_IQ2_XS, 20},
    {VKQ_TYPE_IQ3_XXS, 23}, {VKQ_TYPE_IQ1_S, 24}, {VKQ_TYPE_IQ4_NL, 25}, {VKQ_TYPE_IQ3_S, 26},
    {VKQ_TYPE_IQ2_S, 28}, {VKQ_TYPE_IQ4_XS, 30}, {VKQ_TYPE_IQ1_M, 31}, {VKQ_TYPE_BF16, 32},
    {VKQ_TYPE_TQ1_0, 36}, {VKQ_TYPE_TQ2_0, 37}, {VKQ_TYPE_MXFP4, 38}, {VKQ_TYPE_NVFP4, 39},
    {VKQ_TYPE_Q1_0, 40}, {VKQ_TYPE_Q2_0, 41},
};
#define FTYPE_GUESSED 1024

/* When ne[0] is not a multiple of the wanted type's block: llama.cpp's fallback. A type with a
 * block of 32 or less that does not fit, or one not listed, goes to F16 (llama.cpp refuses the
 * unlisted ones). */
static const struct { vkq_type from, to; } FALLBACK[] = {
    {VKQ_TYPE_IQ1_S, VKQ_TYPE_IQ4_NL}, {VKQ_TYPE_IQ1_M, VKQ_TYPE_IQ4_NL}, {VKQ_TYPE_IQ2_XXS, VKQ_TYPE_IQ4_NL},
    {VKQ_TYPE_IQ2_XS, VKQ_TYPE_IQ4_NL}, {VKQ_TYPE_IQ2_S, VKQ_TYPE_IQ4_NL}, {VKQ_TYPE_IQ3_XXS, VKQ_TYPE_IQ4_NL},
    {VKQ_TYPE_IQ3_S, VKQ_TYPE_IQ4_NL}, {VKQ_TYPE_IQ4_XS, VKQ_TYPE_IQ4_NL},
    {VKQ_TYPE_Q2_0, VKQ_TYPE_Q4_0}, {VKQ_TYPE_Q2_K, VKQ_TYPE_Q4_0}, {VKQ_TYPE_Q3_K, VKQ_TYPE_Q4_0},
    {VKQ_TYPE_TQ1_0, VKQ_TYPE_Q4_0}, {VKQ_TYPE_TQ2_0, VKQ_TYPE_Q4_0},
    {VKQ_TYPE_Q4_K, VKQ_TYPE_Q5_0}, {VKQ_TYPE_Q5_K, VKQ_TYPE_Q5_1}, {VKQ_TYPE_Q6_K, VKQ_TYPE_Q8_0},
};

/* Name parts of quantizable-looking tensors that llama.cpp keeps as they are. */
static const char *const KEEP[] = {
    "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
    "per_layer_model_proj", "position_embd.weight", "token_types.weight", "ssm_conv1d",
    "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight", "time_mix_first.weight",
    "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
    "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight",
    "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".rel_pos",
    ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
};

typedef struct rule {
    regex_t re;
    vkq_type type;
} rule;

struct vkq_recipe_s {
    rule *rules;
    size_t n_rules;
    int has_base;
    vkq_type base;
    const struct named_mix *mix;  /* the named mix given, or NULL */
};

const char *vkq_recipe_mix_names(void) { return "Q4_K_M Q5_K_M Q3_K_M Q2_K MOE_IQ2"; }

void vkq_recipe_destroy(vkq_recipe r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_rules; i++)
        regfree(&r->rules[i].re);
    free(r->rules);
    free(r);
}

static vkq_status parse_type(const char *s, const char *item, vkq_type *out)
{
    if (vkq_type_from_name(s, out) != VKQ_SUCCESS)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe item '%s': unknown type or mix '%s' (mixes: %s)", item, s,
                        vkq_recipe_mix_names());
    if (!vkq_quantize_supported(*out) && *out != VKQ_TYPE_F32)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe item '%s': vkquant cannot quantize to %s", item, s);
    /* Q8_1 and Q8_K exist for activations only: no runtime takes them as weights */
    if (!vkq_type_get(*out)->is_weight_type)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe item '%s': %s is an activation format, not a weight type",
                        item, s);
    return VKQ_SUCCESS;
}

static vkq_status parse_spec(vkq_recipe r, const char *spec, int depth);

static vkq_status parse_item(vkq_recipe r, char *item, int depth)
{
    (void)depth;
    char *eq = strrchr(item, '=');
    if (!eq) {
        if (r->has_base)
            return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe item '%s': a second base (a recipe has one mix or "
                                                        "type without '=')", item);
        for (size_t i = 0; i < sizeof MIXES / sizeof MIXES[0]; i++) {
            if (strcasecmp(item, MIXES[i].name) == 0) {
                if (MIXES[i].alias) {
                    vkq_status st = parse_spec(r, MIXES[i].alias, depth + 1);
                    r->mix = &MIXES[i];
                    return st;
                }
                r->has_base = 1;
                r->base = MIXES[i].base;
                r->mix = &MIXES[i];
                return VKQ_SUCCESS;
            }
        }
        vkq_status st = parse_type(item, item, &r->base);
        if (st == VKQ_SUCCESS)
            r->has_base = 1;
        return st;
    }
    *eq = 0;
    const char *re = item, *tname = eq + 1;
    if (!re[0] || !tname[0]) {
        *eq = '=';
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe item '%s': expected REGEX=TYPE", item);
    }
    vkq_type type;
    vkq_status st = parse_type(tname, tname, &type);
    if (st != VKQ_SUCCESS)
        return st;
    rule *rules = realloc(r->rules, (r->n_rules + 1) * sizeof *rules);
    if (!rules)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "recipe: out of memory");
    r->rules = rules;
    int rc = regcomp(&rules[r->n_rules].re, re, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &rules[r->n_rules].re, msg, sizeof msg);
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe: bad regular expression '%s': %s", re, msg);
    }
    rules[r->n_rules++].type = type;
    return VKQ_SUCCESS;
}

static vkq_status parse_spec(vkq_recipe r, const char *spec, int depth)
{
    char *s = strdup(spec);
    if (!s)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "recipe: out of memory");
    vkq_status st = VKQ_SUCCESS;
    char *start = s;
    int brace = 0;
    for (char *p = s;; p++) {
        if (*p == '{')
            brace++;
        else if (*p == '}' && brace)
            brace--;
        if (*p == 0 || (*p == ',' && !brace)) {
            int end = *p == 0;
            *p = 0;
            if (!*start) {
                st = vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe '%s': an empty item", spec);
                break;
            }
            st = parse_item(r, start, depth);
            if (st != VKQ_SUCCESS || end)
                break;
            start = p + 1;
        }
    }
    free(s);
    return st;
}

vkq_status vkq_recipe_create(const char *spec, vkq_recipe *out)
{
    if (!out || !spec)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe: NULL spec or out");
    *out = NULL;
    vkq_recipe r = calloc(1, sizeof *r);
    if (!r)
        return vkq_fail(VKQ_ERROR_OUT_OF_HOST_MEMORY, "recipe: out of memory");
    vkq_status st = parse_spec(r, spec, 0);
    if (st != VKQ_SUCCESS) {
        vkq_recipe_destroy(r);
        return st;
    }
    *out = r;
    return VKQ_SUCCESS;
}

/* ---- planning ---- */
enum category { C_OTHER, C_OUTPUT, C_TOKEN_EMBD, C_ATTN_V, C_ATTN_K, C_ATTN_Q, C_ATTN_OUT, C_FFN_DOWN };

static enum category category_of(const char *name)
{
    if (strcmp(name, "output.weight") == 0)
        return C_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0)
        return C_TOKEN_EMBD;
    /* the fused qkv and MLA's kv_b are treated as attn_v, as llama.cpp does */
    if (strstr(name, "attn_qkv.weight") || strstr(name, "attn_kv_b.weight") || strstr(name, "attn_v.weight"))
        return C_ATTN_V;
    if (strstr(name, "attn_k.weight"))
        return C_ATTN_K;
    if (strstr(name, "attn_q.weight"))
        return C_ATTN_Q;
    if (strstr(name, "attn_output.weight"))
        return C_ATTN_OUT;
    if (strstr(name, "ffn_up") || strstr(name, "ffn_gate"))
        return C_OTHER;
    if (strstr(name, "ffn_down"))
        return C_FFN_DOWN;
    return C_OTHER;
}

static int quantizable(const vkq_gguf_tensor *t)
{
    size_t n = t->name_len;
    if (t->n_dims < 2 || n < 6 || strcmp(t->name + n - 6, "weight") != 0)
        return 0;
    for (size_t i = 0; i < sizeof KEEP / sizeof KEEP[0]; i++)
        if (strstr(t->name, KEEP[i]))
            return 0;
    return 1;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third between. */
static int more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

typedef struct model_facts {
    int n_layer, n_gqa, n_expert, tied, n_wv;
} model_facts;

static int64_t arch_u32(vkq_gguf g, const char *arch, const char *suffix, int64_t dflt)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t i = vkq_gguf_find_key(g, key);
    if (i < 0)
        return dflt;
    vkq_gguf_value v;
    vkq_gguf_get_value(g, i, &v);
    if (v.type == VKQ_GGUF_ARRAY) {  /* per-layer values: layer 0, as llama.cpp's n_gqa() */
        if (v.count == 0 || vkq_gguf_get_array_value(g, i, 0, &v) != VKQ_SUCCESS)
            return dflt;
    }
    switch (v.type) {
    case VKQ_GGUF_UINT8: case VKQ_GGUF_UINT16: case VKQ_GGUF_UINT32: case VKQ_GGUF_UINT64: return (int64_t)v.u;
    case VKQ_GGUF_INT8: case VKQ_GGUF_INT16: case VKQ_GGUF_INT32: case VKQ_GGUF_INT64: return v.i;
    default: return dflt;
    }
}

static model_facts facts_of(vkq_gguf g)
{
    model_facts f = {0};
    char arch[64] = "";
    int64_t i = vkq_gguf_find_key(g, "general.architecture");
    vkq_gguf_string s;
    if (i >= 0 && vkq_gguf_get_string(g, i, &s) == VKQ_SUCCESS && s.len < sizeof arch) {
        memcpy(arch, s.data, s.len);
        arch[s.len] = 0;
    }
    f.n_layer = (int)arch_u32(g, arch, "block_count", 0);
    int64_t heads = arch_u32(g, arch, "attention.head_count", 1);
    int64_t kv = arch_u32(g, arch, "attention.head_count_kv", heads);
    f.n_gqa = kv > 0 ? (int)(heads / kv) : 1;
    f.n_expert = (int)arch_u32(g, arch, "expert_count", 0);
    f.tied = vkq_gguf_find_tensor(g, "output.weight") < 0;
    for (int64_t t = 0; t < vkq_gguf_tensor_count(g); t++) {
        vkq_gguf_tensor ti;
        vkq_gguf_tensor_info(g, t, &ti);
        if (category_of(ti.name) == C_ATTN_V)
            f.n_wv++;
    }
    return f;
}

/* The mix's type for a tensor of category c: llama.cpp's choices for Q2_K, Q3_K_M, Q4_K_M and
 * Q5_K_M (README table). `i_wv` is the tensor's place among the attn_v-like ones (wv_rank),
 * `layer` its block. */
static vkq_type mix_type(enum mix_id id, vkq_type base, enum category c, const model_facts *f, int i_wv, int layer,
                         int64_t ne0, const char **why)
{
    vkq_type t = base;
    int n = f->n_layer > 0 ? f->n_layer : 1;
    *why = "base";
    if (c == C_OUTPUT || (c == C_TOKEN_EMBD && f->tied)) {
        *why = c == C_OUTPUT ? "mix: output" : "mix: tied token_embd is the head";
        /* the head gets Q6_K, or Q8_0 when the base's block does not divide its rows */
        return ne0 % vkq_type_get(base)->block_elems ? VKQ_TYPE_Q8_0 : base == VKQ_TYPE_Q8_0 ? base : VKQ_TYPE_Q6_K;
    }
    switch (c) {
    case C_ATTN_V:
        *why = "mix: attn_v";
        if (id == MIX_Q2_K)
            t = f->n_gqa >= 4 ? VKQ_TYPE_Q4_K : VKQ_TYPE_Q3_K;
        else if (id == MIX_Q3_K_M)
            t = i_wv < 2 ? VKQ_TYPE_Q5_K : VKQ_TYPE_Q4_K;
        else if ((id == MIX_Q4_K_M || id == MIX_Q5_K_M) && more_bits(i_wv, f->n_wv))
            t = VKQ_TYPE_Q6_K;
        else
            *why = "base";
        if (f->n_expert == 8) {
            t = VKQ_TYPE_Q8_0;
            *why = "mix: attn_v, 8 experts";
        }
        break;
    case C_ATTN_K:
        if (f->n_expert == 8) {
            t = VKQ_TYPE_Q8_0;
            *why = "mix: attn_k, 8 experts";
        }
        break;
    case C_FFN_DOWN:
        *why = "mix: ffn_down";
        if (id == MIX_Q2_K)
            t = VKQ_TYPE_Q3_K;
        else if (id == MIX_Q3_K_M)
            t = layer < n / 16 ? VKQ_TYPE_Q5_K : VKQ_TYPE_Q4_K;
        else if ((id == MIX_Q4_K_M || id == MIX_Q5_K_M) && more_bits(layer, n))
            t = VKQ_TYPE_Q6_K;
        else
            *why = "base";
        break;
    case C_ATTN_OUT:
        *why = "mix: attn_output";
        if (f->n_expert == 8 && id != MIX_Q5_K_M)
            t = VKQ_TYPE_Q5_K;
        else if (f->n_expert != 8 && id == MIX_Q2_K)
            t = VKQ_TYPE_Q3_K;
        else if (f->n_expert != 8 && id == MIX_Q3_K_M)
            t = VKQ_TYPE_Q4_K;
        else
            *why = "base";
        break;
    default:
        break;
    }
    return t;
}

static vkq_type fallback(vkq_type t, int64_t ne0)
{
    const vkq_type_info *ti = vkq_type_get(t);
    if (ne0 % ti->block_elems == 0)
        return t;
    vkq_type to = VKQ_TYPE_F16;
    for (size_t i = 0; i < sizeof FALLBACK / sizeof FALLBACK[0]; i++)
        if (FALLBACK[i].from == t)
            to = FALLBACK[i].to;
    return ne0 % vkq_type_get(to)->block_elems ? VKQ_TYPE_F16 : to;
}

static int layer_of(const char *name, int counter)
{
    int l;
    return sscanf(name, "blk.%d.", &l) == 1 ? l : counter;
}

/* llama-quantize visits tensors by (block number, -1 outside blocks; then name), not in file
 * order, and counts attn_v-like tensors in that order: this tensor's place among them. */
static int wv_rank(vkq_gguf g, const char *name)
{
    int rank = 0, la = layer_of(name, -1);
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g); i++) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        if (category_of(t.name) != C_ATTN_V)
            continue;
        int lb = layer_of(t.name, -1);
        rank += lb < la || (lb == la && strcmp(t.name, name) < 0);
    }
    return rank;
}

vkq_status vkq_recipe_plan(vkq_recipe r, vkq_gguf g, vkq_tensor_plan *plans)
{
    if (!r || !g || !plans)
        return vkq_fail(VKQ_ERROR_INVALID_ARGUMENT, "recipe plan: NULL argument");
    model_facts f = facts_of(g);
    int i_down = 0;
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g); i++) {
        vkq_gguf_tensor t;
        vkq_gguf_tensor_info(g, i, &t);
        vkq_tensor_plan *p = &plans[i];
        memset(p, 0, sizeof *p);
        p->in_type = p->type = p->wanted = t.type;
        p->in_bytes = p->out_bytes = t.nbytes;
        const char *why = NULL;
        enum category c = category_of(t.name);
        if (!quantizable(&t)) {
            why = t.n_dims < 2 ? "kept: 1-D" : "kept: not quantized";
        } else {
            size_t k;
            for (k = 0; k < r->n_rules; k++)
                if (regexec(&r->rules[k].re, t.name, 0, NULL, 0) == 0)
                    break;
            if (k < r->n_rules) {
                p->wanted = r->rules[k].type;
                snprintf(p->why, sizeof p->why, "rule %zu", k + 1);
            } else if (r->has_base && r->mix && r->mix->id != MIX_NONE) {
                p->wanted = mix_type(r->mix->id, r->base, c, &f, c == C_ATTN_V ? wv_rank(g, t.name) : 0,
                                     layer_of(t.name, i_down), t.ne[0], &why);
            } else if (r->has_base) {
                p->wanted = r->base;
                why = "base";
            } else {
                why = "kept: no rule matches";
            }
            p->type = fallback(p->wanted, t.ne[0]);
            if (p->type != p->wanted)
                why = "fallback: row length";
        }
        if (c == C_FFN_DOWN)
            i_down++;
        if (why)
            snprintf(p->why, sizeof p->why, "%s", why);
        p->quantize = p->type != t.type;
        if (p->quantize && vkq_type_bytes(p->type, (uint64_t)t.n_elems, &p->out_bytes) != VKQ_SUCCESS)
            return vkq_fail(VKQ_ERROR_BAD_SHAPE, "recipe plan: tensor %s does not fit %s", t.name,
                            vkq_type_get(p->type)->name);
    }
    return VKQ_SUCCESS;
}

static int32_t ftype_of_type(vkq_type t)
{
    for (size_t i = 0; i < sizeof FTYPES / sizeof FTYPES[0]; i++)
        if (FTYPES[i].type == t)
            return FTYPES[i].ftype;
    return FTYPE_GUESSED;
}

int32_t vkq_recipe_file_type(vkq_recipe r, vkq_gguf g, const vkq_tensor_plan *plans)
{
    if (!r || !g || !plans)
        return -1;
    if (r->mix)
        return r->mix->ftype;
    if (r->has_base)
        return ftype_of_type(r->base);
    /* rules only: the type that carries most quantized bytes */
    uint64_t bytes[64] = {0};
    vkq_type ids[64];
    int n = 0, best = -1;
    for (int64_t i = 0; i < vkq_gguf_tensor_count(g); i++) {
        if (!plans[i].quantize)
            continue;
        int k;
        for (k = 0; k < n && ids[k] != plans[i].type; k++)
            ;
        if (k == n && n < 64)
            ids[n++] = plans[i].type;
        if (k < n)
            bytes[k] += plans[i].out_bytes;
        if (k < n && (best < 0 || bytes[k] > bytes[best]))
            best = k;
    }
    return best < 0 ? -1 : ftype_of_type(ids[best]);
}
