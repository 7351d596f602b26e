#!/usr/bin/env python3
"""Like-for-like CPU mat-vec comparison with ggml on this machine.

Runs vkq-bench-cpu (hot: one weight buffer, the median of --reps calls) and ggml's
test-backend-ops in perf mode (MUL_MAT m=4096 k=14336 n=1, type_b=f32: one weight buffer,
the mean over its runs) type by type, alternating the two --rounds times so that a change in
the machine's load hits both, and keeps each side's fastest round. Prints a table (and
--json) of microseconds per mat-vec and the ratio ours / ggml (below 1: faster).

ggml is not part of vkquant: build its test-backend-ops yourself (llama.cpp, CMake,
-DLLAMA_BUILD_TESTS=ON) and pass the binary with --ggml. Threads: upstream test-backend-ops
gives the CPU backend hardware_concurrency / 2 threads (1 on a 2-core machine); give ours the
same count with --threads, or build ggml with another count and say so with --ggml-threads.
"""
import argparse
import json
import os
import re
import subprocess
import sys

ISSUE_TYPES = ("F32,F16,BF16,Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,Q1_0,Q2_0,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,TQ2_0,"
               "MXFP4,NVFP4,IQ2_XXS,IQ2_XS,IQ2_S,IQ3_XXS,IQ3_S,IQ1_S,IQ1_M,IQ4_NL,IQ4_XS")


def ggml_name(ours):
    """ggml spells types in lower case except the K of the K-quants (q4_K)."""
    n = ours.lower()
    return n[:-2] + "_K" if n.endswith("_k") else n


def run_ours(binary, typ, threads, reps):
    out = subprocess.run([binary, "--types", typ, "--threads", str(threads), "--reps", str(reps),
                          "--hot-only", "--default-path"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == typ:
            return float(f[2]), f[1]
    raise RuntimeError(f"vkq-bench-cpu printed no row for {typ}:\n{out}")


def run_ggml(binary, typ):
    params = f"type_a={ggml_name(typ)},type_b=f32,m=4096,n=1,k=14336,"
    p = subprocess.run([binary, "perf", "-o", "MUL_MAT", "-b", "CPU", "-p", re.escape(params)],
                       capture_output=True, text=True)
    m = re.search(r"MUL_MAT\(type_a=" + re.escape(ggml_name(typ)) + r",.*?([0-9.]+) us/run", p.stdout)
    return float(m.group(1)) if m else None  # None: this ggml has no such type or case


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ggml", required=True, help="ggml's test-backend-ops binary")
    ap.add_argument("--ours", default=os.path.join("build", "bench", "vkq-bench-cpu"))
    ap.add_argument("--types", default=ISSUE_TYPES)
    ap.add_argument("--threads", type=int, default=2, help="threads of our kernels")
    ap.add_argument("--ggml-threads", default="hardware_concurrency / 2",
                    help="what the ggml binary uses, for the report only")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()

    rows = []
    print(f"m=4096 k=14336 n=1, hot (one weight buffer); ours: {a.threads} threads, median of {a.reps}; "
          f"ggml: {a.ggml_threads} threads, its mean; fastest of {a.rounds} alternating rounds; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    print(f"{'type':8} {'our path':16} {'ours us':>9} {'ggml us':>9} {'ours/ggml':>9}")
    for typ in a.types.split(","):
        ours, ggml, path = [], [], ""
        for _ in range(a.rounds):
            us, path = run_ours(a.ours, typ, a.threads, a.reps)
            ours.append(us)
            g = run_ggml(a.ggml, typ)
            if g is not None:
                ggml.append(g)
        o, g = min(ours), (min(ggml) if ggml else None)
        rows.append({"type": typ, "path": path, "ours_us": o, "ggml_us": g, "ratio": o / g if g else None,
                     "ours_rounds": ours, "ggml_rounds": ggml})
        print(f"{typ:8} {path:16} {o:9.0f} {g if g else float('nan'):9.0f} "
              f"{(o / g) if g else float('nan'):9.2f}", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"threads": a.threads, "ggml_threads": a.ggml_threads, "reps": a.reps,
                       "rounds": a.rounds, "results": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
