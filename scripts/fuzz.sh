#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time (make fuzz).
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET] [TARGET...]
#   BUILD_DIR  configured with -DLULL_FUZZ=ON and built (target lull_fuzz_targets)
#   TARGET     names as in tests/fuzz (policy_loader, notice_file, ...); default all
#
# A target is a libFuzzer program (BUILD_DIR/bin/fuzz_<name>) or, for input
# only Python reads, a Python program with libFuzzer's options and output
# (tests/fuzz/<name>_fuzz.py, run with /usr/bin/python3).
#
# Each target starts from its seed corpus (tests/fuzz/corpus/<name>, read
# only) and from what earlier runs found (BUILD_DIR/fuzz/corpus/<name>, where
# new inputs go), with its dictionary (tests/fuzz/<name>.dict) when there is
# one. It prints the executions per target. A crash, a sanitizer report, a
# leak, an input slower than 10 s or a run over 2 GB is a finding: the input
# is saved under BUILD_DIR/fuzz/findings/<name>/, named on stderr with the
# command that reproduces it, and the script exits 1 after the other targets.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET] [TARGET...]}"
seconds="${2:-60}"
shift $(($# < 2 ? $# : 2))
build="$(cd "$build" && pwd)"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for binary in "$build"/bin/fuzz_*; do
    [[ -x "$binary" ]] && targets+=("$(basename "$binary" | sed 's/^fuzz_//')")
  done
  for script in "$here"/tests/fuzz/*_fuzz.py; do
    [[ -f "$script" ]] && targets+=("$(basename "$script" _fuzz.py)")
  done
fi
if ((${#targets[@]} == 0)); then
  echo "fuzz: no fuzz targets in $build/bin (configure with -DLULL_FUZZ=ON and build lull_fuzz_targets)" >&2
  exit 1
fi

# Findings stop the run at once; UBSan prints where.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1}"
# Library logging off: the fuzzer's own output is what matters.
export LULL_LOG_LEVEL="${LULL_LOG_LEVEL:-off}"

failed=()
printf '%-22s %14s %10s %8s  %s\n' target executions exec/s corpus result
for name in "${targets[@]}"; do
  binary="$build/bin/fuzz_$name"
  command=("$binary")
  if [[ ! -x "$binary" && -f "$here/tests/fuzz/${name}_fuzz.py" ]]; then
    binary="$here/tests/fuzz/${name}_fuzz.py"
    command=(/usr/bin/python3 "$binary")
  fi
  seed="$here/tests/fuzz/corpus/$name"
  work="$build/fuzz/corpus/$name"
  findings="$build/fuzz/findings/$name"
  log="$build/fuzz/$name.log"
  if [[ ! -f "$binary" || ! -d "$seed" ]]; then
    echo "fuzz: no target $name ($binary or its seed corpus $seed is missing)" >&2
    failed+=("$name")
    continue
  fi
  mkdir -p "$work" "$findings"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="$findings/")
  [[ -f "$here/tests/fuzz/$name.dict" ]] && options+=(-dict="$here/tests/fuzz/$name.dict")
  before=$(find "$findings" -type f | wc -l)
  status=0
  "${command[@]}" "${options[@]}" "$work" "$seed" >"$log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  if ((status == 0)); then
    printf '%-22s %14s %10s %8s  %s\n' "$name" "${executions:-?}" "${rate:-?}" "$corpus" "no finding"
    continue
  fi
  failed+=("$name")
  finding=$(ls -t "$findings" 2>/dev/null | head -1)
  printf '%-22s %14s %10s %8s  %s\n' "$name" "${executions:-?}" "${rate:-?}" "$corpus" "FINDING (exit $status)"
  {
    echo "fuzz: $name: finding; its log is $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz property broken|==[0-9]+== ERROR: libFuzzer)' "$log" | head -5 || true
    if (($(find "$findings" -type f | wc -l) > before)) && [[ -n "$finding" ]]; then
      echo "fuzz: the input is $findings/$finding; reproduce with: ${command[*]} $findings/$finding"
    else
      echo "fuzz: libFuzzer saved no input (see the log)"
    fi
  } >&2
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
