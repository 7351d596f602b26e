"""Checks tests/ref_forward.py against llama.cpp itself (a developer tool, not a meson test: it needs
a llama.cpp build, which the project does not have). For each model it runs llama-perplexity with
--kl-divergence-base, which saves the tokens and, for every scored position, the log-probabilities
of the whole vocabulary (16-bit, ~2.5e-4 steps), and compares them with the reference's.

Two kinds of model:
- the random models of tests/make_model_gguf.py --arch, every weight F32 and an F32 KV cache, flash
  attention off (with it on, llama.cpp casts an F32 cache to F16 for the attention): then
  llama.cpp's CPU backend computes in plain fp32 (no activation rounding), so per-token
  log-probabilities agree to the file's 16-bit steps, ~5e-5 (gemma3 ~1e-3: ggml's GELU reads an
  fp16 table; --emulate-cpu reproduces it); a semantic difference (RoPE pairing, masks, norms,
  routing) shows up as O(0.1..1);
- --model FILE: a real model, scored as llama-perplexity scores it (--ctx, --chunks); --emulate-cpu
  rounds the activations as llama.cpp's CPU matmuls do.

usage: compare_ref_llama_cpp.py LLAMA_BIN_DIR [--arch llama,qwen2,...] [--ctx 64] [--chunks 2]
                                [--model FILE] [--emulate-cpu] [--seed S]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import ref_forward as rf  # noqa: E402

TEXT = "/usr/share/common-licenses/GPL-3"


def llama_cpp_logprobs(bindir, model, ctx, chunks, extra, tmp):
    base = os.path.join(tmp, "base.kld")
    cmd = [os.path.join(bindir, "llama-perplexity"), "-m", model, "-f", TEXT, "-c", str(ctx), "-b", str(ctx),
           "--chunks", str(chunks), "-t", "2", "--kl-divergence-base", base] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"compare: {' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    line = [ln for ln in r.stdout.splitlines() + r.stderr.splitlines() if ln.startswith("[1]")]
    raw = open(base, "rb").read()
    if raw[:8] != b"_logits_":
        sys.exit("compare: unexpected --kl-divergence-base file")
    n_ctx, n_vocab, n_chunk = (int(v) for v in np.frombuffer(raw[8:20], dtype=np.int32))
    off = 20 + 4 * n_chunk * n_ctx
    toks = np.frombuffer(raw[20:off], dtype=np.int32)
    nv = 2 * ((n_vocab + 1) // 2) + 4
    first = n_ctx // 2
    nsc = n_ctx - 1 - first
    out = []
    for c in range(n_chunk):
        blk = np.frombuffer(raw[off + c * nsc * nv * 2:off + (c + 1) * nsc * nv * 2], dtype=np.uint16)
        blk = blk.reshape(nsc, nv)
        hdr = blk[:, :4].copy().view(np.float32)
        # log-probs above max-16 are stored; lower ones read back as the floor
        out.append(hdr[:, 1:2] + hdr[:, 0:1] * blk[:, 4:4 + n_vocab])
    return toks, out, (line[0] if line else "?")


def compare(bindir, model, ctx, chunks, extra, emulate, label):
    with tempfile.TemporaryDirectory(prefix="vkq-cmp-") as tmp:
        toks, cpp, line = llama_cpp_logprobs(bindir, model, ctx, chunks, extra, tmp)
    m = rf.Model(model, emulate_cpu=emulate)
    bos = int(m.meta("tokenizer.ggml.bos_token_id"))
    first = ctx // 2
    worst_all, nll_ref, nll_cpp, n = 0.0, 0.0, 0.0, 0
    k_type = "F32" if "-ctk" in extra and extra[extra.index("-ctk") + 1] == "f32" else "F16"
    for c, lp_cpp in enumerate(cpp):
        chunk = toks[c * ctx:(c + 1) * ctx].copy()
        chunk[0] = bos
        lp = rf.log_softmax(rf.Session(m, k_type, k_type).eval(chunk)[first:ctx - 1])
        nxt = chunk[first + 1:]
        # compare where llama.cpp stored the value exactly (within 16 of the top)
        keep = lp_cpp > lp_cpp.max(axis=1, keepdims=True) - 15.9
        worst_all = max(worst_all, float(np.max(np.abs(lp - lp_cpp)[keep])))
        nll_ref -= lp[np.arange(len(nxt)), nxt].sum()
        nll_cpp -= lp_cpp[np.arange(len(nxt)), nxt].sum()
        n += len(nxt)
    print(f"{label}: llama.cpp {line.strip()} | ppl llama.cpp {np.exp(nll_cpp / n):.5f} ref {np.exp(nll_ref / n):.5f}"
          f" | max |log-prob diff| {worst_all:.2e}", flush=True)
    return worst_all


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bindir")
    ap.add_argument("--arch", default="llama,qwen2,qwen3,gemma3,qwen3moe")
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=2)
    ap.add_argument("--model")
    ap.add_argument("--emulate-cpu", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.model:
        compare(a.bindir, a.model, a.ctx, a.chunks, [], a.emulate_cpu, os.path.basename(a.model))
        return 0
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="vkq-cmp-") as tmp:
        for i, arch in enumerate(a.arch.split(",")):
            for extra in ([], ["--rope-freqs", "--tied"]) if arch == "llama" else ([],):
                path = os.path.join(tmp, f"{arch}{len(extra)}.gguf")
                subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), path, "--arch", arch,
                                "--seed", str(a.seed + i), "--types", "F32", "--embd-type", "F32",
                                "--head-type", "F32", "--exp-types", "F32"] + extra, check=True, stdout=subprocess.DEVNULL)
                worst = max(worst, compare(a.bindir, path, a.ctx, a.chunks, ["-ctk", "f32", "-ctv", "f32", "-fa", "off"],
                                           a.emulate_cpu, f"{arch} {' '.join(extra)} F32"))
    print(f"compare: worst log-prob difference {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
