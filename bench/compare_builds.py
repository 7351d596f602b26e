#!/usr/bin/env python3
"""Two builds of vkq-bench side by side in one run: did a change make anything slower?

    bench/compare_builds.py OLD/vkq-bench NEW/vkq-bench [--rounds N] -- [vkq-bench options]

Runs the two binaries alternately --rounds times with the same options (and the same --seed,
so both time the same weights), keeps each side's fastest time per (type, backend, shape), and
prints new / old per row (below 1: the new build is faster) with the geometric mean per
backend. Alternating makes a change in the machine's load hit both sides.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile


def run(binary, opts):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        subprocess.run([binary, *opts, "--json", path], check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            doc = json.load(f)
    return {(r["type"], r["backend"], r["m"], r["k"], r["n"]): r["time_us"]
            for r in doc["rows"] if r.get("time_us") is not None}, doc


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args(argv)
    if "--seed" not in extra:
        extra += ["--seed", "1234"]
    best = {"old": {}, "new": {}}
    doc = None
    for _ in range(a.rounds):
        for side, binary in (("old", a.old), ("new", a.new)):
            times, doc = run(binary, extra)
            for key, us in times.items():
                best[side][key] = min(us, best[side].get(key, us))
    print(f"device: {doc['device'].get('name')}; options: {' '.join(extra)}; fastest of {a.rounds} "
          f"alternating rounds; load average {os.getloadavg()[0]:.1f}")
    print("| type | backend | shape | old µs | new µs | new/old |")
    print("|---|---|---|---:|---:|---:|")
    logs = {}
    for key in sorted(best["new"], key=lambda k: (k[1], k[4], k[0])):
        if key not in best["old"]:
            continue
        o, n = best["old"][key], best["new"][key]
        logs.setdefault(key[1], []).append(math.log(n / o))
        print(f"| {key[0]} | {key[1]} | {key[2]}x{key[3]}x{key[4]} | {o:.0f} | {n:.0f} | {n / o:.2f} |")
    for backend, v in logs.items():
        print(f"geometric mean new/old, {backend}: {math.exp(sum(v) / len(v)):.3f} over {len(v)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
