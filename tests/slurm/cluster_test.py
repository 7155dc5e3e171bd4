#!/usr/bin/python3
"""lull under a real two-node Slurm cluster (slurm_cluster.py, scripts/slurm-cluster/) whose
partitions and job script are cluster_policy.toml exported by `lull policy export --slurm`.

    TwoNodes          `srun -N2` runs one task on n1 and one on n2; a process a job leaves
                      behind is ended by the fixture's stop (which fails otherwise)
    PreemptedTenant   a job of tenant guest, `lull-sbatch guest CKPT -- mpirun -np 2 train_mlp`,
                      is preempted for a job of tenant lab (class internal) that needs both
                      nodes: Slurm's notice (SIGTERM to the batch shell, which is `lull run`)
                      reaches the ranks, they commit a snapshot and `lull run` exits 75; Slurm
                      requeues the job (RequeueExit=75), runs the internal job, starts the
                      tenant again, and it resumes from its snapshot and ends with the digest
                      of an uninterrupted run

Run with the cluster the fixture started, e.g.
    LULL_BIN_DIR=build/bin LULL_SLURM_STATE=build/tests/slurm/cluster.state \\
        /usr/bin/python3 tests/slurm/cluster_test.py PreemptedTenant
"""
import datetime
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from slurm_cluster import Cluster
from arbiter_harness import LULL, TRAIN, digest_of, environment, wait_for

STATE = os.environ.get("LULL_SLURM_STATE", "cluster.state")
MIN_RUNTIME = datetime.timedelta(seconds=5)  # the tenant class's (cluster_policy.toml)


def slurm_time(text):
    """A time as scontrol prints it (2026-12-05T00:52:45, local time)."""
    return datetime.datetime.fromisoformat(text)


