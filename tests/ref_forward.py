"""NumPy float64 forward pass of the GGUF architectures vkquant runs (llama, qwen2, qwen3, gemma3,
qwen3moe), the tests' oracle for whole models. Weights are read and decoded by gguf-py
(GGUFReader, gguf.quants.dequantize); every operation after that is float64, with one deliberate
rounding: the K and V rows written to the cache are rounded to the cache's type (F32: none, F16,
BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 through gguf-py's quantizers), as an engine storing its cache
in that type does.

The semantics are llama.cpp's for each architecture:
- every block: h = rmsnorm(x) * attn_norm; q, k, v = W h (+ bias where the file has one);
  per-head RMSNorm of q and k where attn_q_norm / attn_k_norm exist (before RoPE); RoPE over the
  first rope.dimension_count dims, pairs (2i, 2i+1) for llama and (i, i + n_rot/2) for the others,
  angle pos * freq_scale * base^(-2i/n_rot) / rope_freqs[i]; causal attention, query head h reads
  kv head h // (n_head / n_head_kv); x += Wo attn; then the FFN on rmsnorm(x) * ffn_norm, gated
  SiLU (GELU-tanh for gemma3), or for mixture-of-experts layers softmax over ffn_gate_inp logits,
  the top expert_used_count experts, their probabilities renormalised to sum 1;
- gemma3: embeddings scaled by sqrt(n_embd); post_attention_norm and post_ffw_norm applied to each
  branch before its residual add; layer il is sliding iff il % 6 < 5 (or the file's
  attention.sliding_window_pattern), sliding layers use rope base rope.freq_base_swa (default
  10000) and scale 1 and see only keys with q_pos - k_pos < attention.sliding_window; the
  attention scale is 1/sqrt(key_length) (1/sqrt(n_embd/n_head) for the 62-layer 27B);
  final_logit_softcapping where the file sets it;
- final rmsnorm * output_norm, then output.weight, or token_embd when the file has no output.

usage: ref_forward.py MODEL.gguf (--tokens 1,2,3 | --tokens-file IDS) [--ctk F16] [--ctv F16]
                      [--out logits.f64] [--print-top K]
       ref_forward.py MODEL.gguf --perplexity IDS [--ctx 512] [--chunks N]
  IDS: a file of token ids as llama-tokenize --ids prints them ([2, 156, ...]) or one per line.
  --out writes raw little-endian float64 [n_tokens][n_vocab].
  --perplexity scores as llama-perplexity does: chunks of --ctx tokens whose first token is
  replaced by BOS, the second half of each chunk scored; prints [1]ppl,[2]ppl,... (running).
"""
import argparse
import json
import math
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

ARCHS = ("llama", "qwen2", "qwen3", "gemma3", "qwen3moe")
NEOX = {"qwen2", "qwen3", "gemma3", "qwen3moe"}
KV_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL")
# Decoded weights above this many values are decoded in row chunks when used (the output head).
BIG = 1 << 24


class RefError(Exception):
    pass


