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
These checks are elastic_checks.py's, shared with tests/arbiter/elastic_arbiter_test.py.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/elastic_resume_test.py
Random moments come from a seed printed by the test (LULL_TEST_SEED to repeat one).
"""
import subprocess
import unittest

from elastic_checks import ElasticChecks, train_args
from runtime_resume_test import LULL, TRAIN, Scratch, environment

STEPS = 200
ARGS = train_args(STEPS, 15)


class ElasticResume(ElasticChecks, Scratch):
    def test_4_then_2_then_3_ranks(self):
        reference = subprocess.run(["mpirun", "-np", "4", TRAIN, "--ckpt-dir", self.path("reference"), *ARGS],
                                   env=environment(), capture_output=True, text=True, timeout=300)
        self.assertEqual(reference.returncode, 0, reference.stderr)

        lull_run = [LULL, "run", "--ckpt-dir", self.path("ckpt"), "--grace", "30", "--every-steps", "10", "--"]
        runs, stdout = self.run_parts([(4, True), (2, True), (3, False)],
                                      lambda ranks, log: [*lull_run, "mpirun", "-np", str(ranks), TRAIN, *ARGS,
                                                          "--sample-log", log],
                                      environment(), self.path("samples"))
        epochs = self.assert_each_sample_once_per_epoch(runs, STEPS)
        self.assert_as_if_uninterrupted(stdout, reference.stdout, epochs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
