#!/usr/bin/python3
"""One snapshot directory has one live job at a time, with real jobs.

Two train_mlp jobs under real `mpirun -np 2` on the same snapshot directory:
the second fails fast, saying which directory and which job holds it (job
name, rank 0's pid, host), and writes nothing; the first goes on, its
snapshots untouched (every snapshot is the first job's, verifies, and it
resumes to the digest of an uninterrupted run). Readers (`lull verify`,
`lull inspect`) work while the job holds the directory. kill -9 of a job
frees the directory: the next run resumes at once, never refused by a
stale lock.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/shared_directory_test.py
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from runtime_resume_test import (LULL, Scratch, digest_of, environment, inspect, mpirun, rank_pids, run,
                                 wait_for_first_snapshot)


def alive(pid):
    """True while `pid` runs (a zombie has already exited and released its locks)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class SharedDirectory(Scratch):
    def start_first_job(self, ckpt):
        """A job that runs until it is stopped, a snapshot every 50 steps."""
        job = subprocess.Popen(mpirun(2, "--ckpt-dir", ckpt, "--job", "first", "--steps", "1000000", "--step-ms", "3"),
                               env=environment(LULL_EVERY_STEPS=50), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
        self.addCleanup(lambda: job.poll() is None and os.killpg(job.pid, signal.SIGKILL))
        wait_for_first_snapshot(ckpt, job, timeout=120)
        return job

    def finish_from(self, ckpt, stopped):
        """Resumes the first job to `stopped` + 100 steps; its digest must be an uninterrupted run's."""
        total = str(stopped + 100)
        expected = self.reference_digest(2, "--steps", total)
        resumed = run(mpirun(2, "--ckpt-dir", ckpt, "--job", "first", "--steps", total), environment())
        self.assertEqual(resumed.returncode, 0, resumed.stdout + resumed.stderr)
        self.assertIn(f"resumed from snapshot step {stopped}", resumed.stderr)
        self.assertEqual(digest_of(resumed.stdout), expected)

    def test_second_job_is_refused_and_the_first_goes_on(self):
        ckpt = self.path("ckpt")
        first = self.start_first_job(ckpt)
        with open(os.path.join(ckpt, ".writer.lock")) as f:
            record = json.load(f)
        self.assertIn(record["pid"], rank_pids(first.pid, 2))
        self.assertEqual(record["job"], "first")
        holder = record["pid"]

        # Readers work while the directory is held, and take nothing.
        verified = subprocess.run([LULL, "verify", ckpt], capture_output=True, text=True, timeout=120)
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertEqual(inspect(ckpt)["metadata"].get("job"), "first")

        started = time.monotonic()
        second = run(mpirun(2, "--ckpt-dir", ckpt, "--job", "second", "--steps", "100000"),
                     environment(LULL_EVERY_STEPS=1))
        took = time.monotonic() - started
        self.assertNotIn(second.returncode, (0, 75), second.stdout + second.stderr)
        self.assertIsNone(first.poll(), "the first job stopped while the second one tried to start")
        self.assertIn(f'snapshot directory {ckpt} is in use by job "first" (pid {holder} on {socket.gethostname()}, '
                      f"since ", second.stderr)
        self.assertIn("one snapshot directory has one live job at a time", second.stderr)
        self.assertNotIn("starting at step", second.stderr, "the second job began training")
        print(f"[shared directory] the second job was refused after {took:.2f} s", flush=True)

        # The first job stops on a snapshot of its own and resumes bitwise.
        os.kill(first.pid, signal.SIGUSR1)  # mpirun forwards it to the ranks
        stdout, stderr = first.communicate(timeout=120)
        self.assertEqual(first.returncode, 75, stdout + stderr)
        stopped = int(re.search(r"preempted after step (\d+)", stdout).group(1))
        self.assertEqual(inspect(ckpt)["step"], stopped)
        for snapshot in sorted(n for n in os.listdir(ckpt) if n.startswith("step-")):
            shown = inspect(os.path.join(ckpt, snapshot))
            self.assertEqual(shown["metadata"].get("job"), "first", f"{snapshot} was written by another job")
            self.assertEqual(shown["checksums"], "ok", snapshot)
        self.finish_from(ckpt, stopped)

    def test_kill_9_frees_the_directory(self):
        ckpt = self.path("ckpt")
        first = self.start_first_job(ckpt)
        ranks = rank_pids(first.pid, 2)
        time.sleep(self.random.uniform(0.2, 0.8))
        for pid in ranks:
            os.kill(pid, signal.SIGKILL)
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=60)
        for pid in ranks:  # dead, not merely signalled: the kernel has dropped their locks
            deadline = time.monotonic() + 60
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        committed = inspect(ckpt)["step"]
        self.assertGreater(committed, 0)
        self.finish_from(ckpt, committed)


if __name__ == "__main__":
    unittest.main(verbosity=2)
