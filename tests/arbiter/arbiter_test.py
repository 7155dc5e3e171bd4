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
  Isolation       a non-root submitter (nobody, via --socket-group): its job runs as its uid; it sees
                  and cancels only its own jobs and may not drain; modes of the state directory,
                  socket and journal. Runs an installed lull (cmake --install into a world-readable
                  scratch prefix), as a user would, so that it works from a checkout nobody may enter
  ExitFile        `lull run --exit-file`: the code and its meaning, written atomically
  Drain           drain notices the tenant job (exit 75, stays queued), refuses submissions, the
                  arbiter exits once idle; a new arbiter resumes the job to its end
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(os.environ.get("LULL_BIN_DIR", os.path.join(HERE, "..", "..", "build", "bin")))
BUILD = os.path.abspath(os.environ.get("LULL_BUILD_DIR", os.path.join(BIN, "..")))
CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
LULL = os.path.join(BIN, "lull")
TRAIN = os.path.join(BIN, "train_mlp")
POLICY = os.path.join(HERE, "test_policy.toml")
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "LULL_LOG_LEVEL": "info",
}
NOBODY = 65534


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LULL_")}
    env.update(MPI_ENV)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def digest_of(text):
    digests = [line.split()[1] for line in text.splitlines() if line.startswith("digest ")]
    if not digests:
        raise AssertionError("no digest line in:\n" + text[-3000:])
    return digests[-1]


