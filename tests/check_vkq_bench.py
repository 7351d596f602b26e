"""vkq-bench's own logic: a tiny sweep of every weight type with --json/--csv/--plot, a forced
device failure, real weights from safetensors and GGUF files, and malformed safetensors files.

usage: check_vkq_bench.py VKQ_BENCH TYPES_DEF
Checks: the JSON schema (issue 5's field names and types), every weight type of the table on
both backends at both shapes, bpw = block_bytes * 8 / QK, throughput fields consistent with the
time, kernel errors finite and ~0, the quality ladder ordered (once quantizers exist; until
then the check is skipped explicitly), CSV rows equal to the JSON rows, SVG charts well-formed
with an <svg> root, "skipped: reason" rows instead of a crash for a missing device, and an error
exit with a message for each malformed (or randomly damaged) safetensors file, and the progress
bar drawn only on a terminal."""
import csv
import json
import math
import os
import pty
import random
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from checks import Checks, bad_paths, child_env, need_oracle, run_bounded, skip

exe, types_def = sys.argv[1], sys.argv[2]
seed = int(os.environ.get("VKQ_SEED", "0"), 0) or random.getrandbits(63)
print(f"check_vkq_bench: seed {seed} (VKQ_SEED={seed} to reproduce)")
env = child_env()
check = Checks()


# The type table, read from its one definition: name -> (QK, block bytes). Q8_1 and Q8_K are
# activation-only formats (ggml quantizes X to them; no weights are stored in them).
TABLE = {}
for line in open(types_def):
    m = re.match(r"X\((\w+),\s*(\d+),\s*(\d+),\s*(\d+),", line)
    if m:
        TABLE[m.group(1)] = (int(m.group(3)), int(m.group(4)))
WEIGHT_TYPES = set(TABLE) - {"Q8_1", "Q8_K"}
check(len(WEIGHT_TYPES) >= 29, f"types.def parse found only {len(WEIGHT_TYPES)} weight types")

ROW_FIELDS = {"type": str, "backend": str, "m": int, "k": int, "n": int, "bpw": float, "time_us": float,
              "gbps": float, "gflops": float, "pct_copy_bw": float, "nmse_weights": float,
              "nmse_output": float, "nmse_kernel": float, "status": str}
NUMERIC = [f for f, t in ROW_FIELDS.items() if t is float]


