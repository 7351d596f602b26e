"""Writes a small llama-shaped GGUF model with gguf-py's GGUFWriter, for the model tests and the
partial-offload bench: LAYERS blocks of attn_q/k/v/output and ffn_up/gate/down (plus their
1-D norms), token_embd, output_norm and output. The seven 2-D weights of a layer take seven
types in turn, rotated by one per layer, so every weight slot sees every type.

Weights have realistic magnitudes: types gguf-py can quantize are quantized from N(0, 0.05^2)
values; the others (K and IQ types) get random bytes whose fp16 scale fields are set to small
finite values, which is all a decoder needs (the tests decode them with vkq_decode_cpu).

With --experts N (mixture of experts, laid out as Mixtral's GGUF files are) each layer's FFN is
instead a router ffn_gate_inp [embd, N] (F32) and three 3-D expert tensors ffn_gate_exps and
ffn_up_exps [embd, expert_ff, N] and ffn_down_exps [expert_ff, embd, N] (ggml order, ne0 first:
expert e is the contiguous e-th slice), with llama.expert_count / llama.expert_used_count set.
Their types rotate over --exp-types, skipping a type whose block does not divide the row (the
down projection's k = expert_ff is not a multiple of 256, so it never gets a K-quant). With the
default expert_ff 96, Q6_K experts are 20160 bytes apart: most expert slices start off any
256-byte boundary.

With --arch llama|qwen2|qwen3|gemma3|qwen3moe it writes instead a small model of that architecture
as llama.cpp's GGUF files lay it out, for the whole-model tests and tests/ref_forward.py: the
metadata a real file has (ARCH.context_length, embedding_length, block_count, feed_forward_length,
attention.head_count/head_count_kv/key_length/value_length/layer_norm_rms_epsilon,
rope.freq_base/dimension_count; gemma3 attention.sliding_window; qwen3moe expert_count,
expert_used_count, expert_feed_forward_length), a tiny SentencePiece-style vocabulary (<unk> <s>
</s>, 256 byte tokens, word pieces), and the tensors: token_embd, output_norm, output (none with
--tied: the head is token_embd), per block attn_norm, attn_q/k/v/output, ffn_norm,
ffn_gate/up/down; qwen2 adds attn_q/k/v.bias, qwen3 and gemma3 attn_q_norm/attn_k_norm [head_dim],
gemma3 post_attention_norm and post_ffw_norm, qwen3moe replaces the FFN by ffn_gate_inp and the
three ffn_*_exps; llama --rope-freqs adds rope_freqs.weight (Llama 3 factors, base 500000). Norm
weights are ~N(1, 0.1^2), matrices ~N(0, s^2) with s = 1/sqrt(k) clipped to 0.02..0.1, embeddings ~N(0, 0.1^2), so
activations stay O(1) through the layers. The 2-D weights rotate over --types as above, each slot
taking the next type whose block divides its rows (F16 if none); types gguf-py cannot quantize
are random bytes whose scale fields are scaled until the tensor has the wanted deviation (and
whose min fields centre it). Defaults: embd 128, 3 layers (gemma3 7: layer il slides iff
il % 6 < 5), heads 4, kv heads 2 (gemma3 1), head_dim 32 (gemma3 64), ff 256, vocab 300,
context 256, sliding window 8, qwen3moe 8 experts of which 2 used, expert ff --expert-ff.

usage: make_model_gguf.py OUT.gguf [--seed S] [--layers 4] [--embd 256] [--ff 512]
                          [--vocab 64] [--types Q4_0,Q8_0,...]
                          [--experts N --expert-ff 96 --expert-used 2 --exp-types Q6_K,Q8_0,...]
                          [--with-4d]
       make_model_gguf.py OUT.gguf --arch ARCH [--seed S] [--layers N] [--embd N] [--ff N] [--vocab N]
                          [--heads N] [--kv-heads N] [--head-dim N] [--ctx N] [--sliding-window N]
                          [--types ...] [--embd-type Q8_0] [--head-type Q6_K] [--tied] [--rope-freqs]
                          [--experts N --expert-ff N --expert-used N --exp-types ...]
"""
import argparse
import os

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

