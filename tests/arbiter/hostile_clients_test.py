#!/usr/bin/python3
"""The node arbiter against bad and hostile clients, with real sockets, a real `lull arbiter`
under real descriptor limits, and real jobs (arbiter_harness.py has the helpers).

Run one case with
    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/arbiter/hostile_clients_test.py ClientFlood
Cases:
  ClientFlood           300 idle connections to an arbiter whose RLIMIT_NOFILE is 64: the client cap is
                        lowered to fit, its CPU stays low, its log does not grow, `lull status` is answered,
                        and every idle connection is closed (busy answer or request timeout)
  DescriptorsExhausted  the arbiter's descriptor limit lowered under it (prlimit) and 300 idle connections:
                        accept fails with EMFILE, yet no spin (CPU), one rate-limited warning, `lull status`
                        answered; with the limit back, a job runs
  PartialRequests       1000 connections each holding 60 KiB of an unfinished request: the arbiter's peak RSS
                        stays under its 16 MiB buffer bound (+ slack); a line over 64 KiB is refused
  BoundedEcho           20 refused requests carrying a 60 KiB tenant name (and control characters): the answer,
                        events.jsonl and the log grow by a bounded amount each, the text escaped
  RequestRanges         integers out of range, negative, fractional or floats in every integer field are
                        refused naming the field; NUL and control characters in paths and arguments, "//",
                        "." and ".." in paths, a missing, absent or non-directory cwd are refused naming the field
  JournalRanges         a journal record whose integer is out of range stops the arbiter with file:line and field
  SnapshotDirInUse      a second live job on the same snapshot directory (same path, through a symbolic link,
                        inside it, or holding it) is refused; once the first has ended it is accepted
  CwdVanished           a queued job whose working directory is removed before it starts fails with a clear
                        reason and never runs elsewhere
"""
import json
import os
import resource
import select
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arbiter_harness import LULL, POLICY, ArbiterCase, environment, wait_for  # noqa: E402

MAX_REQUEST = 64 * 1024          # arbiter_protocol.h: kMaxRequestBytes
MAX_BUFFERED = 16 * 1024 * 1024  # connection_limits.h: max_buffered_bytes
REQUEST_TIMEOUT = 10             # connection_limits.h: request_timeout, seconds


