#!/usr/bin/python3
"""A job preempted at 4 ranks, resumed at 2, preempted again, resumed at 3.

Real `lull run`, real mpirun, real SIGTERMs at random moments, real snapshot
files. build/bin/train_mlp with a fixed global batch (96 samples a step, on
any number of ranks) over 1024 samples, so that an epoch ends on a short
step; each rank logs the samples it takes (--sample-log). Checked:
  - every epoch the job went through is a permutation of the 1024 samples:
    each consumed exactly once, across the world-size changes (a run's steps
    after the snapshot the next run resumed from are not part of the job);
  - the runtime says it resharded (written by 4 ranks, resharded to 2 ...);
  - the count of samples trained, kept per rank and summed from every old
    rank's blob on resume, equals an uninterrupted run's;
  - the loss over the whole data set at the end is within TOLERANCE
    (relative) of an uninterrupted 4-rank run's (docs/preemptible-programs.md,
    "Resuming on another number of ranks", says why it is not bitwise).

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/elastic_resume_test.py
Random moments come from a seed printed by the test (LULL_TEST_SEED to repeat one).
"""
import collections
import os
import re
import signal
import subprocess
import time
import unittest

from runtime_resume_test import LULL, TRAIN, Scratch, environment

SAMPLES = 1024
ARGS = ["--samples", str(SAMPLES), "--global-batch", "96", "--steps", "200", "--step-ms", "15"]
TOLERANCE = 1e-3  # relative, on the data set loss; measured about 2e-6 (4 -> 2 -> 3, 120 steps)


def final_figures(stdout):
    """(data set loss, samples trained) from a finished train_mlp's output."""
    loss = re.search(r"^data set loss (\S+)$", stdout, re.M)
    trained = re.search(r"samples trained (\d+)$", stdout, re.M)
    if not loss or not trained:
        raise AssertionError("no final figures in:\n" + stdout)
    return float(loss.group(1)), int(trained.group(1))


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


class ElasticResume(Scratch):
    def wait_for_lines(self, prefix, job, lines, timeout=120):
        """Until rank 0 of the run logging to `prefix` has taken `lines` steps."""
        deadline = time.monotonic() + timeout
        path = prefix + ".rank0"
        while time.monotonic() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    if f.read().count("\n") >= lines:
                        return
            if job.poll() is not None:
                raise AssertionError(f"the run exited {job.returncode} before taking {lines} steps")
            time.sleep(0.02)
        raise AssertionError(f"no {lines} steps within {timeout} s")

    def run_part(self, ranks, ckpt, log, preempt):
        command = [LULL, "run", "--ckpt-dir", ckpt, "--grace", "30", "--every-steps", "10", "--",
                   "mpirun", "-np", str(ranks), TRAIN, *ARGS, "--sample-log", log]
        job = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if preempt:
            # Past its first periodic snapshot, then a random moment: a SIGTERM to lull run.
            self.wait_for_lines(log, job, 12)
            time.sleep(self.random.uniform(0.0, 0.6))
            job.send_signal(signal.SIGTERM)
        stdout, stderr = job.communicate(timeout=300)
        expected = 75 if preempt else 0
        self.assertEqual(job.returncode, expected, f"{ranks} ranks: exit {job.returncode}\n{stdout}\n{stderr}")
        resumed = re.search(r"resumed from snapshot step (\d+)(.*)", stderr)
        return stdout, stderr, int(resumed.group(1)) if resumed else 0, resumed.group(2) if resumed else ""

    def test_4_then_2_then_3_ranks(self):
        reference = subprocess.run(["mpirun", "-np", "4", TRAIN, "--ckpt-dir", self.path("reference"), *ARGS],
                                   env=environment(), capture_output=True, text=True, timeout=300)
        self.assertEqual(reference.returncode, 0, reference.stderr)
        reference_loss, reference_trained = final_figures(reference.stdout)

        ckpt = self.path("ckpt")
        parts = [(4, True), (2, True), (3, False)]
        runs = []  # (ranks, log prefix, step resumed from, stdout)
        for index, (ranks, preempt) in enumerate(parts):
            log = self.path(f"samples-{index}")
            stdout, stderr, resumed, note = self.run_part(ranks, ckpt, log, preempt)
            if index > 0:
                previous = parts[index - 1][0]
                self.assertGreater(resumed, 0, stderr)
                self.assertIn(f"(written by {previous} ranks, resharded to {ranks})", note)
                self.assertIn("rank-local state (data_cursor, rng) is not loaded", note)
            runs.append((ranks, log, resumed, stdout))

        # The job's own steps: each run's up to the step the next one resumed from.
        epochs = collections.defaultdict(list)
        taken_steps = []
        for index, (ranks, log, resumed, _) in enumerate(runs):
            until = runs[index + 1][2] if index + 1 < len(runs) else None
            steps = read_sample_log(log, ranks)
            self.assertEqual(min(steps), resumed + 1, f"run {index} did not start after its snapshot")
            for step, shares in sorted(steps.items()):
                if until is not None and step > until:
                    continue
                self.assertEqual(len(shares), ranks, f"step {step} of run {index}: not every rank logged it")
                self.assertEqual(len({epoch for epoch, _ in shares}), 1, f"step {step}: ranks in different epochs")
                epochs[shares[0][0]].extend(i for _, ids in shares for i in ids)
                taken_steps.append(step)
        self.assertEqual(taken_steps, list(range(1, 201)), "the job's steps are not 1..200, each once")

        last = max(epochs)
        for epoch in range(last):
            self.assertEqual(sorted(epochs[epoch]), list(range(SAMPLES)),
                             f"epoch {epoch} is not each sample exactly once")
        self.assertEqual(len(epochs[last]), len(set(epochs[last])), f"a sample twice in the last epoch {last}")

        loss, trained = final_figures(runs[-1][3])
        self.assertEqual(trained, reference_trained, "samples trained: old ranks' counts were lost or doubled")
        self.assertEqual(trained, sum(len(ids) for ids in epochs.values()))
        relative = abs(loss - reference_loss) / reference_loss
        print(f"data set loss {loss:.9f}, uninterrupted 4 ranks {reference_loss:.9f}: relative {relative:.2e}")
        self.assertLessEqual(relative, TOLERANCE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