def run(args, expect_rc=0):
    p = subprocess.run([exe, "--seed", str(seed)] + args, capture_output=True, encoding="utf-8", errors="replace",
                       timeout=900, env=env)
    check(p.returncode == expect_rc, f"vkq-bench {' '.join(args)} exited {p.returncode}, want {expect_rc}:\n"
          f"{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def is_num(v):
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def close(a, b, rel=2e-5):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def check_schema(doc, what):
    check(isinstance(doc.get("device"), dict), f"{what}: no device object")
    for key in ("name", "driver", "type"):
        check(isinstance(doc["device"].get(key), str), f"{what}: device.{key} is not a string")
    check(isinstance(doc.get("date"), str) and re.match(r"\d{4}-\d\d-\d\d", doc["date"]), f"{what}: bad date")
    check("copy_gbps" in doc and is_num(doc["copy_gbps"]), f"{what}: copy_gbps missing or not a number")
    check(isinstance(doc.get("rows"), list) and doc["rows"], f"{what}: no rows")
    for r in doc["rows"]:
        for f, t in ROW_FIELDS.items():
            if not check(f in r, f"{what}: row lacks {f}: {r}"):
                continue
            if t is float:
                check(is_num(r[f]), f"{what}: {f} = {r[f]!r} is not a number or null")
            else:
                check(isinstance(r[f], t), f"{what}: {f} = {r[f]!r} is not {t.__name__}")
        check(r.get("backend") in ("vulkan", "cpu"), f"{what}: backend {r.get('backend')!r}")
        check(re.fullmatch(r"ok|skipped: .+", r.get("status", "")) is not None, f"{what}: status {r.get('status')!r}")


def check_row_math(r, copy_gbps):
    """Throughput fields follow from the time and the shape; bpw from the table's block bytes."""
    qk, bb = TABLE[r["type"]]
    check(r["bpw"] is not None and close(r["bpw"], bb * 8 / qk, 1e-5),
          f"{r['type']}: bpw {r['bpw']} != {bb}*8/{qk}")
    check(r["k"] % qk == 0, f"{r['type']}: k={r['k']} not a multiple of {qk}")
    if r["time_us"] is None:
        return
    wbytes = r["m"] * r["k"] // qk * bb
    check(r["time_us"] > 0, f"{r['type']} {r['backend']}: time {r['time_us']}")
    check(close(r["gbps"], wbytes / r["time_us"] * 1e-3, 1e-4), f"{r['type']} {r['backend']}: gbps inconsistent")
    check(close(r["gflops"], 2 * r["m"] * r["k"] * r["n"] / r["time_us"] * 1e-3, 1e-4),
          f"{r['type']} {r['backend']}: gflops inconsistent")
    if r["backend"] == "vulkan" and copy_gbps:
        check(close(r["pct_copy_bw"], 100 * r["gbps"] / copy_gbps, 1e-4), f"{r['type']}: pct_copy_bw inconsistent")
    nk = r["nmse_kernel"]
    # fp32 kernels against the f64 product of the same decoded weights; the reduced-precision
    # GEMMs (fp16 products, int8 X) that a real GPU takes for n > 8 are promised NMSE <= 5e-4
    # (include/vkquant/vulkan.h); the CPU int8 path quantizes X to 8 bits (NMSE ~1e-5).
    fast = r["backend"] == "vulkan" and r.get("kernel") in ("gemm-f16", "gemm-int8")
    bound = 1e-3 if r["backend"] == "cpu" else 5e-4 if fast else 1e-8
    check(nk is not None and math.isfinite(nk) and 0 <= nk < bound,
          f"{r['type']} {r['backend']}: nmse_kernel {nk} not in [0, {bound})")


def small_garbage(folder):
    """A file that is neither GGUF nor safetensors, named neither."""
    path = os.path.join(folder, "weights.bin")
    open(path, "wb").write(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    return path


tmp = tempfile.mkdtemp(prefix="vkq-bench-test-")

# ---- 1. every type, both backends, two shapes, all outputs ----
j, c, d = (os.path.join(tmp, n) for n in ("all.json", "all.csv", "plots"))
shapes = [(64, 256, 1), (32, 256, 16)]
p = run(["--quick", "--types", "all", "--shapes", ",".join("%dx%dx%d" % s for s in shapes), "--reps", "2",
         "--cpu-threads", "2", "--json", j, "--csv", c, "--plot", d])
if "vkq-bench: no Vulkan rows:" in p.stderr:
    skip("check_vkq_bench", f"the sweep checks need a Vulkan device: {p.stderr.strip()[-300:]}")
doc = json.load(open(j))
check_schema(doc, "all")
rows = doc["rows"]
seen = {(r["type"], r["backend"], r["m"], r["n"]) for r in rows}
for t in sorted(WEIGHT_TYPES):
    for b in ("vulkan", "cpu"):
        for (m, k, n) in shapes:
            check((t, b, m, n) in seen, f"type {t} missing on {b} at {m}x{k}x{n}")
check(len(rows) == len(WEIGHT_TYPES) * 2 * len(shapes), f"{len(rows)} rows, want {len(WEIGHT_TYPES) * 4}")
for r in rows:
    if r["type"] in TABLE:
        check_row_math(r, doc["copy_gbps"])
    check(r["status"] == "ok" or r["status"] == "skipped: no quantizer",
          f"{r['type']} {r['backend']}: unexpected status {r['status']!r} on a working device")
    check(r["time_us"] is not None, f"{r['type']} {r['backend']}: not timed")
    if r["status"] == "ok":
        for f in ("nmse_weights", "nmse_output"):
            check(r[f] is not None and math.isfinite(r[f]) and r[f] >= 0, f"{r['type']}: {f} = {r[f]}")
    else:
        check(r["nmse_weights"] is None and r["nmse_output"] is None, f"{r['type']}: accuracy without a quantizer")

# The quality ladder (issue 5): more bits, less error, on the same synthetic weights.
quantized = {r["type"]: r for r in rows if r["status"] == "ok" and r["backend"] == "vulkan" and r["n"] == 1}
if not quantized:
    check(all(r["status"] == "skipped: no quantizer" for r in rows), "rows neither ok nor without quantizer")
    print("SKIPPED ladder check: every row says 'skipped: no quantizer' (quantizers not in this build)")
else:
    ladder = [t for t in ("F16", "Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K") if t in quantized]
    check(len(ladder) >= 2, f"too few ladder types quantized: {ladder}")
    for a, b in zip(ladder, ladder[1:]):
        ea, eb = quantized[a]["nmse_weights"], quantized[b]["nmse_weights"]
        check(ea < eb, f"ladder: nmse_weights {a} {ea:.3g} not below {b} {eb:.3g}")
    if "F32" in quantized:
        check(quantized["F32"]["nmse_weights"] == 0, "F32 round trip is not exact")
    for t, r in quantized.items():
        # The output error comes from the weight error: same order of magnitude (X random).
        if r["nmse_weights"] > 1e-12:
            ratio = r["nmse_output"] / r["nmse_weights"]
            check(0.01 < ratio < 100, f"{t}: nmse_output/nmse_weights = {ratio:.3g}")
    print("ladder:", ", ".join(f"{t} {quantized[t]['nmse_weights']:.2e}" for t in ladder))

# The table on stdout: one line per type, sorted by bits per weight.
table = [ln.split() for ln in p.stdout.splitlines() if ln.split() and ln.split()[0] in WEIGHT_TYPES]
check(sorted(x[0] for x in table) == sorted(WEIGHT_TYPES), "stdout table does not list each type once")
bpws = [float(x[1]) for x in table]
check(bpws == sorted(bpws), "stdout table not sorted by bits per weight")
check("\r" not in p.stderr, "progress bar drawn although stderr is not a terminal")

# On a terminal the progress bar is drawn on stderr (and stdout is left alone).
master, slave = pty.openpty()
tp = subprocess.Popen([exe, "--seed", str(seed), "--no-vulkan", "--types", "Q4_0,Q8_0", "--shapes", "32x256x1",
                       "--reps", "1"], stdout=subprocess.PIPE, stderr=slave, env=env)
os.close(slave)
tty = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO once the child has closed the terminal
        break
    if not chunk:
        break
    tty += chunk
out, _ = tp.communicate(timeout=120)
os.close(master)
check(b"\r[" in tty and b"1/2" in tty, f"no progress bar on a terminal: {tty[:200]!r}")
check(b"\r" not in out, "progress bar drawn on stdout")

# CSV: the same rows, the same values.
with open(c, newline="") as f:
    crows = list(csv.DictReader(f))
check(len(crows) == len(rows), f"CSV has {len(crows)} rows, JSON {len(rows)}")
for jr, cr in zip(rows, crows):
    for f, t in ROW_FIELDS.items():
        if t is float:
            cv = float(cr[f]) if cr.get(f) else None
            check((cv is None) == (jr[f] is None) and (cv is None or close(cv, jr[f], 1e-12)),
                  f"CSV {jr['type']} {jr['backend']} {f}: {cr.get(f)!r} vs {jr[f]!r}")
        else:
            check(str(jr[f]) == cr.get(f), f"CSV {jr['type']} {f}: {cr.get(f)!r} vs {jr[f]!r}")

# SVG charts: well-formed XML, <svg> root, the device name in the title, labelled axes.
for name in ("ladder.svg", "throughput.svg", "gemm.svg", "cpu_vs_gpu.svg"):
    path = os.path.join(d, name)
    if not check(os.path.exists(path), f"{name} not written"):
        continue
    root = ET.parse(path).getroot()
    check(root.tag == "{http://www.w3.org/2000/svg}svg", f"{name}: root is {root.tag}")
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    check(doc["device"]["name"] in texts, f"{name}: device name not in the chart")
    check(doc["date"] in texts, f"{name}: date not in the chart")
    circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
    # One marker per type (two series on the ladder; CPU vs GPU has one per type and shape),
    # plus one per legend entry. Without quantizers the ladder has only its legend.
    want = len(WEIGHT_TYPES)
    if name == "ladder.svg":  # legend + the types with a quantizer (exact ones at 0 not drawn)
        want = 2 + sum(1 for r in quantized.values() if r["nmse_weights"] > 0)
    check(len(circles) >= want, f"{name}: only {len(circles)} markers, want {want}")
check("bits per weight" in open(os.path.join(d, "ladder.svg")).read(), "ladder.svg lacks its x axis label")

# ---- 2. a device that does not exist: Vulkan rows skipped with a reason, CPU rows measured ----
j2 = os.path.join(tmp, "nodev.json")
run(["--device", "99", "--types", "Q4_0,Q4_K", "--shapes", "32x256x1", "--reps", "1", "--json", j2])
doc2 = json.load(open(j2))
check_schema(doc2, "no device")
for r in doc2["rows"]:
    if r["backend"] == "vulkan":
        check(r["status"].startswith("skipped: ") and len(r["status"]) > 12 and r["time_us"] is None,
              f"missing device: vulkan row {r['type']} status {r['status']!r}")
    else:
        check(r["time_us"] is not None and r["status"] in ("ok", "skipped: no quantizer"),
              f"missing device: cpu row {r['type']} not measured: {r['status']!r}")
check(len(doc2["rows"]) == 4, f"missing device: {len(doc2['rows'])} rows, want 4")


# ---- 3. real weights from a .safetensors file and a GGUF file ----
def safetensors(path, tensors, header=None, length=None, extra=b""):
    """tensors: name -> (dtype, shape, bytes); header/length override for malformed files."""
    hdr, data, off = {"__metadata__": {"format": "pt"}}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    h = (header if header is not None else json.dumps(hdr)).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h) if length is None else length) + h + data + extra)


