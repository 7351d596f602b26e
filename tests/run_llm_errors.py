"""Driver of `llm_logits --errors 1`: writes a small qwen3 model (tests/make_model_gguf.py,
fresh seed printed; VKQ_SEED replays) and checks that bad calls of the context API (unknown KV
type, a context too large, no tokens, too many, ids outside the vocabulary, a full context)
return their status and a sentence and change nothing, on the CPU and with every layer on the GPU.
usage: run_llm_errors.py LLM_LOGITS_EXE
"""
import os
import subprocess
import sys
import tempfile

from checks import child_env, need_oracle, propagate

need_oracle("llm_context_errors")
here = os.path.dirname(os.path.abspath(__file__))
with tempfile.TemporaryDirectory(prefix="vkq-llm-") as tmp:
    path = os.path.join(tmp, "model.gguf")
    subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), path, "--arch", "qwen3"], check=True)
    rc = 0
    for ngl in ("0", "-1"):
        r = subprocess.run([sys.argv[1], path, os.devnull, "--errors", "1", "--ngl", ngl], env=child_env(None))
        rc = rc or r.returncode
propagate("llm_context_errors", rc)
