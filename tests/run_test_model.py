"""Driver of test_model: writes a 4-layer model with tests/make_model_gguf.py (gguf-py's writer;
fresh weights each run, seed printed, VKQ_SEED replays) into a temporary folder, then runs
test_model on it.

usage: run_test_model.py TEST_MODEL_EXE [--force-staging] [--moe]
  --force-staging: VKQ_FORCE_STAGING=1 for the test, so weights, X and Y go through the staging
  buffer as on a discrete GPU (on lavapipe every buffer is mappable and would be memcpy'd)
  --moe: a mixture-of-experts model instead: attention as before, 6 experts per 3-D
  ffn_{gate,up,down}_exps tensor, expert_ff 90 so that expert slices start at byte offsets that
  are not multiples of 16 (Q6_K: 90 rows x 210 bytes), gate/up of Q6_K, Q8_0, Q3_K, F16 (the
  down projection's k = 90 takes F16 only), and a 4-D tensor the calls must refuse
"""
import os
import subprocess
import sys
import tempfile

from checks import child_env, need_oracle, propagate

need_oracle("run_test_model")

here = os.path.dirname(os.path.abspath(__file__))
exe = sys.argv[1]
with tempfile.TemporaryDirectory(prefix="vkq-model-") as tmp:
    path = os.path.join(tmp, "model.gguf")
    moe = ["--experts", "6", "--expert-ff", "90", "--exp-types", "Q6_K,Q8_0,Q3_K,F16", "--with-4d"]
    subprocess.run([sys.executable, os.path.join(here, "make_model_gguf.py"), path] +
                   (moe if "--moe" in sys.argv[2:] else []), check=True)
    env = child_env({"VKQ_FORCE_STAGING": "1"} if "--force-staging" in sys.argv[2:] else None)
    r = subprocess.run([exe, path], env=env)
propagate("run_test_model", r.returncode)
