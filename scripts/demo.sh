#!/usr/bin/env bash
# make demo — a tenant job preempted for internal work and resumed in the
# next lull, on one node run by the arbiter under examples/policy.toml.
#
#   1. `lull arbiter` starts with the example policy on 4 slots.
#   2. A spot tenant (globex) submits train_mlp on 4 ranks (~30 s of work).
#   3. Midway, internal training (frontier) asks for 3 slots: the tenant gets
#      a preemption notice, writes a snapshot and exits 75 within its grace.
#   4. The internal job runs and finishes; after the slots have idled for the
#      policy's idle_before_lull, the lull begins and the tenant resumes on 4
#      slots from its snapshot and finishes.
#   5. The tenant's final digest is compared with an uninterrupted 4-rank run
#      of the same program: bitwise equal.
#   6. `lull report` draws the timeline to build/demo/timeline.png.
#
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
# Work files go to a private directory under ${TMPDIR:-/tmp}, removed at the
# end unless LULL_DEMO_KEEP=1. Every process it started has ended when it
# exits. Exit 0 when everything behaved as narrated.
set -euo pipefail

build_dir=${1:-build}
bin=$(cd "$build_dir/bin" 2>/dev/null && pwd) || {
  echo "demo: no $build_dir/bin; build first (make demo does)" >&2
  exit 1
}
here=$(cd "$(dirname "$0")" && pwd)
policy=$here/../examples/policy.toml
lull=$bin/lull
train=$bin/train_mlp
for tool in "$lull" "$train"; do
  [[ -x $tool ]] || { echo "demo: $tool is missing; build first" >&2; exit 1; }
done

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

work=$(mktemp -d "${TMPDIR:-/tmp}/lull-demo.XXXXXX")
state=$work/node
export LULL_ARBITER_SOCKET=$state/arbiter.sock
picture_dir=$(mkdir -p "$build_dir/demo" && cd "$build_dir/demo" && pwd)
arbiter_pid=
cleanup() {
  if [[ -n $arbiter_pid ]] && kill -0 "$arbiter_pid" 2>/dev/null; then
    kill -TERM "$arbiter_pid" 2>/dev/null || true
    wait "$arbiter_pid" 2>/dev/null || true
  fi
  # Jobs outlive an arbiter by design; end whatever this demo left.
  pkill -KILL -f -- "$work" 2>/dev/null || true
  if [[ ${LULL_DEMO_KEEP:-0} == 1 ]]; then echo "(kept $work)"; else rm -rf "$work"; fi
}
trap cleanup EXIT

source "$here/demo_narration.sh"
job_id() { /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["job"])'; }
digest_in() { grep '^digest ' "$1" | tail -n 1 | cut -d' ' -f2; }

model_args=(--steps 2500 --hidden 64)   # the tenant's model; --step-ms only adds sleep
tenant_args=("${model_args[@]}" --step-ms 10)
internal_args=(--steps 700 --step-ms 10 --hidden 128)

chapter "1. The policy and the arbiter (4 slots)"
show "$lull" policy check "$policy"
"$lull" arbiter --policy "$policy" --slots 4 --state-dir "$state" >"$work/arbiter.log" 2>&1 &
arbiter_pid=$!
for _ in $(seq 100); do "$lull" status >/dev/null 2>&1 && break; sleep 0.1; done
"$lull" status >/dev/null 2>&1 || { cat "$work/arbiter.log" >&2; fail "the arbiter did not come up"; }
say "arbiter up: pid $arbiter_pid, socket \$DEMO/node/arbiter.sock"

chapter "2. A spot tenant submits train_mlp on 4 ranks"
tenant=$(show "$lull" submit --json --tenant globex --class spot --ranks 4 --ckpt-dir "$work/ckpt/globex" \
  -- "$train" "${tenant_args[@]}" | job_id)
sleep 8
show "$lull" status

chapter "3. Internal training needs 3 slots: the tenant is preempted"
internal=$(show "$lull" submit --json --tenant frontier --class internal --ranks 3 \
  --ckpt-dir "$work/ckpt/frontier" -- "$train" "${internal_args[@]}" | job_id)
say "Events as they happen (the tenant resumes once the slots have idled 10 s: a lull):"
show "$here/follow_events.py" "$state/events.jsonl" 240 "$tenant" "$internal"

chapter "4. Bitwise: the preempted-and-resumed tenant vs. an uninterrupted run"
say "The tenant's own log:"
grep -E 'preemption notice|preemption checkpoint|stopping at step|resumed from|finished' "$state/jobs/$tenant.log" |
  sed 's/^/    /' | head -n 12
show mpirun -np 4 "$train" --ckpt-dir "$work/ckpt/reference" "${model_args[@]}" >"$work/reference.out" 2>&1 ||
  { cat "$work/reference.out" >&2; fail "the reference run failed"; }
resumed=$(digest_in "$state/jobs/$tenant.log")
reference=$(digest_in "$work/reference.out")
say "  tenant (preempted, resumed on 4 ranks): digest $resumed"
say "  uninterrupted run on 4 ranks:           digest $reference"
grep -q '"event": *"notice"' "$state/events.jsonl" || fail "the tenant was never preempted"
grep -q '"event": *"resume"' "$state/events.jsonl" || fail "the tenant was never resumed"
[[ -n $resumed && $resumed == "$reference" ]] || fail "the digests differ"
say "  equal: the job continued as if it had never stopped."

chapter "5. The timeline"
show "$lull" report "$state/events.jsonl" -o "$picture_dir/timeline.png" --title "make demo: one node, 4 slots"
say "picture: $picture_dir/timeline.png"
say "metrics for a node exporter (excerpt of \$DEMO/node/lull.prom):"
grep -E '^lull_arbiter_(preemptions_total|jobs_resumed_total|notice_to_exit_seconds_(sum|count))' "$state/lull.prom" |
  sed 's/^/    /'

chapter "6. Shutting down"
kill -TERM "$arbiter_pid"
wait "$arbiter_pid" || true
arbiter_pid=
if pgrep -f -- "$work" >/dev/null; then fail "processes were left behind: $(pgrep -af -- "$work")"; fi
say "arbiter stopped; no process left behind."
