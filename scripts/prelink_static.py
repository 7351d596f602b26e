#!/usr/bin/env python3
"""Builds the installed libvkquant.a from the internal static library: every object linked into
one relocatable object (ld -r), every hidden symbol made local (objcopy --localize-hidden), then
archived. What is left global is exactly what -fvisibility=hidden left visible: the VKQ_API
functions. Internal helpers, volk's vk* pointers and the SPIR-V arrays can then no longer clash
with an application's own symbols (its libvulkan or volk).

usage: prelink_static.py OUT.a INTERNAL.a OBJCOPY AR CC [CC ARGS...]
"""
import os
import subprocess
import sys
import tempfile


def main():
    out, internal, objcopy, ar = sys.argv[1:5]
    cc = sys.argv[5:]
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as tmp:
        obj = os.path.join(tmp, 'vkquant.o')
        subprocess.run(cc + ['-r', '-nostdlib', '-o', obj, '-Wl,--whole-archive', internal,
                             '-Wl,--no-whole-archive'], check=True)
        subprocess.run([objcopy, '--localize-hidden', obj], check=True)
        if os.path.exists(out):
            os.remove(out)
        subprocess.run([ar, 'rcs', out, obj], check=True)


if __name__ == '__main__':
    main()
