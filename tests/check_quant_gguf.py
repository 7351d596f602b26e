#!/usr/bin/env python3
"""vkquant's quantizers against gguf-py's (gguf.quants.quantize), where gguf-py has one.

Usage: python3 tests/check_quant_gguf.py PATH_TO_quant_dump

quant_dump writes LLM-like weights and vkquant's quantization of them. Both vkquant's bytes and
gguf-py's own quantization of the same weights are decoded with gguf.quants.dequantize (an
independent decoder), and:
  * F16, BF16: both are plain round-to-nearest-even, so the bytes must be identical;
  * Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, TQ1_0, TQ2_0, MXFP4: gguf-py uses absmax round-to-nearest,
    vkquant searches the scale, so vkquant's NMSE must be at most gguf-py's (+1% slack).
The seed comes from VKQ_SEED or is random, and is printed. Exit 1 on failure, 2 on a tool
error, 77 (meson's "skipped") without numpy/gguf.
"""
import os
import random
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize, quantize
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from checks import need_oracle
    need_oracle("check_quant_gguf")
    raise

ROWS, K = 32, 4096
EXACT = ["F16", "BF16"]
SEARCHED = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0", "MXFP4"]


def nmse(x, y):
    x = x.astype(np.float64)
    return float(np.sum((x - y.astype(np.float64)) ** 2) / np.sum(x * x))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    env = os.environ.get("VKQ_SEED")
    seed = int(env, 0) if env else random.getrandbits(63)
    print(f"seed {seed} (VKQ_SEED to replay)")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.argv[1], str(seed), str(ROWS), str(K), tmp] + EXACT + SEARCHED)
        if r.returncode != 0:
            print("quant_dump failed")
            return 2
        x = np.fromfile(os.path.join(tmp, "x.f32"), dtype=np.float32).reshape(ROWS, K)
        for name in EXACT + SEARCHED:
            qt = T[name]
            ours = np.fromfile(os.path.join(tmp, name + ".bin"), dtype=np.uint8).reshape(ROWS, -1)
            theirs = np.asarray(quantize(x, qt)).view(np.uint8).reshape(ROWS, -1)
            if name in EXACT:
                same = ours.shape == theirs.shape and np.array_equal(ours, theirs)
                print(f"{name:6s} bytes identical to gguf-py: {same}")
                failures += not same
                continue
            e_ours = nmse(x, dequantize(ours, qt).reshape(ROWS, K))
            e_theirs = nmse(x, dequantize(theirs, qt).reshape(ROWS, K))
            ok = e_ours <= e_theirs * 1.01
            print(f"{name:6s} nmse vkquant {e_ours:.5g}  gguf-py {e_theirs:.5g}  "
                  f"ratio {e_ours / e_theirs:.3f}  {'ok' if ok else 'FAIL'}")
            failures += not ok
    if failures:
        print(f"{failures} failure(s); seed {seed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
