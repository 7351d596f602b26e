#!/usr/bin/env python3
"""Compare vkquant's CPU decoders (via tests/decode_dump) bit for bit against an oracle.

Usage: python3 tests/oracle_gguf.py PATH_TO_decode_dump [--seed N] [--blocks 1,7,1500]

For every type that `decode_dump --list` prints ("NAME oracle_flag"), decode_dump makes fresh
random blocks with valid scales and decodes them; this script decodes the same bytes with
  * gguf.quants.dequantize (PyPI package gguf) where oracle_flag is 1, or
  * its own numpy implementation of docs/FORMATS.md (float64 arithmetic rounded once to binary32,
    which docs/FORMATS.md §1.4 shows is exact; Q8_K and NF4 as one binary32 multiply) otherwise,
and compares the results as uint32 bit patterns. The base seed comes from VKQ_SEED or is
random; it is printed, and every run's own seed is shown on failure. Exit status 1 on any
mismatch, 2 on a usage or tool error, 77 (meson's "skipped") when numpy or gguf is missing.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf  # noqa: F401  (PyPI package; the oracle for most types)
    from gguf.quants import dequantize
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from checks import need_oracle
    need_oracle("oracle_gguf")
    raise

# ---------------------------------------------------------------------------------------------
# Spec oracles (docs/FORMATS.md), for the types gguf-py does not decode. Input: uint8 array of shape
# (n_blocks, block_bytes). Output: float32 array of shape (n_blocks * QK,).


def spec_fp16(lo, hi):
    """§1.3.1 for finite halves, in float64: e = 0 -> m * 2^-24, else (1024 + m) * 2^(e-25)."""
    h = lo.astype(np.int64) | (hi.astype(np.int64) << 8)
    s = np.where(h >> 15, -1.0, 1.0)
    e = (h >> 10) & 0x1F
    m = h & 0x3FF
    assert not np.any(e == 31), "fp16 Inf/NaN scale in test data"
    mag = np.where(e == 0, np.ldexp(m.astype(np.float64), -24),
                   np.ldexp((1024 + m).astype(np.float64), (e - 25).astype(np.int32)))
    return s * mag  # -0.0 for sign 1 and magnitude 0


def spec_int8(b):
    return b.astype(np.int64) - ((b.astype(np.int64) >= 128) * 256)


def to_f32(x64):
    with np.errstate(over="ignore"):
        return x64.astype(np.float32)


def spec_q8_1(b):  # §4.6: y = fl(S8(4+i)) * H(0); s (offset 2) ignored
    d = spec_fp16(b[:, 0], b[:, 1])
    q = spec_int8(b[:, 4:36]).astype(np.float64)
    return to_f32(q * d[:, None]).reshape(-1)


def spec_q8_k(b):  # §7.7: y = F32(0) * fl(S8(4+i)), one binary32 multiply
    d = np.ascontiguousarray(b[:, 0:4]).view("<f4").astype(np.float32)  # shape (n, 1)
    q = spec_int8(b[:, 4:260]).astype(np.float32)
    with np.errstate(over="ignore"):
        return (d * q).astype(np.float32).reshape(-1)


def spec_q1_0(b):  # §6.1: bit = (B[2 + i/8] >> (i%8)) & 1; y = bit ? d : -d
    d = spec_fp16(b[:, 0], b[:, 1])[:, None]
    i = np.arange(128)
    bit = (b[:, 2 + i // 8] >> (i % 8)) & 1
    return to_f32(np.where(bit == 1, d, -d)).reshape(-1)


def spec_q2_0(b):  # §6.2: q = (B[2 + i/4] >> 2(i%4)) & 3; y = fl(q - 1) * d
    d = spec_fp16(b[:, 0], b[:, 1])[:, None]
    i = np.arange(64)
    q = ((b[:, 2 + i // 4] >> (2 * (i % 4))) & 3).astype(np.float64)
    return to_f32((q - 1.0) * d).reshape(-1)


# §12 (values from bitsandbytes' nf4_dequantization_lut), the binary32 bits column.
NF4_BITS = [0xBF800000, 0xBF3239B1, 0xBF066B30, 0xBECA32A0, 0xBE91A24D, 0xBE3D353F,
            0xBDBA7871, 0x00000000, 0x3DA2FAFF, 0x3E24CAE3, 0x3E7C04DD, 0x3EAD033A,
            0x3EE1A4B8, 0x3F1007AB, 0x3F3913B3, 0x3F800000]
# The decimal column of the same table: the hex transcription must agree with it.
NF4_DECIMAL = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
               -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
               0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
               0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
               0.7229568362236023, 1.0]
NF4 = np.array(NF4_BITS, dtype=np.uint32).view(np.float32)
assert np.array_equal(NF4, np.array(NF4_DECIMAL, dtype=np.float32)), "NF4 table transcription"


def spec_nf4(b):  # vkquant NF4: absmax f32 @0; element i<32 low nibble of qs[i], else high of qs[i-32]
    absmax = np.ascontiguousarray(b[:, 0:4]).view("<f4").astype(np.float64)  # (n, 1)
    qs = b[:, 4:36]
    code = np.concatenate([qs & 0xF, qs >> 4], axis=1)
    return to_f32(NF4[code].astype(np.float64) * absmax).reshape(-1)  # exact product, one rounding


SPEC = {"Q8_1": (36, spec_q8_1), "Q8_K": (292, spec_q8_k), "Q1_0": (18, spec_q1_0),
        "Q2_0": (18, spec_q2_0), "NF4": (36, spec_nf4)}

# ---------------------------------------------------------------------------------------------


def gguf_decode(name, raw):
    qtype = getattr(gguf.GGMLQuantizationType, name)
    with np.errstate(over="ignore"):  # e.g. MXFP4 e = 254: 12 * 2^126 overflows to Inf (valid)
        return np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(-1)


def spec_decode(name, raw):
    block_bytes, fn = SPEC[name]
    assert raw.size % block_bytes == 0
    return fn(raw.reshape(-1, block_bytes))


def run_case(tool, tmp, name, flag, n_blocks, seed):
    """Returns None if equal, else a description of the first mismatch."""
    prefix = os.path.join(tmp, f"{name}_{n_blocks}")
    cmd = [tool, name, str(n_blocks), str(seed), prefix]
    shown = " ".join(cmd[:-1] + ["OUT_PREFIX"])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    raw = np.fromfile(prefix + ".blocks", dtype=np.uint8)
    got = np.fromfile(prefix + ".f32", dtype="<u4")
    ref = gguf_decode(name, raw) if flag else spec_decode(name, raw)
    ref_bits = ref.view(np.uint32)
    if ref_bits.shape != got.shape:
        return f"size: decode_dump gave {got.size} elements, oracle {ref_bits.size}  [{shown}]"
    bad = np.nonzero(ref_bits != got)[0]
    if bad.size == 0:
        return None
    k = int(bad[0])
    qk = got.size // n_blocks
    return (f"{bad.size} of {got.size} elements differ; first at element {k} (block {k // qk}, "
            f"i = {k % qk}): vkquant 0x{int(got[k]):08x} ({got[k:k+1].view(np.float32)[0]!r}), "
            f"oracle 0x{int(ref_bits[k]):08x} ({ref[k]!r})  [reproduce: {shown}]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("decode_dump")
    ap.add_argument("--seed", type=lambda s: int(s, 0), default=None)
    ap.add_argument("--blocks", default="1,7,1500", help="comma-separated block counts")
    args = ap.parse_args()

    seed = args.seed
    if seed is None:
        env = os.environ.get("VKQ_SEED")
        seed = int(env, 0) if env else random.SystemRandom().getrandbits(63)
    counts = [int(c) for c in args.blocks.split(",")]
    print(f"oracle_gguf: seed {seed} (replay with VKQ_SEED={seed}), block counts {counts}")

    try:
        r = subprocess.run([args.decode_dump, "--list"], capture_output=True, text=True)
    except OSError as e:
        print(f"oracle_gguf: cannot run {args.decode_dump}: {e}")
        return 2
    if r.returncode != 0:
        print(f"oracle_gguf: {args.decode_dump} --list failed: {r.stderr.strip()}")
        return 2
    types = [(ln.split()[0], int(ln.split()[1])) for ln in r.stdout.splitlines() if ln.strip()]

    failures = 0
    with tempfile.TemporaryDirectory(prefix="vkq_oracle_") as tmp:
        for t_index, (name, flag) in enumerate(types):
            if not flag and name not in SPEC:
                print(f"  {name:8s} FAIL: no oracle (flag 0 and no spec implementation here)")
                failures += 1
                continue
            oracle = "gguf.quants.dequantize" if flag else "spec (numpy, docs/FORMATS.md)"
            problems = []
            elems = 0
            for c_index, n in enumerate(counts):
                run_seed = (seed * 1000003 + t_index * 101 + c_index) % (1 << 64)
                try:
                    msg = run_case(args.decode_dump, tmp, name, flag, n, run_seed)
                except Exception as e:  # tool failure or oracle exception
                    msg = f"error: {e}"
                if msg:
                    problems.append(f"{n} blocks: {msg}")
                elems += n
            status = "ok" if not problems else "FAIL"
            print(f"  {name:8s} {status:4s} oracle = {oracle}; {len(counts)} runs, {elems} blocks")
            for p in problems:
                print(f"           {p}")
            failures += bool(problems)

    print(f"oracle_gguf: {len(types) - failures} of {len(types)} types bit-exact"
          + ("" if not failures else f", {failures} FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
