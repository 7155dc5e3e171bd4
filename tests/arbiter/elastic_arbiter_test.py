#!/usr/bin/python3
"""An elastic tenant through the arbiter: submitted with --ranks 4 --min-ranks 2
on a 4-slot node whose policy allows resuming on fewer and more ranks
(test_policy.toml: [resume], idle_before_lull 1 s), run on 4 ranks, resumed
on 2, then on 3, each time by the arbiter's own decision.

Real `lull arbiter`, real `lull run` + mpirun + train_mlp (the arguments and
checks of tests/runtime/elastic_resume_test.py, from elastic_checks.py), real
internal jobs that hold their slots until the test lets them go. The decision
core is driven to one outcome, never one of two interleavings:
  1. the tenant runs on the 4 slots;
  2. internal job A asks for 2: the tenant is preempted; on its exit A takes 2
     slots, and the 2 it gave back are still in the lull, as many as its
     min_ranks: it resumes at once on 2 (resume.fewer_ranks);
  3. internal job B asks for 1: the tenant is preempted again; B takes 1 slot;
     1 is left, fewer than its min_ranks: it waits;
  4. only then A ends: its 2 slots idle for idle_before_lull, and the tenant,
     the only job waiting, resumes on the 3 in the lull (resume.more_ranks).
Checked: the arbiter's events (start on 4 slots, resume on 2, resume on 3,
two exits 75, the finish) and status (3 runs, finished); the runtime resharded
each time (its "resumed from snapshot step" lines, the steps the arbiter's
resume events name); every epoch of the job a permutation of the samples, the
samples trained and the data set loss as an uninterrupted 4-rank run's within
the documented tolerance.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/arbiter/elastic_arbiter_test.py Elastic
"""

import os
import shlex
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "runtime"))
from arbiter_harness import TRAIN, ArbiterCase, wait_for  # noqa: E402
from elastic_checks import ElasticChecks, resumed_from, steps_logged, train_args  # noqa: E402

STEPS = 300
ARGS = train_args(STEPS, 25)  # 7.5 s of steps at least: each notice comes long before the end
STEPS_BEFORE_NOTICE = 10  # steps a run takes before the internal job that preempts it is submitted


class Elastic(ElasticChecks, ArbiterCase):
    def script(self, name, text):
        path = self.path(name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + text)
        os.chmod(path, 0o755)
        return path

    def sample_log(self, ranks):
        """The sample log prefix of the tenant's run on `ranks` ranks (see tenant.sh)."""
        return self.path(f"samples-np{ranks}")

    def wait_for_steps(self, ranks, steps):
        wait_for(lambda: steps_logged(self.sample_log(ranks)) >= steps, 120,
                 f"the tenant's run on {ranks} ranks to take {steps} steps")

    def test_4_then_2_then_3_ranks(self):
        reference = self.reference_output(4, *ARGS)
        # Each run of the tenant logs its samples apart, by its number of ranks (Open MPI tells each rank).
        tenant_program = self.script("tenant.sh", f'exec {shlex.quote(TRAIN)} "$@" --sample-log '
                                     f'{shlex.quote(self.path("samples"))}-np"${{OMPI_COMM_WORLD_SIZE:?not under Open MPI}}"\n')
        # An internal job holding its slots until the file $1 exists.
        holder = self.script("hold.sh", 'while [ ! -e "$1" ]; do sleep 0.05; done\n')
        release_a, release_b = self.path("release-a"), self.path("release-b")

        arbiter = self.arbiter()
        tenant = arbiter.submit("acme", "spot", 4, self.path("ckpt", "tenant"), tenant_program, *ARGS, min_ranks=2)
        self.wait_for_steps(4, STEPS_BEFORE_NOTICE)
        a = arbiter.submit("frontier", "internal", 2, self.path("ckpt", "a"), holder, release_a)
        self.wait_for_steps(2, STEPS_BEFORE_NOTICE)
        b = arbiter.submit("frontier", "internal", 1, self.path("ckpt", "b"), holder, release_b)

        def tenant_waits_beside_b():
            events = [(e["job"], e["event"], e["exit_code"]) for e in arbiter.events()]
            return events.count((tenant, "exit", 75)) == 2 and (b, "start", None) in events
        wait_for(tenant_waits_beside_b, 60, "the tenant's second exit and job B's start")
        states = {j["job"]: j["state"] for j in arbiter.status()["jobs"]}
        self.assertEqual(states, {tenant: "resumable", a: "running", b: "running"})
        open(release_a, "w").close()
        self.wait_for_steps(3, 1)
        open(release_b, "w").close()
        arbiter.wait_idle([tenant, a, b], 120)

        events = arbiter.events()
        self.assert_in_order(events, [
            (tenant, "start"), (a, "submit"), (tenant, "notice"), (tenant, "exit", 75), (a, "start"),
            (tenant, "resume"), (b, "submit"), (tenant, "notice"), (tenant, "exit", 75), (b, "start"),
            (a, "exit", 0), (tenant, "resume"), (tenant, "exit", 0), (tenant, "finish")])
        runs = [e for e in events if e["job"] == tenant and e["event"] in ("start", "resume")]
        self.assertEqual([(e["event"], e["ranks"], len(e["slots"])) for e in runs],
                         [("start", 4, 4), ("resume", 2, 2), ("resume", 3, 3)])
        notices = [e["reason"] for e in events if e["job"] == tenant and e["event"] == "notice"]
        self.assertEqual([reason.split(";")[0] for reason in notices], [f"preempted for job {a}", f"preempted for job {b}"])
        ended = {e["job"]: e for e in arbiter.status()["ended"]}
        self.assertEqual((ended[tenant]["outcome"], ended[tenant]["runs"]), ("finished", 3))

        log = arbiter.job_log(tenant)
        resumed = resumed_from(log)
        self.assertEqual(len(resumed), 2, log[-3000:])
        for (step, note), run, (previous, ranks) in zip(resumed, runs[1:], ((4, 2), (2, 3))):
            self.assertIn(f"from snapshot step {step}", run["reason"])
            self.assert_resharded(note, previous, ranks)
        epochs = self.assert_each_sample_once_per_epoch(
            [(4, self.sample_log(4), 0), (2, self.sample_log(2), resumed[0][0]), (3, self.sample_log(3), resumed[1][0])],
            STEPS)
        self.assert_as_if_uninterrupted(log, reference, epochs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