# fp16 scale fields (byte offsets in the block) of the types written as random bytes.
SCALE_OFFSETS = {
    Q.Q2_K: (80, 82), Q.Q3_K: (108,), Q.Q4_K: (0, 2), Q.Q5_K: (0, 2), Q.Q6_K: (208,),
    Q.IQ4_NL: (0,), Q.IQ4_XS: (0,), Q.Q4_1: (0, 2), Q.Q5_1: (0, 2),
}
QUANTIZABLE = {Q.Q4_0, Q.Q5_0, Q.Q8_0, Q.MXFP4, Q.BF16}
DEFAULT_TYPES = "Q4_0,Q8_0,Q4_K,IQ4_NL,Q6_K,F16,Q5_K"
DEFAULT_EXP_TYPES = "Q6_K,Q8_0,Q4_K,Q5_0"
ARCHS = ("llama", "qwen2", "qwen3", "gemma3", "qwen3moe")
ARCH_TYPES = "Q4_0,Q8_0,Q4_K,IQ4_NL,Q6_K,F16,Q5_1,Q4_1,Q5_0,BF16"


def fitting_type(types, i, k):
    """The i-th type of the rotation types whose block divides the row length k (F16 if none)."""
    for j in range(len(types)):
        qt = types[(i + j) % len(types)]
        if qt in (Q.F32, Q.F16, Q.BF16) or k % GGML_QUANT_SIZES[qt][0] == 0:
            return qt
    return Q.F16


# Random-byte types (no gguf-py quantizer) whose blocks store a min next to the scale: the min
# field is set to this multiple of the scale so that the decoded values average about zero.
MIN_OVER_SCALE = {Q.Q2_K: 1.5, Q.Q4_K: 7.5, Q.Q5_K: 15.5}


