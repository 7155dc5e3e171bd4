#!/usr/bin/python3
"""`lull report` end to end: the real binary, the real script, real matplotlib.

Usage: /usr/bin/python3 report_test.py --lull build/bin/lull --work DIR CASE
       (--build BUILD_DIR too for CASE "installed")

The events file is preempt_resume.events.jsonl beside this script: a node of
4 slots; tenant job 1 (acme, spot) on all 4 is preempted by internal job 2 on
3 slots, waits, and resumes on 3 slots (resharded) when job 2 finishes; job 3
(beta) takes the 4th slot and is still running at the end; job 4 is
rejected, and one submission is refused before it gets an id (job null). Lines
have every key, null when not known, as the arbiter writes them; an unknown
event and an unknown field are mixed in.

Cases:
  timeline        exit 0; a valid PNG (every chunk's CRC, IHDR size) that
                  shows each job's colour; the summary's per-job counts
  malformed_line  broken lines -> exit 1, each named by its line number, no picture
  missing_file    exit 1, "does not exist", no picture
  empty_file      exit 1, "holds no events"
  bad_output      an unknown picture format or a missing directory -> exit 1
  no_matplotlib   python3 that cannot import matplotlib -> exit 1 and the
                  install hint
  installed       `cmake --install` into a scratch prefix: the installed
                  lull finds the installed script
Exit 0 when the case passes, 1 with what differed.
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
EVENTS = os.path.join(HERE, "preempt_resume.events.jsonl")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def run(lull, *args, env=None):
    result = subprocess.run([lull, "report", *args], capture_output=True, text=True, timeout=120,
                            env=env)
    print(f"$ lull report {' '.join(args)}  -> exit {result.returncode}")
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    check("Traceback" not in result.stderr, "a Python traceback reached the user")
    return result


def png_size(path):
    """(width, height) after checking the signature, every chunk's CRC and IEND."""
    with open(path, "rb") as file:
        data = file.read()
    check(data.startswith(PNG_SIGNATURE), f"{path} does not start with the PNG signature")
    offset, chunks, size = len(PNG_SIGNATURE), [], None
    while offset < len(data):
        check(offset + 8 <= len(data), "truncated chunk header")
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        check(zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        chunks.append(kind)
        offset += 12 + length
    check(chunks[:1] == [b"IHDR"] and chunks[-1:] == [b"IEND"] and b"IDAT" in chunks,
          f"chunk order {chunks}")
    return size


def job_colours_present(path, count):
    """Whether the picture holds the first `count` colours of tab10, as bars would."""
    import numpy
    from matplotlib import colormaps, image
    pixels = (image.imread(path)[:, :, :3] * 255).round().astype(int)
    for index in range(count):
        colour = (numpy.array(colormaps["tab10"](index)[:3]) * 255).round().astype(int)
        matches = numpy.all(numpy.abs(pixels - colour) <= 2, axis=2).sum()
        check(matches > 5000, f"job colour {index} covers only {matches} pixels")


def summary_rows(stdout):
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["job"])
    check(lines[header].split() == ["job", "tenant", "class", "runs", "preemptions", "running_s", "final"],
          f"summary header: {lines[header]!r}")
    rows = {}
    for line in lines[header + 1:]:
        fields = line.split()
        if not fields or not fields[0].isdigit():
            break
        rows[int(fields[0])] = fields[1:]
    return rows


def case_timeline(lull, work, _):
    output = os.path.join(work, "timeline.png")
    result = run(lull, EVENTS, "-o", output, "--title", "node a17")
    check(result.returncode == 0, f"exit {result.returncode}")
    width, height = png_size(output)
    check(800 <= width <= 4000 and 300 <= height <= 4000, f"picture is {width}x{height}")
    check(f"({width}x{height})" in result.stdout, "the size printed is not the picture's")
    job_colours_present(output, 3)
    rows = summary_rows(result.stdout)
    expected = {
        1: ["acme", "spot", "2", "1", "458.0", "finished"],
        2: ["frontier", "internal", "1", "0", "239.9", "finished"],
        3: ["beta", "besteffort", "1", "0", "549.8", "running"],
        4: ["gamma", "spot", "0", "0", "0.0", "rejected"],
    }
    check(rows == expected, f"summary rows {rows}, expected {expected}")
    check("total: 4 jobs, 1 preemption, 1 resume" in result.stdout, "totals line")
    check("24 events over 720.0 s, 4 slots" in result.stdout, "events line")


