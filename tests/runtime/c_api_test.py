#!/usr/bin/python3
"""The C API from C, under a real mpirun with real signals.

    c_api_test.py --mpirun MPIRUN --example build/bin/c_api_example \
                  --misuse build/bin/c_api_misuse --cursor build/bin/c_api_cursor \
                  [--ranks 2] [--steps 200] [--sleep-ms 10] [--only CHECK]

Four checks, each in a fresh snapshot directory:
  uninterrupted  c_api_example runs to the end: exit 0, `checksum <hex>` last
  preempted      the same run, SIGUSR1 to ONE rank mid-run: exit 75 with a
                 committed snapshot; the same command again resumes from it
                 (`resumed at step N`, 0 < N < steps), exits 0 and prints
                 the uninterrupted run's checksum
  misuse         c_api_misuse: every bad call returns a non-zero status and
                 a message from lull_last_error(), on every rank
  cursor         c_api_cursor: the sample cursor refuses misuse in C's words,
                 takes each sample once per epoch across world sizes, and
                 round-trips through snapshots at the same and another
                 world size
Exit 0 when all hold, 1 otherwise (with the runs' output).
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

PREEMPTED = 75


def fail(message, *runs):
    print(f"FAIL: {message}")
    for r in runs:
        print(f"--- {' '.join(r.args)} (exit {r.returncode})\n{r.stdout}\n--- stderr\n{r.stderr}")
    sys.exit(1)


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def rank_pids(mpirun_pid, exe):
    """The processes running `exe` below mpirun (its children under Open MPI)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            target = os.readlink(f"/proc/{entry}/exe")
        except OSError:
            continue  # gone, or not ours to read
        if parent == mpirun_pid and os.path.samefile(target, exe):
            found.append(int(entry))
    return sorted(found)


def example_command(args, ckpt_dir):
    return [args.mpirun, "-np", str(args.ranks), "--bind-to", "none", args.example,
            "--ckpt-dir", ckpt_dir, "--steps", str(args.steps), "--sleep-ms", str(args.sleep_ms)]


def run(command, timeout=120):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def run_preempted(args, ckpt_dir):
    """Starts the example, SIGUSR1s one rank once it is training, waits for the exit."""
    command = example_command(args, ckpt_dir)
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = job.stdout.readline()  # "starting at step 0 ...", printed after restore
    if not first.startswith("starting"):
        job.kill()
        out, err = job.communicate()
        fail(f"expected 'starting at step 0', got {first!r}",
             subprocess.CompletedProcess(command, job.returncode, first + out, err))
    ranks = []
    deadline = time.monotonic() + 10
    while len(ranks) < args.ranks and time.monotonic() < deadline:
        ranks = rank_pids(job.pid, args.example)
        time.sleep(0.01)
    # A third of the way into the run, so the snapshot lands mid-run.
    time.sleep(args.steps * args.sleep_ms / 1000.0 / 3)
    if ranks:
        os.kill(ranks[-1], signal.SIGUSR1)
    try:
        out, err = job.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        job.kill()
        out, err = job.communicate()
    result = subprocess.CompletedProcess(command, job.returncode, first + out, err)
    if len(ranks) != args.ranks:
        fail(f"found {len(ranks)} rank processes of {args.example} under mpirun, expected {args.ranks}", result)
    return result


def check_preemption(args, scratch):
    whole = run(example_command(args, os.path.join(scratch, "uninterrupted")))
    expected = last_line(whole.stdout)
    if whole.returncode != 0 or not re.fullmatch(r"checksum [0-9a-f]{16}", expected):
        fail("the uninterrupted run did not finish with a checksum", whole)
    print(f"uninterrupted: {expected}")

    ckpt_dir = os.path.join(scratch, "preempted")
    first = run_preempted(args, ckpt_dir)
    stopped = re.search(r"preempted after step (\d+)", first.stdout)
    if first.returncode != PREEMPTED or not stopped:
        fail(f"SIGUSR1 to one rank: expected exit {PREEMPTED} and 'preempted after step N'", first)
    step = int(stopped.group(1))
    if not 0 < step < args.steps:
        fail(f"preempted at step {step}, not mid-run (1..{args.steps - 1})", first)
    print(f"preempted: exit {first.returncode} after step {step}")

    second = run(example_command(args, ckpt_dir))
    resumed = re.search(r"resumed at step (\d+)", second.stdout)
    if second.returncode != 0 or not resumed or int(resumed.group(1)) != step:
        fail(f"the rerun did not resume at step {step} and finish", first, second)
    if last_line(second.stdout) != expected:
        fail(f"resumed run ends with {last_line(second.stdout)!r}, uninterrupted with {expected!r}", whole, second)
    print(f"resumed at step {step}: {last_line(second.stdout)} (same as uninterrupted)")


def check_program(args, scratch, program, what):
    """Runs a C check program (`ok <case>` lines, `<what> checks passed` last) at args.ranks ranks."""
    command = [args.mpirun, "-np", str(args.ranks), "--bind-to", "none", program,
               "--ckpt-dir", os.path.join(scratch, what)]
    result = run(command)
    if result.returncode != 0 or last_line(result.stdout) != f"{what} checks passed":
        fail(f"{what} checks of the C API", result)
    cases = sum(1 for line in result.stdout.splitlines() if line.startswith("ok "))
    print(f"{what}: {cases} checks held")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpirun", required=True)
    parser.add_argument("--example", required=True)
    parser.add_argument("--misuse", required=True)
    parser.add_argument("--cursor", required=True)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--sleep-ms", type=int, default=10)
    parser.add_argument("--only", choices=["preemption", "misuse", "cursor"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lull-c-api-") as scratch:
        os.chmod(scratch, 0o700)
        if args.only in (None, "preemption"):
            check_preemption(args, scratch)
        if args.only in (None, "misuse"):
            check_program(args, scratch, args.misuse, "misuse")
        if args.only in (None, "cursor"):
            check_program(args, scratch, args.cursor, "cursor")
    print("c_api_test passed")


if __name__ == "__main__":
    main()
