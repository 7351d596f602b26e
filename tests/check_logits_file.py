"""The logits file and the KL-divergence statistics (include/vkquant/eval.h) against NumPy: random
logits go through the library's writer (tests/logits_tool.c), the file is read back by a NumPy
reader written from docs/FORMATS.md §16, and
- the header, tokens and size are what the format says;
- the library's decoded log-probabilities equal NumPy's decoding of the same bytes, and lie within
  half a quantization step of the true log-softmax (entries below the floor decode to the floor);
- every position's KLD, nll, Δp and top tokens, and every summary figure, equal a float64 NumPy
  computation from the same decoded numbers (llama.cpp's definitions: errors 0 up to 10 values,
  linear percentiles, the -16 cut of the KLD sum);
- truncated, padded, garbage and inconsistent files are refused with a sentence (exit 1, no crash);
- an unfinished writer leaves nothing behind.
usage: check_logits_file.py LOGITS_TOOL      (VKQ_SEED replays a run)
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks, need_oracle, test_seed  # noqa: E402

NAME = "check_logits_file"
need_oracle(NAME)
import numpy as np  # noqa: E402

tool = sys.argv[1]
check = Checks()
seed = test_seed(NAME)
rng = np.random.default_rng(seed)


def run(*args):
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=120)


def read_logits_file(path):
    """A reader from the format description alone: (n_ctx, n_vocab, n_chunk, tokens, decoded, scale, floor)."""
    b = open(path, "rb").read()
    assert b[:8] == b"_logits_", "magic"
    n_ctx, n_vocab, n_chunk = (int(x) for x in np.frombuffer(b, "<i4", 3, 8))
    tokens = np.frombuffer(b, "<i4", n_ctx * n_chunk, 20)
    first = n_ctx // 2
    n_scored = n_ctx - first - 1
    width = 4 + 2 * ((n_vocab + 1) // 2)
    at = 20 + 4 * n_ctx * n_chunk
    assert len(b) == at + 2 * width * n_scored * n_chunk, "length"
    rows = np.frombuffer(b, "<u2", width * n_scored * n_chunk, at).reshape(n_chunk * n_scored, width)
    head = np.ascontiguousarray(rows[:, :4]).view("<f4")
    scale, floor = head[:, 0:1], head[:, 1:2]
    codes = rows[:, 4:4 + n_vocab].astype(np.float32)
    decoded = (scale * codes).astype(np.float32) + floor  # float32 throughout, as a reader does
    return n_ctx, n_vocab, n_chunk, tokens, decoded.astype(np.float32), scale[:, 0], floor[:, 0]


def log_softmax64(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def mean_err(v):
    n = len(v)
    m = v.mean()
    var = (v * v).mean() - m * m
    return m, (np.sqrt(var / (n - 1)) if var > 0 and n > 10 else 0.0)


def reference_stats(base, cur, toks):
    """Per position and summary, float64, from the decoded base log-probabilities."""
    b = base.astype(np.float64)
    lc = log_softmax64(cur)
    mask = b > -16
    kld = np.where(mask, np.exp(b) * (b - lc), 0.0).sum(axis=1)
    idx = np.arange(len(toks))
    nll = -lc[idx, toks]
    nll_base = -b[idx, toks]
    p_diff = np.exp(-nll) - np.exp(-nll_base)
    top, top_base = cur.argmax(axis=1), base.argmax(axis=1)
    n = len(toks)
    s = {"count": n}
    lp, lp_err = mean_err(nll)
    lb, lb_err = mean_err(nll_base)
    cov = ((nll * nll_base).mean() - nll.mean() * nll_base.mean()) / (n - 1) if n >= 10 else 0.0
    s["ppl"], s["ppl_err"] = np.exp(lp), np.exp(lp) * lp_err
    s["ppl_base"], s["ppl_base_err"] = np.exp(lb), np.exp(lb) * lb_err
    s["ln_ppl_cor"] = cov / (lp_err * lb_err) if lp_err > 0 and lb_err > 0 else float("nan")
    s["ln_ppl_ratio"] = lp - lb
    s["ln_ppl_ratio_err"] = np.sqrt(max(lp_err**2 + lb_err**2 - 2 * cov, 0))
    s["ppl_ratio"] = np.exp(lp - lb)
    s["ppl_ratio_err"] = s["ppl_ratio"] * s["ln_ppl_ratio_err"]
    s["ppl_diff"] = s["ppl"] - s["ppl_base"]
    s["ppl_diff_err"] = np.sqrt(max(s["ppl_err"]**2 + s["ppl_base_err"]**2 - 2 * s["ppl"] * s["ppl_base"] * cov, 0))
    s["kld"], s["kld_err"] = mean_err(kld)
    s["kld_max"], s["kld_min"], s["kld_median"] = kld.max(), kld.min(), np.median(kld)
    s["p_diff"], s["p_diff_err"] = mean_err(p_diff)
    s["p_diff_max"], s["p_diff_min"], s["p_diff_median"] = p_diff.max(), p_diff.min(), np.median(p_diff)
    mse, mse_err = mean_err(p_diff**2)
    s["p_diff_rms"] = np.sqrt(mse)
    s["p_diff_rms_err"] = 0.5 / np.sqrt(mse) * mse_err if mse > 0 else 0.0
    s["same_top"] = np.mean(top == top_base)
    s["same_top_err"] = np.sqrt(s["same_top"] * (1 - s["same_top"]) / (n - 1))
    return np.stack([kld, nll, nll_base, p_diff, top, top_base], axis=1), s, kld, p_diff


def close(a, b, rtol=1e-9, atol=1e-12):
    if isinstance(b, float) and np.isnan(b):
        return a is None or (isinstance(a, float) and np.isnan(a))
    return abs(a - b) <= atol + rtol * abs(b)


def one_case(d, n_ctx, n_vocab, n_chunk, label):
    first = n_ctx // 2
    n_scored = n_ctx - first - 1
    tokens = rng.integers(0, n_vocab, size=n_ctx * n_chunk, dtype=np.int32)
    rows = n_chunk * n_scored
    # Rows of every kind: narrow, wide (a span past 16, so some entries share the floor), a
    # constant row (scale 0), and large offsets.
    temp = rng.choice([0.3, 2.0, 6.0, 12.0], size=(rows, 1))
    base = (rng.standard_normal((rows, n_vocab)) * temp + rng.uniform(-30, 30, size=(rows, 1))).astype(np.float32)
    base[rng.integers(rows)] = np.float32(rng.uniform(-5, 5))
    cur = (base + rng.standard_normal(base.shape).astype(np.float32) * rng.choice([0.01, 0.5])).astype(np.float32)
    tp, lp, cp, kp, dp = (os.path.join(d, f"{label}.{x}") for x in ("i32", "f32", "cur.f32", "kld", "dec.f32"))
    tokens.tofile(tp)
    base.tofile(lp)
    cur.tofile(cp)
    r = run("write", kp, n_ctx, n_vocab, n_chunk, tp, lp)
    if not check(r.returncode == 0, f"{label}: write failed: {r.stderr}"):
        return None
    check(not [f for f in os.listdir(d) if ".tmp." in f], f"{label}: a temporary file is left: {os.listdir(d)}")
    c_, v_, k_, t_, dec, scale, floor = read_logits_file(kp)
    check((c_, v_, k_) == (n_ctx, n_vocab, n_chunk), f"{label}: header {(c_, v_, k_)}")
    check(np.array_equal(t_, tokens), f"{label}: tokens differ")
    r = run("decode", kp, dp)
    if not check(r.returncode == 0, f"{label}: decode failed: {r.stderr}"):
        return None
    cdec = np.fromfile(dp, np.float32).reshape(rows, n_vocab)
    check(np.array_equal(cdec, dec), f"{label}: library and NumPy decode differ by {np.abs(cdec - dec).max()}")
    true = log_softmax64(base)
    lo = np.maximum(base.min(axis=1), base.max(axis=1) - 16).astype(np.float64)[:, None]
    above = base > lo
    tol = scale[:, None].astype(np.float64) * 0.5 + 4e-6 * (1 + np.abs(true))
    err = np.abs(dec - true)
    check(np.all(err[above] <= np.broadcast_to(tol, err.shape)[above]),
          f"{label}: decoded log-probs off by {err[above].max()} (step {scale.max()})")
    check(np.all(dec[~above] == np.broadcast_to(floor[:, None], dec.shape)[~above]),
          f"{label}: entries at or below the floor do not decode to it")
    r = run("kld", kp, cp)
    if not check(r.returncode == 0, f"{label}: kld failed: {r.stderr}"):
        return None
    got = json.loads(r.stdout.replace("nan", "NaN"))
    scored = np.concatenate([tokens[c * n_ctx + first + 1:c * n_ctx + n_ctx] for c in range(n_chunk)])
    pos, ref, kld, pdiff = reference_stats(dec, cur, scored)
    gp = np.array(got["positions"], dtype=np.float64)
    check(gp.shape == pos.shape, f"{label}: {gp.shape} positions, wanted {pos.shape}")
    if gp.shape == pos.shape:
        check(np.array_equal(gp[:, 4:], pos[:, 4:]), f"{label}: top tokens differ")
        dev = np.abs(gp[:, :4] - pos[:, :4]) / (1e-12 + np.abs(pos[:, :4]))
        check(np.allclose(gp[:, :4], pos[:, :4], rtol=1e-9, atol=1e-12),
              f"{label}: per-position values differ (worst relative {dev.max():.3g})")
    for key, want in ref.items():
        check(close(got[key], float(want)), f"{label}: {key} = {got[key]}, NumPy {want}")
    fr = got["fractions"]
    for name, vals in (("kld_percentile", kld), ("p_diff_percentile", pdiff)):
        want = np.percentile(vals, np.array(fr) * 100)  # linear interpolation, NumPy's default
        check(np.allclose(got[name], want, rtol=1e-9, atol=1e-12), f"{label}: {name} {got[name]} vs {list(want)}")
    print(f"{NAME}: {label}: ctx {n_ctx}, vocab {n_vocab}, {n_chunk} chunks: decode within half a step "
          f"(worst {err[above].max():.2e}), KLD {got['kld']:.6g} ± {got['kld_err']:.3g}, same top "
          f"{100 * got['same_top']:.1f} %: as NumPy")
    return kp


def bad_files(d, good):
    b = open(good, "rb").read()
    n_ctx, n_vocab, n_chunk = struct.unpack_from("<iii", b, 8)
    at = 20 + 4 * n_ctx * n_chunk

    def patched(off, fmt, val):
        m = bytearray(b)
        struct.pack_into(fmt, m, off, val)
        return bytes(m)

    cases = [
        ("empty", b"", "_logits_"),
        ("7 bytes", b[:7], "_logits_"),
        ("magic only", b[:8], "truncated"),
        ("header cut", b[:19], "truncated"),
        ("no tokens", b[:20], "truncated"),
        ("tokens cut", b[:at - 3], "truncated"),
        ("no rows", b[:at], "truncated"),
        ("last byte missing", b[:-1], "truncated"),
        ("half the rows", b[:at + (len(b) - at) // 2], "missing"),
        ("a byte too many", b + b"\0", "after the last"),
        ("wrong magic", b"_Logits_" + b[8:], "_logits_"),
        ("garbage", bytes(rng.integers(0, 256, 300, dtype=np.uint8)), "_logits_"),
        ("context 2", patched(8, "<i", 2), "context"),
        ("negative chunks", patched(16, "<i", -1), "chunks"),
        ("empty vocabulary", patched(12, "<i", 0), "vocabulary"),
        ("other vocabulary", patched(12, "<i", n_vocab + 2), "bytes"),
        ("other context", patched(8, "<i", n_ctx + 2), "bytes"),
        ("vocabulary past the bytes", patched(12, "<i", 2**31 - 1), "truncated"),
        ("sizes overflow", b[:8] + struct.pack("<iii", 2**31 - 1, 2**31 - 1, 2**31 - 1) + b[20:], "overflow"),
        ("token outside", patched(20, "<i", n_vocab), "outside the vocabulary"),
        ("negative token", patched(24, "<i", -5), "outside the vocabulary"),
        ("NaN scale", patched(at, "<f", float("nan")), "scale"),
        ("infinite floor", patched(at + 4, "<f", float("-inf")), "floor"),
        ("negative scale", patched(at, "<f", -1.0), "scale"),
        ("codes past float", patched(at, "<f", 1e35), "finite"),
    ]
    for label, data, needle in cases:
        p = os.path.join(d, "bad.kld")
        with open(p, "wb") as f:
            f.write(data)
        r = run("check", p)
        ok = check(r.returncode == 1, f"bad file '{label}': exit {r.returncode}, wanted 1; {r.stderr.strip()}")
        ok = ok and check(needle in r.stderr and "bad.kld" in r.stderr,
                          f"bad file '{label}': no {needle!r} (and the path) in: {r.stderr.strip()}")
        if ok:
            print(f"{NAME}: {label}: {r.stderr.strip().split('check: ', 1)[-1]}")
    r = run("check", good)
    check(r.returncode == 0, f"the good file is refused: {r.stderr}")
    r = run("check", d)
    check(r.returncode == 1 and "directory" in r.stderr, f"a directory: {r.returncode} {r.stderr}")
    r = run("check", os.path.join(d, "missing.kld"))
    check(r.returncode == 1 and "missing.kld" in r.stderr, f"a missing file: {r.returncode} {r.stderr}")


with tempfile.TemporaryDirectory() as d:
    good = None
    cases = [(4, 2, 3), (9, 7, 2), (16, 300, 3), (int(rng.integers(5, 40)), int(rng.integers(2, 500)), 4),
             (64, 61, 2)]
    for i, (c, v, k) in enumerate(cases):
        good = one_case(d, c, v, k, f"case{i}") or good
    if good:
        bad_files(d, good)
    target = os.path.join(d, "sub", "abandoned.kld")
    os.makedirs(os.path.dirname(target))
    r = run("abandon", target)
    check(r.returncode == 0, f"abandon: {r.stderr}")
    left = os.listdir(os.path.dirname(target))
    check(not left, f"an unfinished writer left {left}")
    if r.returncode == 0 and not left:
        print(f"{NAME}: unfinished writer: {r.stdout.strip()}; nothing left behind")
    tp, lp = os.path.join(d, "t.i32"), os.path.join(d, "l.f32")
    np.zeros(8, np.int32).tofile(tp)
    np.zeros(3 * 5, np.float32).tofile(lp)
    r = run("write", os.path.join(d, "nodir", "x.kld"), 8, 5, 1, tp, lp)
    check(r.returncode == 1 and "nodir" in r.stderr, f"write into a missing folder: {r.returncode} {r.stderr}")

sys.exit(1 if check.failures else 0)