rng = random.Random(seed)
w0 = [rng.gauss(0, 0.02) for _ in range(48 * 512)]
w1 = [rng.gauss(0, 0.02) for _ in range(16 * 256)]
st = os.path.join(tmp, "model.safetensors")
good = {"layer.0.weight": ("F32", [48, 512], struct.pack("<%df" % len(w0), *w0)),
        "layer.1.weight": ("F16", [16, 256], struct.pack("<%de" % len(w1), *w1)),
        "norm.weight": ("F32", [512], struct.pack("<512f", *([1.0] * 512)))}
safetensors(st, good)
j3 = os.path.join(tmp, "st.json")
run(["--weights", st, "--tensor", "layer.*", "--types", "Q8_0,F32", "--reps", "1", "--json", j3])
doc3 = json.load(open(j3))
check_schema(doc3, "safetensors")
got = sorted({(r["source"], r["m"], r["k"]) for r in doc3["rows"]})
check(got == [("layer.0.weight", 48, 512), ("layer.1.weight", 16, 256)],
      f"safetensors: sources/shapes {got} (the 1-D norm must be left out)")
for r in doc3["rows"]:
    check(r["time_us"] is not None and r["nmse_kernel"] is not None, f"safetensors {r['type']} {r['backend']} not measured")
    if r["type"] == "F32" and r["status"] == "ok":
        check(r["nmse_weights"] == 0, f"safetensors F32 round trip not exact: {r['nmse_weights']}")
