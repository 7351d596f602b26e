#!/usr/bin/env bash
# Builds vkquant and runs the main job, vkq-bench (every weight type on the default Vulkan device
# and the CPU path; see its --help), passing the options through. The README's first command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
if [ -x build/bench/vkq-bench ]; then
  exec build/bench/vkq-bench "$@"
fi
exec build/vkq-info "$@"