def cpu_seconds(pid):
    """User + system CPU time of `pid` so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    """A `VmRSS`-like line of /proc/PID/status, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def file_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def raise_own_descriptor_limit(wanted):
    """Lets this test hold `wanted` sockets; returns how many it may hold."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted + 64))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64


def connect_idle(path, count, patient=False):
    """`count` non-blocking connections that send nothing. A connection the kernel's backlog has no
    room for is left out, or (`patient`) tried again for up to a second."""
    connected = []
    for _ in range(count):
        for _ in range(100 if patient else 1):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(path)
                connected.append(s)
                break
            except (BlockingIOError, InterruptedError):
                s.close()
                time.sleep(0.01 if patient else 0)
    return connected


def ask_raw(path, payload, timeout=30):
    """Sends one request line (bytes, or an object to encode) and returns the decoded answer."""
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(payload)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return json.loads(answer)


def wait_all_closed(sockets, timeout):
    """Reads every socket until the arbiter closes it. Returns the answers they got (decoded) and how
    many were still open at `timeout`."""
    poller, received = select.poll(), {}
    for s in sockets:
        s.setblocking(False)
        poller.register(s, select.POLLIN)
        received[s.fileno()] = (s, bytearray())
    answers = []
    deadline = time.monotonic() + timeout
    while received and time.monotonic() < deadline:
        for fd, _ in poller.poll(500):
            s, data = received[fd]
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:  # closed with our unread request in it: what it sent came first
                chunk = b""
            if chunk:
                data += chunk
                continue
            if data.strip():
                answers.append(json.loads(data.decode()))
            poller.unregister(fd)
            s.close()
            del received[fd]
    return answers, len(received)


class HostileCase(ArbiterCase):
    def assert_quiet(self, arbiter, seconds=3.0, cpu_limit=0.75, log_limit=20_000):
        """Over `seconds`, the arbiter uses less than `cpu_limit` s of CPU and logs under `log_limit` bytes.
        A spinning loop takes a whole core (~`seconds`), and logged ~20 MB/s."""
        pid = arbiter.process.pid
        cpu0, log0 = cpu_seconds(pid), file_size(arbiter.log_path)
        time.sleep(seconds)
        cpu1, log1 = cpu_seconds(pid), file_size(arbiter.log_path)
        self.assertLess(cpu1 - cpu0, cpu_limit, f"arbiter CPU over {seconds} s")
        self.assertLess(log1 - log0, log_limit, "arbiter log growth:\n" + arbiter.log()[-2000:])
        return cpu1 - cpu0

    def assert_status_answers(self, arbiter, within=30):
        began = time.monotonic()
        result = arbiter.lull("status", "--json")
        self.assertLess(time.monotonic() - began, within)
        self.assertIn("node", json.loads(result.stdout))


class ClientFlood(HostileCase):
    def test_idle_clients_under_a_tight_descriptor_limit(self):
        raise_own_descriptor_limit(400)
        limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))  # noqa: E731
        arbiter = self.arbiter(preexec_fn=limit)
        self.assertIn("does not fit the descriptor limit", arbiter.log())
        idle = connect_idle(arbiter.socket, 300)
        self.assertGreater(len(idle), 200, "the kernel's backlog took the connections")
        time.sleep(1.0)
        self.assert_quiet(arbiter)
        self.assert_status_answers(arbiter)
        # None is kept forever: each idle one is closed to make room (busy) or at its request timeout.
        answers, left = wait_all_closed(idle, 60)
        self.assertEqual(left, 0, "idle connections the arbiter never closed")
        for answer in answers:
            self.assertFalse(answer["ok"])
            self.assertTrue(answer.get("busy") or f"no complete request within {REQUEST_TIMEOUT} s" in answer["error"],
                            answer)
        self.assertTrue(any(a.get("busy") for a in answers), "some were closed to make room")
        self.assertIsNone(arbiter.process.poll())


class DescriptorsExhausted(HostileCase):
    def test_emfile_without_spinning(self):
        raise_own_descriptor_limit(400)
        arbiter = self.arbiter()
        pid = arbiter.process.pid
        open_now = len(os.listdir(f"/proc/{pid}/fd"))
        before = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_now + 4, before[1]))
        idle = connect_idle(arbiter.socket, 300)
        self.assertGreater(len(idle), 200)
        wait_for(lambda: "Too many open files" in arbiter.log(), 20, "the arbiter to meet EMFILE")
        time.sleep(0.5)
        self.assert_quiet(arbiter)
        self.assert_status_answers(arbiter)
        self.assertLessEqual(arbiter.log().count("Too many open files"), 3, "the warning is rate-limited")
        answers, left = wait_all_closed(idle, 60)
        self.assertEqual(left, 0)
        self.assertTrue(any("out of file descriptors" in a["error"] for a in answers), answers[:3])

        # With descriptors again, it runs jobs as before.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, before)
        job = arbiter.submit("acme", "spot", 1, self.path("ckpt"), "/bin/true")
        arbiter.wait_idle([job], 60)
        self.assertEqual(arbiter.ended(job)[-1]["event"], "finish")


class PartialRequests(HostileCase):
    def test_buffered_memory_is_bounded(self):
        count = min(1000, raise_own_descriptor_limit(1100))
        if count < 600:
            self.skipTest(f"this process may open only {count} sockets (RLIMIT_NOFILE hard limit); 600 are needed")
        arbiter = self.arbiter(options=["--max-clients", "1024"])
        pid = arbiter.process.pid
        baseline = status_kib(pid, "VmRSS")
        held = connect_idle(arbiter.socket, count, patient=True)
        self.assertGreater(len(held), 500)
        partial = b'{"op": "status", "pad": "' + b"x" * (60 * 1024)  # no end, no newline
        for s in held:
            s.setblocking(True)
            s.sendall(partial)
        time.sleep(2.0)  # the arbiter reads them all
        self.assert_status_answers(arbiter)
        peak = status_kib(pid, "VmHWM")
        # Unbounded, 1000 x 60 KiB would be ~60 MiB more. The bound: 16 MiB of buffers, 16 MiB slack.
        self.assertLess(peak - baseline, (MAX_BUFFERED + 16 * 1024 * 1024) // 1024,
                        f"RSS from {baseline} KiB to a peak of {peak} KiB")
        answers, left = wait_all_closed(held, 60)
        self.assertEqual(left, 0)
        self.assertTrue(any("too many bytes waiting" in a["error"] for a in answers))

        # One line longer than a request may be: refused unread, with or without its newline.
        for payload in (b"x" * (MAX_REQUEST + 100), b'{"op": "status", "pad": "' + b"y" * MAX_REQUEST + b'"}\n'):
            answer = ask_raw(arbiter.socket, payload)
            self.assertFalse(answer["ok"])
            self.assertIn(f"request too long: more than {MAX_REQUEST} bytes", answer["error"])
        # The client refuses to send one.
        result = arbiter.lull("submit", "--tenant", "acme", "--class", "spot", "--ranks", "1", "--ckpt-dir",
                              self.path("ckpt"), "--", "/bin/true", "a" * (MAX_REQUEST + 1), check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"the arbiter reads at most {MAX_REQUEST}", result.stderr)


class BoundedEcho(HostileCase):
    def test_refused_requests_leave_bounded_traces(self):
        arbiter = self.arbiter()
        events = os.path.join(arbiter.state, "events.jsonl")
        events0, log0 = file_size(events), file_size(arbiter.log_path)
        tenant = "\x1b[31m" + "t" * (60 * 1024) + "\nforged log line"
        for _ in range(20):
            answer = ask_raw(arbiter.socket, {"op": "submit", "spec": {
                "tenant": tenant, "class": "spot", "ranks": 1, "program": "/bin/true",
                "ckpt_dir": self.path("ckpt"), "cwd": self.dir}})
            self.assertFalse(answer["ok"])
            self.assertLess(len(answer["error"]), 1024)
            self.assertIn("tenant: ", answer["error"])
            self.assertIn("\\x1b[31mttt", answer["error"])
            self.assertIn("more bytes)", answer["error"])
        answer = ask_raw(arbiter.socket, {"op": "o" * (60 * 1024)})
        self.assertLess(len(answer["error"]), 1024)
        rejects = [e for e in arbiter.events() if e["event"] == "reject"]
        self.assertEqual(len(rejects), 20)
        for e in rejects:
            self.assertLessEqual(len(e["tenant"].encode()), 255 + 40)
            self.assertNotIn("\n", e["tenant"])
        self.assertLess(file_size(events) - events0, 20 * 2048, "events.jsonl growth for 20 refusals")
        self.assertLess(file_size(arbiter.log_path) - log0, 20 * 1024, "log growth for 20 refusals")


class RequestRanges(HostileCase):
    def good_spec(self, **changes):
        spec = {"tenant": "acme", "class": "spot", "ranks": 1, "program": "/bin/true",
                "ckpt_dir": self.path("ckpt"), "cwd": self.dir}
        spec.update(changes)
        return {k: v for k, v in spec.items() if v is not None}

    def refused(self, arbiter, spec, *fragments):
        answer = ask_raw(arbiter.socket, {"op": "submit", "spec": spec})
        self.assertFalse(answer["ok"], spec)
        for fragment in fragments:
            self.assertIn(fragment, answer["error"], spec)
        return answer["error"]

    def test_integers_paths_and_names(self):
        arbiter = self.arbiter()
        ranks = 'submit request: field "ranks" must be an integer from 1 to 1048576'
        for bad in (4294967297, 2 ** 64 - 1, -1, 0, 2.5, 4.0, 1e3, "4", True, None):
            expected = [ranks]
            if bad is None:
                expected = ['field "ranks" is missing']
            elif isinstance(bad, (int, float)) and not isinstance(bad, bool):
                expected.append(f"(got {json.dumps(bad)})")  # the number as sent: never cut to fit
            self.refused(arbiter, self.good_spec(ranks=bad), *expected)
        for field in ("min_ranks", "max_ranks"):
            for bad in (2 ** 63, -5, 1.5, 1048577):
                self.refused(arbiter, self.good_spec(**{field: bad}),
                             f'field "{field}" must be an integer from 0 to 1048576')
        # cancel's job id: a number, never wrapped
        for bad in (-1, 1.5, "7", 2 ** 64):
            answer = ask_raw(arbiter.socket, {"op": "cancel", "job": bad})
            self.assertFalse(answer["ok"])
            self.assertIn('"job"', answer["error"])

        nul, esc = "\u0000", "\u001b"
        self.refused(arbiter, self.good_spec(program="/bin/tr" + nul + "ue"),
                     'program: "/bin/tr\\x00ue" contains a NUL character')
        self.refused(arbiter, self.good_spec(ckpt_dir=self.path("ck" + nul + "pt")), "ckpt_dir:", "contains a NUL character")
        self.refused(arbiter, self.good_spec(cwd=self.dir + nul), "cwd:", "contains a NUL character")
        self.refused(arbiter, self.good_spec(ckpt_dir=self.path("a" + esc + "b")), "ckpt_dir:", "contains a control character")
        self.refused(arbiter, self.good_spec(args=["ok", "bad" + nul + "arg"]), 'args[1]: "bad\\x00arg" contains a NUL')
        for bad in (self.dir + "//ckpt", self.dir + "/./ckpt", self.dir + "/x/../ckpt", self.dir + "/ckpt/"):
            self.refused(arbiter, self.good_spec(ckpt_dir=bad), "ckpt_dir:", 'must be a normal path (no "//"')
        self.refused(arbiter, self.good_spec(program="//bin/true"), "program:", "must be a normal path")
        self.refused(arbiter, self.good_spec(program="bin/true"), "program:", "must be an absolute path")
        self.refused(arbiter, self.good_spec(ckpt_dir="/" + "d" * 5000), "ckpt_dir:", "bytes long, more than a path may be")

        self.refused(arbiter, self.good_spec(cwd=None), 'submit request: field "cwd" is missing')
        self.refused(arbiter, self.good_spec(cwd=self.path("absent")), f'cwd: "{self.path("absent")}" does not exist')
        a_file = self.path("a-file")
        open(a_file, "w").close()
        self.refused(arbiter, self.good_spec(cwd=a_file), "cwd:", "is not a directory")
        self.refused(arbiter, self.good_spec(cwd="relative"), "cwd:", "must be an absolute path")

        # Nothing was queued; a good request still goes through.
        self.assertEqual(arbiter.status()["jobs"], [])
        answer = ask_raw(arbiter.socket, {"op": "submit", "spec": self.good_spec()})
        self.assertTrue(answer["ok"], answer)
        arbiter.wait_idle([answer["job"]], 60)


class JournalRanges(HostileCase):
    def test_out_of_range_journal_integer_stops_the_arbiter(self):
        arbiter = self.arbiter()
        job = arbiter.submit("acme", "spot", 1, self.path("ckpt"), "/bin/true")
        arbiter.wait_idle([job], 60)
        arbiter.stop()
        journal = os.path.join(arbiter.state, "journal.jsonl")
        with open(journal) as f:
            lines = f.readlines()
        number = next(i for i, line in enumerate(lines) if '"r":"submit"' in line)
        for field, bad in (("ranks", 4294967297), ("uid", -1)):
            damaged = list(lines)
            record = json.loads(damaged[number])
            record["spec"][field] = bad
            damaged[number] = json.dumps(record) + "\n"
            with open(journal, "w") as f:
                f.writelines(damaged)
            result = subprocess.run([LULL, "arbiter", "--policy", POLICY, "--state-dir", arbiter.state],
                                    env=environment(), capture_output=True, text=True, timeout=30)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(f"journal.jsonl:{number + 1}: job spec: field \"{field}\" must be an integer from", result.stderr)
            self.assertIn(f"(got {bad})", result.stderr)
        with open(journal, "w") as f:
            f.writelines(lines)
        arbiter.start()  # the undamaged journal still serves
        self.assertIn(job, [e["job"] for e in arbiter.status()["ended"]])


class SnapshotDirInUse(HostileCase):
    def test_one_live_job_per_snapshot_directory(self):
        arbiter = self.arbiter()
        ckpt = self.path("ckpt", "a")
        first = arbiter.submit("acme", "spot", 1, ckpt, "/bin/sleep", "60")
        wait_for(lambda: os.path.isdir(ckpt), 30, "the first job's snapshot directory")
        os.symlink(self.path("ckpt"), self.path("alias"))
        for other, how in ((ckpt, "is job"), (self.path("alias", "a"), "is job"), (self.path("ckpt", "a", "sub"), "lies inside job"),
                           (self.path("ckpt"), "holds job")):
            result = arbiter.lull("submit", "--tenant", "globex", "--class", "spot", "--ranks", "1", "--ckpt-dir", other,
                                  "--", "/bin/true", check=False)
            self.assertEqual(result.returncode, 1, other)
            self.assertIn(f"ckpt_dir: \"{other}\" {how} {first}'s snapshot directory \"{ckpt}\"", result.stderr)
            self.assertIn(f"one snapshot directory, one job", result.stderr)
        self.assertEqual([j["job"] for j in arbiter.status()["jobs"]], [first])
        arbiter.lull("cancel", str(first))
        arbiter.wait_idle([first], 30)
        second = arbiter.submit("globex", "spot", 1, ckpt, "/bin/true")
        arbiter.wait_idle([second], 60)
        self.assertEqual(arbiter.ended(second)[-1]["event"], "finish")


class CwdVanished(HostileCase):
    def test_job_fails_clearly_and_never_runs_elsewhere(self):
        arbiter = self.arbiter()
        blocker = arbiter.submit("acme", "spot", 4, self.path("ckpt", "blocker"), "/bin/sleep", "3")
        workdir = self.path("workdir")
        os.mkdir(workdir)
        marker = self.path("ran-in")
        script = self.path("where.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\npwd > {marker}\n")
        os.chmod(script, 0o755)
        result = subprocess.run([LULL, "submit", "--json", "--tenant", "acme", "--class", "spot", "--ranks", "1",
                                 "--ckpt-dir", self.path("ckpt", "queued"), "--", script],
                                env=environment(LULL_ARBITER_SOCKET=arbiter.socket), cwd=workdir,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        queued = json.loads(result.stdout)["job"]
        self.assertIn(queued, [j["job"] for j in arbiter.status()["jobs"]])
        os.rmdir(workdir)
        arbiter.wait_idle([blocker, queued], 60)
        ended = {e["job"]: e for e in arbiter.status()["ended"]}
        self.assertEqual(ended[queued]["outcome"], "failed")
        self.assertIn(f'working directory "{workdir}"', ended[queued]["reason"])
        self.assertIn("No such file or directory", ended[queued]["reason"])
        self.assertFalse(os.path.exists(marker), "the job ran somewhere else")
        self.assertIn("cannot start", arbiter.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