def case_malformed_line(lull, work, _):
    with open(EVENTS) as file:
        lines = file.read().splitlines()
    lines[6] = lines[6][:40]                                            # line 7: cut short
    lines.insert(11, '{"time": 1746100171.0, "event": "start", "job": 9}')  # line 12: no slots
    lines.insert(14, '["start", 3]')                                    # line 15: not an object
    events = os.path.join(work, "broken.events.jsonl")
    with open(events, "w") as file:
        file.write("\n".join(lines) + "\n")
    output = os.path.join(work, "broken.png")
    result = run(lull, events, "-o", output)
    check(result.returncode == 1, f"exit {result.returncode}, expected 1")
    for number, what in ((7, "not JSON"), (12, '"slots"'), (15, "not a JSON object")):
        check(any(f"{events}:{number}: " in line and what in line for line in result.stderr.splitlines()),
              f"line {number} ({what}) not reported")
    check("3 malformed lines" in result.stderr, "count of malformed lines")
    check(not os.path.exists(output), "a picture was written anyway")


def case_missing_file(lull, work, _):
    events = os.path.join(work, "no-such.events.jsonl")
    output = os.path.join(work, "missing.png")
    result = run(lull, events, "-o", output)
    check(result.returncode == 1, f"exit {result.returncode}, expected 1")
    check(f"lull: events file {events} does not exist" in result.stderr, "no clear message")
    check(not os.path.exists(output), "a picture was written anyway")


def case_empty_file(lull, work, _):
    events = os.path.join(work, "empty.events.jsonl")
    with open(events, "w") as file:
        file.write("\n")
    result = run(lull, events, "-o", os.path.join(work, "empty.png"))
    check(result.returncode == 1, f"exit {result.returncode}, expected 1")
    check("holds no events" in result.stderr, "no clear message")


def case_bad_output(lull, work, _):
    result = run(lull, EVENTS, "-o", os.path.join(work, "timeline.xyz"))
    check(result.returncode == 1 and "name it .png" in result.stderr, "unknown format accepted")
    result = run(lull, EVENTS, "-o", os.path.join(work, "no-such-dir", "timeline.png"))
    check(result.returncode == 1 and "cannot write" in result.stderr, "missing directory not reported")
    check(not [n for n in os.listdir(work) if n.startswith(".timeline-")], "temporary file left behind")


def case_no_matplotlib(lull, work, _):
    # A matplotlib package earlier on the path that cannot be imported is what
    # a python3 without python3-matplotlib looks like to the script.
    shadow = os.path.join(work, "shadow", "matplotlib")
    os.makedirs(shadow, exist_ok=True)
    with open(os.path.join(shadow, "__init__.py"), "w") as file:
        file.write('raise ImportError("No module named \'matplotlib\'")\n')
    env = dict(os.environ, PYTHONPATH=os.path.dirname(shadow))
    result = run(lull, EVENTS, "-o", os.path.join(work, "none.png"), env=env)
    check(result.returncode == 1, f"exit {result.returncode}, expected 1")
    check("install python3-matplotlib (scripts/install-deps.sh does)" in result.stderr, "no install hint")


def case_installed(_, work, build):
    prefix = os.path.join(work, "prefix")
    subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    script = os.path.join("share", "lull", "timeline.py")
    check(os.access(os.path.join(prefix, script), os.X_OK), f"{script} not installed")
    # A moved prefix still works: lull looks for the script next to itself.
    moved = prefix + "-moved"
    os.rename(prefix, moved)
    lull = os.path.join(moved, "bin", "lull")
    output = os.path.join(work, "installed.png")
    result = run(lull, EVENTS, "-o", output)
    check(result.returncode == 0 and png_size(output)[0] >= 800, "the installed lull report failed")
    # And it ran the installed copy, not the source tree's (its fallback).
    with open(os.path.join(moved, script), "w") as file:
        file.write("import sys\nprint('installed copy ran')\nsys.exit(3)\n")
    result = run(lull, EVENTS, "-o", output)
    check(result.returncode == 3 and "installed copy ran" in result.stdout,
          "the installed lull did not run the installed script (or lost its exit code)")


CASES = {name[len("case_"):]: function for name, function in globals().items() if name.startswith("case_")}


def main(cases=None):
    """Runs the case named on the command line; `cases` (name -> function) defaults to these."""
    cases = cases or CASES
    parser = argparse.ArgumentParser()
    parser.add_argument("--lull", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--build")
    parser.add_argument("case", choices=sorted(cases))
    options = parser.parse_args()
    work = os.path.join(options.work, options.case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        cases[options.case](options.lull, work, options.build)
    except Failed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
