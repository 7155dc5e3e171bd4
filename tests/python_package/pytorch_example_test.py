#!/usr/bin/python3
"""examples/pytorch/train_cnn.py (DDP over gloo under mpirun) preempted and
resumed: by SIGTERMs to `lull run` at random moments (while Python still
imports torch included), and by the arbiter as a spot tenant; each time the
final digest equals an uninterrupted run's. Random moments come from a seed
printed by the test (LULL_TEST_SEED to repeat one). Run one case with
    /usr/bin/python3 tests/python_package/pytorch_example_test.py BitwiseResume.test_np2
"""
import os
import random
import signal
import subprocess
import sys
import time

from harness import BIN_DIR, PYTHON, Scratch, environment, main, require_torch

SOURCE = os.environ.get("LULL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.abspath(os.path.join(SOURCE, "examples", "pytorch", "train_cnn.py"))
LULL = os.path.abspath(os.path.join(BIN_DIR, "lull"))
STEPS = 600


def digest_of(text):
    digests = [line.split()[1] for line in text.splitlines() if line.startswith("digest ")]
    if not digests:
        raise AssertionError("no digest line in:\n" + text[-3000:])
    return digests[-1]


def example(ranks, *args, steps=STEPS):
    return ["mpirun", "--bind-to", "none", "-np", str(ranks), PYTHON, EXAMPLE, "--steps", str(steps), *args]


class ExampleCase(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)
        seed = int(os.environ.get("LULL_TEST_SEED", random.randrange(1 << 30)))
        print(f"\nLULL_TEST_SEED={seed}", file=sys.stderr)
        self.random = random.Random(seed)

    def reference(self, ranks, steps=STEPS):
        result = subprocess.run(example(ranks, "--ckpt-dir", self.ckpt + "-reference", steps=steps), env=environment(),
                                capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        return digest_of(result.stdout)


class BitwiseResume(ExampleCase):
    """At least 3 SIGTERMs to `lull run`, each at a random moment from 0.3 s after
    the start (Python importing torch) to well into training; every stopped
    run exits 75, and the last run's digest equals the uninterrupted one."""

    def preempted_until_done(self, ranks):
        command = [LULL, "run", "--ckpt-dir", self.ckpt, "--grace", "60", "--",
                   *example(ranks, "--step-ms", "30")]
        preemptions, log = 0, []
        for attempt in range(12):
            run = subprocess.Popen(command, env=environment(LULL_LOG_LEVEL="info"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
            # At most 5 s a run (Python's start included) against >= 18 s of training (600 steps
            # of >= 30 ms): three preemptions come before the job can finish, however fast the machine.
            delay = self.random.uniform(0.3, 5.0) if preemptions < 3 else None
            if delay is not None:
                try:
                    run.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    run.send_signal(signal.SIGTERM)
            try:
                stdout, stderr = run.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                raise
            log.append(f"run {attempt}: SIGTERM after {delay} s -> exit {run.returncode}")
            if run.returncode == 75:
                preemptions += 1
                continue
            self.assertEqual(run.returncode, 0, "\n".join(log) + "\n" + stderr[-4000:])
            self.assertGreaterEqual(preemptions, 3, "the job finished before three preemptions:\n" + "\n".join(log))
            return digest_of(stdout), log
        self.fail("never finished:\n" + "\n".join(log))

    def check(self, ranks):
        expected = self.reference(ranks)
        digest, log = self.preempted_until_done(ranks)
        print("\n".join(log), file=sys.stderr)
        self.assertEqual(digest, expected, "\n".join(log))

    def test_np1(self):
        self.check(1)

    def test_np2(self):
        self.check(2)


class ArbiterTenant(ExampleCase):
    """The example submitted to `lull arbiter` as a spot tenant on 2 slots,
    preempted by an internal job (train_mlp on 3 of 4 slots) and resumed in
    the lull after it: same digest as an uninterrupted run."""

    def test_preempted_and_resumed_by_the_arbiter(self):
        sys.path.insert(0, os.path.join(SOURCE, "tests", "arbiter"))
        import arbiter_harness as harness

        steps = 400  # about 16 s of training: the internal job comes while it trains
        expected = self.reference(2, steps)
        os.environ["PYTHONPATH"] = environment()["PYTHONPATH"]  # the arbiter's jobs inherit it
        arbiter = harness.Arbiter(self.tmp)
        arbiter.start()
        try:
            tenant = arbiter.submit("acme", "spot", 2, os.path.join(self.tmp, "tenant"), EXAMPLE,
                                    "--steps", str(steps), "--step-ms", "40")
            harness.wait_for(lambda: "started pid" in arbiter.job_log(tenant), 30, "the tenant to start")
            time.sleep(self.random.uniform(2.0, 8.0))
            internal = arbiter.submit("frontier", "internal", 3, os.path.join(self.tmp, "internal"), harness.TRAIN,
                                      "--steps", "40", "--step-ms", "10")
            arbiter.wait_idle([tenant, internal], 600)
            events = [(e["job"], e["event"], e["exit_code"]) for e in arbiter.events()]
            self.assertIn((tenant, "exit", 75), events, arbiter.job_log(tenant)[-3000:])
            self.assertIn((tenant, "resume", None), [(j, ev, None) for j, ev, _ in events])
            self.assertIn((tenant, "finish", None), [(j, ev, None) for j, ev, _ in events])
            self.assertEqual(digest_of(arbiter.job_log(tenant)), expected)
        finally:
            arbiter.stop()
            found = subprocess.run(["pgrep", "-f", f"lull run .*{self.tmp}"], capture_output=True, text=True)
            for pid in found.stdout.split():
                subprocess.run(["pkill", "-KILL", "-s", pid], capture_output=True)


if __name__ == "__main__":
    main()
