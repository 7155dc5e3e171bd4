"""What the tests of a job resumed on other numbers of ranks share:
elastic_resume_test.py (train_mlp under `lull run`), tests/arbiter/elastic_arbiter_test.py
(through the arbiter, with --min-ranks) and tests/python_package/elastic_example_test.py
(examples/pytorch/train_cnn.py under `lull run`). train_mlp's arguments for them, the
documented tolerance, and ElasticChecks, the checks of a job that ran as
several runs, each on its own number of ranks, each logging the samples its
ranks took (--sample-log: rank r appends `step epoch id...` per step to
PREFIX.rank<r>, whole lines)."""

import collections
import os
import re
import signal
import subprocess
import time

SAMPLES = 1024  # not a multiple of the global batch: an epoch ends on a short step


def train_args(steps, step_ms):
    """train_mlp's arguments: a fixed global batch (96 samples a step on any number of ranks)."""
    return ["--samples", str(SAMPLES), "--global-batch", "96", "--steps", str(steps), "--step-ms", str(step_ms)]


# Relative, on the data set loss, against an uninterrupted run; measured about 2e-6 (4 -> 2 -> 3
# ranks, 120 steps). docs/preemptible-programs.md, "Resuming on another number of ranks", says why
# it is not bitwise.
TOLERANCE = 1e-3

RESUMED = re.compile(r"resumed from snapshot step (\d+)(.*)")


def resumed_from(text):
    """[(step, the rest of the line), ...]: each "resumed from snapshot step N" in `text`, in order."""
    return [(int(m.group(1)), m.group(2)) for m in RESUMED.finditer(text)]


def final_figures(stdout):
    """(data set loss, samples trained) from a finished train_mlp's output."""
    loss = re.search(r"^data set loss (\S+)$", stdout, re.M)
    trained = re.search(r"samples trained (\d+)$", stdout, re.M)
    if not loss or not trained:
        raise AssertionError("no final figures in:\n" + stdout[-3000:])
    return float(loss.group(1)), int(trained.group(1))


def steps_logged(prefix):
    """How many steps rank 0 of the run logging to `prefix` has taken (0 before its log exists)."""
    try:
        with open(prefix + ".rank0") as f:
            return f.read().count("\n")
    except FileNotFoundError:
        return 0


def read_sample_log(prefix, ranks):
    """{step: [(epoch, ids of one rank), ...]} from the files PREFIX.rank<r>."""
    steps = collections.defaultdict(list)
    for rank in range(ranks):
        path = f"{prefix}.rank{rank}"
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    continue  # a line the rank had not finished (it only flushes whole steps)
                fields = [int(v) for v in line.split()]
                steps[fields[0]].append((fields[1], fields[2:]))
    return steps


