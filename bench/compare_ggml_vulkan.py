#!/usr/bin/env python3
"""Side-by-side GPU mat-vec and GEMM against ggml's Vulkan backend on the same device, in one run.

Runs vkq-bench (Vulkan only, --json) and ggml's test-backend-ops in perf mode (MUL_MAT,
type_b=f32, m=4096 k=14336, n=1 and n=512) over the same types, alternating the two for
--rounds rounds so that a change in clocks or load hits both, and keeps each side's fastest
round per case. Prints a Markdown table (and --json): microseconds per call, the ratio
ours / ggml (below 1: faster), our weight GB/s and its share of the copy bandwidth vkq-bench
measured in the same run.

What differs between the two measurements, and favours ggml: test-backend-ops multiplies one
weight buffer again and again, so a weight that fits in the GPU's last-level cache (H200: 50 MB,
e.g. every 4-bit type at this shape) is read from the cache after the first call; vkq-bench
rotates several weight buffers so every call reads its weights from memory.

ggml is not part of vkquant: build llama.cpp with -DGGML_VULKAN=ON -DLLAMA_BUILD_TESTS=ON
yourself and pass its test-backend-ops with --ggml.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TYPES = ("F32,F16,BF16,Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,TQ1_0,TQ2_0,MXFP4,NVFP4,"
         "IQ2_XXS,IQ2_XS,IQ2_S,IQ3_XXS,IQ3_S,IQ1_S,IQ1_M,IQ4_NL,IQ4_XS,Q1_0,Q2_0")
LINE = re.compile(r"MUL_MAT\(type_a=([a-z0-9_A-Z]+),type_b=f32,m=(\d+),n=(\d+),k=(\d+),.*?([0-9.]+) us/run")


def ggml_name(ours):
    """ggml spells types in lower case except the K of the K-quants (q4_K)."""
    n = ours.lower()
    return n[:-2] + "_K" if n.endswith("_k") else n


def run_ours(binary, types, shapes, reps):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ours.json")
        subprocess.run([binary, "--no-cpu", "--types", types, "--shapes", shapes, "--reps", str(reps),
                        "--json", path], check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            doc = json.load(f)
    res = {}
    for r in doc["rows"]:
        if r["backend"] == "vulkan" and r.get("time_us") is not None:
            res[(r["type"], r["n"])] = r
    return doc, res


def run_ggml(binary, device, m, k, ns):
    params = rf"type_b=f32,m={m},n=({'|'.join(str(n) for n in ns)}),k={k},bs=\[1,1\],nr=\[1,1\]"
    p = subprocess.run([binary, "perf", "-o", "MUL_MAT", "-b", device, "-p", params],
                       capture_output=True, text=True)
    res = {}
    for line in p.stdout.splitlines():
        mm = LINE.search(line)
        if mm:
            res[(mm.group(1), int(mm.group(3)))] = float(mm.group(5))
    if not res:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
    return res


def report(a, doc, ours, ggml, ns, m, k, rounds_done):
    dev = doc["device"] if doc else {}
    print(f"device: {dev.get('name')} ({dev.get('driver')}); copy bandwidth {doc.get('copy_gbps') if doc else None} GB/s;"
          f" m={m} k={k}; fastest of {rounds_done} of {a.rounds} alternating rounds")
    print("| type | n | ours µs | ggml µs | ours/ggml | ours GB/s | % of copy bw | our kernel |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    rows = []
    for n in ns:
        for t in a.types.split(","):
            r = ours.get((t, n))
            g = ggml.get((ggml_name(t), n))
            o_us = r["time_us"] if r else None
            ratio = o_us / g if (o_us and g) else None
            rows.append({"type": t, "n": n, "ours_us": o_us, "ggml_us": g, "ratio": ratio,
                         "ours_gbps": r.get("gbps") if r else None,
                         "pct_copy_bw": r.get("pct_copy_bw") if r else None,
                         "kernel": r.get("kernel") if r else None})
            fmt = lambda v, f: (f % v) if v is not None else "–"
            print(f"| {t} | {n} | {fmt(o_us, '%.1f')} | {fmt(g, '%.1f')} | {fmt(ratio, '%.2f')} | "
                  f"{fmt(rows[-1]['ours_gbps'], '%.0f')} | {fmt(rows[-1]['pct_copy_bw'], '%.0f')} | "
                  f"{rows[-1]['kernel'] or ''} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": dev, "copy_gbps": doc.get("copy_gbps") if doc else None, "m": m, "k": k,
                       "rounds": rounds_done, "results": rows}, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ggml", required=True, help="ggml's test-backend-ops built with Vulkan")
    ap.add_argument("--ggml-device", default="Vulkan0")
    ap.add_argument("--ours", default=os.path.join("build", "bench", "vkq-bench"))
    ap.add_argument("--types", default=TYPES)
    ap.add_argument("--n", default="1,512", help="column counts (m=4096 k=14336)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    m, k = 4096, 14336
    ns = [int(x) for x in a.n.split(",")]
    shapes = ",".join(f"{m}x{k}x{n}" for n in ns)
    ours, ggml, doc = {}, {}, None
    for i in range(a.rounds):
        doc, o = run_ours(a.ours, a.types, shapes, a.reps)
        for key, r in o.items():
            if key not in ours or r["time_us"] < ours[key]["time_us"]:
                ours[key] = r
        for key, us in run_ggml(a.ggml, a.ggml_device, m, k, ns).items():
            ggml[key] = min(us, ggml.get(key, us))
        # after every round, so that a run cut short still leaves its table
        report(a, doc, ours, ggml, ns, m, k, i + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