j3b = os.path.join(tmp, "st1.json")
run(["--weights", st, "--tensor", "layer.1.*", "--types", "Q4_0", "--reps", "1", "--json", j3b])
check({r["source"] for r in json.load(open(j3b))["rows"]} == {"layer.1.weight"}, "--tensor glob not applied")

try:
    import numpy as np
    from gguf import GGUFWriter
    gg = os.path.join(tmp, "model.gguf")
    gw = GGUFWriter(gg, "testarch")
    gw.add_tensor("blk.0.ffn_up.weight", np.array(w0, dtype=np.float32).reshape(48, 512))
    gw.add_tensor("blk.0.attn_norm.weight", np.ones(512, dtype=np.float32))
    gw.write_header_to_file()
    gw.write_kv_data_to_file()
    gw.write_tensors_to_file()
    gw.close()
    j4 = os.path.join(tmp, "gguf.json")
    run(["--weights", gg, "--tensor", "blk.0.*", "--types", "Q4_0", "--reps", "1", "--json", j4])
    got = sorted({(r["source"], r["m"], r["k"]) for r in json.load(open(j4))["rows"]})
    check(got == [("blk.0.ffn_up.weight", 48, 512)], f"gguf: sources/shapes {got}")
except ImportError:
    need_oracle("check_vkq_bench")  # the whole test skips (or fails under VKQ_TEST_NO_SKIP)

