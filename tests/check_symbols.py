#!/usr/bin/env python3
"""The installed libraries export exactly the public API: the global symbols that
`nm -g --defined-only` lists for the static and the shared library (and `nm -D` for the
shared one's dynamic table) are the functions the headers declare with VKQ_API, nothing else
(no internal vkq_* helpers, no volk vk* pointers, no SPIR-V arrays).

usage: check_symbols.py NM INCLUDE_DIR LIBVKQUANT.a LIBVKQUANT.so
"""
import glob
import os
import re
import subprocess
import sys

# Defined by the linker in every shared object, not by vkquant.
LINKER_DEFINED = {'_init', '_fini', '_edata', '_end', '__bss_start'}
# Emitted by the sanitizers' instrumentation in -Db_sanitize builds.
INSTRUMENTATION = re.compile(r'^(__odr_asan|__asan|__ubsan|__sanitizer|__sancov)')


def api_names(include_dir):
    names = set()
    for path in glob.glob(os.path.join(include_dir, 'vkquant', '*.h')):
        with open(path) as f:
            names |= set(re.findall(r'^VKQ_API\b[^;(]*?\b(vkq_\w+)\(', f.read(), re.M))
    return names


def defined_globals(nm, args, lib):
    out = subprocess.run([nm] + args + [lib], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.endswith(':'):
            names.add(parts[-1].split('@')[0])
    return names


def main():
    nm, include_dir, static_lib, shared_lib = sys.argv[1:5]
    api = api_names(include_dir)
    if len(api) < 50:
        print(f'only {len(api)} VKQ_API declarations found under {include_dir}')
        return 1
    ok = True
    for lib, args in [(static_lib, ['-g', '--defined-only']), (shared_lib, ['-g', '--defined-only']),
                      (shared_lib, ['-D', '--defined-only'])]:
        names = {n for n in defined_globals(nm, args, lib) - LINKER_DEFINED if not INSTRUMENTATION.match(n)}
        extra, missing = sorted(names - api), sorted(api - names)
        print(f'nm {" ".join(args)} {os.path.basename(lib)}: {len(names)} symbols, '
              f'{len(extra)} not public, {len(missing)} public ones missing')
        for name in extra[:40]:
            print(f'  exported but not declared VKQ_API: {name}')
        for name in missing:
            print(f'  declared VKQ_API but not exported: {name}')
        ok = ok and not extra and not missing
    print(f'{len(api)} public functions' + ('' if ok else ': FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
