#!/usr/bin/python3
"""Prints an arbiter's events file as it grows, one readable line per event,
until every job named on the command line has ended (finish, failed or
cancel) or the timeout passes (exit 1).

usage: follow_events.py EVENTS_FILE TIMEOUT_SECONDS JOB...
"""
import json
import os
import sys
import time

ENDED = {"finish", "failed", "cancel"}


def describe(e, t0):
    who = f"job {e['job']} ({e.get('tenant')}, {e.get('class')})"
    what = e["event"]
    extra = []
    if e.get("slots"):
        extra.append(f"slots {e['slots']}")
    if e.get("step") is not None:
        extra.append(f"step {e['step']}")
    if e.get("exit_code") is not None:
        extra.append(f"exit {e['exit_code']}")
    if e.get("reason"):
        extra.append(e["reason"])
    return f"  +{e['time'] - t0:6.1f}s  {who:<28} {what:<10} {'; '.join(extra)}"


def main():
    path, timeout, jobs = sys.argv[1], float(sys.argv[2]), {int(j) for j in sys.argv[3:]}
    deadline = time.monotonic() + timeout
    position, t0, ended = 0, None, set()
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                f.seek(position)
                while True:
                    line = f.readline()
                    if not line.endswith("\n"):
                        break  # a line still being written: read it next time
                    position = f.tell()
                    e = json.loads(line)
                    t0 = e["time"] if t0 is None else t0
                    print(describe(e, t0), flush=True)
                    if e["job"] in jobs and e["event"] in ENDED:
                        ended.add(e["job"])
        if ended >= jobs:
            return 0
        time.sleep(0.2)
    print(f"follow_events: jobs {sorted(jobs - ended)} did not end within {timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
