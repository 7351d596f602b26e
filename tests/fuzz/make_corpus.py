#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora and dictionaries (committed; run again only to change them):
  corpus/gguf/         the malformed files of tests/gguf_corpus/, the valid files of
                       tests/make_gguf.py (gguf-py's writer), and files holding one block of every
                       vkquant type (include/vkquant/types.def) so the decoders see each layout
  corpus/safetensors/  small valid headers (dtypes, __metadata__, escapes, padding, empty shapes)
                       and one file per refusal the reader makes
  gguf.dict, safetensors.dict
usage: .venv/bin/python3 tests/fuzz/make_corpus.py   (needs gguf-py for make_gguf.py)
"""
import base64
import glob
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
rng = random.Random(1234)


def types():
    out = []
    for line in open(os.path.join(root, "include", "vkquant", "types.def")):
        m = re.match(r"\s*X\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,", line)
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))))
    return out


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, kvs, tensors, version=3, alignment=32):
    """kvs: (key, type id, packed value bytes); tensors: (name, type id, ne list, payload)."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, vtype, payload in kvs:
        head += gguf_string(key) + struct.pack("<I", vtype) + payload
    offset = 0
    infos = b""
    for name, ttype, ne, payload in tensors:
        infos += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        infos += struct.pack("<IQ", ttype, offset)
        offset += (len(payload) + alignment - 1) // alignment * alignment
    out = head + infos
    out += bytes(-len(out) % alignment)
    for _, _, _, payload in tensors:
        out += payload + bytes(-len(payload) % alignment)
    with open(path, "wb") as f:
        f.write(out)


def gguf_corpus(dest):
    for p in sorted(glob.glob(os.path.join(root, "tests", "gguf_corpus", "*.gguf"))):
        shutil.copy(p, os.path.join(dest, "bad_" + os.path.basename(p)))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(root, "tests", "make_gguf.py"), tmp], check=True,
                       stdout=subprocess.DEVNULL)
        for p in sorted(glob.glob(os.path.join(tmp, "*.gguf"))):
            shutil.copy(p, os.path.join(dest, "valid_" + os.path.basename(p)))
    # One block of each type (two rows for the block-size-1 types), random payload bytes, in
    # files of about 2 KB; the first also holds one key of every scalar type and an array.
    kvs = [("general.architecture", 8, gguf_string("fuzz")), ("general.alignment", 4, struct.pack("<I", 32)),
           ("u8", 0, b"\x07"), ("i8", 1, b"\xf9"), ("u16", 2, struct.pack("<H", 700)),
           ("i16", 3, struct.pack("<h", -700)), ("u32", 4, struct.pack("<I", 70000)),
           ("i32", 5, struct.pack("<i", -70000)), ("f32", 6, struct.pack("<f", 1.5)), ("bool", 7, b"\x01"),
           ("u64", 10, struct.pack("<Q", 1 << 40)), ("i64", 11, struct.pack("<q", -(1 << 40))),
           ("f64", 12, struct.pack("<d", -2.25)),
           ("tokens", 9, struct.pack("<IQ", 8, 3) + gguf_string("a") + gguf_string("") + gguf_string("bc")),
           ("scores", 9, struct.pack("<IQ", 6, 2) + struct.pack("<ff", 0.5, -1.0))]
    files, cur, size = [], [], 0
    for name, tid, qk, nbytes in types():
        ne = [qk, 2] if qk == 1 else [qk]
        payload = bytes(rng.randrange(256) for _ in range(nbytes * (2 if qk == 1 else 1)))
        cur.append((name.lower(), tid, ne, payload))
        size += len(payload)
        if size > 1500:
            files.append(cur)
            cur, size = [], 0
    if cur:
        files.append(cur)
    for i, ts in enumerate(files):
        write_gguf(os.path.join(dest, f"types_{i}.gguf"), kvs if i == 0 else kvs[:1], ts, version=3 if i else 2)


