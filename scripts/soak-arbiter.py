#!/usr/bin/python3
"""Soak test of the node arbiter (not in CI; `make soak-arbiter`): CYCLES preempt/resume cycles through a
real `lull arbiter`, real `lull run` + mpirun and a real training program, and no growth of the
arbiter's open descriptors or memory.

A tenant job (train_mlp on 2 ranks, enough steps never to finish) runs on a 2-slot node; each cycle an
internal job (1 rank) is submitted, the tenant is noticed, checkpoints and exits 75, the internal job
runs and finishes, and the tenant resumes from its snapshot. After every cycle, with the tenant running
again, the arbiter's open descriptors (/proc/PID/fd) and resident memory (VmRSS) are sampled. The
figures are printed (start, end, max); it fails when, from the end of the first cycle to the last, the
descriptors grew by more than FD_SLACK or the memory by more than RSS_SLACK_KIB, or when a cycle did
not preempt and resume the tenant.

    scripts/soak-arbiter.py [--build build] [--cycles 500]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FD_SLACK = 2             # descriptors: at a quiet point the arbiter holds the same set every cycle
RSS_SLACK_KIB = 4096     # resident memory: the ledger keeps up to 1000 ended jobs (~0.3 KiB each)
CYCLE_TIMEOUT = 120      # seconds for one preempt/run/resume cycle
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "LULL_LOG_LEVEL": "info",  # the ranks say where they restored from (the soak waits for it)
}
POLICY = """
[node]
slots = 2
idle_before_lull = "1s"

[classes.internal]
priority = 100
preemptible = false

[classes.spot]
priority = 10
preemptible = true
grace = "30s"
min_runtime = "0s"

[tenants.frontier]
class = "internal"
slots = 2

