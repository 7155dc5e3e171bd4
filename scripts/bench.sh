#!/usr/bin/env bash
# Runs lull's benchmarks and assembles BUILD_DIR/bench/checkpoint.json,
# BUILD_DIR/bench/runtime.json and BUILD_DIR/bench/python.json.
# Usage: scripts/bench.sh BUILD_DIR [--quick] [--reps N] [--only checkpoint|runtime|python]
#        (BUILD_DIR already built)
#
#   LULL_BENCH_DIR        where the files go (default BUILD_DIR/bench/work); the
#                         same directory, so the same file system, for every method
#   LULL_BENCH_REPS       rounds (default 4, --quick 1). A round, at every rank count:
#                         lull and the limit twice (once each going first), h5py
#                         once, torch once, in an order that rotates per round
#   LULL_BENCH_RANKS      rank counts (default "1 2 4")
#   LULL_BENCH_TOTAL_MIB  size of the state (default 1024)
#   LULL_BENCH_QUICK=1    same as --quick
#   LULL_BENCH_ONLY       checkpoint, runtime or python: run only that part (same as --only)
#
# Figures on this machine swing 2-4x within minutes, so everything is
# interleaved in the same run and the report quotes medians; lull's ratio to
# the limit is the median of back-to-back pairs. Files are removed after every
# method's read, so each write follows a deletion of the same size, and every
# process first writes and deletes a scratch file of its share, untimed (see
# bench/interleaved_rep.h for why).
set -euo pipefail

build=${1:?usage: scripts/bench.sh BUILD_DIR [--quick] [--reps N]}
shift
build=$(cd "$build" && pwd)
quick=${LULL_BENCH_QUICK:-0}
reps=${LULL_BENCH_REPS:-}
only=${LULL_BENCH_ONLY:-}
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ "$quick" == 1 ]]; then
  reps=${reps:-1}; layout_reps=1; commit_reps=3; end_step_reps=6; preempt_reps=2
else
  reps=${reps:-4}; layout_reps=3; commit_reps=9; end_step_reps=20; preempt_reps=5
fi
ranks_list=${LULL_BENCH_RANKS:-"1 2 4"}
total_mib=${LULL_BENCH_TOTAL_MIB:-1024}

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bin
python=/usr/bin/python3   # Debian's python3 with h5py, numpy and torch
out_dir=$build/bench
base_dir=${LULL_BENCH_DIR:-$out_dir/work}
work=$base_dir/run-$$
samples=$out_dir/samples.jsonl
runtime_samples=$out_dir/runtime_samples.jsonl
mkdir -p "$out_dir" "$work"
chmod 0755 "$work"   # lull refuses world-writable snapshot directories
trap 'rm -rf "$work"' EXIT

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpirun=(mpirun --bind-to none)

needed=(checkpoint_bench layout_bench runtime_bench lull train_mlp)
[[ "$only" == runtime ]] && needed=(runtime_bench lull train_mlp)
[[ "$only" == checkpoint ]] && needed=(checkpoint_bench layout_bench)
[[ "$only" == python ]] && needed=(lull)
for exe in "${needed[@]}"; do
  [[ -x $bin/$exe ]] || { echo "bench.sh: $bin/$exe missing; build first" >&2; exit 1; }
done
start=$(date +%s)
fs=$(findmnt -n -o FSTYPE -T "$work" 2>/dev/null || stat -f -c %T "$work")
dev=$(df --output=source "$work" | tail -1)

