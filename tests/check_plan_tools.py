"""vkq-gguf --plan and vkq-bench --model on a model written by tests/make_model_gguf.py:
- --plan with --budget needs no device and puts the last layers that fit on the GPU (the
  budget is set from the file's own layer sizes, read with gguf-py), -ngl and --override are
  honoured, bad sizes / rules / VKQ_VRAM_BUDGET exit non-zero with a message;
- vkq-bench --model --sweep-gpu-layers prints one row per GPU layer count 0..all, and on a
  language model the split rule, recomputed here from its JSON rows;
- on a mixture-of-experts model (3-D ffn_*_exps), vkq-bench --model runs K experts per layer
  (the file's expert_used_count, or --experts-per-token) and its gpu/cpu MiB are exactly the
  2-D weights plus K expert slices of each expert tensor (computed here with gguf-py), on the
  side the placement put them; K above the expert count is an error exit with a message.

usage: check_plan_tools.py VKQ_GGUF_EXE VKQ_BENCH_EXE [plan|bench]  (default: both)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from checks import Checks, bad_paths, child_env, need_oracle, run_bounded, skip

need_oracle("check_plan_tools")
from gguf import GGUFReader  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
gguf_exe, bench_exe = sys.argv[1], sys.argv[2]
parts = sys.argv[3:] or ["plan", "bench"]
check = Checks()


def run(args, env=None):
    e = child_env()
    e.pop("VKQ_VRAM_BUDGET", None)  # the caller's own budget must not change the plans
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e)


def layer_places(out):
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\s+blk\.(\d+)\s+(\w+)\s", out, re.M)}


with tempfile.TemporaryDirectory(prefix="vkq-plan-") as tmp:
    path = os.path.join(tmp, "model.gguf")
    subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), path, "--layers", "6"],
                   check=True)
    layer_bytes = [0] * 6
    for t in GGUFReader(path).tensors:
        m = re.match(r"blk\.(\d+)\.", t.name)
        if m:
            layer_bytes[int(m.group(1))] += int(t.n_bytes)

    # A mixture-of-experts model too.
    moe = os.path.join(tmp, "moe.gguf")
    subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), moe, "--experts", "6",
                    "--expert-used", "2"], check=True)
    dense = slices = 0  # bytes of the step's 2-D weights; of one expert of every expert tensor
    for t in GGUFReader(moe).tensors:
        if len(t.shape) == 2 and not t.name.startswith("token_embd"):
            dense += int(t.n_bytes)
        elif len(t.shape) == 3:
            slices += int(t.n_bytes) // int(t.shape[2])
    check(slices > 0, "the MoE model has no 3-D expert tensors")

    if "plan" in parts:  # vkq-gguf --plan: no device needed
        # A budget for exactly the last 3 layers (plus less than a layer): blk.3..blk.5 on the GPU.
        budget = sum(layer_bytes[3:]) + layer_bytes[2] // 2
        r = run([gguf_exe, "--plan", "--budget", str(budget), path], env={"VK_ICD_FILENAMES": "/nonexistent"})
        check(r.returncode == 0, f"--plan --budget: exit {r.returncode}: {r.stderr}")
        places = layer_places(r.stdout)
        check(places == {0: "cpu", 1: "cpu", 2: "cpu", 3: "gpu", 4: "gpu", 5: "gpu"},
              f"--budget {budget}: layer places {places}\n{r.stdout}")
        check("gpu layers: 3" in r.stdout and "token_embd.weight" in r.stdout, r.stdout)

        r = run([gguf_exe, "--plan", "--budget", "1", "--gpu-layers", "2", path])
        places = layer_places(r.stdout)
        check(r.returncode == 0 and [places[i] for i in range(6)] == ["cpu"] * 4 + ["gpu"] * 2 and
              "OVER BUDGET" in r.stdout, f"--gpu-layers 2 over budget:\n{r.stdout}{r.stderr}")

        r = run([gguf_exe, "--plan", "--budget", "1G", "--override", "ffn_(up|gate)=cpu", path])
        check(r.returncode == 0 and r.stdout.count("(rule 1: ffn_(up|gate)=cpu)") == 12,
              f"--override: {r.stdout.count('(rule 1')} rule lines\n{r.stdout}")

        for args, what in [(["--budget", "lots"], "bad size"), (["--budget", "1G", "--override", "x=vram"], "bad place"),
                           (["--budget", "1G", "--gpu-layers", "many"], "bad layer count")]:
            r = run([gguf_exe, "--plan"] + args + [path])
            check(r.returncode == 2 and r.stderr.strip(), f"{what}: exit {r.returncode}, stderr {r.stderr!r}")
        r = run([gguf_exe, "--plan", path], env={"VKQ_VRAM_BUDGET": "6 GB"})
        check(r.returncode != 0 and "VKQ_VRAM_BUDGET" in r.stderr, f"bad VKQ_VRAM_BUDGET: {r.returncode} {r.stderr!r}")
        r = run([gguf_exe, "--plan", path], env={"VKQ_VRAM_BUDGET": "2G"})
        check(r.returncode == 0 and "2147483648 bytes from VKQ_VRAM_BUDGET" in r.stdout, f"VKQ_VRAM_BUDGET=2G:\n{r.stdout}")

        # The budget's source as the user gave it; a rule that places nothing is an error.
        r = run([gguf_exe, "--plan", "--budget", "1G", path])
        check(r.returncode == 0 and "1073741824 bytes from --budget" in r.stdout, f"--plan --budget 1G:\n{r.stdout}")
        r = run([gguf_exe, "--plan", "--budget", "1G", "--override", "ffn_up=cpu", "--override", "nothing_here=gpu", path])
        check(r.returncode == 2 and "'nothing_here=gpu' places no tensor" in r.stderr and r.stdout == "",
              f"--plan rule matching no tensor: exit {r.returncode} {r.stderr!r}")
        r = run([gguf_exe, "--plan", "--budget", "1G", "--override", "ffn=cpu", "--override", "ffn_up=gpu", path])
        check(r.returncode == 2 and "'ffn_up=gpu' places no tensor" in r.stderr,
              f"--plan rule shadowed by an earlier one: exit {r.returncode} {r.stderr!r}")
        r = run([gguf_exe, "--plan", "--budget", "1G", "--override", "ffn_.*_exps=cpu", moe])
        check(r.returncode == 0 and r.stdout.count("cpu  (rule 1: ffn_.*_exps=cpu)") == 12,
              f"MoE --plan: {r.stdout.count('(rule 1')} expert tensors kept on the cpu, want 12\n{r.stdout}")

    if "bench" in parts:  # vkq-bench --model: needs a Vulkan device
        r = run([bench_exe, "--model", path, "--sweep-gpu-layers", "--reps", "1"])
        if r.returncode != 0 and "vkq-bench: no device:" in r.stderr:
            if check.failures:
                sys.exit(1)
            skip("check_plan_tools", f"the model bench needs a Vulkan device: {r.stderr.strip()}")
        rows = re.findall(r"^\s+(\d+)/6\s", r.stdout, re.M)
        check(r.returncode == 0 and rows == [str(i) for i in range(7)], f"bench sweep rows {rows}:\n{r.stdout}{r.stderr}")
        # The split rule at the end of a whole-model sweep: recomputed here from the JSON rows.
        llm = os.path.join(tmp, "llm.gguf")
        subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), llm, "--arch", "llama",
                        "--layers", "3"], check=True, capture_output=True)
        js = os.path.join(tmp, "sweep.json")
        r = run([bench_exe, "--model", llm, "--sweep-gpu-layers", "--reps", "2", "--pp", "8", "--tg", "4",
                 "--json", js])
        check(r.returncode == 0, f"llama sweep: exit {r.returncode}\n{r.stdout}{r.stderr}")
        if r.returncode == 0:
            d = json.load(open(js))
            ex = [row for row in d["rows"] if "pp_tps" in row]
            check(len(ex) == 4 and [row["exec_gpu_layers"] for row in ex] == [0, 1, 2, 3],
                  f"llama sweep: whole-model rows {[row.get('exec_gpu_layers') for row in ex]}")
            for test, n in (("pp", 8), ("tg", 4)):
                v = d["split_rule"][test]
                if len(ex) != 4 or v is None:
                    check(False, f"split rule {test}: {v}")
                    continue
                mid = ex[1:-1]
                worst = min(mid, key=lambda row: row[test + "_tps"])
                pure = min(ex[0], ex[-1], key=lambda row: row[test + "_tps"])
                bound = pure[test + "_tps"]
                ok = worst[test + "_tps"] + worst[test + "_tps_sd"] >= bound - pure[test + "_tps_sd"]
                check(v["slowest_split_gpu_layers"] == worst["exec_gpu_layers"] and
                      abs(v["slowest_split_tps"] - worst[test + "_tps"]) < 1e-3 and
                      abs(v["slower_pure_run_tps"] - bound) < 1e-3 and v["ok"] == ok,
                      f"split rule {test}: {v}, rows say slowest {worst['exec_gpu_layers']} at "
                      f"{worst[test + '_tps']}, bound {bound}, ok {ok}")
                line = re.search(r"^# split rule, %s%d: (ok|SLOWER): slowest split (\d+)/3 at ([\d.]+)" % (test, n),
                                 r.stdout, re.M)
                check(line and line.group(1) == ("ok" if ok else "SLOWER") and
                      int(line.group(2)) == worst["exec_gpu_layers"],
                      f"split rule line for {test}{n}:\n{r.stdout}")
        r = run([bench_exe, "--model", os.path.join(tmp, "missing.gguf")])
        check(r.returncode != 0 and r.stderr.strip(), "bench on a missing file")
        check(r.stderr.count("missing.gguf") == 1, f"bench on a missing file: the path not exactly once: {r.stderr!r}")

        # Not a model file: exit 1 naming the path (once) and what is wrong, never a hang.
        for bad, words in bad_paths(tmp).items():
            r = run_bounded([bench_exe, "--model", bad], env=child_env(), timeout=30)
            check(r.returncode == 1 and r.stderr.count(bad) == 1 and words in r.stderr,
                  f"vkq-bench --model {bad}: exit {r.returncode}, stderr {r.stderr!r}, want '{words}' and the path once")

        for args, words in [(["--override", "nothing_here=cpu"], "'nothing_here=cpu' places no tensor"),
                            (["--reps", "0"], "--reps: expected an integer from 1 to 100000, got '0'"),
                            (["--reps"], "--reps needs a value"), (["--threads", "two"], "--threads: expected"),
                            (["--frobnicate", "1"], "unknown option '--frobnicate'"), (["stray"], "unexpected argument")]:
            r = run([bench_exe, "--model", path, "--budget", "1G"] + args)
            check(r.returncode == 2 and words in r.stderr, f"vkq-bench --model {args}: exit {r.returncode}, "
                  f"stderr {r.stderr!r}, want '{words}'")
        r = run([bench_exe, "--model", path, "--budget", "1G", "--gpu-layers", "1", "--reps", "1"])
        check(r.returncode == 0 and "VRAM budget 1024.0 MiB (--budget)" in r.stdout, f"bench --budget 1G:\n{r.stdout}{r.stderr}")

        def bench_mib(args, layers):
            r = run([bench_exe, "--model", moe, "--reps", "2"] + args)
            m = re.search(r"^\s+%d/4\s+([\d.]+)\s+([\d.]+)\s" % layers, r.stdout, re.M)
            check(r.returncode == 0 and m, f"bench {args}: exit {r.returncode}\n{r.stdout}{r.stderr}")
            return (float(m.group(1)), float(m.group(2)), r.stdout) if m else (None, None, r.stdout)

        def near(got, want_bytes):
            return got is not None and abs(got - want_bytes / 2**20) < 0.006  # printed with 2 decimals

        gpu_mib, cpu_mib, out = bench_mib(["--gpu-layers", "4", "--override", "ffn_.*_exps=cpu"], 4)
        check("2 per token (from llama.expert_used_count)" in out, f"MoE bench header:\n{out}")
        check(near(gpu_mib, dense) and near(cpu_mib, 2 * slices),
              f"MoE bench, experts on the cpu: gpu {gpu_mib} cpu {cpu_mib} MiB, want {dense / 2**20:.3f} and "
              f"{2 * slices / 2**20:.3f}")
        gpu_mib, cpu_mib, out = bench_mib(["--gpu-layers", "0", "--experts-per-token", "5"], 0)
        check("5 per token (from --experts-per-token)" in out, f"MoE bench header:\n{out}")
        check(near(gpu_mib, 0) and near(cpu_mib, dense + 5 * slices),
              f"MoE bench, 5 experts, all cpu: gpu {gpu_mib} cpu {cpu_mib} MiB, want 0 and "
              f"{(dense + 5 * slices) / 2**20:.3f}")
        r = run([bench_exe, "--model", moe, "--experts-per-token", "7"])
        check(r.returncode == 2 and "only 6 experts" in r.stderr, f"7 of 6 experts: exit {r.returncode} {r.stderr!r}")


print("check_plan_tools:", "FAILED" if check.failures else "ok")
sys.exit(1 if check.failures else 0)
