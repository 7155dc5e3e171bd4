#!/usr/bin/python3
"""Preemption notices at any moment, from the first instant on: never lost, never fatal.

Real `lull run`, real mpirun, real signals. The job is late_runtime_job, which spends
--start-seconds before it builds its Runtime (as a Python rank spends seconds in
`import torch`), or the PyTorch example itself (AnyMomentPyTorch): a SIGTERM to `lull run` then must neither kill a rank with the notice's
signal nor be lost. Every run must end 75 with a committed snapshot (a notice before the
first snapshot stops the job after its first step, on a new one) or 0 when the job had
finished; the resumed runs end bitwise equal to an uninterrupted run.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/notice_anytime_test.py AnyMoment.test_np2

Random moments come from a seed printed by each test (LULL_TEST_SEED to repeat one).
Each case prints the moments it drew and how each run ended.
"""
import os
import signal
import subprocess
import sys
import time
import unittest

from runtime_resume_test import (BIN, Scratch, digest_of, environment, inspect, signal_in_mask,
                                 wait_until_lull_run_reads_signals)

JOB = os.path.join(BIN, "late_runtime_job")
START_SECONDS = 3.0  # the program's "imports"


class AnyMoment(Scratch):
    """At least 3 SIGTERMs to `lull run` at random moments from 0 s on, the start included,
    then the job resumed to its end: the digest of an uninterrupted run."""

    # Long enough that 3 preemptions land before the end whatever the machine's speed: a
    # run does at most (LATEST_MOMENT - STEPS_NOT_BEFORE) / STEP_MS steps before its notice.
    STEPS = 2000
    STEP_MS = 4
    STEPS_NOT_BEFORE = START_SECONDS  # the program sleeps that long before its first step
    LATEST_MOMENT = START_SECONDS + 2.0  # notices in the start (no Runtime yet), and after
    LULL_RUN_OPTIONS = []

    def job(self, ranks):
        args = ["--start-seconds", str(START_SECONDS), "--steps", str(self.STEPS), "--step-ms", str(self.STEP_MS)]
        return ["mpirun", "-np", str(ranks), JOB, *args]

    def check(self, ranks):
        most_per_run = (self.LATEST_MOMENT - self.STEPS_NOT_BEFORE) * 1000 / self.STEP_MS
        self.assertGreater(self.STEPS, 3 * most_per_run, "too few steps for 3 notices to land before the end")
        reference = subprocess.run(self.job(ranks), env=environment(LULL_CKPT_DIR=self.path("reference")),
                                   capture_output=True, text=True, timeout=300)
        self.assertEqual(reference.returncode, 0, reference.stderr)
        expected = digest_of(reference.stdout)

        ckpt = self.path("ckpt")
        command = [os.path.join(BIN, "lull"), "run", "--ckpt-dir", ckpt, "--grace", "60", *self.LULL_RUN_OPTIONS, "--",
                   *self.job(ranks)]
        moments = [self.random.uniform(0.0, self.LATEST_MOMENT) for _ in range(4)]
        moments[0] = self.random.uniform(0.0, 0.3)  # at once: mpirun itself still starting
        print(f"notices {['%.2f s' % m for m in moments]} after lull run reads signals", flush=True)
        preemptions, last_step, runs = 0, -1, 0
        while True:
            runs += 1
            self.assertLess(runs, 20, "the job never finished")
            job = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
            moment = moments[preemptions] if preemptions < len(moments) else None
            if moment is not None:
                wait_until_lull_run_reads_signals(job)
                time.sleep(moment)
                job.send_signal(signal.SIGTERM)
            stdout, stderr = job.communicate(timeout=300)
            ended = f"run {runs}: notice at {moment}, exit {job.returncode}"
            print(ended, flush=True)
            self.assertNotIn("exited on signal", stderr, ended + "\n" + stderr)
            if job.returncode == 0:
                break
            self.assertEqual(job.returncode, 75, f"{ended}\n{stdout}\n{stderr}")
            # A notice at any moment leaves a committed snapshot, newer than the one it resumed from.
            step = inspect(ckpt)["step"]
            self.assertGreater(step, last_step, f"{ended}: no new snapshot\n{stderr}")
            last_step = step
            preemptions += 1
        self.assertGreaterEqual(preemptions, 3, "fewer than 3 preemptions landed before the end")
        self.assertEqual(digest_of(stdout), expected, "the preempted and resumed run ended with other weights")

    def test_np1(self):
        self.check(1)

    def test_np2(self):
        self.check(2)


