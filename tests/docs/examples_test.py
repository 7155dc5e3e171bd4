#!/usr/bin/python3
"""The docs' example programs (docs/examples/), run as the docs say they run.

    examples_test.py --program BIN [--lull LULL] [--mpirun MPIRUN] --work DIR preemptible|snapshot_store

preemptible     docs/examples/preemptible.cpp at 2 ranks under mpirun: a run
                never stopped; a run that finds a preemption notice waiting
                (LULL_NOTICE_FILE, as `lull run` writes it) exits 75 on a
                committed snapshot before its last step; the same command
                again resumes it and ends with the first run's digest.
snapshot_store  docs/examples/snapshot_store.cpp writes and commits a
                snapshot and reads it back; `lull verify` accepts it;
                docs/examples/read_snapshot.py reads it with h5py.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = 40


def run(command, environment=None, timeout=300):
    result = subprocess.run(command, env=environment, text=True, capture_output=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def fail(what, code, out, err):
    print(f"examples_test: {what} (exit {code})\n--- stdout\n{out}--- stderr\n{err}", file=sys.stderr)
    sys.exit(1)


def committed_steps(ckpt_dir):
    return sorted(int(p.name[len("step-"):]) for p in Path(ckpt_dir).glob("step-*"))


def preemptible(options, work):
    program = [options.mpirun, "-np", "2", options.program, str(STEPS)]

    def job(ckpt_dir, notice_file=None):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LULL_")}
        environment.update(LULL_CKPT_DIR=str(ckpt_dir), LULL_LOG_LEVEL="warn")
        if notice_file:
            environment["LULL_NOTICE_FILE"] = str(notice_file)
        return run(program, environment)

    code, out, err = job(work / "uninterrupted")
    digests = re.findall(r"^digest ([0-9a-f]{16})$", out, re.M)
    if code != 0 or len(digests) != 1:
        fail("the uninterrupted run did not finish with one digest line", code, out, err)

    notice = work / "notice.json"
    now = time.time()
    notice.write_text(json.dumps({"deadline_unix": now + 600, "grace_seconds": 600.0,
                                  "reason": "examples_test", "issued_unix": now}))
    code, out, err = job(work / "preempted", notice)
    steps = committed_steps(work / "preempted")
    if code != 75 or not steps or not 0 < steps[-1] < STEPS:
        fail(f"the noticed run should exit 75 on a snapshot before step {STEPS} (committed: {steps})", code, out, err)

    code, out, err = job(work / "preempted")
    resumed = re.findall(r"^digest ([0-9a-f]{16})$", out, re.M)
    if code != 0 or resumed != digests:
        fail(f"the resumed run should finish with the uninterrupted digest {digests[0]} (got {resumed})",
             code, out, err)
    print(f"preemptible: preempted at step {steps[-1]}, resumed, digest {digests[0]} as uninterrupted")


def snapshot_store(options, work):
    ckpt_dir = work / "store"
    code, out, err = run([options.program, str(ckpt_dir)])
    root_files = re.findall(r"^committed step 100: (\S+root\.h5)$", out, re.M)
    if code != 0 or len(root_files) != 1 or "across 2 shards: ok" not in out:
        fail("snapshot_store did not commit and read back its snapshot", code, out, err)
    code, out, err = run([options.lull, "verify", str(ckpt_dir)])
    if code != 0 or not out.startswith("ok: step 100"):
        fail("lull verify refused the snapshot snapshot_store wrote", code, out, err)
    code, out, err = run(["/usr/bin/python3", str(ROOT / "docs/examples/read_snapshot.py"), root_files[0]])
    if code != 0:
        fail("read_snapshot.py did not read the snapshot as written", code, out, err)
    print(out, end="")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--program", required=True, help="the example program, built")
    parser.add_argument("--lull", help="the lull command (snapshot_store)")
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--work", required=True)
    parser.add_argument("example", choices=["preemptible", "snapshot_store"])
    options = parser.parse_args()
    work = Path(options.work) / options.example
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    {"preemptible": preemptible, "snapshot_store": snapshot_store}[options.example](options, work)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
