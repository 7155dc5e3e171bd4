#!/usr/bin/python3
"""`lull report` against hostile events files, end to end.

The events file is parsed only in Python (launcher/src/report/events_file.py); its
parser is fuzzed in-process by tests/fuzz/events_file_fuzz.py (CTest
fuzz.events_file.*, `make fuzz`). These cases run the real command on the
files and lines a user or an attacker could hand it.

Usage: /usr/bin/python3 events_hostile_test.py --lull build/bin/lull --work DIR CASE
(report_test.py runs the cases)

Cases:
  special_files  a FIFO without a writer, /dev/zero, a directory, a socket, a
                 sparse file past the 256 MiB limit, a line past 64 KiB and
                 more than 1024 distinct slots: `lull report` exits 1 within
                 60 s, says what is wrong, writes no picture.
  hostile_lines  each hand-made hostile line inside the sample, end to end
                 through `lull report`: exit 0 or 1, never a Python traceback.
Exit 0 when the case passes, 1 with what differed.
"""

import json
import os
import socket
import subprocess
import sys

import report_test
from report_test import Failed

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = report_test.EVENTS


def hostile_lines():
    """Hand-made lines, each alone a kind of attack; as text."""
    base = {"time": 1746100000.0, "event": "start", "job": 7, "tenant": "acme", "class": "spot",
            "slots": [0, 1], "ranks": 2, "step": None, "exit_code": None, "reason": "x"}

    def variant(**changes):
        line = dict(base)
        line.update(changes)
        return json.dumps(line, ensure_ascii=False, allow_nan=True)

    lines = [
        "[" * 100000 + "]" * 100000,
        '{"a":' * 50000 + "1" + "}" * 50000,
        '{"time": ' + "9" * 5000 + ', "event": "start", "job": 1, "slots": [0]}',
        '{"time": 1, "event": "start", "job": ' + "1" * 4000 + ', "slots": [0]}',
        variant(time=10**400 // 10**100),
        variant(time=float("nan")),
        variant(time=float("inf")),
        variant(time=-5),
        variant(time=1e300),
        variant(job=2**64),
        variant(job=-1),
        variant(job=True),
        variant(tenant="\ud800"),
        variant(tenant="evil\x1b]0;owned\x07"),
        variant(tenant="t" * 1000),
        variant(**{"class": "c\nforged line"}),
        variant(slots=list(range(5000))),
        variant(slots=[2**70]),
        variant(slots=[-1]),
        variant(slots=["\ud800"]),
        variant(slots=[1.5]),
        variant(slots=[True]),
        variant(slots="0,1"),
        variant(event="exit", exit_code=2**40),
        variant(event="exit", exit_code=1.5),
        variant(reason="r" * 60000),
        variant(tenant="a\u2028b"),
        "\ufeff" + variant(),
        variant() + "\r",
        variant().replace("acme", "ac\\u0000me"),
        '{"time": 1, "event": "start", "job": 1, "slots": [0], "time": "dup"}',
        "\x00" * 100,
        "x" * 70000,
    ]
    return lines


def run_report(lull, events, output):
    try:
        return report_test.run(lull, events, "-o", output)
    except subprocess.TimeoutExpired:
        raise Failed(f"lull report {events}: still running after its timeout") from None


def case_special_files(lull, work, _build):
    output = os.path.join(work, "out.png")
    fifo = os.path.join(work, "fifo.jsonl")
    os.mkfifo(fifo)
    sock_path = os.path.join(work, "sock.jsonl")
    server = socket.socket(socket.AF_UNIX)
    server.bind(sock_path)
    sparse = os.path.join(work, "huge.jsonl")
    with open(sparse, "wb") as file:
        file.truncate(300 * 1024 * 1024)
    long_line = os.path.join(work, "long-line.jsonl")
    with open(SAMPLE) as source, open(long_line, "w") as file:
        lines = source.read().splitlines()
        lines.insert(3, json.dumps({"time": 1746100000.0, "event": "submit", "job": 9, "reason": "r" * 70000}))
        file.write("\n".join(lines) + "\n")
    many_slots = os.path.join(work, "many-slots.jsonl")
    with open(many_slots, "w") as file:
        for job in range(2000):
            file.write(json.dumps({"time": 1746100000.0 + job, "event": "start", "job": job, "slots": [job]}) + "\n")
    cases = [
        (fifo, f"{fifo} is a FIFO, not an events file"),
        ("/dev/zero", "/dev/zero is a character device, not an events file"),
        (work, f"{work} is a directory, not an events file"),
        (sock_path, f"{sock_path} is a socket, not an events file"),
        (sparse, f"events file {sparse} is larger than 256 MiB"),
        (long_line, f"{long_line}:4: longer than 65536 bytes"),
        (many_slots, f"{many_slots}:1025: more than 1024 distinct slots"),
    ]
    for events, message in cases:
        result = run_report(lull, events, output)
        if result.returncode != 1 or message not in result.stderr:
            raise Failed(f"{events}: exit {result.returncode}, expected 1 and {message!r}:\n{result.stderr}")
        if os.path.exists(output):
            raise Failed(f"{events}: a picture was written anyway")
    server.close()


def case_hostile_lines(lull, work, _build):
    with open(SAMPLE) as file:
        sample = file.read().splitlines()
    outcomes = []
    for number, line in enumerate(hostile_lines()):
        events = os.path.join(work, f"hostile-{number}.jsonl")
        with open(events, "wb") as file:
            file.write("\n".join(sample[:5] + [line] + sample[5:]).encode("utf-8", "surrogatepass") + b"\n")
        output = os.path.join(work, f"hostile-{number}.png")
        result = run_report(lull, events, output)
        if result.returncode not in (0, 1):
            raise Failed(f"{events}: exit {result.returncode}:\n{result.stderr}")
        if result.returncode == 1 and f"{events}:6: " not in result.stderr:
            raise Failed(f"{events}: refused without naming line 6:\n{result.stderr}")
        outcomes.append(result.returncode)
    if 1 not in outcomes:
        raise Failed("no hostile line was refused")


CASES = {name[len("case_"):]: function for name, function in globals().items() if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(report_test.main(CASES))
