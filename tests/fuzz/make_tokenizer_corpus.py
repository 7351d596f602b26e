#!/usr/bin/env python3
"""Writes the tokenizer fuzzer's seed corpus (tests/fuzz/corpus/tokenizer/, committed; run again
only to change it): small vocabulary-only GGUF files written with gguf-py, one per tokenizer
model and pre-tokenizer (SentencePiece-style with and without byte pieces and add_space_prefix;
GPT-2 byte-level BPE with merges, pre = llama-bpe, qwen2, gpt-2, default), plus variants the
tokenizer must refuse (scores too short, a merge naming an unknown piece, an unknown model).
usage: .venv/bin/python3 tests/fuzz/make_tokenizer_corpus.py
"""
import os

from gguf import GGUFWriter

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "tokenizer")
os.makedirs(out, exist_ok=True)

WORDS = ["the", "he", "th", "e", "t", "h", " ", "a", "an", "and", "in", "is", "it", "o", "on", "n", "s", "i",
         "1", "2", "3", "12", "123", "ca", "caf", "café", "é", "日", "本", "日本"]


def byte_chars():
    # GPT-2's printable stand-ins for the 256 bytes
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write(name, model, tokens, types, scores=None, merges=None, extra=None):
    w = GGUFWriter(os.path.join(out, name), "llama")
    w.add_string("tokenizer.ggml.model", model)
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.token_type", types)
    if scores is not None:
        w.add_array("tokenizer.ggml.scores", scores)
    if merges is not None:
        w.add_array("tokenizer.ggml.merges", merges)
    w.add_uint32("tokenizer.ggml.bos_token_id", 1)
    w.add_uint32("tokenizer.ggml.eos_token_id", 2)
    for k, v in (extra or {}).items():
        if isinstance(v, bool):
            w.add_bool(k, v)
        else:
            w.add_string(k, v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def spm(name, with_bytes=True, **extra):
    toks = ["<unk>", "<s>", "</s>", "<start_of_turn>"]
    types = [2, 3, 3, 3]
    if with_bytes:
        toks += ["<0x%02X>" % b for b in range(256)]
        types += [6] * 256
    pieces = ["▁" + x for x in WORDS] + WORDS + ["▁"]
    toks += pieces
    types += [1] * len(pieces)
    scores = [0.0] * (len(toks) - len(pieces)) + [-float(i) for i in range(len(pieces))]
    write(name, "llama", toks, types, scores=scores, extra=extra)
    return toks, types, scores


def bpe(name, pre, bad_merge=False):
    bc = byte_chars()
    toks = ["<|begin|>", "<|end|>", "<|eot|>"] + [bc[b] for b in range(256)]
    types = [3, 3, 3] + [1] * 256
    merges = []
    for word in ["the", "and", "ing", " the", " a", "12"]:
        enc = "".join(bc[b] for b in word.encode())
        cur = enc[0]
        for ch in enc[1:]:
            merges.append(cur + " " + ch)
            cur = cur + ch
            if cur not in toks:
                toks.append(cur)
                types.append(1)
    if bad_merge:
        merges.append("zz qq")
    write(name, "gpt2", toks, types, merges=merges, extra={"tokenizer.ggml.pre": pre})


spm("spm_bytes.gguf")
spm("spm_no_prefix.gguf", **{"tokenizer.ggml.add_space_prefix": False})
spm("spm_no_bytes.gguf", with_bytes=False)
for pre in ["llama-bpe", "qwen2", "gpt-2", "default"]:
    bpe("bpe_%s.gguf" % pre, pre)
bpe("bad_merge.gguf", "llama-bpe", bad_merge=True)
toks, types, scores = spm("tmp.gguf")
os.remove(os.path.join(out, "tmp.gguf"))
write("bad_scores.gguf", "llama", toks, types, scores=scores[:-3])
write("bad_model.gguf", "bert", toks, types, scores=scores)
for f in sorted(os.listdir(out)):
    print(f, os.path.getsize(os.path.join(out, f)))
