#!/usr/bin/env python3
"""Checks that src/ has no include cycle and that includes point down the layers.

A module is a file without its extension (buffer.c + buffer.h = src/vulkan/buffer): module
A depends on B when a file of A includes a header of B. Rules:
  1. no cycle among modules;
  2. rooms: core < formats < {cpu, quant, gguf, text, eval, vulkan} < {model, convert} < llm: no room includes a higher one
     (rooms of one rank may use each other, as long as rule 1 holds);
  3. inside src/vulkan, the layers of device_core.h: a file includes only its own layer or
     lower ones;
  4. the public headers (include/vkquant/) count as part of the room that implements them, so
     rule 2 holds for them too: a Vulkan-free room does not reach vulkan.h or model.h through them.
Exit status 0 if all hold, 1 with one line per violation otherwise. Usage: check_layers.py SRC_DIR
"""
import os
import re
import sys

ROOM_RANK = {"core": 0, "formats": 1, "cpu": 2, "quant": 2, "gguf": 2, "vulkan": 2, "text": 2, "eval": 2,
             "model": 3, "convert": 3,
             "llm": 4}

VULKAN_LAYER = {
    "device_core": 0, "instance": 0, "probe": 0, "volk_impl": 0,
    "staging_ring": 1,
    "buffer": 2, "config": 2, "pipeline_cache": 2,
    "pipeline": 3,
    "dequant": 4, "matmul": 4, "ops": 4,
    "device": 5,
}

# Edges allowed against the room order, each with its reason.
EXCEPTIONS = {
    # The type table names each type's CPU decoder and quantizer: it is the one place that
    # joins them, and it lives in core so that every room can read type facts.
    ("core/types", "formats/decode_cpu"),
    ("core/types", "quant/quantize_internal"),
}

# The room of each public header (include/vkquant/); vkquant.h includes them all.
PUBLIC_ROOM = {
    "vkquant/core.h": "core", "vkquant/types.def": "core", "vkquant/version.h": "core",
    "vkquant/cpu.h": "cpu", "vkquant/quant.h": "quant", "vkquant/gguf.h": "gguf",
    "vkquant/tokenizer.h": "text", "vkquant/eval.h": "eval", "vkquant/convert.h": "convert",
    "vkquant/vulkan.h": "vulkan", "vkquant/model.h": "model", "vkquant/llm.h": "llm", "vkquant/vkquant.h": "llm",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(rel):
    return re.sub(r"\.(c|h|h\.in)$", "", rel)


def main(src):
    files = []
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h", ".h.in")):
                files.append(os.path.relpath(os.path.join(root, n), src).replace(os.sep, "/"))
    existing = set(files)
    edges = {}
    problems = []
    for rel in sorted(files):
        with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        a = module_of(rel)
        for target in INCLUDE.findall(text):
            if target.startswith("vkquant/"):
                ra, rb = a.split("/")[0], PUBLIC_ROOM.get(target)
                if rb is None:
                    problems.append(f"{rel}: includes {target}: a public header missing from PUBLIC_ROOM")
                elif ROOM_RANK.get(rb, 0) > ROOM_RANK.get(ra, 0):
                    problems.append(f"{rel}: includes {target}: room {rb} is above room {ra}")
                continue
            if target not in existing:
                continue  # generated files, volk
            b = module_of(target)
            if a == b or (a, b) in EXCEPTIONS:
                continue
            edges.setdefault(a, set()).add(b)
            ra, rb = a.split("/")[0], b.split("/")[0]
            if ROOM_RANK.get(rb, 0) > ROOM_RANK.get(ra, 0):
                problems.append(f"{rel}: includes {target}: room {rb} is above room {ra}")
            if ra == rb == "vulkan":
                la, lb = VULKAN_LAYER.get(a.split("/")[-1]), VULKAN_LAYER.get(b.split("/")[-1])
                if la is None or lb is None:
                    problems.append(f"{rel}: includes {target}: a vulkan file missing from VULKAN_LAYER")
                elif lb > la:
                    problems.append(f"{rel}: includes {target}: vulkan layer {lb} is above layer {la}")

    # Cycles: depth-first search with colours; report each cycle found once.
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                problems.append("include cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    for p in problems:
        print(p)
    print(f"{len(files)} files, {sum(len(v) for v in edges.values())} module dependencies, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")))
