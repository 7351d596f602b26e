#!/usr/bin/env bash
# Builds vkquant and runs the main job on the default Vulkan device. The README's first command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
if [ -x build/bench/vkq-bench ]; then
  exec build/bench/vkq-bench "$@"
fi
exec build/vkq-info "$@"
