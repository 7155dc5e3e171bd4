#!/usr/bin/python3
"""Preemption and resume of build/bin/train_mlp with real processes.

Real mpirun, real `lull run`, real signals (SIGTERM, SIGUSR1, SIGKILL), real
snapshot directories. Run one case with
    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/runtime_resume_test.py BitwiseResume.test_np2
Random moments are drawn from a seed printed by each test (LULL_TEST_SEED to
repeat one).
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("LULL_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
LULL = os.path.join(BIN, "lull")
TRAIN = os.path.join(BIN, "train_mlp")
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "LULL_LOG_LEVEL": "info",
}
STEP_MS = "4"


def environment(**extra):
    env = dict(os.environ)
    env.update(MPI_ENV)
    for key in [k for k in env if k.startswith("LULL_") and k not in MPI_ENV and k != "LULL_BIN_DIR"]:
        del env[key]
    env.update({k: str(v) for k, v in extra.items()})
    return env


def mpirun(ranks, *args):
    return ["mpirun", "-np", str(ranks), TRAIN, *args]


def digest_of(stdout):
    lines = stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("digest "):
        raise AssertionError("no digest line at the end of the output:\n" + stdout)
    return lines[-1].split()[1]


# A whole training run: minutes of slack, because on a loaded machine (two CPU burners beside
# ctest -j2 and other work) an uninterrupted 3000-step reference run took over 120 s.
def run(command, env, timeout=400):
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def rank_pids(mpirun_pid, count, timeout=20):
    """The pids of the train_mlp ranks started by `mpirun_pid`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-P", str(mpirun_pid), "-x", "train_mlp"], capture_output=True, text=True)
        pids = [int(p) for p in found.stdout.split()]
        if len(pids) == count:
            return sorted(pids)
        time.sleep(0.05)
    raise AssertionError(f"mpirun {mpirun_pid} did not start {count} train_mlp ranks")