# ---- 4. malformed safetensors: an error exit and a message, never a crash ----
one = {"w": ("F32", [4, 32], struct.pack("<128f", *([0.5] * 128)))}
bad = {
    "shorter than the length field": lambda p: open(p, "wb").write(b"\x05\x00\x00"),
    "header length past the end": lambda p: safetensors(p, one, length=1 << 40),
    "truncated JSON": lambda p: safetensors(p, one, header='{"w": {"dtype": "F32", "shape": [4, 32]'),
    "not JSON": lambda p: safetensors(p, one, header="hello world"),
    "data_offsets past the end": lambda p: safetensors(
        p, one, header='{"w": {"dtype": "F32", "shape": [4, 32], "data_offsets": [0, 99999]}}'),
    "shape does not match the bytes": lambda p: safetensors(
        p, one, header='{"w": {"dtype": "F32", "shape": [8, 32], "data_offsets": [0, 512]}}'),
    "unknown dtype": lambda p: safetensors(
        p, one, header='{"w": {"dtype": "F7", "shape": [4, 32], "data_offsets": [0, 512]}}'),
    "missing data_offsets": lambda p: safetensors(p, one, header='{"w": {"dtype": "F32", "shape": [4, 32]}}'),
    "shape overflow": lambda p: safetensors(
        p, one, header='{"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 512]}}'),
    "duplicate tensor": lambda p: safetensors(
        p, one, header='{"w": {"dtype": "F32", "shape": [4, 32], "data_offsets": [0, 512]}, '
                       '"w": {"dtype": "F32", "shape": [4, 32], "data_offsets": [0, 512]}}'),
}
for what, make in bad.items():
    path = os.path.join(tmp, "bad.safetensors")
    make(path)
    p = run(["--weights", path, "--types", "Q4_0", "--reps", "1"], expect_rc=2)
    check("malformed safetensors" in p.stderr, f"{what}: no clear message, stderr: {p.stderr!r}")
    check("Traceback" not in p.stderr and p.returncode >= 0, f"{what}: crashed ({p.returncode})")
    print(f"malformed ({what}): {p.stderr.strip()}")

# Random damage to a valid file (bytes flipped, cut short, digits inserted in the header): an
# error exit (2) or a run (0), never a crash. The CPU backend alone keeps this cheap.
valid = open(st, "rb").read()
hlen = struct.unpack("<Q", valid[:8])[0]
for i in range(40):
    b = bytearray(valid)
    kind = rng.randrange(3)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(8 + hlen)] = rng.randrange(256)
    elif kind == 1:
        b = b[:rng.randrange(len(b))]
    else:
        pos = rng.randrange(8, 8 + hlen)
        b[pos:pos] = str(rng.randrange(10 ** rng.randint(1, 20))).encode()
    path = os.path.join(tmp, "fuzz.safetensors")
    open(path, "wb").write(bytes(b))
    p = subprocess.run([exe, "--no-vulkan", "--weights", path, "--types", "Q4_0", "--reps", "1"],
                       capture_output=True, encoding="utf-8", errors="replace", timeout=120, env=env)
    check(p.returncode in (0, 2), f"damaged safetensors #{i} (kind {kind}): exit {p.returncode}\n{p.stderr[-500:]}")
    check(p.returncode == 0 or "vkq-bench:" in p.stderr, f"damaged safetensors #{i}: error exit without a message")

# Paths that are not weight files: exit 2 naming the path and what is wrong, never a hang and
# never "malformed safetensors" for a .gguf; a damaged GGUF is reported by the GGUF reader.
for path, words in list(bad_paths(tmp).items()) + list(bad_paths(tmp, ".safetensors").items()):
    p = run_bounded([exe, "--no-vulkan", "--weights", path, "--types", "Q4_0", "--reps", "1"], env=env, timeout=30)
    check(p.returncode == 2 and path in p.stderr and words in p.stderr, f"--weights {path}: exit {p.returncode}, "
          f"stderr {p.stderr!r}, want '{words}'")
    check(path.endswith(".safetensors") or "safetensors" not in p.stderr,
          f"--weights {path}: a .gguf reported as safetensors: {p.stderr!r}")
damaged = os.path.join(tmp, "damaged.gguf")
open(damaged, "wb").write(b"GGUF" + struct.pack("<I", 1) + bytes(16))
p = run(["--no-vulkan", "--weights", damaged, "--types", "Q4_0", "--reps", "1"], expect_rc=2)
check("GGUF" in p.stderr and "version 1" in p.stderr and "safetensors" not in p.stderr,
      f"damaged GGUF: stderr {p.stderr!r}")
