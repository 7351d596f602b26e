#!/usr/bin/env python3
"""Writes a small GPT-2-style byte-level BPE vocabulary as a vocab-only GGUF, deterministically:
1500 merges trained on /usr/share/common-licenses/GPL-3, split into words by the llama-3
pre-tokenizer (an own splitter over unicodedata classes; training quality does not matter, the
same bytes every run do). The test (tests/run_test_tokenizer.py) compares its sha256 with the one
tests/data/tokenizer_bpe.json recorded next to llama.cpp's ids for it.

usage: make_bpe_vocab.py OUT.gguf PRE   (PRE: llama-bpe, qwen2 or gpt-2, written as tokenizer.ggml.pre)
"""
import collections
import sys
import unicodedata

import gguf

TRAIN = "/usr/share/common-licenses/GPL-3"
N_MERGES = 1500
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]


def byte_cpts():
    printable = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    out, k = {}, 0
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            out[b] = chr(0x100 + k)
            k += 1
    return out


def klass(ch):
    c = unicodedata.category(ch)[0]
    return "L" if c == "L" else "N" if c == "N" else "S" if ch.isspace() else ""


def split_llama3(text):
    """(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|
    \\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"""
    words, i, n = [], 0, len(text)
    cls = [klass(ch) for ch in text] + [""]
    while i < n:
        j = i
        low = text[i + 1:i + 3].lower()
        if text[i] == "'" and low[:1] in ("s", "t", "m", "d"):
            j = i + 2
        elif text[i] == "'" and low in ("re", "ve", "ll"):
            j = i + 3
        elif cls[i] == "L" or (cls[i] in ("", "S") and text[i] not in "\r\n" and cls[i + 1] == "L"):
            j = i + 1
            while j < n and cls[j] == "L":
                j += 1
        elif cls[i] == "N":
            while j < n and j - i < 3 and cls[j] == "N":
                j += 1
        elif cls[i + (text[i] == " ")] == "" and i + (text[i] == " ") < n:
            j = i + (text[i] == " ")
            while j < n and cls[j] == "":
                j += 1
            while j < n and text[j] in "\r\n":
                j += 1
        else:
            end, last = i, 0
            while end < n and cls[end] == "S":
                if text[end] in "\r\n":
                    last = end + 1
                end += 1
            j = last or (end - 1 if end < n and end - i >= 2 else end)
        words.append(text[i:j])
        i = j
    return words


def train(text):
    enc = byte_cpts()
    counts = collections.Counter("".join(enc[b] for b in w.encode()) for w in split_llama3(text))
    words = [[list(w), c] for w, c in sorted(counts.items())]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for k, (syms, c) in enumerate(words):
        for a, b in zip(syms, syms[1:]):
            pairs[a, b] += c
            where[a, b].add(k)
    merges = []
    while len(merges) < N_MERGES and pairs:
        best = max(pairs.items(), key=lambda kv: (kv[1], tuple(-ord(ch) for ch in kv[0][0] + "\0" + kv[0][1])))[0]
        if pairs[best] <= 0:
            break
        merges.append(best)
        a, b = best
        for k in sorted(where.pop(best, ())):
            syms, c = words[k]
            for x, y in zip(syms, syms[1:]):
                pairs[x, y] -= c
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[k][0] = out
            for x, y in zip(out, out[1:]):
                pairs[x, y] += c
                where[x, y].add(k)
        for p in [p for p, c in pairs.items() if c <= 0]:
            del pairs[p]
    return enc, merges


def main(out, pre):
    with open(TRAIN, encoding="utf-8") as f:
        text = f.read()
    enc, merges = train(text)
    tokens = [enc[b] for b in range(256)]
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            seen.add(a + b)
            tokens.append(a + b)
    types = [gguf.TokenType.NORMAL] * len(tokens)
    bos = len(tokens)
    tokens += SPECIALS
    types += [gguf.TokenType.CONTROL] * len(SPECIALS)
    w = gguf.GGUFWriter(out, "llama")
    w.add_uint32("llama.context_length", 2048)
    w.add_uint32("llama.embedding_length", 64)
    w.add_uint32("llama.block_count", 1)
    w.add_uint32("llama.feed_forward_length", 128)
    w.add_uint32("llama.attention.head_count", 2)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([f"{a} {b}" for a, b in merges])
    w.add_bos_token_id(bos)
    w.add_eos_token_id(bos + 1)
    w.add_eot_token_id(bos + 2)
    w.add_add_bos_token(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
