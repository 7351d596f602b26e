#!/usr/bin/env python3
"""Whole-model speed side by side with llama.cpp's llama-bench on this machine.

For one GGUF model, runs llama.cpp's llama-bench and `vkq-bench --model` with the same settings,
alternating the two (llama.cpp, vkquant, llama.cpp, vkquant, ...) --rounds times so that a change
in the machine's load hits both, and prints a table: test, llama.cpp tokens/s, vkquant tokens/s
(mean +- stddev over every run of every round) and the ratio vkquant / llama.cpp (above 1: vkquant
is faster).

- CPU (--llama-bench, a CPU build of llama-bench): -t THREADS -p PP -n TG, vkquant all layers on
  the CPU (--gpu-layers 0 --threads THREADS); pp512 and tg128 by default.
- Vulkan (--vk-llama-bench, a Vulkan build): -ngl 99, vkquant every layer on the GPU; pp64 and
  tg16 by default (--vk-pp, --vk-tg), as CPU Vulkan drivers (lavapipe) are slow. ggml-vulkan's
  device is chosen with GGML_VK_VISIBLE_DEVICES (--vk-device, default 0) and ours with --device.

llama.cpp is not part of vkquant: build llama-bench yourself (the llama-cpp-python source
distribution carries llama.cpp's source) and pass the binaries. Both sides time as llama-bench
does: pp = one batch of random tokens into an empty context, tg = single-token evals from an
empty context, each after a warm-up.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_llama(binary, model, args, reps, env):
    cmd = [binary, "-m", model, "-r", str(reps), "-o", "json"] + args
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr[-2000:]}")
    out = {}
    commit = ""
    for row in json.loads(r.stdout):
        name = f"pp{row['n_prompt']}" if row["n_gen"] == 0 else f"tg{row['n_gen']}"
        out[name] = [float(x) for x in row["samples_ts"]]
        commit = row.get("build_commit", commit)
    return out, commit, " ".join(cmd)


def run_ours(binary, model, args, reps, pp, tg):
    cmd = [binary, "--model", model, "--reps", str(reps), "--pp", str(pp), "--tg", str(tg), "--json", "-"] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr[-2000:]}")
    # The JSON follows the tables on stdout: its first line starts with '{"model"'.
    doc = json.loads(r.stdout[r.stdout.index('{"model"'):])
    if doc["whole_model_skipped"]:
        raise RuntimeError(f"vkq-bench did not run the model: {doc['whole_model_skipped']}")
    row = doc["rows"][-1]
    return {f"pp{pp}": row["pp_samples"], f"tg{tg}": row["tg_samples"]}, row, " ".join(cmd)


def fmt(v):
    if not v:
        return "-"
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):.2f} ± {sd:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--llama-bench", help="CPU build of llama.cpp's llama-bench")
    ap.add_argument("--vk-llama-bench", help="Vulkan build of llama.cpp's llama-bench")
    ap.add_argument("--vkq-bench", default=os.path.join(os.path.dirname(__file__), "..", "build", "bench", "vkq-bench"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3, help="runs per test per round (llama-bench -r)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--vk-pp", type=int, default=64)
    ap.add_argument("--vk-tg", type=int, default=16)
    ap.add_argument("--vk-reps", type=int, default=1)
    ap.add_argument("--vk-rounds", type=int, default=1)
    ap.add_argument("--vk-device", default="0", help="GGML_VK_VISIBLE_DEVICES for llama.cpp")
    ap.add_argument("--device", help="vkquant's Vulkan device (vkq-bench --device)")
    ap.add_argument("--json", help="write the table and raw samples here")
    a = ap.parse_args()
    if not a.llama_bench and not a.vk_llama_bench:
        ap.error("give --llama-bench and/or --vk-llama-bench")

    setups = []
    if a.llama_bench:
        setups.append(("cpu", a.llama_bench, ["-t", str(a.threads), "-p", str(a.pp), "-n", str(a.tg), "-ngl", "0"],
                       os.environ, ["--gpu-layers", "0", "--threads", str(a.threads), "--full"],
                       a.pp, a.tg, a.reps, a.rounds))
    if a.vk_llama_bench:
        env = dict(os.environ, GGML_VK_VISIBLE_DEVICES=a.vk_device)
        ours = ["--gpu-layers", "99", "--threads", str(a.threads), "--quick"]
        if a.device:
            ours += ["--device", a.device]
        setups.append(("vulkan", a.vk_llama_bench, ["-t", str(a.threads), "-p", str(a.vk_pp), "-n", str(a.vk_tg),
                       "-ngl", "99"], env, ours, a.vk_pp, a.vk_tg, a.vk_reps, a.vk_rounds))

    rows, raw = [], []
    for backend, lb, largs, env, oargs, pp, tg, reps, rounds in setups:
        theirs, ours, commit = {}, {}, ""
        for rnd in range(rounds):
            t0 = time.time()
            got, commit, lcmd = run_llama(lb, a.model, largs, reps, env)
            t1 = time.time()
            lgot = got
            for k, v in got.items():
                theirs.setdefault(k, []).extend(v)
            got, orow, ocmd = run_ours(a.vkq_bench, a.model, oargs, reps, pp, tg)
            t2 = time.time()
            for k, v in got.items():
                ours.setdefault(k, []).extend(v)
            print(f"# {backend} round {rnd + 1}/{rounds}: llama.cpp {t1 - t0:.0f} s {got_str(lgot)} t/s; "
                  f"vkquant {t2 - t1:.0f} s pp {orow['pp_tps']:.2f} tg {orow['tg_tps']:.2f} t/s, "
                  f"ttft {orow['ttft_s'] * 1e3:.0f} ms, {orow['exec_gpu_layers']}/{orow['n_layers']} GPU layers",
                  flush=True)
            raw.append({"backend": backend, "round": rnd, "llama_cmd": lcmd, "vkq_cmd": ocmd, "llama": got_copy(lgot),
                        "vkq_row": orow})
        for test in (f"pp{pp}", f"tg{tg}"):
            lt, ot = theirs.get(test, []), ours.get(test, [])
            ratio = statistics.mean(ot) / statistics.mean(lt) if lt and ot else float("nan")
            rows.append({"backend": backend, "test": test, "llama_tps": lt, "vkq_tps": ot, "ratio": ratio,
                         "llama_commit": commit})

    print(f"\n| backend | test | llama.cpp t/s | vkquant t/s | vkquant / llama.cpp |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['test']} | {fmt(r['llama_tps'])} | {fmt(r['vkq_tps'])} | {r['ratio']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "rows": rows, "raw": raw}, f, indent=1)
    return 0


def got_str(d):
    return " ".join(f"{k} {statistics.mean(v):.2f}" for k, v in d.items())


def got_copy(d):
    return {k: list(v) for k, v in d.items()}


if __name__ == "__main__":
    sys.exit(main())
