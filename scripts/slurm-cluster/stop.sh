#!/usr/bin/env bash
# Stops the cluster scripts/slurm-cluster/start.sh started in DIR, and only it:
# cancels its jobs, then ends its slurmd and slurmctld by the pids in their pid
# files, then any process still holding a file under DIR or started by one of
# its jobs (a slurmstepd or a job's process that outlived its daemon or its
# job), then munged; SIGTERM first, SIGKILL after 10 s. DIR stays (the logs).
#
# Usage: scripts/slurm-cluster/stop.sh DIR
# Exit codes: 0 nothing of the cluster runs any more, 1 a process would not end.
set -uo pipefail

if (($# != 1)); then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[[ -d $1 ]] || exit 0
dir=$(realpath "$1")
export PATH=$PATH:/usr/sbin

alive() { kill -0 "$1" 2>/dev/null; }

# Ends the processes `pids` (each takes about 2 s to shut down: all at once):
# SIGTERM, SIGKILL to those still there after 10 s; waits until they are gone.
end_processes() {
  local pid waited=0 left=("$@")
  ((${#left[@]})) || return 0
  kill -TERM "${left[@]}" 2>/dev/null
  while ((${#left[@]})); do
    local still=()
    for pid in "${left[@]}"; do alive "$pid" && still+=("$pid"); done
    left=("${still[@]}")
    ((${#left[@]})) || return 0
    if ((waited == 100)); then
      for pid in "${left[@]}"; do
        echo "slurm-cluster: $(cat "/proc/$pid/comm" 2>/dev/null) (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
      done
      kill -KILL "${left[@]}" 2>/dev/null
    elif ((waited > 150)); then
      echo "slurm-cluster: pids ${left[*]} would not end" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# The pid in `file` when that process is still the daemon `program` (a stale pid
# file must not end an unrelated process that reuses the number).
daemon_pid() {
  local file=$1 program=$2 pid
  [[ -r $file ]] || return 1
  read -r pid < "$file" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$program" ]] && echo "$pid"
}

failed=0
if [[ -r $dir/slurm.conf ]] && pid=$(daemon_pid "$dir/slurmctld.pid" slurmctld); then
  export SLURM_CONF=$dir/slurm.conf
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [[ -n ${jobs// /} ]]; then
    # shellcheck disable=SC2086  # one argument per job id
    scancel $jobs 2>/dev/null
    for _ in $(seq 300); do
      [[ -z $(squeue -h -t all -o '%i %T' 2>/dev/null | grep -v -E ' (COMPLETED|CANCELLED|FAILED|TIMEOUT|PREEMPTED|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)$') ]] && break
      sleep 0.1
    done
  fi
fi
daemons=()
for node in n1 n2; do
  if pid=$(daemon_pid "$dir/slurmd-$node.pid" slurmd); then daemons+=("$pid"); fi
done
if pid=$(daemon_pid "$dir/slurmctld.pid" slurmctld); then daemons+=("$pid"); fi
end_processes "${daemons[@]}" || failed=1

# What is left is ours: a job step's slurmstepd (it keeps the slurmd log under DIR
# open) or a process of one of its jobs (the environment its slurmstepd gave it).
# proctrack/linuxproc follows the process tree only, so a job's process whose
# parent exited (a daemon it started) is not ended with its job. munged last:
# the others use it.
holders() {
  find /proc/[0-9]*/fd -maxdepth 1 -lname "$dir/*" 2>/dev/null | cut -d/ -f3
  local environ
  for environ in $(grep -lzxF "SLURM_CONF=$dir/slurm.conf" /proc/[0-9]*/environ 2>/dev/null); do
    grep -qz '^SLURM_JOB_ID=' "$environ" 2>/dev/null && echo "$environ" | cut -d/ -f3
  done
}
munged_pid=$(daemon_pid "$dir/munge/munged.pid" munged) || munged_pid=
leftovers=()
for pid in $(holders | sort -un); do
  [[ $pid == "$munged_pid" || $pid == "$$" ]] && continue
  echo "slurm-cluster: ending $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) (pid $pid): it outlived its daemon or its job" >&2
  leftovers+=("$pid")
done
end_processes "${leftovers[@]}" || failed=1
if [[ -n $munged_pid ]]; then end_processes "$munged_pid" || failed=1; fi
for pid in $(holders | sort -un); do
  [[ $pid == "$$" ]] && continue
  echo "slurm-cluster: still running: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) (pid $pid)" >&2
  failed=1
done
exit $failed