class ClusterCase(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster.from_state(STATE)
        # Jobs run as root here and read and write this directory from both nodes (one host).
        self.dir = tempfile.mkdtemp(prefix="lull-slurm-test-")
        self.jobs = []

    def tearDown(self):
        if self.jobs:
            self.cluster.run("scancel", *map(str, self.jobs), check=False)
            for job in self.jobs:
                self.cluster.wait_for_state(job, ("COMPLETED", "CANCELLED", "FAILED", "NODE_FAIL", "PREEMPTED"), 60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def lull_sbatch(self, tenant, ckpt_dir, *args):
        job = self.cluster.lull_sbatch(tenant, ckpt_dir, *args, cwd=self.dir)
        self.jobs.append(job)
        return job


class TwoNodes(ClusterCase):
    def test_srun_runs_a_task_on_each_node(self):
        # Idle (a job of an earlier test may still be completing on one of them).
        wait_for(lambda: self.cluster.node_states() == {"n1": "idle", "n2": "idle"}, 60, "n1 and n2 to be idle")
        result = self.cluster.run("srun", "--partition=internal", "-N2", "--ntasks-per-node=1", "-l",
                                  "printenv", "SLURMD_NODENAME", cwd=self.dir)
        self.assertEqual(sorted(result.stdout.split()), ["0:", "1:", "n1", "n2"], result.stdout)

    def test_a_process_a_job_leaves_behind_is_ended_by_stop(self):
        """proctrack/linuxproc loses a job's process whose parent exited; stop.sh finds it by the
        job's environment, and the fixture's stop fails unless this very pid is gone."""
        pid_file = self.path("orphan.pid")
        self.cluster.run("srun", "--partition=internal", "-N1", "bash", "-c",
                         f"setsid sleep 600 < /dev/null > /dev/null 2>&1 & echo $! > {pid_file}", cwd=self.dir)
        with open(pid_file) as f:
            orphan = int(f.read())
        self.assertTrue(os.path.exists(f"/proc/{orphan}"), "the job's process did not outlive its job")
        self.cluster.must_be_ended_by_stop(orphan)


class PreemptedTenant(ClusterCase):
    # At least 8 ms a step: after the first snapshot (about 1 s in: checkpoint_interval) the
    # tenant runs 10 s or more, and Slurm's notice comes about a second after the internal
    # job's submission.
    STEPS = 1500
    ARGS = ["--steps", str(STEPS), "--step-ms", "8"]

    def start_reference_run(self):
        """The uninterrupted run, outside Slurm, beside the tenant's."""
        return subprocess.Popen(["mpirun", "-np", "2", TRAIN, "--ckpt-dir", self.path("reference"), *self.ARGS],
                                env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def reference_digest(self, reference):
        stdout, stderr = reference.communicate(timeout=300)
        self.assertEqual(reference.returncode, 0, stderr)
        return digest_of(stdout)

    def test_preempted_requeued_and_resumed_bitwise(self):
        began = time.monotonic()
        reference = self.start_reference_run()
        ckpt, output = self.path("ckpt"), self.path("tenant.out")
        tenant = self.lull_sbatch("guest", ckpt, "--nodes=1", "--ntasks=2", "--output", output, "--",
                                  "mpirun", "-np", "2", TRAIN, *self.ARGS)
        # Until its first periodic snapshot: lull run then reads its signals (a SIGTERM that
        # reached the batch shell before it exec'd lull run would end the job, not notice it).
        wait_for(lambda: os.path.isdir(ckpt) and any(n.startswith("step-") for n in os.listdir(ckpt)), 120,
                 "the tenant's first snapshot")
        first_run = self.cluster.job(tenant)
        self.assertEqual(first_run["JobState"], "RUNNING")
        # The class's min_runtime, exported as PreemptExemptTime, as Slurm applies it.
        eligible = slurm_time(first_run["PreemptEligibleTime"])
        self.assertEqual(eligible - slurm_time(first_run["StartTime"]), MIN_RUNTIME, first_run)
        print(f"tenant's first snapshot: {time.monotonic() - began:.1f} s", flush=True)

        submitted = time.monotonic()
        internal = self.lull_sbatch("lab", self.path("internal-ckpt"), "--nodes=2", "--output",
                                    self.path("internal.out"), "--", "sleep", "2")
        self.cluster.wait_for_state(internal, ("RUNNING", "COMPLETING", "COMPLETED"), 120)
        internal_started = time.monotonic() - submitted
        self.assertGreaterEqual(slurm_time(self.cluster.job(internal)["StartTime"]), eligible,
                                "the tenant was preempted inside its min_runtime")
        done = self.cluster.wait_for_state(tenant, ("COMPLETED", "FAILED", "CANCELLED"), 240)
        with open(output) as f:
            log = f.read()
        self.assertEqual((done["JobState"], done["ExitCode"]), ("COMPLETED", "0:0"), log)
        self.assertEqual(done["Restarts"], "1", "Slurm requeued the tenant once:\n" + log)

        noticed = re.search(r"preemption notice \(SIGTERM from pid \d+ to lull run\)", log)
        self.assertIsNotNone(noticed, "no notice reached lull run:\n" + log)
        self.assertIn("exit 75: preempted; resumable", log)
        stopped = int(re.search(r"preempted after step (\d+)", log).group(1))
        runs = log.split("info: started pid")[1:]
        self.assertEqual(len(runs), 2, log)
        self.assertNotIn("resumed from", runs[0])
        self.assertIn(f"resumed from snapshot step {stopped}", runs[1])
        self.assertEqual(digest_of(log), self.reference_digest(reference),
                         "the preempted and resumed run ended with other weights")
        print(f"internal job running {internal_started:.1f} s after it was submitted; the tenant stopped after "
              f"step {stopped} of {self.STEPS}, was requeued and resumed; "
              f"{time.monotonic() - submitted:.1f} s from the internal job's submission to the tenant's end")


if __name__ == "__main__":
    unittest.main(verbosity=2)
