"""Shared by the Python test drivers: a counter of failed checks and the environment for the
programs they run."""
import os


class Checks:
    """check(cond, msg) prints "FAIL: msg" when cond is false and counts it; returns cond."""

    def __init__(self):
        self.failures = 0

    def __call__(self, cond, msg):
        if not cond:
            self.failures += 1
            print("FAIL:", msg)
        return cond


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
