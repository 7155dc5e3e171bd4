#!/usr/bin/env bash
# make demo-snapshots — the snapshot store at work, narrated.
#
# What the runtime and the arbiter stand on: 4 MPI ranks write sharded snapshots, `lull
# inspect` and `lull verify` look at them, 2 ranks read them back (a
# different rank count), Python's h5py reads the global tensor directly, and a
# flipped byte is caught by `lull verify` while the reader falls back to the
# previous snapshot.
#
# Usage: scripts/demo-snapshots.sh [BUILD_DIR]   (default: build)
# Work files go to a fresh private directory under ${TMPDIR:-/tmp}, removed at
# the end unless LULL_DEMO_KEEP=1. Every process it starts has ended when it
# exits. Exit 0 when every step behaved as narrated.
set -euo pipefail

build_dir=${1:-build}
bin=$(cd "$build_dir/bin" 2>/dev/null && pwd) || {
  echo "demo: no $build_dir/bin; build first (make demo does)" >&2
  exit 1
}
lull=$bin/lull
writer=$bin/write_snapshot
# Debian's python3 has h5py (python3-h5py); a python3 earlier on PATH may not.
python=/usr/bin/python3
for tool in "$lull" "$writer"; do
  [[ -x $tool ]] || { echo "demo: $tool is missing; build first" >&2; exit 1; }
done
if ! "$python" -c 'import h5py, numpy' 2>/dev/null; then
  echo "demo: $python cannot import h5py and numpy (scripts/install-deps.sh installs them)" >&2
  exit 1
fi

# Open MPI: allow root (containers, CI) and more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

work=$(mktemp -d "${TMPDIR:-/tmp}/lull-demo.XXXXXX")
job=$work/job
cleanup() {
  if [[ ${LULL_DEMO_KEEP:-0} == 1 ]]; then
    echo "(kept $work)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

source "$(dirname "$0")/demo_narration.sh"
# expect_failure CMD...: runs CMD (through show), which must exit 1 (a failure,
# not a usage error), with its stderr in the narration.
expect_failure() {
  local code=0
  show "$@" 2>&1 || code=$?
  [[ $code == 1 ]] || fail "expected exit code 1 from: $* (got $code)"
}
# Every mpirun is bounded: a hung rank cannot outlive the demo.
mpi() { timeout --kill-after=10 120 mpirun "$@"; }

chapter "1. Four MPI ranks write snapshot step 100, then step 200"
say "Each rank writes its shard of model.weight (f32 [1024, 256], split by rows),"
say "model.embedding (bf16 [512, 64], split by columns), the replicated model.bias"
say "and its own RNG state; rank 0 gathers the ranks' reports and commits atomically."
show mpi -np 4 "$writer" --dir "$job" --step 100
show mpi -np 4 "$writer" --dir "$job" --step 200

chapter "2. What is on disk"
say "One directory per snapshot, made visible by a rename once durable; LATEST names the newest."
show ls -l "$job" "$job/step-000000000200"
say "LATEST: $(cat "$job/LATEST")"

chapter "3. lull inspect"
show "$lull" inspect "$job"
say
say "For scripts, --json: one object whose \"path\" is the latest snapshot's root file:"
json=$("$lull" inspect --json "$job")
printf '%s$ lull inspect --json $DEMO/job%s\n' "$dim" "$reset"
printf '%s\n' "$json" | sed -n '1,6p'
say "  ..."
root=$(printf '%s' "$json" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["path"])')
step=$(printf '%s' "$json" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["step"])')
[[ $step == 200 ]] || fail "inspect --json said step $step, expected 200"
[[ $root == "$job/step-000000000200/root.h5" ]] || fail "inspect --json gave path $root"

chapter "4. lull verify: every byte against its XXH3-64 checksum"
show "$lull" verify --all "$job"

chapter "5. Read back with 2 ranks (written by 4): each reads its new share by global coordinates"
show mpi -np 2 "$writer" --dir "$job" --read

chapter "6. Plain h5py reads the global tensor, no lull involved"
show "$python" - "$root" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    w = f["/tensors/model.weight"]
    print(f"/tensors/model.weight: shape {w.shape}, dtype {w.dtype}, "
          f"{'virtual dataset over the shard files' if w.is_virtual else 'dataset'}")
    step = int(f.attrs["step"])
    expected = (np.arange(1024 * 256, dtype=np.float32) * 0.5 + step % 1000).reshape(1024, 256)
    assert np.array_equal(w[:], expected), "model.weight differs from what the ranks wrote"
    print(f"  equals what the 4 ranks wrote at step {step}: yes")
    e = f["/tensors/model.embedding"]
    print(f"/tensors/model.embedding: shape {e.shape}, stored as bf16, h5py gives {e.dtype}")
    print(f"  root attributes: format={f.attrs['format']!r} format_version={f.attrs['format_version']} "
          f"world_size={f.attrs['world_size']} created={f.attrs['created']}")
EOF

chapter "7. Corruption: flip one byte of rank 2's model.weight in snapshot step 200"
shard=$job/step-000000000200/shard-00002.h5
show "$python" - "$shard" <<'EOF'
import sys, h5py
path = sys.argv[1]
with h5py.File(path, "r") as f:
    offset = f["/tensors/model.weight"].id.get_offset() + 1000  # inside the tensor's bytes
with open(path, "r+b") as fh:
    fh.seek(offset)
    byte = fh.read(1)[0]
    fh.seek(offset)
    fh.write(bytes([byte ^ 0x10]))
print(f"flipped a bit of the byte at offset {offset} of {path.split('/')[-1]}")
EOF
say
say "lull verify catches it (exit 1, the reason on stderr):"
expect_failure "$lull" verify "$job"
say
say "A restore falls back to the previous snapshot, saying why (rank 0 reports it):"
LULL_LOG_LEVEL=error show mpi -np 2 "$writer" --dir "$job" --read
inspect_text=$("$lull" inspect "$job")
printf '%s$ lull inspect $DEMO/job%s\n' "$dim" "$reset"
printf '%s\n' "$inspect_text" | sed -n '1,7p;/^checksums/p'
grep -q '^step  *100$' <<<"$inspect_text" || fail "inspect did not fall back to step 100"

chapter "8. A missing shard file: h5py alone reads zeros, lull refuses"
copy=$work/copy-of-step-100
cp -a "$job/step-000000000100" "$copy"
show rm "$copy/shard-00003.h5"
show "$python" - "$copy/root.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    rows = f["/tensors/model.weight"][768:]
print(f"h5py: rows 768.. of model.weight read fine, all zero: {not rows.any()} (the fill value)")
EOF
expect_failure "$lull" verify "$copy"

chapter "Done"
say "Every step behaved as described. The CLI: lull inspect|verify PATH (docs/cli.md)."
