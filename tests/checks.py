"""Shared by the Python test drivers: a counter of failed checks and the environment for the
programs they run."""
import os
import random
import subprocess
import sys


class Checks:
    """check(cond, msg) prints "FAIL: msg" when cond is false and counts it; returns cond."""

    def __init__(self):
        self.failures = 0

    def __call__(self, cond, msg):
        if not cond:
            self.failures += 1
            print("FAIL:", msg)
        return cond


def skip(name, why):
    """Ends a test that cannot run here with 77 (meson's "skipped") and the reason; with
    VKQ_TEST_NO_SKIP set (CI, where everything must run) a would-be skip is a failure (1)."""
    strict = os.environ.get("VKQ_TEST_NO_SKIP", "")
    if strict and strict != "0":
        print(f"{name}: FAIL: would skip ({why}), but VKQ_TEST_NO_SKIP is set", flush=True)
        sys.exit(1)
    print(f"{name}: SKIP: {why}", flush=True)
    sys.exit(77)


def need_oracle(name):
    """Skips (see skip) unless this Python has gguf-py and numpy, the tests' oracle."""
    try:
        import gguf  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        skip(name, f"no Python oracle: {e} (scripts/setup.sh, or -Doracle_python=PATH)")


def propagate(name, rc):
    """A C program's exit status as the driver's own; its 77 goes through skip, so that
    VKQ_TEST_NO_SKIP applies to it too."""
    if rc == 77:
        skip(name, "the test program skipped (its reason is printed above)")
    sys.exit(rc)


def child_env(extra=None):
    """os.environ for a child program. Under ASan meson preloads the Vulkan driver (see
    tests/meson.build) through VKQ_TEST_PRELOAD: it applies to the C programs, never to this
    interpreter, which is why it is not set as LD_PRELOAD for the test itself."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if os.environ.get("VKQ_TEST_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["VKQ_TEST_PRELOAD"]
    if extra:
        env.update(extra)
    return env


def bad_paths(tmp, suffix=".gguf"):
    """Paths that are not readable model files, each with the words its message must contain: a
    named pipe with no writer (opening it for reading blocks forever unless done with care), a
    directory and an empty file."""
    fifo, folder, empty = (os.path.join(tmp, n + suffix) for n in ("fifo", "folder", "empty"))
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
        os.mkdir(folder)
        open(empty, "wb").close()
    return {fifo: "named pipe (FIFO)", folder: "is a directory", empty: "empty file (0 bytes)"}


def run_bounded(args, env=None, timeout=60):
    """subprocess.run with output captured; a hang becomes returncode None and a note in stderr
    instead of an exception."""
    try:
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, None, "", f"(hung: killed after {timeout} s)")


def test_seed(name):
    """The run's seed: VKQ_SEED when set, else a fresh one; printed so that a failure replays."""
    seed = int(os.environ.get("VKQ_SEED", "0") or 0) or random.randrange(1, 2**31)
    print(f"{name}: seed {seed} (VKQ_SEED={seed} replays)", flush=True)
    return seed
