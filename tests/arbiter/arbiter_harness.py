"""What the arbiter's process tests share (arbiter_test.py,
isolation_test.py, hostile_clients_test.py): the paths of the build, an
environment for mpirun as root, Arbiter (a real `lull arbiter` in a scratch
state directory, with its clients, events, metrics and job logs) and
ArbiterCase (a test that starts arbiters and leaves no job behind)."""

import json
import os
import shutil
import signal
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

    # min_ranks, max_ranks: the rank counts an elastic job may be resumed on (None: lull submit's default).
    def submit(self, tenant, job_class, ranks, ckpt, *program, user=None, cwd=None, min_ranks=None, max_ranks=None):
        elastic = [f"--{name}-ranks={count}" for name, count in (("min", min_ranks), ("max", max_ranks)) if count]
        result = self.lull("submit", "--json", "--tenant", tenant, "--class", job_class, "--ranks", str(ranks),
                           *elastic, "--ckpt-dir", ckpt, "--", *program, user=user, cwd=cwd)
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

    def reference_output(self, ranks, *args):
        """The output of train_mlp ARGS run uninterrupted on `ranks` ranks, without an arbiter."""
        ckpt = tempfile.mkdtemp(prefix="reference-", dir=self.dir)
        result = subprocess.run(["mpirun", "-np", str(ranks), TRAIN, "--ckpt-dir", ckpt, *args],
                                env=environment(), capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def reference_digest(self, ranks, *args):
        return digest_of(self.reference_output(ranks, *args))

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
