#!/usr/bin/env bash
# Starts a private two-node Slurm cluster on this machine: munged, slurmctld and
# two slurmd (nodes n1 and n2, both at 127.0.0.1 on their own ports), every
# file under DIR (config, munge key and socket, state, spool, logs, pid files;
# nothing in /etc/slurm or /etc/munge), and waits until both nodes are idle.
#
# Usage: scripts/slurm-cluster/start.sh DIR PARTITIONS_CONF
#   DIR              created, or emptied when empty or a cluster of this script (one
#                    still running there is stopped first); anything else is refused
#   PARTITIONS_CONF  slurm.conf lines for preemption and the partitions over Nodes=ALL,
#                    as `lull policy export POLICY --slurm PARTITIONS_CONF` writes them
# Then: source DIR/env (SLURM_CONF) and use sinfo, sbatch, srun, scontrol as usual;
# scripts/slurm-cluster/stop.sh DIR stops everything this started.
#
# Exit codes: 0 running, 77 cannot run here (not root, Slurm or munge missing: the
# reason on stderr; tests skip), 1 failed to start (logs in DIR/log; everything
# started is stopped again).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if (($# != 2)); then
  echo "usage: $0 DIR PARTITIONS_CONF" >&2
  exit 2
fi
partitions_conf=$(realpath "$2")

cannot_run() { echo "slurm-cluster: cannot run here: $*" >&2; exit 77; }
# slurmd starts each job's processes as the job's user and runs its daemons as root.
(($(id -u) == 0)) || cannot_run "slurmd must run as root (this is uid $(id -u))"
for program in munged mungekey slurmctld slurmd sinfo; do
  command -v "$program" >/dev/null || [[ -x /usr/sbin/$program ]] ||
    cannot_run "$program is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
export PATH=$PATH:/usr/sbin
[[ -r $partitions_conf ]] || { echo "slurm-cluster: cannot read $partitions_conf" >&2; exit 1; }

mkdir -p "$1"
dir=$(realpath "$1")
header="# A private two-node cluster written by scripts/slurm-cluster/start.sh."
if [[ -n $(ls -A "$dir") ]] && ! grep -qsxF "$header" "$dir/slurm.conf"; then
  echo "slurm-cluster: $dir is not empty and holds no cluster of start.sh: not emptying it" >&2
  exit 1
fi
"$here/stop.sh" "$dir" >/dev/null 2>&1 || true   # a cluster a killed test left behind
find "$dir" -mindepth 1 -delete
# munged wants every directory above its socket searchable by all (a job of any user
# authenticates through it); its key stays readable by root alone.
chmod 0755 "$dir"
mkdir -m 0755 "$dir/munge"
mkdir -m 0700 "$dir/state" "$dir/spool" "$dir/log"

started=0
fail() {
  echo "slurm-cluster: $*" >&2
  for log in "$dir"/log/*.log "$dir"/munge/munged.log; do
    [[ -s $log ]] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  ((started)) && "$here/stop.sh" "$dir" >&2
  exit 1
}

# Three free TCP ports (slurmctld, n1, n2), each found by binding port 0.
read -r ctld_port n1_port n2_port < <(/usr/bin/python3 - <<'PY'
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
PY
)

# munge: a key of our own and a daemon on a socket in DIR.
mungekey --create --keyfile="$dir/munge/munge.key" --bits=1024
chmod 0400 "$dir/munge/munge.key"
socket=$dir/munge/munge.socket
started=1
munged --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
  fail "munged did not start"

# cred_expire: how long a requeued job waits before it may start again (default 120 s).
cat > "$dir/slurm.conf" <<CONF
$header
ClusterName=lull
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=5
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
# Fast scheduling: the main loop every second, so preemption and requeue take seconds.
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1,sched_min_interval=100000
MessageTimeout=10
KillWait=5
MinJobAge=600
InactiveLimit=0
MailProg=/bin/true
NodeName=n1 NodeAddr=127.0.0.1 Port=$n1_port CPUs=2 State=UNKNOWN
NodeName=n2 NodeAddr=127.0.0.1 Port=$n2_port CPUs=2 State=UNKNOWN
Include $partitions_conf
CONF
: > "$dir/plugstack.conf"
echo "export SLURM_CONF=$dir/slurm.conf" > "$dir/env"
export SLURM_CONF=$dir/slurm.conf

slurmctld -c || fail "slurmctld did not start"
for node in n1 n2; do
  slurmd -N "$node" || fail "slurmd -N $node did not start"
done

# Until both nodes are idle (slurmd registered, nothing running).
deadline=$((SECONDS + 60))
until [[ $(sinfo -h -N -o '%N %t' 2>/dev/null | sort -u | tr '\n' ' ') == "n1 idle n2 idle " ]]; do
  ((SECONDS < deadline)) || fail "the nodes were not idle within 60 s: $(sinfo -N 2>&1 | tr '\n' ';')"
  sleep 0.2
done
echo "slurm-cluster: n1 and n2 idle; source $dir/env (SLURM_CONF=$dir/slurm.conf)"