def round_bf16(x):
    """float32 -> bfloat16 -> float, round to nearest even (NaN kept)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    r = ((u + (0x7FFF + ((u >> 16) & 1))) >> 16) << 16
    r = np.where(np.isnan(x), u | 0x00400000, r).astype(np.uint32)
    return r.view(np.float32).astype(np.float64)


def round_to_cache(rows, type_name):
    """Rows [n, width] (float64) as they read back from a cache of this type."""
    f32 = rows.astype(np.float32)
    if type_name == "F32":
        return f32.astype(np.float64)
    if type_name == "F16":
        return f32.astype(np.float16).astype(np.float64)
    if type_name == "BF16":
        return round_bf16(f32)
    qt = Q[type_name]
    block = gguf.constants.GGML_QUANT_SIZES[qt][0]
    if rows.shape[-1] % block:
        raise RefError(f"KV cache type {type_name}: row of {rows.shape[-1]} values is not a multiple "
                       f"of its block of {block}")
    try:
        raw = gguf.quants.quantize(f32, qt)
    except NotImplementedError:
        raise RefError(f"KV cache type {type_name}: gguf-py has no quantizer for it, so the reference "
                       f"cannot emulate it (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1)") from None
    return gguf.quants.dequantize(raw, qt).astype(np.float64)


# llama.cpp's CPU backend multiplies a weight of type T by activations first converted to T's
# "vec_dot_type"; emulate_cpu=True reproduces that rounding (to see how far the exact forward is
# from llama.cpp's CPU numbers, e.g. perplexity), never used for the tests' oracle.
Q8_0_ACT = {Q.Q4_0, Q.Q5_0, Q.Q8_0, Q.Q4_1, Q.Q5_1, Q.IQ4_NL, Q.MXFP4}


def round_q8_k(x):
    """Rows quantized as ggml's Q8_K (blocks of 256, float scale -max/127, codes <= 127)."""
    n, k = x.shape
    b = x.astype(np.float32).reshape(n, k // 256, 256)
    idx = np.argmax(np.abs(b), axis=2)
    mx = np.take_along_axis(b, idx[..., None], axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(mx != 0, np.float32(-127.0) / mx, 0).astype(np.float32)
        qv = np.minimum(127, np.rint(iscale * b))
        d = np.where(mx != 0, np.float32(1.0) / iscale, 0).astype(np.float32)
    return (qv * d).reshape(n, k).astype(np.float64)


def round_activations(x, wtype):
    if wtype == Q.F32:
        return x
    if wtype == Q.F16:
        return round_to_cache(x, "F16")
    if wtype == Q.BF16:
        return round_to_cache(x, "BF16")
    if wtype in Q8_0_ACT:
        return round_to_cache(x, "Q8_0")
    if x.shape[-1] % 256 == 0:
        return round_q8_k(x)
    raise RefError(f"emulate_cpu: no activation rounding for {wtype.name} with k = {x.shape[-1]}")


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, n_rot, base, scale, neox, factors=None):
    """x [n, heads, d] rotated in place of its first n_rot dims at positions pos [n]."""
    half = n_rot // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)
    if factors is not None:
        inv = inv / factors
    theta = pos.astype(np.float64)[:, None] * scale * inv[None, :]
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    y = x.copy()
    if neox:
        x0, x1 = x[..., :half], x[..., half:n_rot]
        y[..., :half] = x0 * c - x1 * s
        y[..., half:n_rot] = x0 * s + x1 * c
    else:
        x0, x1 = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2] = x0 * c - x1 * s
        y[..., 1:n_rot:2] = x0 * s + x1 * c
    return y