class AnyMomentPyTorch(AnyMoment):
    """The same with a PyTorch DDP (gloo) script on the lull package (late_torch_job.py):
    notices while the ranks are still in `import torch` (seconds here), in
    init_process_group, and while they train. Needs build/python on PYTHONPATH, and torch."""

    STEPS = 2500
    STEP_MS = 10
    STEPS_NOT_BEFORE = 0
    LATEST_MOMENT = 8.0  # a rank's imports take 2-8 s on this machine

    def setUp(self):
        super().setUp()
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("torch is not installed (python3-torch)")

    def job(self, ranks):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "late_torch_job.py")
        return ["mpirun", "-np", str(ranks), sys.executable, script, "--steps", str(self.STEPS),
                "--step-ms", str(self.STEP_MS)]

    def test_np1(self):
        self.check(1)

    def test_np2(self):
        self.check(2)


class TorchrunStyle(AnyMoment):
    """The same through a launcher like torchrun (tests/launcher/torchrun_like.py: it
    forwards SIGTERM to its workers, dies of SIGUSR1, and reports workers that exited 75 as
    a failure), with `lull run --notice-signal TERM` and `none`: every preempted run still
    ends 75. One worker: without mpirun each C++ worker is an MPI world of its own."""

    TORCHRUN_LIKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "launcher", "torchrun_like.py")

    def job(self, ranks):
        args = ["--start-seconds", str(START_SECONDS), "--steps", str(self.STEPS), "--step-ms", str(self.STEP_MS)]
        return [sys.executable, self.TORCHRUN_LIKE, "--nproc", str(ranks), "--", JOB, *args]

    def test_term(self):
        self.LULL_RUN_OPTIONS = ["--notice-signal", "TERM"]
        self.check(1)

    def test_none(self):
        self.LULL_RUN_OPTIONS = ["--notice-signal", "none"]
        self.check(1)


class SystemCallsGoOn(Scratch):
    """Notice signals that reach ranks waiting in poll() (never restarted after a handler,
    SA_RESTART or not: torch's TCPStore raised "Interrupted system call" there) and read()
    interrupt neither: the Runtime's thread blocks them and takes them from the pending set.
    The signals go to the ranks directly, many of them, while they spend nearly all their
    time in those calls."""

    def test_poll_and_read_are_not_interrupted_by_notice_signals(self):
        ckpt = self.path("ckpt")
        command = ["mpirun", "-np", "2", JOB, "--steps", "100000", "--step-ms", "30", "--probe-syscalls"]
        job = subprocess.Popen(command, env=environment(LULL_CKPT_DIR=ckpt), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        ranks = []
        deadline = time.monotonic() + 60
        # The ranks' Runtime is built (its handler installed) once the store holds the job's lock;
        # until then the signal's default action would kill them: wait for the handler.
        while len(ranks) < 2 or not all(signal_in_mask(p, "SigCgt", signal.SIGUSR1) for p in ranks):
            self.assertLess(time.monotonic(), deadline, "the ranks never installed their notice handler")
            found = subprocess.run(["pgrep", "-P", str(job.pid), "-x", "late_runtime_jo"], capture_output=True,
                                   text=True)
            ranks = [int(p) for p in found.stdout.split()]
            time.sleep(0.02)
        time.sleep(0.3)  # into the steps: restore() done
        for _ in range(10):
            for pid in ranks:
                os.kill(pid, signal.SIGUSR1)
            time.sleep(self.random.uniform(0.001, 0.01))
        stdout, stderr = job.communicate(timeout=120)
        self.assertNotIn("interrupted", stderr, stderr)
        self.assertEqual(job.returncode, 75, stdout + stderr)
        self.assertGreater(inspect(ckpt)["step"], 0)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
