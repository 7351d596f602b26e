"""Driver of test_gguf: writes the valid GGUF files and their manifest with tests/make_gguf.py
(gguf-py's GGUFWriter) into a temporary folder, then runs test_gguf on them and on the committed
malformed corpus tests/gguf_corpus/.

usage: run_test_gguf.py TEST_GGUF_EXE [valid|malformed|corpus]  (default: all three)
"""
import os
import subprocess
import sys
import tempfile

from checks import need_oracle, propagate

need_oracle("run_test_gguf")

here = os.path.dirname(os.path.abspath(__file__))
exe = sys.argv[1]
part = ["--part", sys.argv[2]] if len(sys.argv) > 2 else []
with tempfile.TemporaryDirectory(prefix="vkq-gguf-") as tmp:
    subprocess.run([sys.executable, os.path.join(here, "make_gguf.py"), tmp], check=True)
    r = subprocess.run([exe] + part + [os.path.join(tmp, "manifest.txt"), os.path.join(here, "gguf_corpus")])
propagate("run_test_gguf", r.returncode)
