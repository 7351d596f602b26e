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

usage: make_model_gguf.py OUT.gguf [--seed S] [--layers 4] [--embd 256] [--ff 512]
                          [--vocab 64] [--types Q4_0,Q8_0,...]
                          [--experts N --expert-ff 96 --expert-used 2 --exp-types Q6_K,Q8_0,...]
                          [--with-4d]
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

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=int(os.environ.get("VKQ_SEED", "0") or 0) or None)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--embd", type=int, default=256)
ap.add_argument("--ff", type=int, default=512)
ap.add_argument("--vocab", type=int, default=64)
ap.add_argument("--types", default=DEFAULT_TYPES)
ap.add_argument("--experts", type=int, default=0, help="0: dense FFN")
ap.add_argument("--expert-ff", type=int, default=96)
ap.add_argument("--expert-used", type=int, default=2)
ap.add_argument("--exp-types", default=DEFAULT_EXP_TYPES)
ap.add_argument("--with-4d", action="store_true", help="add blk.0.test_4d.weight, F32 [32, 4, 2, 2]: "
                "a shape the matmul calls must refuse")
a = ap.parse_args()
seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
rng = np.random.default_rng(seed)
types = [Q[t] for t in a.types.split(",")]
exp_types = [Q[t] for t in a.exp_types.split(",")]


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
