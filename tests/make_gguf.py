"""Writes small valid GGUF files with gguf-py's GGUFWriter into OUTDIR, plus OUTDIR/manifest.json
describing what each holds (metadata values, tensor names, types, shapes, byte sizes, data hashes),
and the same facts as OUTDIR/manifest.txt, a line format that tests/test_gguf.c reads:
  file NAME ALIGNMENT N_KV N_TENSORS
  kv KEY TYPE VALUE                      scalar: integer, float as float.hex(), string as hex bytes
  arr KEY ELEM_TYPE COUNT V0 V1 ...      same encodings ("-" for an empty string)
  tensor NAME TYPE_ID N_DIMS NE0 NE1 NE2 NE3 NBYTES FNV1A64

usage: make_gguf.py OUTDIR [SEED]
"""
import hashlib
import json
import os
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q, GGUFValueType as V
from gguf.constants import GGML_QUANT_SIZES

outdir = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("VKQ_SEED", "1234"))
os.makedirs(outdir, exist_ok=True)
rng = np.random.default_rng(seed)
print(f"make_gguf: seed {seed}")


def value_json(vtype, val):
    if vtype == V.FLOAT32:
        return float(np.float32(val))
    if vtype == V.BOOL:
        return bool(val)
    return val


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def txt_value(vtype, val):
    if vtype == "STRING":
        return val.encode().hex() or "-"
    if vtype in ("FLOAT32", "FLOAT64"):
        return float(val).hex()
    if vtype == "BOOL":
        return "1" if val else "0"
    return str(int(val))


