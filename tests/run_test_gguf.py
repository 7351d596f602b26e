"""Driver of test_gguf: writes the valid GGUF files and their manifest with tests/make_gguf.py
(gguf-py's GGUFWriter) into a temporary folder, then runs test_gguf on them and on the committed
malformed corpus tests/gguf_corpus/.

usage: run_test_gguf.py TEST_GGUF_EXE
"""
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
exe = sys.argv[1]
with tempfile.TemporaryDirectory(prefix="vkq-gguf-") as tmp:
    subprocess.run([sys.executable, os.path.join(here, "make_gguf.py"), tmp], check=True)
    r = subprocess.run([exe, os.path.join(tmp, "manifest.txt"), os.path.join(here, "gguf_corpus")])
sys.exit(r.returncode)
