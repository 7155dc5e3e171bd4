#!/usr/bin/python3
"""`lull run --every-seconds auto`: the periodic checkpoint interval follows
Young/Daly from the checkpoint cost the ranks measure.

Real `lull run`, real mpirun, 2 ranks of build/bin/train_mlp for 12 s or more,
LULL_MEAN_SECONDS_BETWEEN_NOTICES=1000 (as the arbiter would set it).
Checked from rank 0's log:
  - the first periodic checkpoint comes before any cost is known (2 s after
    the start: it measures the cost);
  - the interval then logged is sqrt(2 x cost x 1000) within 2..3600 s, the
    cost being the first checkpoint's own figure;
  - no more periodic checkpoints than the intervals allow in the run's wall
    time, and another one when the run lasted long enough for it;
  - the digest equals an uninterrupted run's without periodic checkpoints.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/automatic_interval_test.py
"""
import math
import re
import time
import unittest

from runtime_resume_test import LULL, Scratch, digest_of, environment, mpirun, run

ARGS = ["--steps", "600", "--step-ms", "20"]
MEAN_BETWEEN_NOTICES = 1000


class AutomaticInterval(Scratch):
    def test_interval_follows_the_measured_cost(self):
        started = time.monotonic()
        result = run(
            [LULL, "run", "--ckpt-dir", self.path("ckpt"), "--every-seconds", "auto", "--", *mpirun(2, *ARGS)],
            environment(LULL_MEAN_SECONDS_BETWEEN_NOTICES=MEAN_BETWEEN_NOTICES, LULL_LOG_LEVEL="info"),
        )
        wall = time.monotonic() - started
        self.assertEqual(result.returncode, 0, result.stderr)
        log = [line for line in result.stderr.splitlines() if "rank=0]" in line]
        costs = [float(m.group(1)) for line in log if (m := re.search(r"periodic checkpoint step \d+: \d+ bytes in ([\d.]+) s", line))]
        changes = [re.search(r"checkpoint interval now ([\d.]+) s \(sqrt\(2 x cost ([\d.]+) s x mean time between "
                             r"notices (\d+) s\), within 2\.\.3600 s\)", line) for line in log]
        changes = [m for m in changes if m]
        self.assertGreaterEqual(len(costs), 1, "no periodic checkpoint:\n" + "\n".join(log))
        self.assertTrue(changes, "the interval never changed from its first 2 s:\n" + "\n".join(log))

        first = changes[0]
        interval, cost, between = float(first.group(1)), float(first.group(2)), int(first.group(3))
        self.assertEqual(between, MEAN_BETWEEN_NOTICES)
        self.assertAlmostEqual(cost, costs[0], delta=0.0015, msg="the first change is from the first checkpoint's cost")
        expected = min(3600, max(2, math.sqrt(2 * cost * between)))
        self.assertAlmostEqual(interval, expected, delta=0.1 + 0.05 * expected)

        intervals = [2.0] + [float(m.group(1)) for m in changes]
        self.assertLessEqual(len(costs), 1 + wall / min(intervals), f"more checkpoints than the intervals allow in {wall:.1f} s")
        if wall > 2 + max(intervals) + 10:  # start-up and the last steps: slack on a loaded machine
            self.assertGreaterEqual(len(costs), 2, f"one periodic checkpoint in {wall:.1f} s:\n" + "\n".join(log))

        reference = run(mpirun(2, "--ckpt-dir", self.path("reference"), *ARGS), environment())
        self.assertEqual(reference.returncode, 0, reference.stderr)
        self.assertEqual(digest_of(result.stdout), digest_of(reference.stdout))


if __name__ == "__main__":
    unittest.main(verbosity=2)