class Arbiter:
    """One `lull arbiter` on a scratch state directory."""

    def __init__(self, root, slots=None, socket=None, socket_group=None, lull=LULL, options=(), preexec_fn=None,
                 policy=POLICY):
        self.program = lull
        self.policy = policy
        self.state = os.path.join(root, "state")
        self.socket = socket or os.path.join(self.state, "arbiter.sock")
        self.log_path = os.path.join(root, "arbiter.log")
        self.slots = slots
        self.socket_group = socket_group
        self.options = list(options)  # more `lull arbiter` options
        self.preexec_fn = preexec_fn  # run in the arbiter's process before exec (limits)
        self.process = None

    def start(self):
        command = [self.program, "arbiter", "--policy", self.policy, "--state-dir", self.state, "--socket", self.socket]
        if self.slots:
            command += ["--slots", str(self.slots)]
        if self.socket_group:
            command += ["--socket-group", self.socket_group]
        command += self.options
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(command, env=environment(), stdout=log, stderr=log, preexec_fn=self.preexec_fn)
        log.close()
        wait_for(lambda: self.process.poll() is not None or self.lull("status", check=False).returncode == 0, 20,
                 "the arbiter to answer")
        if self.process.poll() is not None:
            raise AssertionError("the arbiter exited:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    # cwd: where the client runs, and so the job's working directory on submit (the arbiter refuses
    # one the job's user cannot enter, as the build tree of a 0700 checkout is for nobody).
    def lull(self, *args, check=True, user=None, cwd=None):
        command = [self.program, *args]
        if user is not None:
            command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
        result = subprocess.run(command, env=environment(LULL_ARBITER_SOCKET=self.socket), capture_output=True,
                                text=True, timeout=60, cwd=cwd)
        if check and result.returncode != 0:
            raise AssertionError(f"lull {' '.join(args)} exited {result.returncode}: {result.stderr}\n{self.log()}")
        return result

    def submit(self, tenant, job_class, ranks, ckpt, *program, user=None, cwd=None):
        result = self.lull("submit", "--json", "--tenant", tenant, "--class", job_class, "--ranks", str(ranks),
                           "--ckpt-dir", ckpt, "--", *program, user=user, cwd=cwd)
        return json.loads(result.stdout)["job"]

    def status(self, user=None):
        return json.loads(self.lull("status", "--json", user=user).stdout)

    def events(self):
        path = os.path.join(self.state, "events.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def job_events(self, job):
        return [e for e in self.events() if e["job"] == job]

    def ended(self, job):
        return [e for e in self.events() if e["job"] == job and e["event"] in ("finish", "failed", "cancel")]

    def wait_idle(self, jobs, timeout):
        def idle():
            status = self.status()
            ended = {e["job"]: e for e in status["ended"]}
            return not status["jobs"] and all(j in ended for j in jobs)
        wait_for(idle, timeout, f"jobs {jobs} to end")

    def job_log(self, job):
        with open(os.path.join(self.state, "jobs", f"{job}.log")) as f:
            return f.read()

    def metrics(self):
        values = {}
        with open(os.path.join(self.state, "lull.prom")) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


class ArbiterCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lull-arbiter-test-")
        self.arbiters = []

    def tearDown(self):
        for arbiter in self.arbiters:
            arbiter.stop()
        # Jobs outlive their arbiter by design: end the ones this test left (lull run's
        # whose command line names this test's directory), whole process tree included.
        found = subprocess.run(["pgrep", "-f", f"lull run .*{self.dir}"], capture_output=True, text=True)
        for pid in found.stdout.split():
            subprocess.run(["pkill", "-KILL", "-s", pid], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def arbiter(self, **options):
        arbiter = Arbiter(self.dir, **options)
        self.arbiters.append(arbiter)
        arbiter.start()
        return arbiter

    def reference_digest(self, ranks, *args):
        ckpt = tempfile.mkdtemp(prefix="reference-", dir=self.dir)
        result = subprocess.run(["mpirun", "-np", str(ranks), TRAIN, "--ckpt-dir", ckpt, *args],
                                env=environment(), capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        return digest_of(result.stdout)

    def assert_in_order(self, events, expected):
        """`expected` ((job, event[, exit_code])...) occurs in `events` in this order (others may come between)."""
        position = 0
        for want in expected:
            while position < len(events):
                e = events[position]
                position += 1
                if e["job"] == want[0] and e["event"] == want[1] and (len(want) < 3 or e["exit_code"] == want[2]):
                    break
            else:
                listing = "\n".join(f"  {e['job']} {e['event']} {e['exit_code']} {e['reason']}" for e in events)
                self.fail(f"{want} missing or out of order in:\n{listing}")


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
        running = subprocess.run(["pgrep", "-f", f"lull run .*{self.dir}"], capture_output=True, text=True).stdout.split()
        self.assertGreaterEqual(len(running), 2, "jobs must outlive the arbiter")

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


def reachable_by_others(path):
    """Whether every directory from / down to `path` lets other users through (o+x)."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def install_for_other_users(prefix):
    """`cmake --install` of the build tree into `prefix`, readable by every user.

    Another user cannot use the build tree's binaries when the checkout lies in a directory only
    its owner may enter (mktemp -d, /root): what such a user runs is an installed lull."""
    result = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"cmake --install {BUILD} --prefix {prefix} failed:\n{result.stdout}{result.stderr}")
    subprocess.run(["chmod", "-R", "a+rX", prefix], check=True)  # whatever the umask was
    return os.path.join(prefix, "bin", "lull")


@unittest.skipUnless(os.geteuid() == 0, "runs a job and the clients as another user (nobody): needs root")
class Isolation(ArbiterCase):
    def setUp(self):
        # The job and the clients run as nobody: everything they touch must be reachable by
        # other users, whichever TMPDIR this test was given.
        base = next((d for d in (tempfile.gettempdir(), "/tmp", "/var/tmp") if reachable_by_others(d)), None)
        if base is None:
            self.skipTest("no temporary directory other users can enter (TMPDIR, /tmp, /var/tmp)")
        self.dir = tempfile.mkdtemp(prefix="lull-arbiter-test-", dir=base)
        os.chmod(self.dir, 0o755)
        self.arbiters = []

    def test_other_uid(self):
        lull = install_for_other_users(self.path("prefix"))
        version = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", lull,
                                  "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(version.returncode, 0, f"the installed lull does not run as nobody:\n{version.stderr}")
        socket_dir = self.path("run")
        os.mkdir(socket_dir, 0o755)
        arbiter = self.arbiter(socket=os.path.join(socket_dir, "arbiter.sock"), socket_group="nogroup", lull=lull)
        self.assertEqual(stat.S_IMODE(os.stat(arbiter.state).st_mode), 0o750)
        self.assertEqual(stat.S_IMODE(os.stat(arbiter.socket).st_mode), 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(arbiter.state, "journal.jsonl")).st_mode), 0o600)

        root_job = arbiter.submit("acme", "spot", 1, self.path("ckpt-root"), TRAIN, "--steps", "2000", "--step-ms", "10")
        mine = self.path("ckpt-nobody")
        os.mkdir(mine, 0o700)
        os.chown(mine, NOBODY, NOBODY)
        script = self.path("whoami.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nid -u > \"$LULL_CKPT_DIR/uid\"\necho \"$CUDA_VISIBLE_DEVICES\" > \"$LULL_CKPT_DIR/gpus\"\n")
        os.chmod(script, 0o755)
        nobody_job = arbiter.submit("globex", "spot", 2, mine, script, user=NOBODY, cwd=self.dir)
        wait_for(lambda: os.path.exists(os.path.join(mine, "gpus")), 30, "the nobody job to run")
        time.sleep(0.3)
        with open(os.path.join(mine, "uid")) as f:
            self.assertEqual(f.read().strip(), str(NOBODY))
        with open(os.path.join(mine, "gpus")) as f:
            self.assertEqual(len(f.read().strip().split(",")), 2)

        seen = arbiter.status(user=NOBODY)
        self.assertEqual({j["job"] for j in seen["jobs"]} | {e["job"] for e in seen["ended"]}, {nobody_job})
        self.assertIn(root_job, {j["job"] for j in arbiter.status()["jobs"]})
        result = arbiter.lull("cancel", str(root_job), check=False, user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"no job {root_job} of yours", result.stderr)
        result = arbiter.lull("drain", check=False, user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn("only root or the arbiter's user may drain", result.stderr)
        result = arbiter.lull("submit", "--tenant", "acme", "--class", "spot", "--ranks", "1", "--ckpt-dir",
                              self.path("ckpt-root"), "--", "/bin/true", check=False, user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not by the submitter", result.stderr)

        arbiter.lull("cancel", str(root_job))
        arbiter.wait_idle([root_job, nobody_job], 30)
        outcomes = {e["job"]: e["outcome"] for e in arbiter.status()["ended"]}
        self.assertEqual(outcomes[root_job], "cancelled")
        self.assertEqual(outcomes[nobody_job], "finished")
        kinds = [e["event"] for e in arbiter.job_events(root_job)]
        self.assertIn("cancel", kinds)
        self.assertIn("kill", kinds)


class ExitFile(ArbiterCase):
    def run_with_exit_file(self, *command):
        exit_file = self.path("exit.json")
        result = subprocess.run([LULL, "run", "--exit-file", exit_file, "--", *command], env=environment(),
                                capture_output=True, text=True, timeout=30)
        with open(exit_file) as f:
            content = json.load(f)
        self.assertFalse(os.path.exists(exit_file + ".tmp"))
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
        wait_for(lambda: "started pid" in arbiter.job_log(job), 20, "the job to start")
        time.sleep(1.0)
        result = arbiter.lull("drain")
        self.assertIn("1 job(s) noticed", result.stdout)
        refused = arbiter.lull("submit", "--tenant", "acme", "--class", "spot", "--ranks", "1", "--ckpt-dir",
                               self.path("ckpt", "b"), "--", "/bin/true", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("draining", refused.stderr)
        self.assertEqual(arbiter.process.wait(timeout=30), 0)
        self.assert_in_order(arbiter.events(), [(job, "notice"), (job, "exit", 75)])

        arbiter.start()
        arbiter.wait_idle([job], 60)
        self.assert_in_order(arbiter.events(), [(job, "exit", 75), (job, "resume"), (job, "finish")])
        self.assertEqual(digest_of(arbiter.job_log(job)), self.reference_digest(2, "--steps", "300"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