def arch_tensor(rng, qt, shape, std, mean=0.0):
    """A tensor of ggml shape (ne0 first) of type qt whose decoded values have about this mean and
    standard deviation; returns (array to add, raw_dtype or None). Types gguf-py can quantize are
    quantized from normal values; the others are random bytes whose scale fields (and min fields)
    are scaled until the decoded tensor has the wanted deviation (every decoded value is linear in
    them)."""
    rows = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    npshape = tuple(reversed(shape))
    if qt in (Q.F32, Q.F16) or qt in QUANTIZABLE or qt in (Q.Q4_1, Q.Q5_1):
        vals = (rng.standard_normal((rows, shape[0])) * std + mean).astype(np.float32)
        if qt == Q.F32:
            return vals.reshape(npshape), None
        if qt == Q.F16:
            return vals.astype(np.float16).reshape(npshape), None
        raw = quants.quantize(vals, qt)
        return raw.reshape(npshape[:-1] + (raw.shape[-1],)), qt
    block, tsize = GGML_QUANT_SIZES[qt]
    nblk = rows * shape[0] // block
    raw = rng.integers(0, 256, size=(nblk, tsize), dtype=np.uint8)
    offs = SCALE_OFFSETS[qt]
    d = rng.uniform(0.5, 1.0, size=nblk)
    fields = [d] + [d * MIN_OVER_SCALE.get(qt, 1.0)] * (len(offs) - 1)
    for attempt in range(2):
        for off, f in zip(offs, fields):
            raw[:, off:off + 2] = f.astype(np.float16).view(np.uint8).reshape(nblk, 2)
        got = float(np.std(quants.dequantize(raw, qt)))
        fields = [f * (std / got) for f in fields]
    return raw.reshape(npshape[:-1] + (shape[0] // block * tsize,)), qt


def llama3_rope_factors(n_rot, base, factor=8.0, low=1.0, high=4.0, orig_ctx=8192):
    """rope_freqs as Llama 3.1 conversions write them: 1 for short wavelengths, factor for long
    ones, a smooth ramp between."""
    out = []
    for i in range(n_rot // 2):
        wavelen = 2 * np.pi / base ** (-2 * i / n_rot)
        if wavelen < orig_ctx / high:
            out.append(1.0)
        elif wavelen > orig_ctx / low:
            out.append(factor)
        else:
            smooth = (orig_ctx / wavelen - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def tiny_vocab(n):
    """A SentencePiece-style vocabulary of n entries: <unk> <s> </s>, the 256 byte tokens, then
    word pieces with decreasing scores."""
    if n < 262:
        raise SystemExit(f"make_model_gguf: --vocab {n}: an --arch model needs at least 262 tokens")
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    kinds = [2, 3, 3] + [6] * 256
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    pieces = ["\u2581" + c for c in letters] + list(letters)
    pieces += ["\u2581" + x + y for x in letters for y in letters] + [x + y for x in letters for y in letters]
    need = n - len(toks)
    if need > len(pieces):
        raise SystemExit(f"make_model_gguf: --vocab {n}: at most {len(toks) + len(pieces)} tokens")
    toks += pieces[:need]
    kinds += [1] * need
    scores = [0.0] * 259 + [-float(i) for i in range(need)]
    return toks, scores, kinds


def write_arch(a, seed, rng, exp_types):
    arch = a.arch
    gemma = arch == "gemma3"
    L = a.layers or (7 if gemma else 3)
    E = a.embd or 128
    F = a.ff or 256
    V = a.vocab or 300
    H = a.heads or 4
    HKV = a.kv_heads or (1 if gemma else 2)
    D = a.head_dim or (64 if gemma else 32)
    NE = a.experts or (8 if arch == "qwen3moe" else 0)
    FE = a.expert_ff
    types = [Q[t] for t in a.types.split(",")]
    if H % HKV:
        raise SystemExit(f"make_model_gguf: --heads {H} is not a multiple of --kv-heads {HKV}")
    base = {"llama": 500000.0 if a.rope_freqs else 10000.0}.get(arch, 1000000.0)
    eps = 1e-6 if arch != "llama" else 1e-5

    w = GGUFWriter(a.out, arch)
    w.add_name(f"vkquant test {arch}")
    w.add_uint32("vkquant.test_seed", seed & 0xFFFFFFFF)
    w.add_context_length(a.ctx)
    w.add_embedding_length(E)
    w.add_block_count(L)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_key_length(D)
    w.add_value_length(D)
    w.add_layer_norm_rms_eps(eps)
    w.add_rope_freq_base(base)
    w.add_rope_dimension_count(D)
    if gemma:
        w.add_sliding_window(a.sliding_window)
    if NE:
        w.add_expert_count(NE)
        w.add_expert_used_count(a.expert_used)
        w.add_expert_feed_forward_length(FE)
    toks, scores, kinds = tiny_vocab(V)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(kinds)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    def mat_std(k):
        return float(np.clip(1.0 / np.sqrt(k), 0.02, 0.1))

    # (name, type, ggml shape, std, mean)
    # a type whose block does not divide embd falls back to Q8_0 (or F16)
    t = [("token_embd.weight", fitting_type([Q[a.embd_type], Q.Q8_0, Q.F16], 0, E), [E, V], 0.1, 0.0)]
    if a.rope_freqs:
        if arch != "llama":
            raise SystemExit("make_model_gguf: --rope-freqs is for --arch llama")
        t.append(("rope_freqs.weight", None, [D // 2], 0, 0))
    slots = [("attn_q", [E, H * D]), ("attn_k", [E, HKV * D]), ("attn_v", [E, HKV * D]),
             ("attn_output", [H * D, E])]
    if not NE:
        slots += [("ffn_gate", [E, F]), ("ffn_up", [E, F]), ("ffn_down", [F, E])]
    exp_slots = [("ffn_gate_exps", [E, FE, NE]), ("ffn_up_exps", [E, FE, NE]), ("ffn_down_exps", [FE, E, NE])]
    for il in range(L):
        b = f"blk.{il}."
        t.append((b + "attn_norm.weight", Q.F32, [E], 0.1, 1.0))
        for s, (slot, shape) in enumerate(slots):
            t.append((b + slot + ".weight", fitting_type(types, s + il, shape[0]), shape, mat_std(shape[0]), 0.0))
        if arch == "qwen2":
            for slot, n in (("attn_q", H * D), ("attn_k", HKV * D), ("attn_v", HKV * D)):
                t.append((b + slot + ".bias", Q.F32, [n], 0.2, 0.0))
        if arch in ("qwen3", "qwen3moe", "gemma3"):
            t.append((b + "attn_q_norm.weight", Q.F32, [D], 0.1, 1.0))
            t.append((b + "attn_k_norm.weight", Q.F32, [D], 0.1, 1.0))
        if gemma:
            t.append((b + "post_attention_norm.weight", Q.F32, [E], 0.1, 1.0))
        t.append((b + "ffn_norm.weight", Q.F32, [E], 0.1, 1.0))
        if NE:
            t.append((b + "ffn_gate_inp.weight", Q.F32, [E, NE], 0.3, 0.0))
            for s, (slot, shape) in enumerate(exp_slots):
                t.append((b + slot + ".weight", exp_type_of(exp_types, s + il, shape[0]), shape,
                          mat_std(shape[0]), 0.0))
        if gemma:
            t.append((b + "post_ffw_norm.weight", Q.F32, [E], 0.1, 1.0))
    t.append(("output_norm.weight", Q.F32, [E], 0.1, 1.0))
    if not a.tied:
        t.append(("output.weight", fitting_type([Q[a.head_type], Q.Q8_0, Q.F16], 0, E), [E, V], mat_std(E), 0.0))

    total = 0
    for name, qt, shape, std, mean in t:
        if name == "rope_freqs.weight":
            arr, raw = llama3_rope_factors(D, base), None
        else:
            arr, raw = arch_tensor(rng, qt, shape, std, mean)
        total += arr.nbytes
        if raw is None:
            w.add_tensor(name, arr)
        else:
            w.add_tensor(name, arr, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"make_model_gguf: seed {seed}, {arch}, {L} layers, embd {E}, heads {H}/{HKV}x{D}, ff {F}, "
          f"{f'{NE} experts ({a.expert_used} used, ff {FE}), ' if NE else ''}vocab {V}, {len(t)} tensors, "
          f"{total / 2**20:.2f} MiB -> {a.out}")


def exp_type_of(exp_types, i, k):
    for j in range(len(exp_types)):
        qt = exp_types[(i + j) % len(exp_types)]
        if qt in (Q.F32, Q.F16, Q.BF16) or k % GGML_QUANT_SIZES[qt][0] == 0:
            return qt
    raise SystemExit(f"make_model_gguf: no type of --exp-types fits k = {k}")


ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=int(os.environ.get("VKQ_SEED", "0") or 0) or None)
ap.add_argument("--layers", type=int, help="default 4 (--arch: 3, gemma3 7)")
ap.add_argument("--embd", type=int, help="default 256 (--arch: 128)")
ap.add_argument("--ff", type=int, help="default 512 (--arch: 256)")
ap.add_argument("--vocab", type=int, help="default 64 (--arch: 300)")
ap.add_argument("--types", help=f"default {DEFAULT_TYPES} (--arch: {ARCH_TYPES})")
ap.add_argument("--experts", type=int, default=0, help="0: dense FFN (--arch qwen3moe: 8)")
ap.add_argument("--expert-ff", type=int, default=96)
ap.add_argument("--expert-used", type=int, default=2)
ap.add_argument("--exp-types", default=DEFAULT_EXP_TYPES)
ap.add_argument("--with-4d", action="store_true", help="add blk.0.test_4d.weight, F32 [32, 4, 2, 2]: "
                "a shape the matmul calls must refuse")
ap.add_argument("--arch", choices=ARCHS, help="a model of this architecture (see above) instead")
ap.add_argument("--heads", type=int, help="--arch: query heads (default 4)")
ap.add_argument("--kv-heads", type=int, help="--arch: key/value heads (default 2, gemma3 1)")
ap.add_argument("--head-dim", type=int, help="--arch: default 32 (gemma3 64)")
ap.add_argument("--ctx", type=int, default=256, help="--arch: context_length")
ap.add_argument("--sliding-window", type=int, default=8, help="--arch gemma3")
ap.add_argument("--tied", action="store_true", help="--arch: no output.weight (the head is token_embd)")
ap.add_argument("--rope-freqs", action="store_true", help="--arch llama: rope_freqs.weight, Llama 3 factors")
ap.add_argument("--embd-type", default="Q8_0", help="--arch: type of token_embd")
ap.add_argument("--head-type", default="Q6_K", help="--arch: type of output.weight")
a = ap.parse_args()
if not a.arch:
    a.layers = a.layers or 4
    a.embd = a.embd or 256
    a.ff = a.ff or 512
    a.vocab = a.vocab or 64
a.types = a.types or (ARCH_TYPES if a.arch else DEFAULT_TYPES)
seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
rng = np.random.default_rng(seed)
types = [Q[t] for t in a.types.split(",")]
exp_types = [Q[t] for t in a.exp_types.split(",")]
if a.arch:
    write_arch(a, seed, rng, exp_types)
    raise SystemExit(0)


def exp_type(i, k):
    """The i-th expert type of the rotation whose block divides k."""
    for j in range(len(exp_types)):
        qt = exp_types[(i + j) % len(exp_types)]
        if qt in (Q.F32, Q.F16, Q.BF16) or k % GGML_QUANT_SIZES[qt][0] == 0:
            return qt
    raise SystemExit(f"make_model_gguf: no type of --exp-types fits k = {k}")


def tensor_bytes(qt, shape):
    """shape in ggml order (ne0 first); returns (array to add, raw_dtype or None)."""
    rows = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    vals = (rng.standard_normal((rows, shape[0])) * 0.05).astype(np.float32)
    if qt == Q.F32:
        return vals.reshape(tuple(reversed(shape))), None
    if qt == Q.F16:
        return vals.astype(np.float16).reshape(tuple(reversed(shape))), None
    block, tsize = GGML_QUANT_SIZES[qt]
    if qt in QUANTIZABLE:
        raw = quants.quantize(vals, qt)
    else:
        nblk = rows * shape[0] // block
        raw = rng.integers(0, 256, size=(nblk, tsize), dtype=np.uint8)
        for off in SCALE_OFFSETS[qt]:
            d = rng.uniform(2.0 ** -9, 2.0 ** -6, size=nblk).astype(np.float16)
            raw[:, off:off + 2] = d.view(np.uint8).reshape(nblk, 2)
    return raw.reshape(tuple(reversed(shape[1:])) + (shape[0] // block * tsize,)), qt


w = GGUFWriter(a.out, "llama")
w.add_block_count(a.layers)
w.add_embedding_length(a.embd)
w.add_feed_forward_length(a.ff)
w.add_uint32("vkquant.test_seed", seed & 0xFFFFFFFF)
E, F, NE, FE = a.embd, a.ff, a.experts, a.expert_ff
if NE:
    w.add_expert_count(NE)
    w.add_expert_used_count(a.expert_used)
    w.add_expert_feed_forward_length(FE)
tensors = [("token_embd.weight", Q.Q8_0, [E, a.vocab])]
slots = [("attn_q", [E, E]), ("attn_k", [E, E // 2]), ("attn_v", [E, E // 2]), ("attn_output", [E, E])]
if not NE:
    slots += [("ffn_up", [E, F]), ("ffn_gate", [E, F]), ("ffn_down", [F, E])]
exp_slots = [("ffn_gate_exps", [E, FE, NE]), ("ffn_up_exps", [E, FE, NE]), ("ffn_down_exps", [FE, E, NE])]
for layer in range(a.layers):
    tensors.append((f"blk.{layer}.attn_norm.weight", Q.F32, [E]))
    for s, (slot, shape) in enumerate(slots):
        tensors.append((f"blk.{layer}.{slot}.weight", types[(s + layer) % len(types)], shape))
    if NE:
        tensors.append((f"blk.{layer}.ffn_gate_inp.weight", Q.F32, [E, NE]))
        for s, (slot, shape) in enumerate(exp_slots):
            tensors.append((f"blk.{layer}.{slot}.weight", exp_type(s + layer, shape[0]), shape))
    tensors.append((f"blk.{layer}.ffn_norm.weight", Q.F32, [E]))
    if a.with_4d and layer == 0:
        tensors.append(("blk.0.test_4d.weight", Q.F32, [32, 4, 2, 2]))
tensors += [("output_norm.weight", Q.F32, [E]), ("output.weight", Q.Q6_K, [E, a.vocab])]
total = 0
for name, qt, shape in tensors:
    arr, raw = tensor_bytes(qt, shape)
    total += arr.nbytes
    if raw is None:
        w.add_tensor(name, arr)
    else:
        w.add_tensor(name, arr, raw_dtype=raw)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print(f"make_model_gguf: seed {seed}, {a.layers} layers, {f'{NE} experts, ' if NE else ''}{len(tensors)} tensors, "
      f"{total / 2**20:.2f} MiB -> {a.out}")