class Model:
    """Hyper-parameters and decoded weights of one GGUF file (decoded once, kept as float64)."""

    def __init__(self, path, emulate_cpu=False):
        self.emulate_cpu = emulate_cpu
        self.reader = gguf.GGUFReader(path)
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.cache = {}
        arch = self.meta("general.architecture")
        if arch not in ARCHS:
            raise RefError(f"{path}: architecture {arch!r} is not one of {', '.join(ARCHS)}")
        self.arch = arch
        g = lambda k, d=None: self.meta(f"{arch}.{k}", d)  # noqa: E731
        self.n_layer = int(g("block_count"))
        self.n_embd = int(g("embedding_length"))
        self.n_head = int(g("attention.head_count"))
        self.n_head_kv = int(g("attention.head_count_kv", self.n_head))
        self.d_k = int(g("attention.key_length", self.n_embd // self.n_head))
        self.d_v = int(g("attention.value_length", self.d_k))
        self.eps = float(g("attention.layer_norm_rms_epsilon"))
        self.n_rot = int(g("rope.dimension_count", self.d_k))
        self.base = float(g("rope.freq_base", 10000.0))
        scaling = g("rope.scaling.type", "linear")
        if scaling not in ("none", "linear"):
            raise RefError(f"{path}: rope scaling {scaling!r} is not supported by the reference")
        factor = float(g("rope.scaling.factor", 0.0) or g("rope.scale_linear", 0.0) or 0.0)
        self.freq_scale = 1.0 if factor == 0.0 else 1.0 / factor
        self.n_expert = int(g("expert_count", 0))
        self.n_expert_used = int(g("expert_used_count", 0))
        self.softcap = float(g("final_logit_softcapping", 0.0) or 0.0)
        self.neox = arch in NEOX
        self.swa = [False] * self.n_layer
        self.n_swa = 0
        self.base_swa = 10000.0
        self.attn_scale = 1.0 / math.sqrt(self.d_k)
        if arch == "gemma3":
            self.n_swa = int(g("attention.sliding_window", 0) or 0)
            if self.n_swa > 0:
                pat = g("attention.sliding_window_pattern", 6)
                if isinstance(pat, list):
                    self.swa = [bool(v) for v in pat][: self.n_layer]
                else:
                    pat = int(pat)
                    self.swa = [pat == 0 or il % pat < pat - 1 for il in range(self.n_layer)]
                self.base_swa = float(g("rope.freq_base_swa", 10000.0))
            if self.n_layer == 62:
                self.attn_scale = 1.0 / math.sqrt(self.n_embd / self.n_head)
        self.rope_factors = self.w("rope_freqs.weight") if "rope_freqs.weight" in self.tensors else None
        self.head_name = "output.weight" if "output.weight" in self.tensors else "token_embd.weight"
        emb = self.tensors.get("token_embd.weight")
        if emb is None:
            raise RefError(f"{path}: no token_embd.weight")
        self.n_vocab = int(emb.shape[1])
        for il in range(self.n_layer):
            for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm"):
                self.tensor(f"blk.{il}.{n}.weight")

    def meta(self, key, default=None):
        f = self.reader.fields.get(key)
        if f is None:
            if default is None:
                raise RefError(f"no metadata key {key}")
            return default
        return f.contents()

    def tensor(self, name):
        t = self.tensors.get(name)
        if t is None:
            raise RefError(f"missing tensor {name}")
        return t

    def w(self, name):
        """The tensor decoded as float64, numpy order (a ggml [k, n] matrix is [n, k])."""
        if name not in self.cache:
            t = self.tensor(name)
            self.cache[name] = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)
        return self.cache[name]

    def seen(self, name, expert, x):
        """Hands a matmul's input rows to self.observe(name, expert, x) when one is set (the
        reference for an importance matrix)."""
        if getattr(self, "observe", None):
            self.observe(name, expert, x)

    def mm(self, x, name):
        """x [n, k] times the 2-D weight name (ggml [k, m]): [n, m]."""
        self.seen(name, -1, x)
        if self.emulate_cpu:
            x = round_activations(x, self.tensor(name).tensor_type)
        return x @ self.w(name).T

    def has(self, name):
        return name in self.tensors

    def rows(self, name, ids):
        """Rows ids of a 2-D tensor, decoded (the embedding lookup)."""
        t = self.tensor(name)
        return gguf.quants.dequantize(np.asarray(t.data)[np.asarray(ids)], t.tensor_type).astype(np.float64)

    def head(self, x):
        """x [n, embd] times the output head, decoded in row chunks when it is large."""
        t = self.tensor(self.head_name)
        self.seen(self.head_name, -1, x)
        if self.emulate_cpu:
            x = round_activations(x, t.tensor_type)
        n_rows = int(t.shape[1])
        if n_rows * int(t.shape[0]) <= BIG:
            return x @ self.w(self.head_name).T
        out = np.empty((x.shape[0], n_rows))
        step = max(1, BIG // int(t.shape[0]))
        data = np.asarray(t.data)
        for r in range(0, n_rows, step):
            wr = gguf.quants.dequantize(data[r:r + step], t.tensor_type).astype(np.float64)
            out[:, r:r + step] = x @ wr.T
        return out


class Session:
    """One sequence: a KV cache per layer (rows rounded to k_type / v_type) and the next position.
    eval(tokens) appends tokens and returns their logits [n, vocab]."""

    def __init__(self, model, k_type="F16", v_type="F16", near_delta=0.0, flips=()):
        """near_delta > 0: record in self.near the cache blocks whose rounding an error of
        near_delta x the block's max |value| would change (an fp32 engine may round them the other
        way); each entry is a key (layer, "k"/"v", row, block, how: see cache_rows). flips: keys
        of such blocks to round as that perturbation does (see flip_search)."""
        for t in (k_type, v_type):
            if t not in KV_TYPES:
                raise RefError(f"KV cache type {t!r} is not one of {' '.join(KV_TYPES)}")
        self.m, self.k_type, self.v_type = model, k_type, v_type
        m = model
        self.k = [np.zeros((0, m.n_head_kv * m.d_k)) for _ in range(m.n_layer)]
        self.v = [np.zeros((0, m.n_head_kv * m.d_v)) for _ in range(m.n_layer)]
        self.pos = 0
        self.near_delta, self.flips, self.near = near_delta, set(flips), []
        # Per MoE layer run, per token: the gap between the last chosen expert's router logit and
        # the best unchosen one's, over max |logit| of the token (how near a tie the choice was).
        self.router_margins = []

    def cache_rows(self, il, kind, rows, type_name):
        out = round_to_cache(rows, type_name)
        if type_name not in Q.__members__ or not self.near_delta:
            return out
        block = gguf.constants.GGML_QUANT_SIZES[Q[type_name]][0]
        nb = rows.shape[1] // block
        x = rows.reshape(len(rows), nb, block)
        top = np.abs(x).argmax(axis=2)[..., None]
        is_top = np.arange(block)[None, None, :] == top
        amax = np.take_along_axis(np.abs(x), top, axis=2)
        # Two ways an fp32 engine can round a block otherwise: an element other than the largest
        # crosses a step ("e": all of them shifted by near_delta x the block's max), or the
        # largest moves the scale ("m": it alone scaled by 1 +- near_delta).
        shift = np.where(is_top, 0.0, amax * self.near_delta)
        scale = np.where(is_top, x * self.near_delta, 0.0)
        for tag, dx in (("e+", shift), ("e-", -shift), ("m+", scale), ("m-", -scale)):
            pert = round_to_cache((x + dx).reshape(rows.shape), type_name)
            moved = (pert != out).reshape(len(rows), nb, block).any(axis=2)
            for r, b in zip(*np.nonzero(moved)):
                key = (il, kind, self.pos + int(r), int(b), tag)
                self.near.append(key)
                if key in self.flips:
                    out[r, b * block:(b + 1) * block] = pert[r, b * block:(b + 1) * block]
        return out

    def eval(self, tokens):
        m = self.m
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or len(tokens) == 0:
            raise RefError("tokens: a non-empty list of ids")
        if tokens.min() < 0 or tokens.max() >= m.n_vocab:
            raise RefError(f"token id out of range 0..{m.n_vocab - 1}")
        n = len(tokens)
        pos = np.arange(self.pos, self.pos + n)
        x = m.rows("token_embd.weight", tokens)
        if m.arch == "gemma3":
            x = x * math.sqrt(m.n_embd)
        for il in range(m.n_layer):
            x = self.layer(il, x, pos)
        self.pos += n
        x = rmsnorm(x, m.w("output_norm.weight"), m.eps)
        logits = m.head(x)
        if m.softcap:
            logits = np.tanh(logits / m.softcap) * m.softcap
        return logits

    def layer(self, il, x, pos):
        m = self.m
        b = f"blk.{il}."
        n = x.shape[0]
        h = rmsnorm(x, m.w(b + "attn_norm.weight"), m.eps)
        qkv = []
        for name in ("attn_q", "attn_k", "attn_v"):
            y = m.mm(h, b + name + ".weight")
            if m.has(b + name + ".bias"):
                y = y + m.w(b + name + ".bias")
            qkv.append(y)
        q = qkv[0].reshape(n, m.n_head, m.d_k)
        k = qkv[1].reshape(n, m.n_head_kv, m.d_k)
        v = qkv[2]
        if m.has(b + "attn_q_norm.weight"):
            q = rmsnorm(q, m.w(b + "attn_q_norm.weight"), m.eps)
        if m.has(b + "attn_k_norm.weight"):
            k = rmsnorm(k, m.w(b + "attn_k_norm.weight"), m.eps)
        swa = m.swa[il]
        base, scale = (m.base_swa, 1.0) if swa else (m.base, m.freq_scale)
        q = rope(q, pos, m.n_rot, base, scale, m.neox, m.rope_factors)
        k = rope(k, pos, m.n_rot, base, scale, m.neox, m.rope_factors)
        self.k[il] = np.concatenate([self.k[il], self.cache_rows(il, "k", k.reshape(n, -1), self.k_type)])
        self.v[il] = np.concatenate([self.v[il], self.cache_rows(il, "v", v, self.v_type)])
        kc = self.k[il].reshape(-1, m.n_head_kv, m.d_k)
        vc = self.v[il].reshape(-1, m.n_head_kv, m.d_v)
        kpos = np.arange(kc.shape[0])
        allowed = kpos[None, :] <= pos[:, None]
        if swa:
            allowed &= (pos[:, None] - kpos[None, :]) < m.n_swa
        group = m.n_head // m.n_head_kv
        out = np.empty((n, m.n_head, m.d_v))
        for hh in range(m.n_head):
            qh = q[:, hh, :]
            if m.emulate_cpu and self.k_type == "F16":
                qh = round_to_cache(qh, "F16")
            s = (qh @ kc[:, hh // group, :].T) * m.attn_scale
            s = np.where(allowed, s, -np.inf)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            out[:, hh, :] = (s / s.sum(axis=1, keepdims=True)) @ vc[:, hh // group, :]
        a = m.mm(out.reshape(n, -1), b + "attn_output.weight")
        if m.has(b + "attn_output.bias"):
            a = a + m.w(b + "attn_output.bias")
        if m.has(b + "post_attention_norm.weight"):
            a = rmsnorm(a, m.w(b + "post_attention_norm.weight"), m.eps)
        x = x + a
        h = rmsnorm(x, m.w(b + "ffn_norm.weight"), m.eps)
        act = gelu_tanh if m.arch == "gemma3" else silu
        if m.has(b + "ffn_gate_inp.weight"):
            f = self.moe(b, h, act)
        else:
            g = m.mm(h, b + "ffn_gate.weight")
            if m.emulate_cpu and act is gelu_tanh:
                # ggml's CPU GELU reads a table indexed by the fp16 input, holding fp16 outputs
                g = round_to_cache(act(round_to_cache(g, "F16")), "F16")
            else:
                g = act(g)
            g = g * m.mm(h, b + "ffn_up.weight")
            f = m.mm(g, b + "ffn_down.weight")
        if m.has(b + "post_ffw_norm.weight"):
            f = rmsnorm(f, m.w(b + "post_ffw_norm.weight"), m.eps)
        return x + f

    def moe(self, b, h, act):
        m = self.m
        if not m.n_expert_used:
            raise RefError(f"{b}ffn_gate_inp.weight present but no expert_used_count")
        m.seen(b + "ffn_gate_inp.weight", -1, h)
        logits = h @ m.w(b + "ffn_gate_inp.weight").T
        srt = -np.sort(-logits, axis=1)
        if m.n_expert_used < m.n_expert:
            gap = srt[:, m.n_expert_used - 1] - srt[:, m.n_expert_used]
            self.router_margins.append(gap / np.max(np.abs(logits), axis=1))
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        gate, up, down = (m.w(b + f"ffn_{s}_exps.weight") for s in ("gate", "up", "down"))
        tg, tu, td = (m.tensor(b + f"ffn_{s}_exps.weight").tensor_type for s in ("gate", "up", "down"))
        out = np.zeros_like(h)
        for i in range(h.shape[0]):
            hg = hu = h[i:i + 1]
            if m.emulate_cpu:
                hg, hu = round_activations(hg, tg), round_activations(hu, tu)
            chosen = np.argsort(-p[i], kind="stable")[: m.n_expert_used]
            wts = p[i, chosen] / max(p[i, chosen].sum(), 6.103515625e-5)
            for e, we in zip(chosen, wts):
                m.seen(b + "ffn_gate_exps.weight", int(e), h[i:i + 1])
                m.seen(b + "ffn_up_exps.weight", int(e), h[i:i + 1])
                mid = act(hg @ gate[e].T) * (hu @ up[e].T)
                m.seen(b + "ffn_down_exps.weight", int(e), mid)
                if m.emulate_cpu:
                    mid = round_activations(mid, td)
                out[i] += we * (mid @ down[e].T)[0]
        return out


def flip_search(model, tokens, k_type, v_type, err, delta, enough=0.0, max_flips=4):
    """The reference's logits with up to max_flips of its near-boundary cache blocks (see Session's
    near_delta) rounded the other way, chosen greedily to minimise err(logits): what an engine
    computing in fp32 would give had it rounded those blocks so; stops once err <= enough. The
    candidates come from the run with the flips so far (a flip moves the later layers' values,
    and with them which blocks are near a boundary). Returns (logits, flips)."""
    s = Session(model, k_type, v_type, near_delta=delta)
    best = s.eval(tokens)
    flips, e = [], err(best)
    for _ in range(max_flips):
        if e <= enough:
            break
        trial = None
        for key in dict.fromkeys(s.near):
            if key in flips:
                continue
            t = Session(model, k_type, v_type, near_delta=delta, flips=flips + [key])
            z = t.eval(tokens)
            if err(z) < e and (trial is None or err(z) < trial[0]):
                trial = (err(z), key, z, t)
        if trial is None:
            break
        e, key, best, s = trial
        flips.append(key)
    return best, flips


def forward(path, tokens, k_type="F16", v_type="F16"):
    """Logits [n_tokens, n_vocab] (float64) of tokens run as one batch from position 0."""
    return Session(Model(path), k_type, v_type).eval(tokens)


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def perplexity(path, ids, n_ctx=512, n_chunks=None, k_type="F16", v_type="F16", report=None, emulate_cpu=False):
    """llama-perplexity's score: the text cut into chunks of n_ctx tokens, each chunk's first token
    replaced by BOS, the log-probabilities of tokens first+1 .. n_ctx-1 (first = n_ctx / 2) from the
    logits one position before. Returns the running perplexity after each chunk."""
    m = Model(path, emulate_cpu)
    bos = int(m.meta("tokenizer.ggml.bos_token_id"))
    total = len(ids) // n_ctx
    if n_chunks:
        total = min(total, n_chunks)
    first = n_ctx // 2
    nll, count, out = 0.0, 0, []
    for c in range(total):
        chunk = list(ids[c * n_ctx:(c + 1) * n_ctx])
        chunk[0] = bos
        logits = Session(m, k_type, v_type).eval(chunk)
        lp = log_softmax(logits[first:n_ctx - 1])
        nll -= lp[np.arange(n_ctx - 1 - first), chunk[first + 1:n_ctx]].sum()
        count += n_ctx - 1 - first
        out.append(math.exp(nll / count))
        if report:
            report(c, out[-1])
    return out


def read_ids(path):
    text = open(path).read().strip()
    if text.startswith("["):
        return [int(t) for t in json.loads(text)]
    return [int(t) for t in text.replace(",", " ").split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--tokens", help="comma-separated ids")
    ap.add_argument("--tokens-file")
    ap.add_argument("--ctk", default="F16")
    ap.add_argument("--ctv", default="F16")
    ap.add_argument("--out", help="raw little-endian float64 [n_tokens][n_vocab]")
    ap.add_argument("--print-top", type=int, default=0)
    ap.add_argument("--perplexity", metavar="IDS")
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=0)
    ap.add_argument("--emulate-cpu", action="store_true",
                    help="--perplexity: round activations as llama.cpp's CPU matmuls do (Q8_0/Q8_K/F16)")
    a = ap.parse_args()
    try:
        if a.perplexity:
            perplexity(a.model, read_ids(a.perplexity), a.ctx, a.chunks, a.ctk, a.ctv,
                       report=lambda c, p: print(f"[{c + 1}]{p:.4f},", end="", flush=True),
                       emulate_cpu=a.emulate_cpu)
            print()
            return 0
        if bool(a.tokens) == bool(a.tokens_file):
            ap.error("give --tokens or --tokens-file")
        ids = read_ids(a.tokens_file) if a.tokens_file else [int(t) for t in a.tokens.split(",")]
        logits = forward(a.model, ids, a.ctk, a.ctv)
    except RefError as e:
        print(f"ref_forward: {e}", file=sys.stderr)
        return 1
    if a.out:
        logits.astype("<f8").tofile(a.out)
    if a.print_top:
        for i, row in enumerate(logits):
            top = np.argsort(-row)[: a.print_top]
            print(f"{i} tok {ids[i]}: " + " ".join(f"{t}:{row[t]:.4f}" for t in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
