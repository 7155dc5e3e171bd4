#!/usr/bin/python3
"""The node arbiter with real processes: a real `lull arbiter`, real clients,
real `lull run` + mpirun + train_mlp jobs, real SIGKILL.

Run one case with
    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/arbiter/arbiter_test.py Scenario
Cases:
  Scenario        a tenant job on 4 slots; an internal job needing 3 arrives midway: the tenant is
                  noticed, checkpoints, exits 75; the internal job runs and finishes; the tenant
                  resumes and finishes with the digest of an uninterrupted run; events and metrics
  BadSubmissions  unknown tenant/class, class mismatch, too many ranks, missing or non-executable
                  program, unusable snapshot directories, cancel of unknown jobs: clear errors naming
                  the field, exit 1, nothing queued; malformed requests answered, the arbiter survives
  ArbiterKilled   SIGKILL of the arbiter mid-run (a preemption under way), restart: running jobs
                  adopted, every job finishes with its reference digest; then again for a queue
  Burst           100 submissions at once: 100 distinct ids, each submitted, started, finished once
  ExitFile        `lull run --exit-file`: the code and its meaning, written atomically
  Drain           drain notices the tenant job (exit 75, stays queued), refuses submissions while an
                  internal job runs on, the arbiter exits once idle; a new arbiter resumes the job
                  to its end
  AutomaticInterval  a class with checkpoint_interval = "auto": its runs get --every-seconds auto,
                  and once a run of the class was noticed, the next run is told the class's
                  observed mean time between notices (LULL_MEAN_SECONDS_BETWEEN_NOTICES)
Isolation (a non-root submitter) is in isolation_test.py; the helpers in arbiter_harness.py.
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arbiter_harness import LULL, NOBODY, TRAIN, ArbiterCase, digest_of, environment, wait_for  # noqa: E402


class Scenario(ArbiterCase):
    def test_preempt_resume_same_digest(self):
        tenant_args = ["--steps", "400", "--step-ms", "10"]
        internal_args = ["--steps", "60", "--step-ms", "10"]
        expected = self.reference_digest(4, "--steps", "400")
        arbiter = self.arbiter()
        tenant = arbiter.submit("acme", "spot", 4, self.path("ckpt", "tenant"), TRAIN, *tenant_args)
        wait_for(lambda: "started pid" in arbiter.job_log(tenant), 20, "the tenant job to start")
        time.sleep(1.5)  # well into its steps
        internal = arbiter.submit("frontier", "internal", 3, self.path("ckpt", "internal"), TRAIN, *internal_args)
        arbiter.wait_idle([tenant, internal], 90)

        events = arbiter.events()
        self.assert_in_order(events, [
            (tenant, "submit"), (tenant, "start"), (internal, "submit"), (tenant, "notice"),
            (tenant, "checkpoint"), (tenant, "exit", 75), (internal, "start"), (internal, "exit", 0),
            (internal, "finish"), (tenant, "resume"), (tenant, "exit", 0), (tenant, "finish")])
        for e in events:
            for key in ("time", "event", "job", "tenant", "class", "slots", "ranks", "step", "exit_code", "reason"):
                self.assertIn(key, e)
        start = next(e for e in events if e["job"] == internal and e["event"] == "start")
        self.assertEqual(len(start["slots"]), 3)
        resume = next(e for e in events if e["job"] == tenant and e["event"] == "resume")
        self.assertEqual(resume["slots"], [0, 1, 2, 3])
        notice_checkpoint = next(e for e in events if e["job"] == tenant and e["event"] == "checkpoint")
        self.assertGreater(notice_checkpoint["step"], 0)
        self.assertLess(notice_checkpoint["step"], 400)
        self.assertEqual(digest_of(arbiter.job_log(tenant)), expected)
        self.assertIn(f"resumed from snapshot step {notice_checkpoint['step']}", arbiter.job_log(tenant))

        metrics = arbiter.metrics()
        self.assertEqual(metrics['lull_arbiter_preemptions_total{class="spot"}'], 1)
        self.assertEqual(metrics['lull_arbiter_jobs_finished_total{class="spot"}'], 1)
        self.assertEqual(metrics['lull_arbiter_jobs_finished_total{class="internal"}'], 1)
        self.assertEqual(metrics['lull_arbiter_jobs_resumed_total{class="spot"}'], 1)
        self.assertEqual(metrics["lull_arbiter_notice_to_exit_seconds_count"], 1)
        self.assertLess(metrics["lull_arbiter_notice_to_exit_seconds_sum"], 10)
        self.assertEqual(metrics['lull_arbiter_slots_busy{class="spot"}'], 0)
        self.assertEqual(metrics["lull_arbiter_slots"], 4)


class AutomaticInterval(ArbiterCase):
    def test_runs_are_told_the_observed_time_between_notices(self):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_policy.toml")) as f:
            policy = f.read().replace('checkpoint_interval = "0s"', 'checkpoint_interval = "auto"')
        self.assertIn('"auto"', policy)
        with open(self.path("auto_policy.toml"), "w") as f:
            f.write(policy)
        # The tenant's program shows what each rank was told, then trains.
        wrapper = self.path("show_interval_settings")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\necho \"told: every ${LULL_EVERY_SECONDS:-unset}, mean between notices "
                    "${LULL_MEAN_SECONDS_BETWEEN_NOTICES:-unset}\"\nexec \"$@\"\n")
        os.chmod(wrapper, 0o755)
        arbiter = self.arbiter(policy=self.path("auto_policy.toml"))
        tenant = arbiter.submit("acme", "spot", 2, self.path("ckpt", "tenant"), wrapper, TRAIN,
                                "--steps", "300", "--step-ms", "10")
        wait_for(lambda: "told:" in arbiter.job_log(tenant), 30, "the tenant job to start")
        time.sleep(1.5)  # into its steps
        internal = arbiter.submit("frontier", "internal", 3, self.path("ckpt", "internal"), TRAIN, "--steps", "20")
        arbiter.wait_idle([tenant, internal], 120)

        events = arbiter.job_events(tenant)
        started = next(e for e in events if e["event"] == "start")
        first_exit = next(e for e in events if e["event"] == "exit")
        self.assertEqual(first_exit["exit_code"], 75, events)
        first_run_seconds = first_exit["time"] - started["time"]
        told = [line for line in arbiter.job_log(tenant).splitlines() if line.startswith("told:")]
        self.assertEqual(len(told), 4, "two ranks in each of two runs:\n" + "\n".join(told))
        self.assertEqual(told[:2], ["told: every auto, mean between notices unset"] * 2, "nothing observed yet")
        for line in told[2:]:
            mean = float(line.rsplit(" ", 1)[1])
            # One notice in the class's only ended run: its wall time (event times are rounded to ms).
            self.assertAlmostEqual(mean, first_run_seconds, delta=0.01, msg=line)
            self.assertTrue(line.startswith("told: every auto, "), line)
        banner = [line for line in arbiter.job_log(tenant).splitlines() if line.startswith("=== lull arbiter")]
        self.assertTrue(all("--every-seconds auto" in line for line in banner), banner)
        self.assertEqual(arbiter.metrics()['lull_arbiter_preemptions_total{class="spot"}'], 1)


class BadSubmissions(ArbiterCase):
    def refused(self, arbiter, args, *fragments, code=1):
        result = arbiter.lull("submit", *args, check=False)
        self.assertEqual(result.returncode, code, f"{args}: {result.stdout}{result.stderr}")
        for fragment in fragments:
            self.assertIn(fragment, result.stderr, args)
        return result.stderr

    def test_clear_errors(self):
        arbiter = self.arbiter()
        ckpt = self.path("ckpt")
        good = ["--tenant", "acme", "--class", "spot", "--ranks", "1", "--ckpt-dir", ckpt, "--", "/bin/true"]

        def with_(**changes):
            args = list(good)
            for key, value in changes.items():
                flag = "--" + key.replace("_", "-")
                if flag == "--program":
                    args[args.index("--") + 1] = value
                else:
                    args[args.index(flag) + 1] = value
            return args

        self.refused(arbiter, with_(tenant="nobody"), 'tenant: unknown tenant "nobody" (known: acme, frontier, globex)')
        self.refused(arbiter, with_(**{"class": "gold"}), 'class: unknown class "gold" (known: internal, spot)')
        self.refused(arbiter, with_(**{"class": "internal"}), 'class: tenant "acme" is of class "spot", not "internal"')
        self.refused(arbiter, with_(tenant="../x"), 'tenant: "../x" is not a valid name')
        self.refused(arbiter, ["--tenant", "globex", "--class", "spot", "--ranks", "3", "--ckpt-dir", ckpt, "--", "/bin/true"],
                     "ranks:", "quota of 2 slots")
        self.refused(arbiter, with_(ranks="0"), "--ranks: Value 0 not in range 1 to", code=2)  # the command line's
        self.refused(arbiter, ["--tenant", "frontier", "--class", "internal", "--ranks", "9", "--ckpt-dir", ckpt, "--", "/bin/true"],
                     "ranks:", "9 ranks exceed")
        self.refused(arbiter, with_(program="/nonexistent/train"), 'program: "/nonexistent/train" does not exist')
        self.refused(arbiter, with_(program="no-such-program-anywhere"), 'program: "no-such-program-anywhere" is not found in PATH')
        not_executable = self.path("script.sh")
        with open(not_executable, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(not_executable, 0o644)
        self.refused(arbiter, with_(program=not_executable), "program:", "not executable")
        self.refused(arbiter, with_(program="/tmp"), "program:", "not a regular file")

        world = self.path("world")
        os.mkdir(world)
        os.chmod(world, 0o777)
        self.refused(arbiter, with_(ckpt_dir=world), "ckpt_dir:", "world-writable")
        self.refused(arbiter, with_(ckpt_dir=not_executable), "ckpt_dir:", "not a directory")
        foreign = self.path("foreign")
        os.mkdir(foreign, 0o700)
        os.chown(foreign, NOBODY, NOBODY)
        self.refused(arbiter, with_(ckpt_dir=foreign), "ckpt_dir:", f"owned by uid {NOBODY}, not by the submitter")
        self.refused(arbiter, with_(ckpt_dir=os.path.join(not_executable, "sub")), "ckpt_dir:", "Not a directory")

        # Nothing was queued or started by any of these; each left a reject event.
        status = arbiter.status()
        self.assertEqual(status["jobs"], [])
        self.assertEqual([e for e in arbiter.events() if e["event"] == "start"], [])
        # 15 refused; --ranks 0 and a program not in PATH were refused by the client itself.
        self.assertEqual(len([e for e in arbiter.events() if e["event"] == "reject"]), 13)

        result = arbiter.lull("cancel", "999", check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no job 999", result.stderr)
        result = arbiter.lull("cancel", "abc", check=False)
        self.assertEqual(result.returncode, 2)

        # And the good submission goes through.
        job = json.loads(arbiter.lull("submit", "--json", *good).stdout)["job"]
        arbiter.wait_idle([job], 30)
        self.assertEqual([e["event"] for e in arbiter.job_events(job)][-1], "finish")

    def test_malformed_requests(self):
        import socket as sockets
        arbiter = self.arbiter()
        for line in (b'{"op": 5}\n', b'not json\n', b'{"op": "submit", "spec": 3}\n', b'{"op": "cancel", "job": "x"}\n'):
            with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as client:
                client.connect(arbiter.socket)
                client.sendall(line)
                answer = json.loads(client.makefile().readline())
            self.assertFalse(answer["ok"], line)
            self.assertTrue(answer["error"], line)
        self.assertIsNone(arbiter.process.poll(), "the arbiter survives bad requests")
        self.assertEqual(arbiter.status()["jobs"], [])

    def test_arbiter_not_running(self):
        result = subprocess.run([LULL, "status"], env=environment(LULL_ARBITER_SOCKET=self.path("none.sock")),
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot reach the arbiter", result.stderr)
        self.assertIn("is the arbiter running?", result.stderr)


class ArbiterKilled(ArbiterCase):
    def test_sigkill_mid_run_loses_no_job(self):
        # 6 s of steps: the tenants must still run when a restarted arbiter on a loaded machine
        # gets to preempt one of them for the internal job.
        args = ["--steps", "600", "--step-ms", "10"]
        expected = {2: self.reference_digest(2, "--steps", "600"), 1: self.reference_digest(1, "--steps", "600")}
        arbiter = self.arbiter()
        a = arbiter.submit("acme", "spot", 2, self.path("ckpt", "a"), TRAIN, *args)
        b = arbiter.submit("globex", "spot", 2, self.path("ckpt", "b"), TRAIN, *args)
        wait_for(lambda: all("started pid" in arbiter.job_log(j) for j in (a, b)), 20, "both tenant jobs to start")
        time.sleep(1.0)
        internal = arbiter.submit("frontier", "internal", 2, self.path("ckpt", "internal"), TRAIN, "--steps", "60", "--step-ms", "10")
        queued = arbiter.submit("acme", "spot", 1, self.path("ckpt", "queued"), TRAIN, *args)
        time.sleep(0.2)  # the notice is out; the victim is checkpointing
        arbiter.kill9()
        # The tenant that was not noticed runs on; whether the noticed one has
        # already exited 75 and whether the internal job has started depend on
        # the machine's timing, so only one run is certain to be there.
        running = subprocess.run(["pgrep", "-f", f"lull run .*{self.dir}"], capture_output=True, text=True).stdout.split()
        self.assertGreaterEqual(len(running), 1, "jobs must outlive the arbiter")

        arbiter.start()
        self.assertIn("adopted lull run", arbiter.log())
        jobs = [a, b, internal, queued]
        arbiter.wait_idle(jobs, 120)
        status = arbiter.status()
        outcomes = {e["job"]: e["outcome"] for e in status["ended"]}
        self.assertEqual({j: outcomes[j] for j in jobs}, {j: "finished" for j in jobs})
        for job, ranks in ((a, 2), (b, 2), (queued, 1)):
            self.assertEqual(digest_of(arbiter.job_log(job)), expected[ranks], f"job {job}")
        for job in jobs:
            self.assertEqual(len(arbiter.ended(job)), 1, f"job {job} ended once")
        preempted = [e["job"] for e in arbiter.events() if e["event"] == "notice"]
        self.assertTrue(set(preempted) & {a, b}, "the internal job preempted a tenant")

        # Killed again while a job is queued and one runs: still nothing lost.
        late = arbiter.submit("acme", "spot", 4, self.path("ckpt", "late"), TRAIN, *args)
        later = arbiter.submit("globex", "spot", 1, self.path("ckpt", "later"), "/bin/true")
        time.sleep(0.5)
        arbiter.kill9()
        arbiter.start()
        arbiter.wait_idle([late, later], 60)
        self.assertEqual(digest_of(arbiter.job_log(late)), self.reference_digest(4, "--steps", "600"))


class Burst(ArbiterCase):
    def test_100_submissions(self):
        arbiter = self.arbiter()
        clients = []
        for i in range(100):
            tenant = "acme" if i % 2 else "globex"
            command = [LULL, "submit", "--json", "--tenant", tenant, "--class", "spot", "--ranks", "1",
                       "--ckpt-dir", self.path("ckpt", str(i)), "--", "/bin/true"]
            clients.append(subprocess.Popen(command, env=environment(LULL_ARBITER_SOCKET=arbiter.socket),
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        ids = []
        for client in clients:
            out, err = client.communicate(timeout=120)
            self.assertEqual(client.returncode, 0, err)
            ids.append(json.loads(out)["job"])
        self.assertEqual(len(set(ids)), 100)
        arbiter.wait_idle(ids, 150)
        events = arbiter.events()
        for job in ids:
            kinds = [e["event"] for e in events if e["job"] == job]
            for kind in ("submit", "start", "exit", "finish"):
                self.assertEqual(kinds.count(kind), 1, f"job {job}: {kinds}")
        status = arbiter.status()
        self.assertEqual(sorted(e["job"] for e in status["ended"] if e["job"] in ids), sorted(ids))
        metrics = arbiter.metrics()
        self.assertEqual(metrics['lull_arbiter_jobs_submitted_total{class="spot"}'], 100)
        self.assertEqual(metrics['lull_arbiter_jobs_finished_total{class="spot"}'], 100)
        with open(os.path.join(arbiter.state, "journal.jsonl")) as f:
            submits = [json.loads(line) for line in f if '"r":"submit"' in line]
        self.assertEqual(len(submits), 100)


class ExitFile(ArbiterCase):
    def run_with_exit_file(self, *command):
        exit_file = self.path("exit.json")
        result = subprocess.run([LULL, "run", "--exit-file", exit_file, "--", *command], env=environment(),
                                capture_output=True, text=True, timeout=30)
        with open(exit_file) as f:
            content = json.load(f)
        self.assertFalse(os.path.exists(exit_file + ".partial"))
        self.assertEqual(content["exit_code"], result.returncode)
        return content

    def test_codes_and_meaning(self):
        self.assertEqual(self.run_with_exit_file("/bin/true"), {"exit_code": 0, "meaning": "finished"})
        failed = self.run_with_exit_file("/bin/sh", "-c", "exit 3")
        self.assertEqual(failed["exit_code"], 3)
        self.assertIn("exited with 3", failed["meaning"])
        self.assertEqual(self.run_with_exit_file("/bin/sh", "-c", "exit 75")["exit_code"], 75)
        self.assertEqual(self.run_with_exit_file("/nonexistent")["exit_code"], 127)


class Drain(ArbiterCase):
    def test_drain_then_resume(self):
        args = ["--steps", "300", "--step-ms", "10"]
        arbiter = self.arbiter()
        job = arbiter.submit("acme", "spot", 2, self.path("ckpt", "a"), TRAIN, *args)
        # An internal job (not preemptible) keeps the draining arbiter up while the tenant,
        # noticed, exits within a second: the submission below must meet a draining arbiter,
        # not one that already exited (on a loaded machine the client starts slowly).
        internal = arbiter.submit("frontier", "internal", 2, self.path("ckpt", "internal"), TRAIN,
                                  "--steps", "1000", "--step-ms", "10")
        wait_for(lambda: "started pid" in arbiter.job_log(job), 20, "the job to start")
        time.sleep(1.0)
        result = arbiter.lull("drain")
        self.assertIn("1 job(s) noticed", result.stdout)
        refused = arbiter.lull("submit", "--tenant", "acme", "--class", "spot", "--ranks", "1", "--ckpt-dir",
                               self.path("ckpt", "b"), "--", "/bin/true", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("draining", refused.stderr)
        self.assertEqual(arbiter.process.wait(timeout=120), 0)
        self.assert_in_order(arbiter.events(), [(job, "notice"), (job, "exit", 75)])
        self.assert_in_order(arbiter.events(), [(internal, "exit", 0), (internal, "finish")])

        arbiter.start()
        arbiter.wait_idle([job], 60)
        self.assert_in_order(arbiter.events(), [(job, "exit", 75), (job, "resume"), (job, "finish")])
        self.assertEqual(digest_of(arbiter.job_log(job)), self.reference_digest(2, "--steps", "300"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