# The runtime: end_step()'s cost per step at 1, 2 and 4 ranks beside a
# simulated 10 ms step, and preemption latency through `lull run` + mpirun +
# train_mlp at 2 and 4 ranks (runtime_bench prints each figure with its target).
run_runtime_bench() {
  : >"$runtime_samples"
  echo
  echo "== runtime: end_step() when nothing happens (simulated step: 10 ms sleep + 4 KiB allreduce)"
  for n in 1 2 4; do
    "${mpirun[@]}" -np "$n" "$bin/runtime_bench" --json-out "$runtime_samples" end-step --dir "$work" \
      --step-ms 10 --reps "$end_step_reps"
  done
  echo
  echo "== runtime: preemption latency (SIGTERM to lull run -> exit 75 with a committed snapshot)"
  for n in 2 4; do
    "$bin/runtime_bench" --json-out "$runtime_samples" preemption --lull "$bin/lull" --train-mlp "$bin/train_mlp" \
      --dir "$work" --ranks "$n" --step-ms 10 --reps "$preempt_reps" ||
      echo "bench.sh: some preemption repetitions failed (see above)" >&2
  done
  "$python" "$repo/bench/runtime_report.py" "$runtime_samples" "$out_dir/runtime.json" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "host=$(hostname)" \
    --meta "command=scripts/bench.sh $build${only:+ --only $only} (quick=$quick, end_step_reps=$end_step_reps, preempt_reps=$preempt_reps)" \
    --meta "filesystem=$fs on $dev" --meta "cpus=$(nproc)" --meta "kernel=$(uname -r)" \
    --meta "load_before=$(cut -d' ' -f1-3 /proc/loadavg)" --meta "samples_file=$runtime_samples" >/dev/null
  echo "runtime figures written to $out_dir/runtime.json"
}
# The Python package (bench/python_bench.py): end_step() from Python beside a
# gloo step, and a model + Adam checkpoint and restore against torch.save/load.
run_python_bench() {
  echo
  if ! compgen -G "$build/python/lull/_lull*.so" >/dev/null; then
    echo "bench.sh: the lull Python package was not built (pybind11-dev, python3-dev); python part skipped" >&2
    return 0
  fi
  if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "bench.sh: $python has no torch (install python3-torch: make deps); python part skipped" >&2
    return 0
  fi
  "$python" "$repo/bench/python_bench.py" --build "$build" --work "$base_dir" --out "$out_dir/python.json" \
    --reps "$reps" --total-mib "$total_mib" $([[ "$quick" == 1 ]] && echo --quick)
}
if [[ "$only" == runtime ]]; then
  run_runtime_bench
  exit 0
fi
if [[ "$only" == python ]]; then
  run_python_bench
  exit 0
fi

peers=(h5py torch)
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "bench.sh: $python has no torch (install python3-torch: make deps-bench); torch peer skipped" >&2
  peers=(h5py)
fi

: >"$samples"
echo "lull bench: rounds=$reps ranks=($ranks_list) state=${total_mib} MiB dir=$work ($fs on $dev)"
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"

for n in $ranks_list; do
  "$bin/checkpoint_bench" plan --ranks "$n" --total-mib "$total_mib" >"$work/plan-$n.json"
done

echo
echo "== commit of 1,000 tensors of 1 KiB (1 rank)"
"${mpirun[@]}" -np 1 "$bin/checkpoint_bench" commit --dir "$work" --reps "$commit_reps" --json-out "$samples"

run_lull_and_limit() {  # ranks round: two repetitions, lull first in one, the limit in the other
  "${mpirun[@]}" -np "$1" "$bin/checkpoint_bench" io --dir "$work" --reps 2 --first-rep "$((2 * $2))" \
    --total-mib "$total_mib" --json-out "$samples" | grep -v '^checkpoint_bench io\|^page cache'
}
run_peer() {  # tool ranks rep
  "$python" "$repo/bench/peers.py" --tool "$1" --plan "$work/plan-$2.json" --dir "$work" \
    --first-rep "$3" --json-out "$samples"
}

echo
echo "== write/read of the state: lull and the limit (checkpoint_bench), h5py and torch (peers.py)"
echo "   page cache: every file fsync'd, then posix_fadvise(DONTNEED) before its read, for every method"
for ((k = 0; k < reps; k++)); do
  for n in $ranks_list; do
    groups=(lull "${peers[@]}")
    count=${#groups[@]}
    for ((i = 0; i < count; i++)); do
      g=${groups[(i + k) % count]}
      if [[ $g == lull ]]; then run_lull_and_limit "$n" "$k"; else run_peer "$g" "$n" "$k"; fi
    done
  done
done

echo
echo "== layout: per-rank shard files (lull) vs one shared parallel-HDF5 file (layout_bench)"
for ((k = 0; k < layout_reps; k++)); do
  for n in 2 4; do
    "${mpirun[@]}" -np "$n" "$bin/layout_bench" --dir "$work" --reps 1 --first-rep "$k" \
      --total-mib "$total_mib" --json-out "$samples" | grep -v '^layout_bench:'
  done
done

elapsed=$(($(date +%s) - start))
plan_n=${ranks_list%% *}
"$python" "$repo/bench/report.py" "$samples" "$out_dir/checkpoint.json" --plan "$work/plan-$plan_n.json" \
  --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "host=$(hostname)" \
  --meta "command=scripts/bench.sh $build (quick=$quick, rounds=$reps, layout_reps=$layout_reps, commit_reps=$commit_reps)" \
  --meta "work_dir=$base_dir" --meta "filesystem=$fs on $dev" --meta "cpus=$(nproc)" \
  --meta "kernel=$(uname -r)" --meta "elapsed_s=$elapsed" \
  --meta "h5py_processes=one per rank" --meta "samples_file=$samples"
if [[ "$only" != checkpoint ]]; then
  run_runtime_bench
  run_python_bench
fi
