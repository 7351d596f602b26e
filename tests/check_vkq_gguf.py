"""vkq-gguf prints the header, metadata, tensors and a summary of a valid file (exit 0), refuses
a malformed one with the reader's message on stderr (exit 1), and a usage error exits 2.

usage: check_vkq_gguf.py VKQ_GGUF_EXE
"""
import json
import os
import subprocess
import sys
import tempfile

from checks import Checks, bad_paths, need_oracle, run_bounded

need_oracle("check_vkq_gguf")
from gguf import GGUFReader  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
exe = sys.argv[1]
check = Checks()


with tempfile.TemporaryDirectory(prefix="vkq-gguf-") as tmp:
    subprocess.run([sys.executable, os.path.join(here, "make_gguf.py"), tmp], check=True,
                   stdout=subprocess.DEVNULL)
    manifest = json.load(open(os.path.join(tmp, "manifest.json")))
    for fd in manifest["files"]:
        r = subprocess.run([exe, os.path.join(tmp, fd["file"])], capture_output=True, text=True,
                           timeout=60)
        out = r.stdout
        check(r.returncode == 0, f"{fd['file']}: exit {r.returncode}: {r.stderr}")
        check("version: 3" in out, f"{fd['file']}: no version line")
        check(f"alignment: {fd['alignment']}" in out, f"{fd['file']}: no alignment line")
        check("summary by type:" in out, f"{fd['file']}: no summary")
        for kv in fd["kv"]:
            check(kv["key"] in out, f"{fd['file']}: key {kv['key']} missing")
        lines = out.splitlines()
        for t in fd["tensors"]:
            row = [l for l in lines if l.split()[:1] == [t["name"]]]
            check(len(row) == 1, f"{fd['file']}: tensor {t['name']} missing")
            if row:
                cols = row[0].split()
                check(cols[1] == t["type"], f"{t['name']}: type column {cols[1]} != {t['type']}")
                check(str(t["nbytes"]) in cols, f"{t['name']}: byte size {t['nbytes']} missing")
        # gguf-py's own reader as an independent oracle of offsets, sizes and the data start
        ref = GGUFReader(os.path.join(tmp, fd["file"]))
        if ref.tensors:
            check(f"data offset: {ref.data_offset}" in out, f"{fd['file']}: data offset != gguf-py's {ref.data_offset}")
        for t in ref.tensors:
            row = [l.split() for l in lines if l.split()[:1] == [t.name]]
            check(row and row[0][1] == t.tensor_type.name and int(row[0][-3]) == t.data_offset
                  and int(row[0][-2]) == t.n_bytes,
                  f"{t.name}: {row} != gguf-py {t.tensor_type.name} @{t.data_offset} {t.n_bytes}")
            shape = " x ".join(str(int(d)) for d in t.shape)
            check(row and shape in " ".join(row[0]), f"{t.name}: shape {shape} missing")
        types = {t["type"] for t in fd["tensors"]}
        summary = out.split("summary by type:")[-1]
        for ty in types:
            check(f"  {ty} " in summary, f"{fd['file']}: {ty} missing from the summary")
        if fd["tensors"]:
            check("100.00%" in summary, f"{fd['file']}: no total share")
    if manifest["files"]:
        out = subprocess.run([exe, os.path.join(tmp, "mixed.gguf")], capture_output=True, text=True).stdout
        check("[STRING x 4]" in out and '"alpha"' in out, "string array not shown")
        check("... (300 bytes)" in out, "long string not truncated")

    bad = os.path.join(tmp, "bad.gguf")
    data = bytearray(open(os.path.join(tmp, "mixed.gguf"), "rb").read())
    data[4:8] = (1).to_bytes(4, "little")
    open(bad, "wb").write(data)
    r = subprocess.run([exe, bad], capture_output=True, text=True)
    check(r.returncode == 1, f"malformed file: exit {r.returncode}")
    check("version 1" in r.stderr and r.stdout == "", f"malformed file: stderr {r.stderr!r}")
    r = subprocess.run([exe, os.path.join(here, "gguf_corpus", "overlap.gguf")], capture_output=True, text=True)
    check(r.returncode == 1 and "overlaps" in r.stderr, f"corpus overlap: {r.returncode} {r.stderr!r}")
    r = subprocess.run([exe, os.path.join(tmp, "missing.gguf")], capture_output=True, text=True)
    check(r.returncode == 1 and "missing.gguf" in r.stderr, f"missing file: {r.returncode} {r.stderr!r}")
    r = subprocess.run([exe], capture_output=True, text=True)
    check(r.returncode == 2 and "usage" in r.stderr, f"no argument: exit {r.returncode}")

    # Not a file to read: exit 1 and the path with what is wrong, never a hang; the same with --plan.
    for path, words in bad_paths(tmp).items():
        for args in ([path], ["--plan", "--budget", "1G", path]):
            r = run_bounded([exe] + args, timeout=20)
            check(r.returncode == 1 and path in r.stderr and words in r.stderr and r.stdout == "",
                  f"vkq-gguf {' '.join(args)}: exit {r.returncode}, stderr {r.stderr!r}, want '{words}'")

    # Bad arguments: exit 2 with the reason, not only the usage.
    good = os.path.join(tmp, "mixed.gguf")
    for args, words in [([good, good], "one FILE only"), (["--bogus"], "unknown option '--bogus'"),
                        (["--plan", good, good], "one FILE only"), (["--plan", "--budget"], "--budget needs a value"),
                        (["--plan", "--budget", "--override", "x=cpu", good], "--budget needs a value"),
                        (["--plan", "--override"], "--override needs a value"),
                        (["--plan", "--budget", "1G", "--frobnicate", good], "unknown option '--frobnicate'")]:
        r = subprocess.run([exe] + args, capture_output=True, text=True)
        check(r.returncode == 2 and words in r.stderr, f"vkq-gguf {' '.join(args)}: exit {r.returncode}, "
              f"stderr {r.stderr!r}, want '{words}'")

print(f"{check.failures} failures")
sys.exit(1 if check.failures else 0)