def st_file(header, data=b"", raw=False):
    h = header if raw else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def safetensors_corpus(dest):
    def f32(n):
        return bytes(rng.randrange(256) for _ in range(4 * n))

    seeds = {
        "valid_f32": st_file({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}, f32(6)),
        "valid_mixed": st_file({"__metadata__": {"format": "pt", "n": "2"},
                                "a.weight": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]},
                                "b.weight": {"dtype": "BF16", "shape": [4], "data_offsets": [8, 16]},
                                "c": {"dtype": "I8", "shape": [3], "data_offsets": [16, 19]},
                                "d": {"dtype": "U64", "shape": [], "data_offsets": [19, 27]},
                                "e": {"dtype": "F8_E4M3", "shape": [0, 5], "data_offsets": [27, 27]}},
                               bytes(27)),
        "valid_empty": st_file(b"{}", raw=True),
        "valid_padded": st_file(b'{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}' + b" " * 9, bytes(8),
                                raw=True),
        "valid_escapes": st_file(b'{"n\\u00e9\\n\\"q\\"":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2],'
                                 b'"extra":[1,{"k":null},true,-1.5e3]}}', b"\x00\x01", raw=True),
        "bad_short": b"\x02\x00\x00",
        "bad_length": struct.pack("<Q", 1 << 40) + b"{}",
        "bad_duplicate": st_file(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                 b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00", raw=True),
        "bad_dtype": st_file({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"),
        "bad_offsets": st_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, bytes(8)),
        "bad_past_end": st_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, bytes(8)),
        "bad_overflow": st_file(b'{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}',
                                raw=True),
        "bad_trailing": st_file(b'{} x', raw=True),
        "bad_nesting": st_file(b'{"__metadata__":' + b"[" * 40 + b"]" * 40 + b"}", raw=True),
        "bad_unterminated": st_file(b'{"a', raw=True),
        "bad_float_shape": st_file(b'{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}', b"\x00", raw=True),
        "bad_missing": st_file({"a": {"dtype": "U8", "shape": [1]}}, b"\x00"),
        # Regressions: NUL bytes were taken as part of a literal, as an escaped character and inside a
        # \\u escape (any 4 bytes passed).
        "bad_nul_in_literal": st_file(b'{"__metadata__":{"a":1\x00}}', raw=True),
        "bad_nul_escape": st_file(b'{"__metadata__":{"a":"x\\\x00"}}', raw=True),
        "bad_nul_in_literal_found": base64.b64decode(
            "ZwAAAAAAAAB7Im5cdTAwZTlcblwicVwiIjp7ImR0eXBlIjoiQk9PTCIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzAsMl0sIl94dHJhIjpbMSx7ImsiOm51bGx9LHQAAAAAAAAAAGUzXX19AAE="),
        "bad_u_escape": st_file(b'{"a\\u0q\x009":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00", raw=True),
        "bad_u_escape_found": base64.b64decode(
            "ZwAAAAAAAAB7Im5cdTBxADlcblwicVwiIjp7ImR0eXBlIjoiQk9PTCIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzAsMl0sImV4dHJhIjpbMSx7ImsiOm51bGx9LHRydWUsLTEuNWUzXX19AAE="),
    }
    for name, data in seeds.items():
        with open(os.path.join(dest, name + ".safetensors"), "wb") as f:
            f.write(data)


def dict_entry(name, b):
    return name + '="' + "".join(chr(c) if 0x20 <= c < 0x7F and c not in b'"\\' else f"\\x{c:02x}" for c in b) + '"'


def write_dicts():
    lines = ["# GGUF tokens for libFuzzer (-dict=): magic, versions, value type ids and tensor type",
             "# ids as little-endian u32, small u64 counts, common keys. Made by make_corpus.py.",
             dict_entry("magic", b"GGUF")]
    lines += [dict_entry(f"version_{v}", struct.pack("<I", v)) for v in (2, 3)]
    lines += [dict_entry(f"value_type_{v}", struct.pack("<I", v)) for v in range(13)]
    lines += [dict_entry("type_" + name.lower(), struct.pack("<I", tid)) for name, tid, _, _ in types()]
    lines += [dict_entry(f"u64_{v}", struct.pack("<Q", v)) for v in (0, 1, 2, 4, 32)]
    lines += [dict_entry("u64_max", b"\xff" * 8)]
    for k in ("general.architecture", "general.alignment", "general.name", "general.file_type",
              "general.quantization_version", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
              "tokenizer.ggml.model", "llama.block_count", "llama.context_length", "token_embd.weight",
              "blk.0.attn_q.weight", "output.weight"):
        lines.append(dict_entry("key_" + re.sub(r"\W", "_", k), k.encode()))
    with open(os.path.join(here, "gguf.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")

    lines = ["# .safetensors header tokens for libFuzzer (-dict=). Made by make_corpus.py."]
    for d in ("F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
              "F8_E4M3", "F8_E5M2"):
        lines.append(dict_entry("dtype_" + d, b'"' + d.encode() + b'"'))
    for name, tok in (("dtype", b'"dtype"'), ("shape", b'"shape"'), ("offsets", b'"data_offsets"'),
                      ("metadata", b'"__metadata__"'), ("obj", b"{"), ("obj_end", b"}"), ("arr", b"["),
                      ("arr_end", b"]"), ("colon", b":"), ("comma", b","), ("quote", b'"'),
                      ("escape_u", b"\\u00e9"), ("escape", b'\\"'), ("true", b"true"), ("false", b"false"),
                      ("null", b"null"), ("number", b"1e9"), ("big", b"18446744073709551615"),
                      ("pair", b"[0,4]")):
        lines.append(dict_entry(name, tok))
    with open(os.path.join(here, "safetensors.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


for target, fill in (("gguf", gguf_corpus), ("safetensors", safetensors_corpus)):
    dest = os.path.join(here, "corpus", target)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    fill(dest)
write_dicts()
