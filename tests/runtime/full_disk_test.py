#!/usr/bin/python3
"""Checkpoints on a REAL full disk: train_mlp (and the C API example) under
real `lull run` and `mpirun -np 2`, the snapshot directory on a small tmpfs
mounted for the test and filled up while the job runs.

What must hold whatever checkpoint hits ENOSPC (periodic, preemption, final):
no rank dies of SIGSEGV (HDF5 objects left open crashed HDF5's exit cleanup),
every rank exits with the same, documented code (75 on the previous snapshot,
74 when the final snapshot or a preemption snapshot with nothing earlier
fails), rank 0 says what failed ("No space left on device") and what to do,
the previous snapshot still verifies (`lull verify`), and once space is freed
the same command resumes from it to the same final digest as an uninterrupted
run.

Mounting needs root (CAP_SYS_ADMIN); without it every case is skipped and
says why. Run one case with
    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/full_disk_test.py FullDisk.test_final
"""
import errno
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

from runtime_resume_test import (BIN, LULL, Scratch, digest_of, environment, inspect, mpirun, run,
                                 wait_for_first_snapshot)

C_EXAMPLE = os.path.join(BIN, "c_api_example")
TMPFS_SIZE = "1m"  # a train_mlp snapshot is about 27 KB


class StreamedJob:
    """A job whose stderr is read as it comes, so a test can wait for a line."""

    def __init__(self, command, env):
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.lines = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def mark(self):
        """Where the job's stderr is now: wait_for(..., since=mark) looks only at lines after it."""
        with self.changed:
            return len(self.lines)

    def wait_for(self, pattern, timeout=120, since=0):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[since:]:
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None and not self.reader.is_alive():
                    raise AssertionError(f"no line matching {pattern!r} in the job's stderr:\n" + "".join(self.lines))
                self.changed.wait(min(left, 0.5))

    def finish(self, timeout=120):
        stdout = self.process.stdout.read()
        self.process.wait(timeout=timeout)
        self.reader.join(timeout=30)
        return self.process.returncode, stdout, "".join(self.lines)

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class FullDisk(Scratch):
    def setUp(self):
        super().setUp()
        self.mount = self.path("disk")
        os.mkdir(self.mount)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", self.mount],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.skipTest(f"cannot mount a {TMPFS_SIZE} tmpfs at {self.mount} (uid {os.geteuid()}: "
                          f"{mounted.stderr.strip() or 'mount failed'}): a real full disk needs root or "
                          "CAP_SYS_ADMIN; tests/unit/full_fs_test.cpp's InjectedFault cases cover the seam")
        self.mounted = True
        self.ckpt = os.path.join(self.mount, "job")
        self.filler = os.path.join(self.mount, "filler")
        self.jobs = []

    def tearDown(self):
        for job in getattr(self, "jobs", []):
            job.kill()
        if getattr(self, "mounted", False):
            subprocess.run(["umount", "-l", self.mount], capture_output=True)
        super().tearDown()

    def start(self, command, **env):
        job = StreamedJob(command, environment(LULL_LOG_LEVEL="debug", **env))
        self.jobs.append(job)
        return job

    def wait_for_snapshot(self, job):
        wait_for_first_snapshot(self.ckpt, job.process, timeout=120)

    def fill_disk(self):
        """Writes until the file system refuses: not a byte is left. Appends, so filling again frees nothing."""
        with open(self.filler, "ab", buffering=0) as f:
            chunk = b"\0" * 65536
            while True:
                try:
                    f.write(chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        return
                    chunk = chunk[: len(chunk) // 16]

    def fill_disk_until_a_checkpoint_fails(self, job):
        """Fills the disk while `job` runs, until one of its checkpoints fails on it; returns that line.

        A commit that raced the fill may have been written before the disk was full, and its retention then
        removes the oldest snapshot: room for the next checkpoint, whose retention frees room for the next...
        So fill again after every commit seen since the fill. Once a checkpoint has failed with nothing
        committed after the fill, every later one fails too: a failed snapshot gives back only what it took."""
        for _ in range(20):
            mark = job.mark()
            self.fill_disk()
            line = job.wait_for(r"checkpoint of step \d+ failed: .*No space left on device|"
                                r"debug: committed snapshot step \d+", since=mark)
            if "failed" in line:
                return line
        self.fail("20 checkpoints in a row were committed after the disk was filled")

    def free_disk(self):
        os.remove(self.filler)

    def finish_with(self, job, code, ranks=2):
        """Waits for `job`: it must exit `code`, every rank with that code (each logs it at debug level), nothing
        may crash and someone must say what failed. Returns its stdout and stderr."""
        returned, stdout, stderr = job.finish()
        self.assertEqual(returned, code, stdout + stderr)
        self.assertNotRegex(stderr, r"Segmentation fault|signal 11|exited on signal", "a rank crashed")
        self.assertIn("No space left on device", stderr, "nobody said what failed")
        codes = dict(re.findall(r"\[lull job=\S+ rank=(\d+)\] debug: exit code (\d+):", stderr))
        self.assertEqual(codes, {str(r): str(code) for r in range(ranks)}, stderr)
        return stdout, stderr

    def assert_verifies_at(self, step):
        verified = subprocess.run([LULL, "verify", self.ckpt], capture_output=True, text=True)
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        self.assertIn(f"ok: step {step},", verified.stdout)
        self.assertEqual(inspect(self.ckpt)["step"], step)

    def assert_resumes_after_freeing_space(self, command, previous, expected):
        """The same command, once there is room again, resumes from `previous` to the uninterrupted digest."""
        self.free_disk()
        rerun = run(command, environment())
        self.assertEqual(rerun.returncode, 0, rerun.stdout + rerun.stderr)
        self.assertIn(f"resumed from snapshot step {previous}", rerun.stderr)
        self.assertEqual(digest_of(rerun.stdout), expected)

    def test_periodic_then_preemption(self):
        """Periodic checkpoints fail and training goes on; the preemption checkpoint fails too: exit 75 on the
        previous snapshot, said on rank 0; after freeing space the same command resumes to the same digest."""
        args = ["--steps", "3000", "--step-ms", "3"]
        expected = self.reference_digest(2, *args)
        command = [LULL, "run", "--ckpt-dir", self.ckpt, "--grace", "30", "--every-steps", "25", "--",
                   *mpirun(2, *args)]
        job = self.start(command)
        self.wait_for_snapshot(job)
        failed = self.fill_disk_until_a_checkpoint_fails(job)
        self.assertRegex(failed, r"periodic checkpoint of step \d+ failed: .*No space left on device.*"
                                 r"training goes on and the next checkpoint tries again")
        job.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.finish_with(job, 75)
        stopped = re.search(r"rank=0\] warning: preempted at step (\d+), whose snapshot failed \(.*No space left on "
                            r"device.*\); exiting on snapshot step (\d+): resuming redoes (\d+) steps", stderr)
        self.assertIsNotNone(stopped, "rank 0 did not say it exits on the previous snapshot:\n" + stderr)
        previous = int(stopped.group(2))
        self.assertIn(f"resume from snapshot step {previous} with the same command", stdout)
        self.assert_verifies_at(previous)
        self.assert_resumes_after_freeing_space(command, previous, expected)

    def test_final(self):
        """The final snapshot fails: exit 74, no "finished", no digest; the previous snapshot verifies and a
        rerun after freeing space finishes with the uninterrupted run's digest."""
        args = ["--steps", "2000", "--step-ms", "4"]
        expected = self.reference_digest(2, *args)
        command = [LULL, "run", "--ckpt-dir", self.ckpt, "--every-steps", "100", "--", *mpirun(2, *args)]
        job = self.start(command)
        self.wait_for_snapshot(job)
        self.fill_disk_until_a_checkpoint_fails(job)
        stdout, stderr = self.finish_with(job, 74)
        self.assertNotIn("finished", stdout)
        self.assertNotIn("digest", stdout)
        self.assertNotRegex(stderr, r"info: finished at step")
        said = re.search(r"train_mlp: the job ran its 2000 steps, but its final snapshot was not committed: .*"
                         r"No space left on device.*; snapshot step (\d+) is intact: running the same command again "
                         r"resumes from it and redoes (\d+) steps \(free space in " + re.escape(self.ckpt), stderr)
        self.assertIsNotNone(said, "the program did not say what failed and what to do:\n" + stderr)
        previous = int(said.group(1))
        self.assertEqual(int(said.group(2)), 2000 - previous)
        self.assertIn("exit 74: failed: a snapshot the job needed could not be written", stderr)
        self.assert_verifies_at(previous)
        self.assert_resumes_after_freeing_space(command, previous, expected)

    def test_preemption_with_no_snapshot_yet(self):
        """Nothing to fall back on: exit 74 on every rank, never 75 and never a crash; nothing is committed."""
        self.fill_disk()
        command = [LULL, "run", "--ckpt-dir", self.ckpt, "--grace", "30", "--",
                   *mpirun(2, "--steps", "100000", "--step-ms", "3")]
        job = self.start(command)
        job.wait_for(r"starting at step 0")
        job.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.finish_with(job, 74)
        self.assertRegex(stderr, r"rank=0\] error: preempted at step \d+, whose snapshot failed \(.*No space left on "
                                 r"device.*\), and there is no earlier snapshot: the job cannot be resumed")
        self.assertFalse([n for n in os.listdir(self.ckpt) if n.startswith(("step-", ".pending-"))],
                         os.listdir(self.ckpt))

    def test_c_api_final(self):
        """lull_finish returns 74 and lull_last_error() says why (the C example prints it)."""
        steps = "1500"
        command = [LULL, "run", "--ckpt-dir", self.ckpt, "--every-steps", "100", "--",
                   "mpirun", "-np", "2", C_EXAMPLE, "--steps", steps, "--sleep-ms", "4"]
        job = self.start(command)
        self.wait_for_snapshot(job)
        self.fill_disk_until_a_checkpoint_fails(job)
        stdout, stderr = self.finish_with(job, 74)
        self.assertRegex(stderr, r"c_api_example: lull_finish: the job ran its 1500 steps, but its final snapshot "
                                 r"was not committed: .*No space left on device")
        self.assertNotIn("checksum", stdout)
        committed = inspect(self.ckpt)["step"]
        self.free_disk()
        rerun = run(command, environment())
        self.assertEqual(rerun.returncode, 0, rerun.stdout + rerun.stderr)
        self.assertIn(f"resumed at step {committed}", rerun.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
