#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang, ASan + UBSan) in build-fuzz/ if needed and
# runs one of them.
#   scripts/fuzz.sh TARGET SECONDS [JOBS]   a long run: the corpus grows in a scratch folder
#                                           (build-fuzz/fuzz-TARGET/corpus, seeded from the
#                                           committed tests/fuzz/corpus/TARGET);
#                                           JOBS > 1 uses libFuzzer's fork mode
#   scripts/fuzz.sh --runs N TARGET         the CI check: the committed corpus, then N inputs of a
#                                           fixed-seed random walk; no new input is kept
# Findings (crash-*, leak-*, timeout-*, oom-*: the input that caused them) land in
# build-fuzz/fuzz-TARGET/.
# TARGET: gguf | safetensors | tokenizer | logits. Prints the inputs executed, the coverage libFuzzer reports (cov:
# edges, ft: features) and the findings; exits non-zero on any finding or build failure.
# Env: VKQ_FUZZ_BUILD (default build-fuzz).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

usage() {
  sed -n '2,14p' "$0" >&2
  exit 2
}
runs=""
if [ "${1:-}" = "--runs" ]; then
  [ $# -eq 3 ] || usage
  runs=$2
  target=$3
else
  [ $# -ge 2 ] && [ $# -le 3 ] || usage
  target=$1
  seconds=$2
  jobs=${3:-1}
fi
case "$target" in
  gguf) max_len=8192 ;;
  tokenizer) max_len=16384 ;;
  safetensors) max_len=4096 ;;
  logits) max_len=4096 ;;
  *) echo "fuzz.sh: unknown target '$target' (gguf, safetensors, tokenizer, logits)" >&2; exit 2 ;;
esac

scripts/setup.sh --fuzz
build=${VKQ_FUZZ_BUILD:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  # Only the fuzz targets: no test programs, no bench.
  CC=clang meson setup "$build" -Dfuzz=true -Dtests=false -Dbench=false >/dev/null
fi
ninja -C "$build" "tests/fuzz/fuzz_$target" >/dev/null
exe="$build/tests/fuzz/fuzz_$target"
corpus="$root/tests/fuzz/corpus/$target"
opts=(-dict="$root/tests/fuzz/$target.dict" -max_len=$max_len -timeout=10 -rss_limit_mb=2048)
export UBSAN_OPTIONS="print_stacktrace=1"

# Findings (crash-*, leak-*, timeout-*, oom-*: the input that caused them) land in $art.
art="$build/fuzz-$target"
mkdir -p "$art"
stamp="$art/.start"
touch "$stamp"
if [ -n "$runs" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir "$work/corpus"
  log="$work/log"
  # New inputs go to the first folder (the scratch one), never into the committed corpus.
  if "$exe" "${opts[@]}" -seed=1 -runs="$runs" -print_final_stats=1 -artifact_prefix="$art/" \
      "$work/corpus" "$corpus" >"$log" 2>&1; then
    rc=0
  else
    rc=$?
  fi
else
  mkdir -p "$art/corpus"
  cp -n "$corpus"/* "$art/corpus/"
  log="$art/log"
  mode=()
  [ "$jobs" -gt 1 ] && mode=(-fork="$jobs")
  start=$(date +%s)
  if "$exe" "${opts[@]}" "${mode[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$art/" "$art/corpus" >"$log" 2>&1; then
    rc=0
  else
    rc=$?
  fi
  echo "fuzz $target: $(( $(date +%s) - start )) s, log in $log"
fi

# libFuzzer's last status line ("#N ... cov: C ft: F corp: ...") and its final stats.
status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -1 || true)
[ -n "$execs" ] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$status")
cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$status")
ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$status")
corp=$(sed -nE 's/.*corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$status")
findings=$(find "$art" -maxdepth 1 -newer "$stamp" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
  -o -name 'oom-*' \) | wc -l)
echo "fuzz $target: ${execs:-?} inputs, cov: ${cov:-?} ft: ${ft:-?} corpus: ${corp:-?}, findings: $findings"
if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
  grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error|deadly signal|Test unit written' "$log" | head -20 >&2 || true
  [ -n "$runs" ] && tail -40 "$log" >&2
  exit 1
fi