class ElasticChecks:
    """Checks for a unittest.TestCase (mix in before it; it has self.random)."""

    def wait_for_steps(self, prefix, job, steps, timeout=120):
        """Until rank 0 of the run `job` logging to `prefix` has taken `steps` steps."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if steps_logged(prefix) >= steps:
                return
            if job.poll() is not None:
                raise AssertionError(f"the run exited {job.returncode} before taking {steps} steps")
            time.sleep(0.02)
        raise AssertionError(f"no {steps} steps within {timeout} s")

    def run_part(self, command, log, env, preempt_after=None):
        """Runs `command` (`lull run ... -- mpirun ...` whose program logs to `log`). With
        `preempt_after` steps, once rank 0 has taken them (past a periodic snapshot), a SIGTERM to
        lull run at a random moment of the next 0.6 s: the run must exit 75, else 0.
        Returns (stdout, stderr, the step it resumed from (0: none), the rest of that line)."""
        job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if preempt_after is not None:
                self.wait_for_steps(log, job, preempt_after)
                time.sleep(self.random.uniform(0.0, 0.6))
                job.send_signal(signal.SIGTERM)
            stdout, stderr = job.communicate(timeout=300)
        finally:
            if job.poll() is None:
                job.kill()
                job.communicate()
        expected = 75 if preempt_after is not None else 0
        self.assertEqual(job.returncode, expected, f"exit {job.returncode}: {command}\n{stdout}\n{stderr[-4000:]}")
        resumed = resumed_from(stderr)
        return stdout, stderr, *(resumed[0] if resumed else (0, ""))

    def run_parts(self, parts, command_for, env, log_prefix, rank_local="data_cursor, rng"):
        """The job as runs on `parts` ([(ranks, preempted?)], in order): command_for(ranks, log) is
        a run's command; each preempted one gets a SIGTERM past its first periodic snapshot (12
        steps, with --every-steps 10); each later run must resume mid-job, resharded. Returns
        ([(ranks, log, step it resumed from)], the last run's stdout) for the checks below."""
        runs, stdout = [], ""
        for index, (ranks, preempt) in enumerate(parts):
            log = f"{log_prefix}-{index}"
            stdout, stderr, resumed, note = self.run_part(command_for(ranks, log), log, env, 12 if preempt else None)
            if index > 0:
                self.assertGreater(resumed, 0, stderr)
                self.assert_resharded(note, parts[index - 1][0], ranks, rank_local)
            runs.append((ranks, log, resumed))
        return runs, stdout

    def assert_resharded(self, note, previous, ranks, rank_local="data_cursor, rng"):
        """`note`, the rest of a run's "resumed from snapshot step N" line, says it resharded and
        left the rank-local state `rank_local` (the blobs' names, as the runtime lists them) alone."""
        self.assertIn(f"(written by {previous} ranks, resharded to {ranks})", note)
        self.assertIn(f"rank-local state ({rank_local}) is not loaded", note)

    def assert_each_sample_once_per_epoch(self, runs, steps, samples=SAMPLES):
        """`runs`: [(ranks, sample log prefix, step it resumed from (0: the first)), ...] in order.

        The job's steps are each run's up to the step the next one resumed from (a run's steps
        after it are not part of the job): they must be 1..steps, each taken once by every rank of
        its run, and every epoch the job went through a permutation of the samples (the last one,
        unfinished, without repeats). Returns {epoch: [sample ids trained]}."""
        epochs = collections.defaultdict(list)
        taken_steps = []
        for index, (ranks, log, resumed) in enumerate(runs):
            until = runs[index + 1][2] if index + 1 < len(runs) else None
            logged = read_sample_log(log, ranks)
            self.assertTrue(logged, f"run {index} ({ranks} ranks) logged no step in {log}.rank*")
            self.assertEqual(min(logged), resumed + 1, f"run {index} did not start after its snapshot")
            for step, shares in sorted(logged.items()):
                if until is not None and step > until:
                    continue
                self.assertEqual(len(shares), ranks, f"step {step} of run {index}: not every rank logged it")
                self.assertEqual(len({epoch for epoch, _ in shares}), 1, f"step {step}: ranks in different epochs")
                epochs[shares[0][0]].extend(i for _, ids in shares for i in ids)
                taken_steps.append(step)
        self.assertEqual(taken_steps, list(range(1, steps + 1)), f"the job's steps are not 1..{steps}, each once")

        last = max(epochs)
        for epoch in range(last):
            self.assertEqual(sorted(epochs[epoch]), list(range(samples)), f"epoch {epoch} is not each sample exactly once")
        self.assertEqual(len(epochs[last]), len(set(epochs[last])), f"a sample twice in the last epoch {last}")
        return epochs

    def assert_as_if_uninterrupted(self, stdout, reference_stdout, epochs):
        """The finished job's output against an uninterrupted run's: the same count of samples trained
        (every old rank's count kept, none doubled; the samples the job's steps logged) and a data set
        loss within TOLERANCE."""
        loss, trained = final_figures(stdout)
        reference_loss, reference_trained = final_figures(reference_stdout)
        self.assertEqual(trained, reference_trained, "samples trained: old ranks' counts were lost or doubled")
        self.assertEqual(trained, sum(len(ids) for ids in epochs.values()))
        relative = abs(loss - reference_loss) / reference_loss
        print(f"data set loss {loss:.9f}, uninterrupted {reference_loss:.9f}: relative {relative:.2e}")
        self.assertLessEqual(relative, TOLERANCE)
