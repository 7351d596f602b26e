#!/usr/bin/env python3
"""Writes the logits fuzzer's seed corpus (tests/fuzz/corpus/logits/, committed; run again only to
change it) and its dictionary (tests/fuzz/logits.dict): small files in the format of
docs/FORMATS.md §16, written here from the description with NumPy (vocabularies of 1 to 8 tokens,
odd and even so the row padding is seen, contexts 3 to 9, one or two chunks, rows with a zero scale
and with entries at the floor), plus variants the reader must refuse (truncated, one byte too many,
a token outside the vocabulary, a NaN scale, a context of 2).
usage: .venv/bin/python3 tests/fuzz/make_logits_corpus.py
"""
import hashlib
import os
import struct

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "logits")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261205)


def encode_row(logits):
    x = logits.astype(np.float64)
    mx = x.max()
    lo = max(x.min(), mx - 16)
    lse = np.log(np.exp(x - mx).sum())
    scale = np.float32((mx - lo) / 65535)
    floor = np.float32(lo - mx - lse)
    codes = np.where(x > lo, np.rint((x - lo) / scale) if scale > 0 else 0, 0) if scale > 0 else np.zeros(len(x))
    codes = np.clip(codes, 0, 65535).astype("<u2")
    if len(codes) % 2:
        codes = np.append(codes, np.uint16(0))
    return struct.pack("<ff", scale, floor) + codes.tobytes()


def logits_file(n_ctx, n_vocab, n_chunk, spread=3.0, constant_row=False):
    n_scored = n_ctx - n_ctx // 2 - 1
    tokens = rng.integers(0, n_vocab, n_ctx * n_chunk).astype("<i4")
    b = b"_logits_" + struct.pack("<iii", n_ctx, n_vocab, n_chunk) + tokens.tobytes()
    for r in range(n_chunk * n_scored):
        row = rng.standard_normal(n_vocab) * spread
        if constant_row and r == 0:
            row[:] = 1.5
        b += encode_row(row)
    return b


files = [
    logits_file(4, 8, 1),
    logits_file(5, 7, 2),
    logits_file(8, 8, 2, spread=20.0),
    logits_file(3, 1, 1),
    logits_file(9, 3, 1, constant_row=True),
]
good = files[1]
at = 20 + 4 * 5 * 2
files += [
    good[:-3],
    good + b"\0",
    good[:20] + struct.pack("<i", 7) + good[24:],
    good[:at] + struct.pack("<f", float("nan")) + good[at + 4:],
    good[:8] + struct.pack("<i", 2) + good[12:],
]
for data in files:
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

with open(os.path.join(here, "logits.dict"), "w") as f:
    f.write("# Logits file tokens for libFuzzer (-dict=): the magic, small counts as little-endian i32,\n"
            "# float scales and floors. Made by make_logits_corpus.py.\n")
    f.write('magic="_logits_"\n')
    for n in (0, 1, 2, 3, 4, 8, 255, 256, 65535):
        f.write(f'i32_{n}="' + "".join(f"\\x{c:02x}" for c in struct.pack("<i", n)) + '"\n')
    f.write('i32_minus1="\\xff\\xff\\xff\\xff"\n')
    for name, v in (("zero", 0.0), ("step", 16 / 65535), ("floor", -20.0), ("nan", float("nan")),
                    ("inf", float("inf"))):
        f.write(f'f32_{name}="' + "".join(f"\\x{c:02x}" for c in struct.pack("<f", v)) + '"\n')
    f.write('code_max="\\xff\\xff"\n')
print(f"{len(files)} files in {out}")
