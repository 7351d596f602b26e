#!/usr/bin/env python3
"""vkquant's quantizers against llama.cpp's, on a real model, measured the way the field does.

For each type, llama.cpp's `llama-quantize --allow-requantize --pure` and `vkq-quantize` with the
recipe '.=TYPE' (every tensor TYPE, the same row-length fallbacks) write a file from the same
base model with the same importance matrix; then llama.cpp's own `llama-perplexity` scores both
files against one base run (`--kl-divergence-base`, then `--kl-divergence`), so the evaluator is
the peer's and the same for both. The two files' tensor types are compared first: a different
plan would compare recipes, not quantizers, and is reported as such.

Prints one markdown table (type, bpw of each file, mean KLD of each with its error, the ratio
vkquant / llama.cpp (below 1: vkquant's file is closer to the base), top-1 agreement ("same top
p") of each, PPL of each, quantizing seconds of each) and writes it with every figure to --json.

llama.cpp is not part of vkquant: build it outside the project
(../shared/peers/build_llama_cpp.sh) and pass its bin directory.

usage: compare_llama_quantize.py MODEL.gguf LLAMA_BIN_DIR -f TEXT [--imatrix FILE |
           --imatrix-collect CALIB_TEXT] [--types Q8_0,Q6_K,...] [--ctx 512] [--chunks 4]
           [--threads 2] [--vkq-build build] [--llama-args ARGS] [--json FILE] [--keep DIR]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import gguf

DEFAULT_TYPES = "Q8_0,Q6_K,Q5_K,Q4_K,Q3_K,Q2_K,IQ4_XS,IQ2_XS"
# llama-quantize's names for the pure types (its plain "Q4_K" means the Q4_K_M mix).
LLAMA_NAME = {"Q5_K": "Q5_K_S", "Q4_K": "Q4_K_S", "Q3_K": "Q3_K_S"}
NEEDS_IMATRIX = {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"}


def run(cmd, what):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        tail = (r.stderr or r.stdout)[-3000:]
        raise RuntimeError(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{tail}")
    return r.stdout + r.stderr, dt


def num(pattern, text, what):
    m = re.search(pattern, text)
    if not m:
        raise RuntimeError(f"llama-perplexity output has no {what}")
    return [float(g) for g in m.groups()]


def kld_stats(out):
    """The figures llama-perplexity prints after --kl-divergence."""
    ppl, ppl_err = num(r"Mean PPL\(Q\)\s*:\s*([\d.]+)\s*±\s*([\d.]+)", out, "Mean PPL(Q)")
    kld, kld_err = num(r"Mean\s+KLD:\s*([-\d.]+)\s*±\s*([\d.]+)", out, "Mean KLD")
    (kld99,) = num(r"99\.0%\s+KLD:\s*([-\d.]+)", out, "99.0% KLD")
    top1, top1_err = num(r"Same top p:\s*([\d.]+)\s*±\s*([\d.]+)", out, "Same top p")
    return {"ppl": ppl, "ppl_err": ppl_err, "kld": kld, "kld_err": kld_err, "kld99": kld99,
            "top1_pct": top1, "top1_err": top1_err}


def read_plan(path):
    """Every tensor's type and the file's bits per weight (one read: gguf-py parses the whole
    vocabulary, seconds for a 262k-token one)."""
    r = gguf.GGUFReader(path)
    elems = sum(int(t.n_elements) for t in r.tensors)
    return {t.name: t.tensor_type.name for t in r.tensors}, 8.0 * sum(int(t.n_bytes) for t in r.tensors) / elems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("llama_bin", help="directory with llama-quantize and llama-perplexity")
    ap.add_argument("-f", "--file", required=True, help="evaluation text")
    ap.add_argument("--imatrix", help="importance matrix (llama.cpp's imatrix GGUF) for both quantizers")
    ap.add_argument("--imatrix-collect", metavar="CALIB", help="collect one with vkq-eval over CALIB first")
    ap.add_argument("--types", default=DEFAULT_TYPES)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vkq-build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--llama-args", default="", help="more arguments for llama-perplexity, space-separated "
                    "(-nr where ggml's AMX kernels trap: a VM that has the CPU flag but not the permission)")
    ap.add_argument("--json", help="write the table and every figure here")
    ap.add_argument("--keep", help="keep the quantized files and the base run in this directory")
    a = ap.parse_args()

    llama_q = os.path.join(a.llama_bin, "llama-quantize")
    llama_ppl = os.path.join(a.llama_bin, "llama-perplexity")
    vkq_q = os.path.join(a.vkq_build, "vkq-quantize")
    vkq_eval = os.path.join(a.vkq_build, "vkq-eval")
    for p in (llama_q, llama_ppl, vkq_q, a.model, a.file):
        if not os.path.exists(p):
            sys.exit(f"compare_llama_quantize: {p}: not found")
    if a.imatrix and a.imatrix_collect:
        sys.exit("compare_llama_quantize: --imatrix and --imatrix-collect exclude each other")
    types = [t.strip() for t in a.types.split(",") if t.strip()]

    work = a.keep or tempfile.mkdtemp(prefix="vkq-cmpq-")
    os.makedirs(work, exist_ok=True)
    th = str(a.threads)
    rows, notes = [], []
    try:
        imatrix = a.imatrix
        if a.imatrix_collect:
            imatrix = os.path.join(work, "imatrix.gguf")
            print(f"# imatrix: vkq-eval --imatrix-collect over {a.imatrix_collect}", file=sys.stderr)
            run([vkq_eval, a.model, "-f", a.imatrix_collect, "--ctx", str(a.ctx), "--imatrix-collect", imatrix,
                 "-t", th], "vkq-eval --imatrix-collect")
        base = os.path.join(work, "base.kld")
        print(f"# base run: llama-perplexity --kl-divergence-base ({a.chunks} chunks of {a.ctx})", file=sys.stderr)
        out, _ = run([llama_ppl, *a.llama_args.split(), "-m", a.model, "-f", a.file, "-c", str(a.ctx),
                      "--chunks", str(a.chunks), "-t", th,
                      "--kl-divergence-base", base], "llama-perplexity base")
        (base_ppl,) = num(r"Final estimate: PPL = ([\d.]+)", out, "final PPL")
        commit = re.search(r"build: \d+ \((\w+)\)", out)
        for t in types:
            if t in NEEDS_IMATRIX and not imatrix:
                notes.append(f"{t}: skipped, llama-quantize needs an importance matrix for it")
                continue
            im = ["--imatrix", imatrix] if imatrix else []
            f_llama = os.path.join(work, f"llama-{t}.gguf")
            f_vkq = os.path.join(work, f"vkq-{t}.gguf")
            print(f"# {t}: llama-quantize, vkq-quantize", file=sys.stderr)
            _, t_llama = run([llama_q, "--allow-requantize", "--pure"] + im +
                             [a.model, f_llama, LLAMA_NAME.get(t, t), th], f"llama-quantize {t}")
            _, t_vkq = run([vkq_q, a.model, f_vkq, "--recipe", f".={t}", "-t", th] + im, f"vkq-quantize {t}")
            (tl, bpw_l), (tv, bpw_v) = read_plan(f_llama), read_plan(f_vkq)
            diff = sorted(n for n in tl if tl[n] != tv.get(n))
            if diff or set(tl) != set(tv):
                notes.append(f"{t}: the plans differ ({len(diff)} tensors, e.g. "
                             f"{diff[0] if diff else '(names)'}: {tl.get(diff[0]) if diff else ''} vs "
                             f"{tv.get(diff[0]) if diff else ''}), so this row compares recipes too")
            row = {"type": t, "llama": {"bpw": bpw_l, "quantize_s": t_llama},
                   "vkquant": {"bpw": bpw_v, "quantize_s": t_vkq}, "same_plan": not diff}
            for side, path in (("llama", f_llama), ("vkquant", f_vkq)):
                print(f"# {t}: llama-perplexity --kl-divergence of the {side} file", file=sys.stderr)
                out, _ = run([llama_ppl, *a.llama_args.split(), "-m", path, "-t", th, "--kl-divergence-base", base, "--kl-divergence"],
                             f"llama-perplexity {t} {side}")
                row[side].update(kld_stats(out))
            row["kld_ratio"] = row["vkquant"]["kld"] / row["llama"]["kld"] if row["llama"]["kld"] > 0 else None
            rows.append(row)
            if not a.keep:
                os.remove(f_llama)
                os.remove(f_vkq)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nbase {os.path.basename(a.model)}: PPL {base_ppl:.4f} (llama-perplexity, ctx {a.ctx}, {a.chunks} chunks); "
          f"imatrix: {os.path.basename(imatrix) if imatrix else 'none'}; llama.cpp {commit.group(1) if commit else '?'}")
    print("\n| type | bpw llama.cpp | bpw vkquant | KLD llama.cpp | KLD vkquant | vkquant / llama.cpp | "
          "top-1 llama.cpp | top-1 vkquant | PPL llama.cpp | PPL vkquant | quantize s llama.cpp / vkquant |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        L, V = r["llama"], r["vkquant"]
        ratio = f"{r['kld_ratio']:.3f}" if r["kld_ratio"] is not None else "-"
        print(f"| {r['type']}{'' if r['same_plan'] else ' (plans differ)'} | {L['bpw']:.3f} | {V['bpw']:.3f} | "
              f"{L['kld']:.5f} ± {L['kld_err']:.5f} | {V['kld']:.5f} ± {V['kld_err']:.5f} | {ratio} | "
              f"{L['top1_pct']:.2f} % | {V['top1_pct']:.2f} % | {L['ppl']:.3f} | {V['ppl']:.3f} | "
              f"{L['quantize_s']:.0f} / {V['quantize_s']:.0f} |")
    for n in notes:
        print(f"- {n}")
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"model": a.model, "text": a.file, "ctx": a.ctx, "chunks": a.chunks, "base_ppl": base_ppl,
                       "imatrix": imatrix, "llama_cpp_commit": commit.group(1) if commit else None,
                       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows, "notes": notes},
                      f, indent=1)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    main()
