#!/usr/bin/python3
"""examples/pytorch/train_cnn.py preempted at 4 ranks, resumed at 2, preempted
again, resumed at 3: real `lull run`, real mpirun, real torch, real SIGTERMs at
random moments (a seed printed by the test; LULL_TEST_SEED repeats one).
Checked (tests/runtime/elastic_checks.py's checks, as for train_mlp), against
an uninterrupted 4-rank run:
  - every epoch the job went through is each sample exactly once, across
    the world-size changes (the example's --sample-log);
  - each resume resharded (written by 4 ranks, resharded to 2 ...);
  - the data set loss at the end is within LOSS_TOLERANCE (relative), and
    the final snapshot's parameters and Adam moments (ZeRO-1 shards of one
    tensor each, resharded at every resume) within STATE_TOLERANCE
    (relative, L2): a moment lost or misplaced at a resume is far outside
    it (docs/preemptible-programs.md, "Resuming on another number of
    ranks", says why it is not bitwise).

    /usr/bin/python3 tests/python_package/elastic_example_test.py
"""
import json
import os
import re
import subprocess
import sys

from harness import PACKAGE_DIR, main
from pytorch_example_test import EXAMPLE, LULL, SOURCE, ExampleCase, environment, example

sys.path.insert(0, os.path.join(SOURCE, "tests", "runtime"))
from elastic_checks import ElasticChecks  # noqa: E402

SAMPLES = 200  # epochs of 8 steps of 24 and a short one of 8: every rank count gets a short step
STEPS = 100
ARGS = ["--samples", str(SAMPLES), "--global-batch", "24", "--step-ms", "30"]
# Measured (4 -> 2 -> 3 ranks at random moments, 6 runs): data set loss up to 1.8e-6 relative;
# parameters up to 2.4e-5, exp_avg up to 1.0e-4, exp_avg_sq up to 4e-6 (a max-pool or ReLU that
# flips on a last-bit difference moves them by a step). Both moments zeroed at step 40 (as if lost at a
# resume): exp_avg_sq 49 % off, exp_avg 32 %, parameters up to 19 %, the loss 45 %.
LOSS_TOLERANCE = 1e-4
STATE_TOLERANCE = 1e-3



def relative_differences(job_dir, reference_dir):
    """{tensor: relative L2 difference} of the parameters and moments of two jobs' final snapshots."""
    sys.path.insert(0, PACKAGE_DIR)
    import lull  # lull.load needs no MPI: in this process

    job, reference = lull.load(job_dir), lull.load(reference_dir)

    def tensors(state):
        yield from ((f"model:{k}", v) for k, v in state["model"].items())
        yield from ((k, state[k]) for k in ("adam.exp_avg", "adam.exp_avg_sq"))

    expected = dict(tensors(reference))
    return {k: ((v.double() - expected[k].double()).norm() / expected[k].double().norm()).item()
            for k, v in tensors(job)}


def data_set_loss(stdout):
    found = re.search(r"^data set loss (\S+)$", stdout, re.M)
    if not found:
        raise AssertionError("no data set loss in:\n" + stdout[-3000:])
    return float(found.group(1))


class ElasticExample(ElasticChecks, ExampleCase):
    def test_4_then_2_then_3_ranks(self):
        reference = subprocess.run(example(4, *ARGS, "--ckpt-dir", self.ckpt + "-reference", steps=STEPS),
                                   env=environment(), capture_output=True, text=True, timeout=300)
        self.assertEqual(reference.returncode, 0, reference.stderr[-3000:])

        lull_run = [LULL, "run", "--ckpt-dir", self.ckpt, "--grace", "60", "--every-steps", "10", "--"]
        runs, stdout = self.run_parts(
            [(4, True), (2, True), (3, False)],
            lambda ranks, log: [*lull_run, *example(ranks, *ARGS, "--sample-log", log, steps=STEPS)],
            environment(LULL_LOG_LEVEL="info"),  # "resumed from snapshot step N (written by ...)"
            os.path.join(self.tmp, "samples"), rank_local="model, rng, lull.guard")
        self.assert_each_sample_once_per_epoch(runs, STEPS, SAMPLES)

        loss, expected = data_set_loss(stdout), data_set_loss(reference.stdout)
        relative = abs(loss - expected) / expected
        state = relative_differences(self.ckpt, self.ckpt + "-reference")
        print(f"resumed at steps {[resumed for _, _, resumed in runs[1:]]}; data set loss {loss:.9f}, "
              f"uninterrupted {expected:.9f}: relative {relative:.2e}; parameters and moments: relative "
              f"{max(state.values()):.2e} at most ({json.dumps(state)})", file=sys.stderr)
        self.assertLessEqual(relative, LOSS_TOLERANCE)
        for name, difference in state.items():
            self.assertLessEqual(difference, STATE_TOLERANCE, name)


if __name__ == "__main__":
    main()
