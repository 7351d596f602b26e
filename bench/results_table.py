#!/usr/bin/env python3
"""Turn vkq-bench --json output into the Markdown tables of bench/RESULTS.md.

Usage: bench/results_table.py MATVEC.json [GEMM.json]
A sweep's JSON (with "cpu" rows: the default vkq-bench run) also gives the accuracy table.

The ggml column is ggml's Vulkan backend on the same machine kind (lavapipe, Mesa 22.3.6,
2-core AMD EPYC), mat-vec m=4096 k=14336 n=1, as recorded in the project's issue tracker;
it applies only to rows measured on that device and shape."""
import json
import sys

GGML_LAVAPIPE_US = {
    "F16": 51613, "BF16": 34696, "Q4_0": 27942, "Q4_1": 58905, "Q5_0": 38868, "Q5_1": 52332,
    "Q8_0": 52028, "Q1_0": 26716, "Q2_0": 26891, "MXFP4": 135126, "NVFP4": 241141, "Q2_K": 149239,
    "Q3_K": 141821, "Q4_K": 36352, "Q5_K": 54323, "Q6_K": 108463, "TQ2_0": 60739,
    "IQ2_XXS": 41644, "IQ2_XS": 31779, "IQ2_S": 38196, "IQ3_XXS": 39258, "IQ1_S": 26623,
    "IQ1_M": 34807,
}


def table(doc, with_ggml):
    dev = doc["device"]
    out = [f"Device: {dev['name']} ({dev['type']}, {dev['driver']}), profile {dev.get('profile', '?')}, "
           f"{doc['date']}, {doc['reps']} reps (median). Copy bandwidth {doc['copy_gbps']:.2f} GB/s "
           f"(compute copy kernel {doc.get('copy_kernel_gbps', 0):.2f}, vkCmdCopyBuffer "
           f"{doc.get('copy_transfer_gbps', 0):.2f}; % of copy uses the larger).", ""]
    head = "| type | bpw | kernel | m x k x n | µs | GB/s | GFLOP/s | % copy | NMSE vs f64 |"
    if with_ggml:
        head += " ggml µs | speed-up |"
    out.append(head)
    out.append("|" + "---|" * (head.count("|") - 1))
    # Vulkan rows only (the sweep also has "cpu" rows), and only measured ones.
    rows = [r for r in doc["rows"] if r.get("backend", "vulkan") == "vulkan" and r["time_us"] is not None]
    for r in sorted(rows, key=lambda r: (r["bpw"] or 0, r["type"])):
        line = (f"| {r['type']} | {r['bpw']:.3f} | {r['kernel']} | {r['m']}x{r['k']}x{r['n']} | "
                f"{r['time_us']:.0f} | {r['gbps']:.3f} | {r['gflops']:.2f} | {r['pct_copy_bw']:.1f} | "
                f"{r['nmse_kernel']:.1e} |")
        if with_ggml:
            g = GGML_LAVAPIPE_US.get(r["type"])
            line += f" {g} | {g / r['time_us']:.2f}x |" if g else " – | – |"
        out.append(line)
    return "\n".join(out)


def sweep_table(doc):
    """The sweep's accuracy and both backends' throughput: one line per type, by bits per weight."""
    by = {}
    for r in doc["rows"]:
        by.setdefault(r["type"], {})[(r["backend"], r["n"])] = r
    ns = sorted({r["n"] for r in doc["rows"]})
    fmt = lambda v, f: "–" if v is None else format(v, f)
    head = "| type | bpw | NMSE weights | NMSE output | " + " | ".join(
        f"{b} n={n} {'GB/s' if n <= 8 else 'GFLOP/s'}" for n in ns for b in ("Vulkan", "CPU")) + " | status |"
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for t, rs in sorted(by.items(), key=lambda kv: (next(iter(kv[1].values()))["bpw"] or 0, kv[0])):
        first = next(iter(rs.values()))
        acc = next((r for r in rs.values() if r["nmse_weights"] is not None), first)
        cells = []
        for n in ns:
            for b in ("vulkan", "cpu"):
                r = rs.get((b, n))
                v = None if r is None else (r["gbps"] if n <= 8 else r["gflops"])
                cells.append(fmt(v, ".3f" if n <= 8 else ".2f"))
        status = "; ".join(sorted({r["status"] for r in rs.values()}))
        out.append(f"| {t} | {first['bpw']:.3f} | {fmt(acc['nmse_weights'], '.2e')} | "
                   f"{fmt(acc['nmse_output'], '.2e')} | " + " | ".join(cells) + f" | {status} |")
    return "\n".join(out)


def main():
    docs = [json.load(open(p)) for p in sys.argv[1:]]
    for i, d in enumerate(docs):
        if any(r.get("backend") == "cpu" for r in d["rows"]):
            print(sweep_table(d))
            print()
        mv = all(r["n"] == 1 and r["m"] == 4096 and r["k"] >= 14336 for r in d["rows"] if r.get("backend") != "cpu")
        print(table(d, with_ggml=mv and "llvmpipe" in d["device"]["name"]))
        print()


if __name__ == "__main__":
    main()
