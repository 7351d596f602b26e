#!/usr/bin/env python3
"""Print the type list of src/types.def for meson: one 'NAME family' pair per line."""
import re
import sys

for line in open(sys.argv[1]):
    m = re.match(r"\s*X\(\s*(\w+)\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*(\w+)\s*\)", line)
    if m:
        print(m.group(1), m.group(2))
