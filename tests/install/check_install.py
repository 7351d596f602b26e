#!/usr/bin/env python3
"""meson install into a DESTDIR, then what a user does with the installed tree:
- the files are where they belong (headers under include/vkquant/, libvkquant.a,
  libvkquant.so.0, the programs);
- the README example (tests/install/readme_example.c) builds with plain cc and
  `pkg-config --cflags --libs vkquant` (PKG_CONFIG_SYSROOT_DIR = the DESTDIR) against the shared
  library, and with `--static` against libvkquant.a, and both run;
- README.md shows readme_example.c verbatim (so the two cannot drift apart);
- with --subproject: a meson project using vkquant as a subproject builds and runs it too.

usage: check_install.py MESON BUILD_DIR SOURCE_DIR [--subproject] CC [CC ARGS...]
(CC ARGS include the build's -fsanitize flags, which objects of the library need.)
"""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile


def run(cmd, **kw):
    print('$', ' '.join(shlex.quote(str(c)) for c in cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def program_env(**extra):
    """The environment of the programs built here: the sanitizer runs' preload (ASan runtime,
    lavapipe) comes through VKQ_TEST_PRELOAD, as in tests/checks.py."""
    env = dict(os.environ, **extra)
    env.pop('LD_PRELOAD', None)
    if os.environ.get('VKQ_TEST_PRELOAD'):
        env['LD_PRELOAD'] = os.environ['VKQ_TEST_PRELOAD']
    return env


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files or os.path.islink(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def main():
    meson, build, source = sys.argv[1:4]
    rest = sys.argv[4:]
    subproject = rest and rest[0] == '--subproject'
    cc = rest[1:] if subproject else rest
    example = os.path.join(source, 'tests', 'install', 'readme_example.c')
    failures = []
    with open(example) as f, open(os.path.join(source, 'README.md')) as r:
        if f.read() not in r.read():
            failures.append('README.md does not show tests/install/readme_example.c as it is')
    with tempfile.TemporaryDirectory() as tmp:
        if subproject:
            proj = os.path.join(tmp, 'consumer')
            shutil.copytree(os.path.join(source, 'tests', 'install', 'subproject'), proj)
            shutil.copy(example, proj)
            os.makedirs(os.path.join(proj, 'subprojects'))
            os.symlink(os.path.abspath(source), os.path.join(proj, 'subprojects', 'vkquant'))
            run([meson, 'setup', os.path.join(proj, 'build'), proj])
            run(['ninja', '-C', os.path.join(proj, 'build'), 'readme_example'])
            run([os.path.join(proj, 'build', 'readme_example')])
            print('subproject build: ok')
            return 0

        dest = os.path.join(tmp, 'dest')
        run([meson, 'install', '-C', build, '--no-rebuild', '--destdir', dest],
            stdout=subprocess.DEVNULL)
        for name in ['vkquant.h', 'core.h', 'vulkan.h', 'gguf.h', 'quant.h', 'cpu.h', 'model.h', 'tokenizer.h', 'eval.h', 'convert.h',
                     'types.def', 'version.h', 'libvkquant.a', 'libvkquant.so.0', 'libvkquant.so',
                     'vkquant.pc', 'vkq-info', 'vkq-gguf', 'vkq-bench']:
            path = find(dest, name)
            if not path:
                failures.append(f'{name} not installed')
            elif name.endswith('.h') or name == 'types.def':
                if os.path.basename(os.path.dirname(path)) != 'vkquant' or \
                        os.path.basename(os.path.dirname(os.path.dirname(path))) != 'include':
                    failures.append(f'{name} installed at {path}, not under include/vkquant/')
            print(f'installed: {os.path.relpath(path, dest) if path else "MISSING " + name}')
        pc = find(dest, 'vkquant.pc')
        lib_so = find(dest, 'libvkquant.so.0')
        if failures or not pc or not lib_so:
            print('\n'.join(failures))
            return 1
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc), PKG_CONFIG_SYSROOT_DIR=dest)
        env.pop('PKG_CONFIG_LIBDIR', None)
        pkg = lambda *a: shlex.split(run(['pkg-config'] + list(a) + ['vkquant'], env=env,
                                         capture_output=True, text=True).stdout)
        print('pkg-config --cflags --libs vkquant:', ' '.join(pkg('--cflags', '--libs')))
        print('pkg-config --static --libs vkquant:', ' '.join(pkg('--static', '--libs')))
        # The example's own sinf/cosf need -lm whatever vkquant needs.
        shared_exe = os.path.join(tmp, 'readme_shared')
        run(cc + [example, '-o', shared_exe] + pkg('--cflags', '--libs') + ['-lm'])
        run([shared_exe], env=program_env(LD_LIBRARY_PATH=os.path.dirname(lib_so)))
        static_exe = os.path.join(tmp, 'readme_static')
        libs = []
        for flag in pkg('--static', '--libs'):
            libs += ['-Wl,-Bstatic', '-lvkquant', '-Wl,-Bdynamic'] if flag == '-lvkquant' else [flag]
        run(cc + [example, '-o', static_exe] + pkg('--cflags') + libs + ['-lm'])
        needed = run(['readelf', '-d', static_exe], capture_output=True, text=True).stdout
        if 'libvkquant' in needed:
            failures.append('the --static build still needs libvkquant.so')
        run([static_exe], env=program_env())
    print('\n'.join(failures) if failures else 'install, pkg-config (shared and static): ok')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