def signal_in_mask(pid, mask, signo):
    """Whether `signo` is in the `mask` ("SigCgt": handled, "SigBlk": blocked) of process `pid`."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(mask + ":"):
                return bool(int(line.split()[1], 16) >> (signo - 1) & 1)
    return False


def wait_until_lull_run_reads_signals(job, timeout=60):
    """Until `lull run` (the Popen `job`) takes SIGTERM as a notice: its signal inbox blocks it.
    Sent before that (the process still loading its libraries), SIGTERM simply kills it."""
    deadline = time.monotonic() + timeout
    while not signal_in_mask(job.pid, "SigBlk", signal.SIGTERM):
        if job.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"lull run (pid {job.pid}) did not start reading its signals")
        time.sleep(0.005)


def wait_for_notice_handlers(pids, timeout=60):
    """Until every rank has built its Runtime (which installs the SIGUSR1 handler): a SIGUSR1
    before that (MPI_Init takes long on a loaded machine) would kill the rank, not notice it."""
    deadline = time.monotonic() + timeout
    while not all(signal_in_mask(pid, "SigCgt", signal.SIGUSR1) for pid in pids):
        if time.monotonic() > deadline:
            raise AssertionError(f"ranks {pids} installed no SIGUSR1 handler within {timeout} s")
        time.sleep(0.02)


def inspect(ckpt_dir):
    out = subprocess.run([LULL, "inspect", "--json", ckpt_dir], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class Scratch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lull-runtime-test-")
        seed = int(os.environ.get("LULL_TEST_SEED", random.randrange(1 << 30)))
        print(f"[{self.id()}] LULL_TEST_SEED={seed}", flush=True)
        self.random = random.Random(seed)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    references = {}  # (ranks, args) -> digest: one uninterrupted run per configuration and process

    def reference_digest(self, ranks, *args):
        key = (ranks, args)
        if key not in Scratch.references:
            result = run(mpirun(ranks, "--ckpt-dir", self.path("reference"), *args), environment())
            self.assertEqual(result.returncode, 0, result.stderr)
            Scratch.references[key] = digest_of(result.stdout)
        return Scratch.references[key]


class BitwiseResume(Scratch):
    """Uninterrupted vs. preempted (SIGTERM to `lull run`, at random moments, at least 3 times) and resumed."""

    STEPS = "1500"

    def check(self, ranks):
        args = ["--steps", self.STEPS, "--step-ms", STEP_MS]
        expected = self.reference_digest(ranks, *args)
        ckpt = self.path("preempted")
        command = [LULL, "run", "--ckpt-dir", ckpt, "--grace", "20", "--every-steps", "100", "--", *mpirun(ranks, *args)]
        preemptions, resumed_from, attempts = 0, [], 0
        while True:
            attempts += 1
            self.assertLess(attempts, 20, "the job never finished")
            job = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if preemptions < 3:
                wait_until_lull_run_reads_signals(job)
                time.sleep(self.random.uniform(0.5, 1.3))
                job.send_signal(signal.SIGTERM)
            stdout, stderr = job.communicate(timeout=120)
            resumed = re.search(r"resumed from snapshot step (\d+)", stderr)
            if resumed:
                resumed_from.append(int(resumed.group(1)))
            if job.returncode == 0:
                break
            self.assertEqual(job.returncode, 75, f"lull run exited {job.returncode}\n{stdout}\n{stderr}")
            stopped = re.search(r"preempted after step (\d+)", stdout)
            self.assertIsNotNone(stopped, stdout + stderr)
            # The committed snapshot is the step every rank stopped at, or
            # (too little time) an earlier one.
            self.assertLessEqual(inspect(ckpt)["step"], int(stopped.group(1)))
            preemptions += 1
        self.assertGreaterEqual(preemptions, 3, "fewer than 3 preemptions landed before the end")
        self.assertEqual(resumed_from, sorted(resumed_from), "a resume went backwards")
        self.assertGreaterEqual(len(resumed_from), 3)
        self.assertEqual(digest_of(stdout), expected, "the preempted and resumed run ended with other weights")

    def test_np1(self):
        self.check(1)

    def test_np2(self):
        self.check(2)

    def test_np4(self):
        self.check(4)


class NoticeToOneRank(Scratch):
    def test_sigusr1_to_one_rank_stops_all_at_one_step(self):
        ranks = 3
        ckpt = self.path("ckpt")
        job = subprocess.Popen(mpirun(ranks, "--ckpt-dir", ckpt, "--steps", "100000", "--step-ms", STEP_MS),
                               env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pids = rank_pids(job.pid, ranks)
        wait_for_notice_handlers(pids)
        time.sleep(self.random.uniform(0.0, 0.7))
        target = self.random.choice(pids)
        os.kill(target, signal.SIGUSR1)
        stdout, stderr = job.communicate(timeout=60)
        self.assertEqual(job.returncode, 75, stdout + stderr)
        stopped = int(re.search(r"preempted after step (\d+)", stdout).group(1))
        snapshot = inspect(ckpt)
        # One snapshot of that very step, with a shard of every rank.
        self.assertEqual(snapshot["step"], stopped, stderr)
        self.assertEqual(snapshot["world_size"], ranks)
        self.assertEqual(subprocess.run([LULL, "verify", ckpt], capture_output=True).returncode, 0)
        self.assertEqual(stderr.count("preemption notice"), 1, "only the signalled rank saw the notice:\n" + stderr)

    def test_notice_before_restore_stops_after_one_step(self):
        """A notice file already there when the job starts (a notice before restore())."""
        notice = self.path("notice.json")
        now = time.time()
        with open(notice, "w") as f:
            json.dump({"deadline_unix": now + 30, "grace_seconds": 30, "issued_unix": now, "reason": "test"}, f)
        ckpt = self.path("ckpt")
        result = run(mpirun(2, "--ckpt-dir", ckpt, "--steps", "500"), environment(LULL_NOTICE_FILE=notice))
        self.assertEqual(result.returncode, 75, result.stdout + result.stderr)
        self.assertIn("preempted after step 1;", result.stdout)
        self.assertEqual(inspect(ckpt)["step"], 1)


class NoticeCorners(Scratch):
    """A notice during a checkpoint, twice, or at the very last step."""

    def preempt_and_finish(self, ranks, args, env, send_notices):
        expected = self.reference_digest(ranks, *args)
        ckpt = self.path("ckpt")
        job = subprocess.Popen(mpirun(ranks, "--ckpt-dir", ckpt, *args), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        pids = rank_pids(job.pid, ranks)
        wait_for_notice_handlers(pids)
        send_notices(pids)
        stdout, stderr = job.communicate(timeout=120)
        self.assertEqual(job.returncode, 75, stdout + stderr)
        stopped = int(re.search(r"preempted after step (\d+)", stdout).group(1))
        self.assertEqual(inspect(ckpt)["step"], stopped, stderr)
        resumed = run(mpirun(ranks, "--ckpt-dir", ckpt, *args), environment())  # no periodic snapshots needed
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn(f"resumed from snapshot step {stopped}", resumed.stderr)
        self.assertEqual(digest_of(resumed.stdout), expected)
        return stderr

    def test_notice_during_a_checkpoint(self):
        # A snapshot at every step of a 12 MB model: the notice almost surely
        # lands while one is being written.
        args = ["--steps", "400", "--hidden", "2048", "--inputs", "512", "--batch", "4"]

        def notices(pids):
            time.sleep(self.random.uniform(0.3, 1.0))
            os.kill(pids[0], signal.SIGUSR1)

        self.preempt_and_finish(2, args, environment(LULL_EVERY_STEPS=1), notices)

    def test_two_notices_to_two_ranks(self):
        args = ["--steps", "800", "--step-ms", STEP_MS]

        def notices(pids):
            time.sleep(self.random.uniform(0.2, 0.7))
            os.kill(pids[2], signal.SIGUSR1)
            time.sleep(self.random.uniform(0.0, 0.03))
            os.kill(pids[0], signal.SIGUSR1)

        stderr = self.preempt_and_finish(3, args, environment(), notices)
        self.assertEqual(stderr.count("preemption checkpoint step"), 1, stderr)

    def test_sigterm_right_after_start(self):
        """A notice while mpirun and the ranks are still starting: a clean 75, never a rank killed by SIGUSR1."""
        args = ["--steps", "300", "--step-ms", STEP_MS]
        expected = self.reference_digest(2, *args)
        ckpt = self.path("ckpt")
        command = [LULL, "run", "--ckpt-dir", ckpt, "--grace", "20", "--", *mpirun(2, *args)]
        job = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until_lull_run_reads_signals(job)
        time.sleep(self.random.uniform(0.0, 0.3))
        job.send_signal(signal.SIGTERM)
        stdout, stderr = job.communicate(timeout=60)
        self.assertEqual(job.returncode, 75, stdout + stderr)
        again = run(command, environment())
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(digest_of(again.stdout), expected)

    def test_notice_at_the_last_step(self):
        notice = self.path("notice.json")
        now = time.time()
        with open(notice, "w") as f:
            json.dump({"deadline_unix": now + 30, "grace_seconds": 30, "issued_unix": now, "reason": "test"}, f)
        args = ["--steps", "1"]
        expected = self.reference_digest(2, *args)
        ckpt = self.path("ckpt")
        first = run(mpirun(2, "--ckpt-dir", ckpt, *args), environment(LULL_NOTICE_FILE=notice))
        self.assertEqual(first.returncode, 75, first.stdout + first.stderr)
        self.assertEqual(inspect(ckpt)["step"], 1)
        again = run(mpirun(2, "--ckpt-dir", ckpt, *args), environment())
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("resumed from snapshot step 1", again.stderr)
        self.assertEqual(digest_of(again.stdout), expected)


def write_notice(path, grace):
    """A notice as `lull run` writes it: atomically, deadline `grace` seconds from now."""
    now = time.time()
    with open(path + ".partial", "w") as f:
        json.dump({"deadline_unix": now + grace, "grace_seconds": grace, "issued_unix": now, "reason": "test"}, f)
    os.rename(path + ".partial", path)


def wait_for_first_snapshot(ckpt, job, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.isdir(ckpt) and any(name.startswith("step-") for name in os.listdir(ckpt)):
            return
        if job.poll() is not None:
            raise AssertionError(f"the job exited {job.returncode} before its first snapshot")
        time.sleep(0.02)
    raise AssertionError(f"no snapshot committed within {timeout} s")


class ShortDeadline(Scratch):
    """A notice whose deadline leaves no time for a snapshot: exit 75 on the last committed one.

    The notice may land between checkpoints (the runtime then exits on the previous periodic
    snapshot and says so) or while a periodic snapshot is being written (it stops on that one):
    both are correct. Either way no snapshot is started after the notice, and the job resumes
    bitwise from the one it stopped on."""

    RANKS = 2
    EVERY = 50
    ARGS = ["--steps", "800", "--step-ms", STEP_MS]

    def check_stopped_without_a_new_snapshot(self, ckpt, stdout, stderr):
        self.assertNotIn("preemption checkpoint step", stderr, "a snapshot was written although it could not fit")
        stopped = int(re.search(r"preempted after step (\d+)", stdout).group(1))
        committed = inspect(ckpt)["step"]
        self.assertEqual(committed % self.EVERY, 0, f"snapshot step {committed} is not a periodic one\n{stderr}")
        self.assertLessEqual(committed, stopped)
        if committed < stopped:
            self.assertIn(f"exiting on snapshot step {committed}", stderr)
        else:  # the notice came while snapshot `committed` was being written
            self.assertIn(f"stopping at step {stopped} on a committed snapshot", stderr)
        return committed

    def check_resumes_bitwise(self, command, env, committed, expected):
        resumed = run(command, env)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn(f"resumed from snapshot step {committed}", resumed.stderr)
        self.assertEqual(digest_of(resumed.stdout), expected)

    def test_exits_on_the_previous_snapshot_when_a_new_one_cannot_fit(self):
        """The runtime's decision alone: a notice 0.2 s from its deadline, below the exit margin."""
        expected = self.reference_digest(self.RANKS, *self.ARGS)
        ckpt, notice = self.path("ckpt"), self.path("notice.json")
        command = mpirun(self.RANKS, "--ckpt-dir", ckpt, *self.ARGS)
        job = subprocess.Popen(command, env=environment(LULL_EVERY_STEPS=self.EVERY, LULL_NOTICE_FILE=notice),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_first_snapshot(ckpt, job)
        time.sleep(self.random.uniform(0.0, 0.4))
        write_notice(notice, 0.2)
        stdout, stderr = job.communicate(timeout=120)
        self.assertEqual(job.returncode, 75, stdout + stderr)
        committed = self.check_stopped_without_a_new_snapshot(ckpt, stdout, stderr)
        self.check_resumes_bitwise(command, environment(LULL_EVERY_STEPS=self.EVERY), committed, expected)

    def test_lull_run_with_a_grace_too_short_for_a_snapshot(self):
        """Under `lull run --grace 0.2`: resumable whether the ranks stop first or lull run escalates."""
        expected = self.reference_digest(self.RANKS, *self.ARGS)
        ckpt = self.path("ckpt")
        command = [LULL, "run", "--ckpt-dir", ckpt, "--grace", "0.2", "--every-steps", str(self.EVERY), "--",
                   *mpirun(self.RANKS, *self.ARGS)]
        job = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_first_snapshot(ckpt, job)
        time.sleep(self.random.uniform(0.0, 0.4))
        job.send_signal(signal.SIGTERM)
        stdout, stderr = job.communicate(timeout=120)
        # mpirun's teardown, or a rank slowed by a loaded machine, may outlast a grace this
        # short: lull run then escalates, and the committed snapshot makes the job resumable.
        self.assertEqual(job.returncode, 75, stdout + stderr)
        self.assertNotIn("preemption checkpoint step", stderr, "a snapshot was written although it could not fit")
        committed = inspect(ckpt)["step"]
        self.assertEqual(committed % self.EVERY, 0, f"snapshot step {committed} is not a periodic one\n{stderr}")
        self.check_resumes_bitwise(command, environment(), committed, expected)


class KilledRank(Scratch):
    def test_sigkill_of_one_rank_ends_the_job_and_a_rerun_resumes(self):
        ranks = 3
        args = ["--steps", "600", "--step-ms", STEP_MS]
        expected = self.reference_digest(ranks, *args)
        ckpt = self.path("ckpt")
        env = environment(LULL_EVERY_STEPS=40, LULL_COLLECTIVE_TIMEOUT=5)
        job = subprocess.Popen(mpirun(ranks, "--ckpt-dir", ckpt, *args), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        pids = rank_pids(job.pid, ranks)
        wait_for_first_snapshot(ckpt, job)  # so that there is one to resume from
        time.sleep(self.random.uniform(0.0, 0.8))
        killed = time.monotonic()
        os.kill(pids[1], signal.SIGKILL)
        stdout, stderr = job.communicate(timeout=60)
        took = time.monotonic() - killed
        self.assertNotIn(job.returncode, (0, 75), stdout + stderr)
        self.assertLess(took, 5 + 10, f"the other ranks took {took:.1f} s to go")
        before = inspect(ckpt)["step"]
        self.assertGreater(before, 0)
        rerun = run(mpirun(ranks, "--ckpt-dir", ckpt, *args), env)
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        self.assertIn(f"resumed from snapshot step {before}", rerun.stderr)
        self.assertEqual(digest_of(rerun.stdout), expected)


class BadSetup(Scratch):
    def test_missing_snapshot_directory_setting_is_a_clear_error(self):
        result = run(mpirun(1, "--steps", "5"), environment())
        self.assertEqual(result.returncode, 1)
        self.assertIn("LULL_CKPT_DIR", result.stderr)

    def test_malformed_environment_names_the_variable(self):
        result = run(mpirun(1, "--ckpt-dir", self.path("c"), "--steps", "5"), environment(LULL_EVERY_STEPS="ten"))
        self.assertEqual(result.returncode, 1)
        self.assertIn('LULL_EVERY_STEPS="ten"', result.stderr)

    def test_other_model_shape_refuses_to_resume(self):
        ckpt = self.path("c")
        first = run(mpirun(1, "--ckpt-dir", ckpt, "--steps", "5", "--hidden", "8"), environment())
        self.assertEqual(first.returncode, 0, first.stderr)
        second = run(mpirun(1, "--ckpt-dir", ckpt, "--steps", "10", "--hidden", "9"), environment())
        self.assertEqual(second.returncode, 1)
        self.assertIn("mlp.params", second.stderr)
        self.assertIn("no usable snapshot", second.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