[tenants.acme]
class = "spot"
slots = 2
"""


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
        time.sleep(0.05)
    raise SystemExit(f"soak: timed out after {timeout} s waiting for {what}")


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"soak: no VmRSS for pid {pid}")


class Node:
    def __init__(self, build, root):
        self.lull = os.path.join(build, "bin", "lull")
        self.train = os.path.join(build, "bin", "train_mlp")
        self.root = root
        self.state = os.path.join(root, "state")
        self.socket = os.path.join(self.state, "arbiter.sock")
        policy = os.path.join(root, "policy.toml")
        with open(policy, "w") as f:
            f.write(POLICY)
        self.log = open(os.path.join(root, "arbiter.log"), "a")
        self.arbiter = subprocess.Popen([self.lull, "arbiter", "--policy", policy, "--state-dir", self.state],
                                        env=environment(), stdout=self.log, stderr=self.log)
        wait_for(lambda: self.arbiter.poll() is not None or self.ask("status", check=False) is not None, 20,
                 "the arbiter to answer")
        if self.arbiter.poll() is not None:
            raise SystemExit("soak: the arbiter exited; see " + self.log.name)

    def ask(self, *args, check=True):
        result = subprocess.run([self.lull, *args], env=environment(LULL_ARBITER_SOCKET=self.socket),
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            if check:
                raise SystemExit(f"soak: lull {' '.join(args)}: {result.stderr}")
            return None
        return result.stdout

    def status(self):
        return json.loads(self.ask("status", "--json"))

    def submit(self, tenant, job_class, ranks, ckpt, *program):
        return json.loads(self.ask("submit", "--json", "--tenant", tenant, "--class", job_class, "--ranks", str(ranks),
                                   "--ckpt-dir", ckpt, "--", *program))["job"]

    def job(self, job):
        return next((j for j in self.status()["jobs"] if j["job"] == job), None)

    def restores(self, job):
        """How many runs of `job` have got as far as restoring (rank 0 says where it starts)."""
        with open(os.path.join(self.state, "jobs", f"{job}.log")) as f:
            text = f.read()
        return text.count("resumed from snapshot step") + text.count(": starting at step 0")

    def stop(self):
        """Ends the soak's jobs through the arbiter (a cancel kills every process of a run), then the arbiter.
        Jobs outlive an arbiter that stops: were it gone first, their `lull run`s (each leads its own
        process group) are killed by the pids it last reported."""
        pids = set()
        if self.arbiter.poll() is None:
            try:
                for job in self.status()["jobs"]:
                    pids.add(job["pid"])
                    self.ask("cancel", str(job["job"]), check=False)
                wait_for(lambda: not self.status()["jobs"], 60, "the soak's jobs to end")
                pids.clear()
            except (SystemExit, subprocess.TimeoutExpired, ValueError) as e:
                print(f"soak: could not end the jobs through the arbiter: {e}", file=sys.stderr)
            self.arbiter.send_signal(signal.SIGTERM)
            self.arbiter.wait(timeout=30)
        for pid in pids - {None}:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="the build directory (bin/lull, bin/train_mlp)")
    parser.add_argument("--cycles", type=int, default=500, help="preempt/resume cycles (default 500)")
    options = parser.parse_args()
    root = tempfile.mkdtemp(prefix="lull-soak-")
    node = Node(os.path.abspath(options.build), root)
    pid = node.arbiter.pid
    idle = (open_descriptors(pid), rss_kib(pid))
    print(f"before any job: arbiter {idle[0]} descriptors, {idle[1]} KiB resident", flush=True)
    samples = []
    began = time.monotonic()
    try:
        tenant = node.submit("acme", "spot", 2, os.path.join(root, "ckpt", "tenant"), node.train,
                             "--steps", "100000000", "--step-ms", "5")
        internal_ckpt = os.path.join(root, "ckpt", "internal")
        for cycle in range(1, options.cycles + 1):
            wait_for(lambda: (node.job(tenant) or {}).get("state") == "running" and node.job(tenant)["run"] == cycle,
                     CYCLE_TIMEOUT, f"cycle {cycle}: the tenant's run {cycle}")
            wait_for(lambda: node.restores(tenant) >= cycle, CYCLE_TIMEOUT, f"cycle {cycle}: the tenant's ranks to restore")
            time.sleep(0.3)  # some steps into the run
            internal = node.submit("frontier", "internal", 1, internal_ckpt, "/bin/true")
            wait_for(lambda: any(e["job"] == internal for e in node.status()["ended"]), CYCLE_TIMEOUT,
                     f"cycle {cycle}: internal job {internal} to end")
            wait_for(lambda: (node.job(tenant) or {}).get("run") == cycle + 1, CYCLE_TIMEOUT,
                     f"cycle {cycle}: the tenant to resume")
            outcome = next(e for e in node.status()["ended"] if e["job"] == internal)
            if outcome["outcome"] != "finished":
                raise SystemExit(f"soak: cycle {cycle}: internal job {internal} {outcome['outcome']}: {outcome['reason']}")
            wait_for(lambda: (node.job(tenant) or {}).get("state") == "running", CYCLE_TIMEOUT,
                     f"cycle {cycle}: the tenant running again")
            samples.append((open_descriptors(pid), rss_kib(pid)))
            if cycle % 50 == 0 or cycle == 1:
                print(f"cycle {cycle:4d}: arbiter {samples[-1][0]} descriptors, {samples[-1][1]} KiB resident, "
                      f"{time.monotonic() - began:.0f} s", flush=True)
        step = node.job(tenant)["step"]
        node.ask("cancel", str(tenant))
        wait_for(lambda: node.job(tenant) is None, 60, "the tenant to be cancelled")
    finally:
        node.stop()

    with open(os.path.join(node.state, "events.jsonl")) as f:
        events = [json.loads(line) for line in f if line.strip()]
    notices = sum(1 for e in events if e["job"] == tenant and e["event"] == "notice")
    resumes = sum(1 for e in events if e["job"] == tenant and e["event"] == "resume")
    preempted = sum(1 for e in events if e["job"] == tenant and e["event"] == "exit" and e["exit_code"] == 75)
    steps = [e["step"] for e in events if e["job"] == tenant and e["event"] == "checkpoint"]
    fds = [s[0] for s in samples]
    rss = [s[1] for s in samples]
    print(f"{options.cycles} cycles in {time.monotonic() - began:.0f} s: the tenant was noticed {notices} times, "
          f"exited 75 {preempted} times, resumed {resumes} times, last snapshot step {step}")
    print(f"arbiter descriptors: start {fds[0]}, end {fds[-1]}, max {max(fds)} (slack {FD_SLACK})")
    print(f"arbiter resident memory: start {rss[0]} KiB, end {rss[-1]} KiB, max {max(rss)} KiB "
          f"(slack {RSS_SLACK_KIB} KiB)")
    failures = []
    if not notices == preempted == resumes == options.cycles:
        failures.append("not every cycle preempted and resumed the tenant")
    if steps != sorted(steps) or not steps or steps[-1] < options.cycles:
        failures.append(f"the tenant's snapshots did not move forward every cycle (steps {steps[:5]}...{steps[-5:]})")
    if max(fds) - fds[0] > FD_SLACK:
        failures.append(f"descriptors grew from {fds[0]} to {max(fds)}")
    if max(rss) - rss[0] > RSS_SLACK_KIB:
        failures.append(f"resident memory grew from {rss[0]} KiB to {max(rss)} KiB")
    if failures:
        print("soak: FAILED: " + "; ".join(failures) + f" (kept {root})")
        return 1
    shutil.rmtree(root, ignore_errors=True)
    print("soak: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