def write(name, tensors, alignment=None, extra_kv=True):
    path = os.path.join(outdir, name)
    w = GGUFWriter(path, "testarch")
    kvs = [("general.architecture", "STRING", "testarch")]
    if alignment is not None:
        w.add_custom_alignment(alignment)
        kvs.append(("general.alignment", "UINT32", alignment))
    if extra_kv:
        scalars = [
            ("test.u8", V.UINT8, 200), ("test.i8", V.INT8, -100),
            ("test.u16", V.UINT16, 60000), ("test.i16", V.INT16, -30000),
            ("test.u32", V.UINT32, 4000000000), ("test.i32", V.INT32, -2000000000),
            ("test.f32", V.FLOAT32, 3.25), ("test.bool_true", V.BOOL, True),
            ("test.bool_false", V.BOOL, False), ("test.string", V.STRING, "héllo, gguf"),
            ("test.u64", V.UINT64, 2**63 + 5), ("test.i64", V.INT64, -(2**62) - 7),
            ("test.f64", V.FLOAT64, -1.0e300),
            ("test.long_string", V.STRING, "x" * 300),
        ]
        for key, vt, val in scalars:
            w.add_key_value(key, val, vt)
            kvs.append((key, vt.name, value_json(vt, val)))
        arrays = [
            ("test.arr_str", V.STRING, ["alpha", "", "gamma delta", "ε"]),
            ("test.arr_i32", V.INT32, [1, -2, 3, -4, 5, 2147483647, -2147483648]),
            ("test.arr_u8", V.UINT8, list(range(20))),
            ("test.arr_f32", V.FLOAT32, [0.5, -1.5, 1e-3]),
            ("test.arr_bool", V.BOOL, [True, False, True]),
            ("test.arr_u64", V.UINT64, [0, 2**64 - 1]),
            ("test.arr_i16", V.INT16, [-32768, 32767]),
            ("test.arr_f64", V.FLOAT64, [2.5, -0.125]),
        ]
        for key, st, val in arrays:
            w.add_key_value(key, val, V.ARRAY, sub_type=st)
            kvs.append((key, "ARRAY", {"elem_type": st.name,
                                        "values": [value_json(st, x) for x in val]}))
        w.add_uint32("general.quantization_version", 2)
        kvs.append(("general.quantization_version", "UINT32", 2))
    man_tensors = []
    for tname, qt, shape in tensors:  # shape in ggml order: ne[0] first
        block, tsize = GGML_QUANT_SIZES[qt]
        rows = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        row_bytes = shape[0] // block * tsize
        if qt == Q.F32:
            arr = rng.standard_normal(tuple(reversed(shape))).astype(np.float32)
            w.add_tensor(tname, arr)
        elif qt == Q.F16:
            arr = rng.standard_normal(tuple(reversed(shape))).astype(np.float16)
            w.add_tensor(tname, arr)
        else:
            raw = rng.integers(0, 256, size=rows * row_bytes, dtype=np.uint8)
            byte_shape = tuple(reversed(shape[1:])) + (row_bytes,)
            arr = raw.reshape(byte_shape)
            w.add_tensor(tname, arr, raw_dtype=qt)
        data = arr.tobytes()
        man_tensors.append({"name": tname, "type": qt.name, "type_id": int(qt), "ne": list(shape),
                            "nbytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                            "first_bytes": data[:8].hex(), "fnv1a64": fnv1a64(data)})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"file": name, "alignment": alignment or 32,
            "kv": [{"key": k, "type": t, "value": v} for k, t, v in kvs],
            "tensors": man_tensors}


files = []
files.append(write("mixed.gguf", [
    ("token_embd.weight", Q.F32, [64, 3]),
    ("blk.0.attn_norm.weight", Q.F32, [64]),
    ("blk.0.ffn.f16", Q.F16, [32, 2, 3]),
    ("blk.0.attn_q.weight", Q.Q4_0, [64, 4]),
    ("blk.0.attn_k.weight", Q.Q8_0, [96, 2]),
    ("blk.0.attn_v.weight", Q.Q4_K, [256, 2]),
    ("blk.0.ffn_down.weight", Q.Q6_K, [512, 1]),
    ("blk.0.ffn_up.weight", Q.IQ4_NL, [32, 5]),
    ("blk.0.ffn_gate.weight", Q.Q5_K, [256, 3]),
    ("blk.1.q2k", Q.Q2_K, [256, 1, 2, 2]),
    ("blk.1.iq2xxs", Q.IQ2_XXS, [256, 1]),
    ("blk.1.mxfp4", Q.MXFP4, [64, 2]),
    ("blk.1.bf16", Q.BF16, [16, 2]),
]))
files.append(write("aligned64.gguf", [
    ("a", Q.Q4_1, [32, 3]),
    ("b", Q.F32, [5]),
    ("c", Q.Q5_0, [32, 1]),
], alignment=64))
files.append(write("aligned8.gguf", [("only", Q.F16, [3, 3])], alignment=8, extra_kv=False))
files.append(write("no_tensors.gguf", []))

with open(os.path.join(outdir, "manifest.json"), "w") as f:
    json.dump({"seed": seed, "files": files}, f, indent=1)
with open(os.path.join(outdir, "manifest.txt"), "w") as f:
    for fd in files:
        f.write(f"file {fd['file']} {fd['alignment']} {len(fd['kv'])} {len(fd['tensors'])}\n")
        for kv in fd["kv"]:
            if kv["type"] == "ARRAY":
                et, vals = kv["value"]["elem_type"], kv["value"]["values"]
                f.write(f"arr {kv['key']} {et} {len(vals)} " + " ".join(txt_value(et, v) for v in vals) + "\n")
            else:
                f.write(f"kv {kv['key']} {kv['type']} {txt_value(kv['type'], kv['value'])}\n")
        for t in fd["tensors"]:
            ne = t["ne"] + [1] * (4 - len(t["ne"]))
            f.write(f"tensor {t['name']} {t['type_id']} {len(t['ne'])} {' '.join(map(str, ne))} "
                    f"{t['nbytes']} {t['fnv1a64']}\n")
print(f"make_gguf: wrote {len(files)} files to {outdir}")