p = run(["--no-vulkan", "--weights", small_garbage(tmp), "--types", "Q4_0", "--reps", "1"], expect_rc=2)
check("not a GGUF file" in p.stderr and "safetensors" in p.stderr, f"neither GGUF nor safetensors: {p.stderr!r}")

# Bad option values: exit 2 with the reason, not only the usage.
for args, words in [(["--types", ""], "--types: empty value"), (["--types", ","], "--types: no type named"),
                    (["--types", "Q4_9"], "unknown type 'Q4_9'"),
                    (["--reps", "0"], "--reps: expected a positive integer, got '0'"),
                    (["--reps", "-2"], "--reps: expected a positive integer, got '-2'"),
                    (["--reps", "many"], "--reps: expected a positive integer, got 'many'"),
                    (["--reps"], "--reps needs a value"), (["--reps", "--quick"], "--reps needs a value"),
                    (["--cpu-threads", "x"], "--cpu-threads: expected an integer"),
                    (["--seed", "1z"], "--seed: expected a non-negative integer"),
                    (["--shapes", "64x256"], "--shapes: bad shape '64x256'"),
                    (["--shapes", "64x256x1junk"], "bad shape '64x256x1junk'"), (["--shapes", ","], "no shape"),
                    (["--json"], "--json needs a value"), (["--frobnicate"], "unknown option '--frobnicate'"),
                    (["stray"], "unexpected argument 'stray'"), (["--tensor", "x"], "--tensor needs --weights")]:
    p = subprocess.run([exe, "--no-vulkan"] + args, capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode == 2 and words in p.stderr, f"vkq-bench {' '.join(args)}: exit {p.returncode}, "
          f"stderr {p.stderr!r}, want '{words}'")

# k that is not a whole number of blocks: a skipped row with the reason at the tensor's own
# m x k, in the JSON, the CSV and the table alike; never measured on a narrower matrix.
def odd_k(k, types, want_ok):
    path = os.path.join(tmp, f"k{k}.safetensors")
    safetensors(path, {"w": ("F32", [8, k], struct.pack("<%df" % (8 * k), *[rng.gauss(0, 1) for _ in range(8 * k)]))})
    js, cs = os.path.join(tmp, f"k{k}.json"), os.path.join(tmp, f"k{k}.csv")
    p = run(["--no-vulkan", "--weights", path, "--types", ",".join(types), "--reps", "1", "--json", js, "--csv", cs])
    jrows = json.load(open(js))["rows"]
    with open(cs, newline="") as f:
        crows = list(csv.DictReader(f))
    check(len(jrows) == 2 * len(types) and len(crows) == len(jrows), f"k={k}: {len(jrows)} JSON, {len(crows)} CSV rows")
    for r in jrows:
        check(r["m"] == 8 and r["k"] == k, f"k={k} tensor as {r['type']} {r['backend']}: m={r['m']} k={r['k']}")
        qk = TABLE[r["type"]][0]
        if r["type"] in want_ok:
            check(r["backend"] == "vulkan" or r["status"] == "ok", f"k={k} as {r['type']}: status {r['status']!r}")
        else:
            want = f"skipped: k={k} not a multiple of {qk}"
            check(r["status"].startswith(want) and r["time_us"] is None,
                  f"k={k} as {r['type']} {r['backend']}: status {r['status']!r}, want {want!r}")
    for jr, cr in zip(jrows, crows):
        check(cr["status"] == jr["status"] and int(cr["k"]) == jr["k"], f"k={k} CSV {cr['type']}: {cr} vs {jr}")
    table = {ln.split()[0]: ln for ln in p.stdout.splitlines() if ln.split() and ln.split()[0] in types}
    for t in types:
        if t not in want_ok:
            check(f"k={k} not a multiple of {TABLE[t][0]}" in table.get(t, ""), f"k={k} table line of {t}: {table.get(t)!r}")
    check(f"cpu 8x{k}x1" in p.stdout and not re.search(r"cpu 8x(?!%d)\d+x1" % k, p.stdout),
          f"k={k}: table header does not say 8x{k}x1 only:\n{p.stdout}")


odd_k(384, ["F32", "Q4_0", "Q4_K", "Q6_K"], {"F32", "Q4_0"})
odd_k(100, ["F16", "Q4_0", "Q4_K"], {"F16"})

if check.failures:
    print(f"{check.failures} check(s) failed; replay with VKQ_SEED={seed}")
    sys.exit(1)
print("all checks passed")
