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
import os
import shutil
import signal
import sys
import tempfile
import time

FD_SLACK = 2             # descriptors: at a quiet point the arbiter holds the same set every cycle
RSS_SLACK_KIB = 4096     # resident memory: the ledger keeps up to 1000 ended jobs (about 2.6 KiB each)
CYCLE_TIMEOUT = 120      # seconds for one preempt/run/resume cycle
# The arbiter tests' policy on 2 slots, with a grace that holds on a busy machine.
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


def harness(build):
    """tests/arbiter/arbiter_harness.py, the arbiter tests' harness (Arbiter, wait_for), on `build`'s binaries."""
    os.environ["LULL_BIN_DIR"] = os.path.join(build, "bin")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "arbiter"))
    import arbiter_harness
    return arbiter_harness


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def end_jobs_and_stop(node, wait_for):
    """Ends the soak's jobs through the arbiter (a cancel kills every process of a run), then the arbiter.
    Jobs outlive an arbiter that stops: were it gone first, their `lull run`s (each leads its own
    process group) are killed by the pids it last reported."""
    pids = set()
    if node.process.poll() is None:
        try:
            for job in node.status()["jobs"]:
                pids.add(job["pid"])
                node.lull("cancel", str(job["job"]), check=False)
            wait_for(lambda: not node.status()["jobs"], 60, "the soak's jobs to end")
            pids.clear()
        except (AssertionError, ValueError) as e:
            print(f"soak: could not end the jobs through the arbiter: {e}", file=sys.stderr)
    node.stop()
    for pid in pids - {None}:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="the build directory (bin/lull, bin/train_mlp)")
    parser.add_argument("--cycles", type=int, default=500, help="preempt/resume cycles (default 500)")
    options = parser.parse_args()
    tests = harness(os.path.abspath(options.build))
    wait_for = tests.wait_for
    root = tempfile.mkdtemp(prefix="lull-soak-")
    policy = os.path.join(root, "policy.toml")
    with open(policy, "w") as f:
        f.write(POLICY)
    node = tests.Arbiter(root, policy=policy)
    node.start()
    pid = node.process.pid
    idle = (open_descriptors(pid), rss_kib(pid))
    print(f"before any job: arbiter {idle[0]} descriptors, {idle[1]} KiB resident", flush=True)

    def job(number):
        return next((j for j in node.status()["jobs"] if j["job"] == number), None)

    def restores(number):
        """How many runs of job `number` have got as far as restoring (rank 0 says where it starts)."""
        text = node.job_log(number)
        return text.count("resumed from snapshot step") + text.count(": starting at step 0")

    samples = []
    began = time.monotonic()
    try:
        tenant = node.submit("acme", "spot", 2, os.path.join(root, "ckpt", "tenant"), tests.TRAIN,
                             "--steps", "100000000", "--step-ms", "5")
        internal_ckpt = os.path.join(root, "ckpt", "internal")
        for cycle in range(1, options.cycles + 1):
            wait_for(lambda: (job(tenant) or {}).get("state") == "running" and job(tenant)["run"] == cycle,
                     CYCLE_TIMEOUT, f"cycle {cycle}: the tenant's run {cycle}")
            wait_for(lambda: restores(tenant) >= cycle, CYCLE_TIMEOUT, f"cycle {cycle}: the tenant's ranks to restore")
            time.sleep(0.3)  # some steps into the run
            internal = node.submit("frontier", "internal", 1, internal_ckpt, "/bin/true")
            wait_for(lambda: any(e["job"] == internal for e in node.status()["ended"]), CYCLE_TIMEOUT,
                     f"cycle {cycle}: internal job {internal} to end")
            wait_for(lambda: (job(tenant) or {}).get("run") == cycle + 1, CYCLE_TIMEOUT,
                     f"cycle {cycle}: the tenant to resume")
            outcome = next(e for e in node.status()["ended"] if e["job"] == internal)
            if outcome["outcome"] != "finished":
                raise AssertionError(f"cycle {cycle}: internal job {internal} {outcome['outcome']}: {outcome['reason']}")
            wait_for(lambda: (job(tenant) or {}).get("state") == "running", CYCLE_TIMEOUT,
                     f"cycle {cycle}: the tenant running again")
            samples.append((open_descriptors(pid), rss_kib(pid)))
            if cycle % 50 == 0 or cycle == 1:
                print(f"cycle {cycle:4d}: arbiter {samples[-1][0]} descriptors, {samples[-1][1]} KiB resident, "
                      f"{time.monotonic() - began:.0f} s", flush=True)
        step = job(tenant)["step"]
        node.lull("cancel", str(tenant))
        wait_for(lambda: job(tenant) is None, 60, "the tenant to be cancelled")
    except AssertionError as e:
        print(f"soak: FAILED: {e} (kept {root})")
        return 1
    finally:
        end_jobs_and_stop(node, wait_for)

    events = node.job_events(tenant)
    notices = sum(1 for e in events if e["event"] == "notice")
    resumes = sum(1 for e in events if e["event"] == "resume")
    preempted = sum(1 for e in events if e["event"] == "exit" and e["exit_code"] == 75)
    steps = [e["step"] for e in events if e["event"] == "checkpoint"]
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
