"""Checks vkq-quantize's plans against llama.cpp's llama-quantize itself (a developer tool, not a
meson test: it needs a llama.cpp build, which the project does not have). For each model and
recipe, llama-quantize (--allow-requantize; --pure for plain types) writes its file, and every
tensor's type there must be the one vkq-quantize --dry-run plans. Models: the random models of
tests/make_model_gguf.py (llama 8 layers; gemma3 with tied embeddings and rows of 320, where
every K-quant falls back; qwen3moe with 8 experts, 8 layers; qwen3moe with 4 experts, GQA 4 and
expert rows of 96), and --model FILE. With --imatrix FILE both get the same importance matrix
(llama-quantize then also allows the IQ2 types). With --ppl TEXT, llama-perplexity also scores
vkq-quantize's output of --model (one chunk) to show that llama.cpp loads and runs it.

usage: compare_quantize_llama_cpp.py LLAMA_BIN_DIR VKQ_QUANTIZE [--model FILE] [--ppl TEXT]
                                     [--recipes Q4_K_M,Q5_K_M,...] [--seed S]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import gguf

here = os.path.dirname(os.path.abspath(__file__))
# vkq-quantize name -> llama-quantize type name, --pure
RECIPES = {"Q4_K_M": ("Q4_K_M", False), "Q5_K_M": ("Q5_K_M", False), "Q3_K_M": ("Q3_K_M", False),
           "Q2_K": ("Q2_K", False), "Q4_K": ("Q4_K_S", True), "Q6_K": ("Q6_K", True), "Q3_K": ("Q3_K_S", True),
           "Q4_0": ("Q4_0", True), "IQ4_NL": ("IQ4_NL", True), "Q8_0": ("Q8_0", True)}

ap = argparse.ArgumentParser()
ap.add_argument("llama_bin")
ap.add_argument("vkq_quantize")
ap.add_argument("--model")
ap.add_argument("--ppl")
ap.add_argument("--recipes", default=",".join(RECIPES))
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
failures = 0


def plan(model, recipe):
    r = subprocess.run([a.vkq_quantize, model, "unused-dry-run.gguf", recipe, "--dry-run"], capture_output=True,
                       text=True, check=True)
    return {ln.split()[0]: ln.split()[4] for ln in r.stdout.splitlines()
            if ln.count("->") == 1 and not ln.startswith("tensor data")}


def compare(model, recipe, d):
    global failures
    ltype, pure = RECIPES[recipe]
    out = os.path.join(d, "by_llama_quantize.gguf")
    args = [os.path.join(a.llama_bin, "llama-quantize"), "--allow-requantize"] + (["--pure"] if pure else [])
    r = subprocess.run(args + [model, out, ltype, "2"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{os.path.basename(model)} {recipe}: llama-quantize failed: {r.stderr[-500:]}")
        failures += 1
        return
    ref = {t.name: t.tensor_type.name for t in gguf.GGUFReader(out).tensors}
    ours = plan(model, recipe)
    bad = [(n, ref[n], ours.get(n)) for n in ref if ref[n] != ours.get(n)]
    failures += bool(bad) or len(ref) != len(ours)
    print(f"{os.path.basename(model)} {recipe}: {len(ref) - len(bad)}/{len(ref)} tensors of the same type"
          + (f"; differ (name, llama.cpp, vkquant): {bad[:10]}" if bad else ""))
    os.unlink(out)


with tempfile.TemporaryDirectory() as d:
    models = [a.model] if a.model else []
    if not a.model:
        for name, extra in (("llama", ["--arch", "llama", "--layers", "8", "--embd", "256", "--ff", "512"]),
                            ("gemma3", ["--arch", "gemma3", "--embd", "320", "--tied"]),
                            ("qwen3moe8", ["--arch", "qwen3moe", "--embd", "256", "--expert-ff", "256",
                                           "--layers", "8"]),
                            ("qwen3moe4", ["--arch", "qwen3moe", "--embd", "256", "--experts", "4",
                                           "--kv-heads", "1"])):
            p = os.path.join(d, name + ".gguf")
            subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), p, "--seed", str(a.seed),
                            *extra], check=True, capture_output=True)
            models.append(p)
    for m in models:
        for recipe in a.recipes.split(","):
            compare(m, recipe, d)
    if a.ppl and a.model:
        out = os.path.join(d, "vkq.gguf")
        subprocess.run([a.vkq_quantize, a.model, out, "Q8_0"], check=True, capture_output=True)
        r = subprocess.run([os.path.join(a.llama_bin, "llama-perplexity"), "-m", out, "-f", a.ppl, "--chunks", "1",
                            "-t", "2", "-ngl", "0"], capture_output=True, text=True)
        lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "estimated PPL" in ln or "Final estimate" in ln]
        print(f"llama-perplexity on vkq-quantize's Q8_0 of {os.path.basename(a.model)}: exit {r.returncode}; "
              + " ".join(lines))
        failures += r.returncode != 0
print("FAIL" if failures else "OK", f"({failures} failures)")
sys.exit(1 if failures else 0)
