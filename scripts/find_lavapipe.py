#!/usr/bin/env python3
"""Print 'ASAN_RUNTIME LAVAPIPE_LIBRARY' for LD_PRELOAD in sanitizer test runs, or nothing.

argv[1:] is the C compiler command; it names the ASan runtime it links against."""
import glob
import json
import subprocess
import sys

try:
    asan = subprocess.run(sys.argv[1:] + ["-print-file-name=libasan.so"], capture_output=True,
                          text=True, check=True).stdout.strip()
except (OSError, subprocess.CalledProcessError):
    sys.exit(0)
for manifest in sorted(glob.glob("/usr/share/vulkan/icd.d/lvp_icd*.json")):
    try:
        lib = json.load(open(manifest))["ICD"]["library_path"]
    except (OSError, ValueError, KeyError):
        continue
    if asan.startswith("/"):
        print(asan, lib)
    break
