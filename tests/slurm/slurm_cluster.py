#!/usr/bin/python3
"""A real two-node Slurm cluster for the tests of tests/slurm/ (scripts/slurm-cluster/).

As a program it is CTest's fixture (tests/slurm/CMakeLists.txt):
    slurm_cluster.py start STATE --lull LULL --policy POLICY
        `LULL policy export POLICY --slurm` into a new directory under /tmp (the
        partitions and lull-sbatch), then start.sh with those partitions; STATE names it
    slurm_cluster.py stop STATE
        stop.sh; fails when anything of the cluster is left
where STATE is a file in the build tree. When the cluster cannot run here (not root,
Slurm or munge missing) `start` says why, exits 77 (CTest: skipped) and leaves the
reason in STATE, and every test of the cluster skips with that reason.

As a module it gives the tests Cluster.from_state(STATE) -> Cluster (sbatch, srun,
scontrol and the exported lull-sbatch on that cluster). The directory is made by
mkdtemp in /tmp: munged wants every directory above its socket searchable by all,
which a checkout in a 0700 home directory is not.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts", "slurm-cluster")
sys.path.insert(0, os.path.join(HERE, "..", "arbiter"))
from arbiter_harness import environment, wait_for  # noqa: E402  (the environment for mpirun as root)

UNAVAILABLE = "unavailable: "  # how a STATE file that holds a reason starts


class Cluster:
    """The cluster under `root`: the exported policy (partitions.conf, lull-sbatch) and
    the cluster start.sh runs in root/cluster."""

    def __init__(self, root):
        self.root = root
        self.dir = os.path.join(root, "cluster")
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.partitions = os.path.join(root, "partitions.conf")
        self.job_script = os.path.join(root, "lull-sbatch")
        self.must_end = os.path.join(root, "must-end")  # pids a test left for stop to end, one a line

    @staticmethod
    def from_state(state):
        """The cluster STATE names; unittest.SkipTest with the reason when it could not start."""
        try:
            with open(state) as f:
                text = f.read().strip()
        except FileNotFoundError:
            raise unittest.SkipTest(f"no Slurm cluster: {state} is missing (the fixture slurm.cluster.start did not run)")
        if text.startswith(UNAVAILABLE):
            raise unittest.SkipTest("no Slurm cluster: " + text[len(UNAVAILABLE):])
        return Cluster(text)

    def environment(self, **extra):
        """An environment for Slurm's clients and for jobs (sbatch exports it to them)."""
        return environment(SLURM_CONF=self.conf, **extra)

    def run(self, *command, check=True, timeout=60, cwd=None):
        result = subprocess.run(command, env=self.environment(), capture_output=True, text=True, timeout=timeout,
                                cwd=cwd)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    def sbatch(self, *args, cwd=None, submit=("sbatch",)):
        """Submits a batch job with `submit` (sbatch, or (lull-sbatch, TENANT, CKPT_DIR)); its id."""
        return int(self.run(*submit, "--parsable", *args, cwd=cwd).stdout.strip().split(";")[0])

    def lull_sbatch(self, tenant, ckpt_dir, *args, cwd=None):
        """Submits a job of `tenant` with the exported lull-sbatch; its id."""
        return self.sbatch(*args, cwd=cwd, submit=(self.job_script, tenant, ckpt_dir))

    def job(self, job_id):
        """scontrol's fields of job `job_id` (JobState, Restarts, ExitCode, StartTime, ...)."""
        text = self.run("scontrol", "show", "job", "-o", str(job_id)).stdout
        return dict(re.findall(r"(\w+)=(\S*)", text))

    def wait_for_state(self, job_id, states, timeout):
        """Until job `job_id` is in one of `states`; its fields then."""
        def reached():
            job = self.job(job_id)
            return job if job["JobState"] in states else None
        return wait_for(reached, timeout, f"job {job_id} to be {' or '.join(states)}")

    def must_be_ended_by_stop(self, pid):
        """Has `stop` fail unless process `pid` (left behind by a job) is gone afterwards."""
        with open(self.must_end, "a") as f:
            f.write(f"{pid}\n")

    def still_running(self):
        """The pids of must_be_ended_by_stop still running."""
        try:
            with open(self.must_end) as f:
                pids = [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]

    def node_states(self):
        """{node: state} as sinfo reports them."""
        lines = self.run("sinfo", "-h", "-N", "-o", "%N %t").stdout.split("\n")
        return dict(line.split() for line in lines if line.strip())


def start(state, lull, policy):
    cluster = Cluster(tempfile.mkdtemp(prefix="lull-slurm-"))
    os.chmod(cluster.root, 0o755)  # munged: searchable by all above its socket (nothing secret here)
    exported = subprocess.run([lull, "policy", "export", policy, "--slurm", cluster.partitions,
                               "--job-script", cluster.job_script], capture_output=True, text=True)
    sys.stdout.write(exported.stdout)
    sys.stderr.write(exported.stderr)
    if exported.returncode != 0:
        shutil.rmtree(cluster.root)
        return 1
    result = subprocess.run([os.path.join(SCRIPTS, "start.sh"), cluster.dir, cluster.partitions],
                            capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode == 77:
        reason = result.stderr.strip().splitlines()[-1].removeprefix("slurm-cluster: cannot run here: ")
        with open(state, "w") as f:
            f.write(UNAVAILABLE + reason + "\n")
    if result.returncode != 0:  # start.sh stopped what it had started (the logs' tails are above)
        shutil.rmtree(cluster.root)
        return result.returncode
    with open(state, "w") as f:
        f.write(cluster.root + "\n")
    return result.returncode


def stop(state):
    try:
        with open(state) as f:
            directory = f.read().strip()
    except FileNotFoundError:
        return 0
    os.remove(state)
    if directory.startswith(UNAVAILABLE):
        return 0
    cluster = Cluster(directory)
    started = time.monotonic()
    result = subprocess.run([os.path.join(SCRIPTS, "stop.sh"), cluster.dir], capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    print(f"stopped the cluster in {cluster.dir} in {time.monotonic() - started:.1f} s (exit {result.returncode})")
    left = cluster.still_running()
    if left:
        print(f"stop.sh left processes a job had left behind: {left}", file=sys.stderr)
        return 1
    if result.returncode == 0:
        shutil.rmtree(cluster.root)
    return result.returncode


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Start or stop the test cluster (see the docstring).")
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("state")
    parser.add_argument("--lull", help="the lull that exports the policy (start)")
    parser.add_argument("--policy", help="the policy the cluster preempts by (start)")
    arguments = parser.parse_args()
    if arguments.action == "start" and not (arguments.lull and arguments.policy):
        parser.error("start takes --lull and --policy")
    sys.exit(start(arguments.state, arguments.lull, arguments.policy) if arguments.action == "start"
             else stop(arguments.state))
