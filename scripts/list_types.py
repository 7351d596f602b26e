#!/usr/bin/env python3
"""Print the type list of include/vkquant/types.def for meson, one type a line:
'NAME family block_elems block_bytes gpu_int8'. Exits non-zero on a row it cannot read, so a malformed
.def fails the configure step instead of silently dropping a type."""
import re
import sys

ROW = re.compile(r"\s*X\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\w+)\s*,\s*([01])\s*\)\s*$")

for n, line in enumerate(open(sys.argv[1]), 1):
    if not line.lstrip().startswith("X("):
        continue
    m = ROW.match(line)
    if not m:
        sys.exit(f"{sys.argv[1]}:{n}: cannot read the type row: {line.strip()}")
    name, _, qk, nbytes, family, gpu_int8 = m.groups()
    print(name, family, qk, nbytes, gpu_int8)
