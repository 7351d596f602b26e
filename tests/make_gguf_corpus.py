"""Regenerates tests/gguf_corpus/: small malformed GGUF files, each with one defect, that
vkq_gguf_create must refuse (test_gguf runs them; the fuzzer can start from them). Files named
type_*.gguf must give VKQ_ERROR_UNKNOWN_TYPE, all others VKQ_ERROR_MALFORMED.

usage: make_gguf_corpus.py [OUTDIR]   (default: the gguf_corpus folder next to this script)
Needs gguf-py (the project's .venv) to write the valid base file.
"""
import os
import struct
import sys
import tempfile

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q, GGUFValueType as V

outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "gguf_corpus")
os.makedirs(outdir, exist_ok=True)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "base.gguf")
    w = GGUFWriter(path, "corpus")
    w.add_uint32("corpus.u32", 7)
    w.add_bool("corpus.flag", True)
    w.add_string("corpus.name", "base")
    w.add_key_value("corpus.ints", [1, 2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("corpus.strs", ["a", "bc"], V.ARRAY, sub_type=V.STRING)
    w.add_tensor("w.q4", np.arange(2 * 36, dtype=np.uint8).reshape(2, 36), raw_dtype=Q.Q4_0)  # 64 x 2
    w.add_tensor("w.q8", np.arange(34, dtype=np.uint8).reshape(1, 34), raw_dtype=Q.Q8_0)      # 32 x 1
    w.add_tensor("w.f32", np.ones(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    base = open(path, "rb").read()


def find_str(buf, s):
    s = s.encode()
    i = buf.find(struct.pack("<Q", len(s)) + s)
    assert i >= 0, s
    return i


def tensor_fields(buf, name):
    at = find_str(buf, name) + 8 + len(name)
    n_dims = struct.unpack_from("<I", buf, at)[0]
    return {"n_dims": at, "ne": at + 4, "type": at + 4 + 8 * n_dims, "offset": at + 8 + 8 * n_dims}


def patch(fmt, off, value, buf=base):
    b = bytearray(buf)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def key_field(key, extra):
    return find_str(base, key) + 8 + len(key) + extra


q4 = tensor_fields(base, "w.q4")
q8 = tensor_fields(base, "w.q8")
cases = {
    "empty": b"",
    "magic_only": b"GGUF",
    "bad_magic": b"GGUX" + base[4:],
    "version_0": patch("<I", 4, 0),
    "version_1": patch("<I", 4, 1),
    "version_4": patch("<I", 4, 4),
    "big_endian": patch(">I", 4, 3),
    "truncated_header": base[:20],
    "truncated_kv": base[:find_str(base, "corpus.name") + 5],
    "truncated_tensor_info": base[:q8["type"] + 2],
    "truncated_data": base[:-1],
    "tensor_count_huge": patch("<Q", 8, 2**64 - 1),
    "kv_count_huge": patch("<Q", 16, 2**62),
    "key_length_huge": patch("<Q", 24, 2**40),
    "key_empty": patch("<Q", find_str(base, "corpus.u32"), 0),
    "value_type_13": patch("<I", key_field("corpus.u32", 0), 13),
    "bool_2": patch("<B", key_field("corpus.flag", 4), 2),
    "string_length_huge": patch("<Q", key_field("corpus.name", 4), 2**31),
    "nested_array": patch("<I", key_field("corpus.ints", 4), 9),
    "array_count_huge": patch("<Q", key_field("corpus.ints", 8), 2**40),
    "string_array_count_huge": patch("<Q", key_field("corpus.strs", 8), 2**29),
    "duplicate_key": patch("11s", find_str(base, "corpus.name") + 8, b"corpus.flag"),
    "duplicate_tensor": patch("4s", find_str(base, "w.q8") + 8, b"w.q4"),
    "n_dims_0": patch("<I", q4["n_dims"], 0),
    "n_dims_5": patch("<I", q4["n_dims"], 5),
    "ne_negative": patch("<q", q4["ne"] + 8, -2),
    "ne_overflow": patch("<Q", q4["ne"] + 8, 2**62),
    "ne0_not_block_multiple": patch("<Q", q4["ne"], 48),
    "type_removed_4": patch("<I", q4["type"], 4),
    "type_removed_37": patch("<I", q4["type"], 37),
    "type_43": patch("<I", q4["type"], 43),
    "offset_misaligned": patch("<Q", q8["offset"], struct.unpack_from("<Q", base, q8["offset"])[0] + 4),
    "offset_past_eof": patch("<Q", q8["offset"], 1 << 20),
    "offset_overflow": patch("<Q", q8["offset"], 2**64 - 32),
    "overlap": patch("<Q", q8["offset"], struct.unpack_from("<Q", base, q4["offset"])[0]),
}
# general.alignment must be UINT32 and a power of two
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "a.gguf")
    w = GGUFWriter(path, "corpus")
    w.add_custom_alignment(64)
    w.add_tensor("t", np.ones(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    w_align = open(path, "rb").read()
at = find_str(w_align, "general.alignment") + 8 + len("general.alignment")
cases["alignment_int32"] = patch("<I", at, int(V.INT32), w_align)
cases["alignment_0"] = patch("<I", at + 4, 0, w_align)
cases["alignment_48"] = patch("<I", at + 4, 48, w_align)

for f in os.listdir(outdir):
    if f.endswith(".gguf"):
        os.remove(os.path.join(outdir, f))
total = 0
for name, data in cases.items():
    with open(os.path.join(outdir, name + ".gguf"), "wb") as f:
        f.write(data)
    total += len(data)
print(f"wrote {len(cases)} files, {total} bytes, to {outdir}")
