"""The node arbiter's events file, read as nothing in it is trusted, and
replayed into jobs and their runs (timeline.py draws them; the fuzz target
tests/fuzz/events_file_fuzz.py drives parse_events, replay and summary).

EVENTS holds JSON lines, one event each:
  {"time": unix seconds, "event": "submit|start|notice|checkpoint|exit|resume|
   finish|kill|wait|cancel|reject|failed", "job": id, "tenant": ..., "class": ...,
   "slots": [ids] (start/resume), "ranks": n, "step": n, "exit_code": n, "reason": ...}
Keys may be null when not known (the arbiter writes every key on every line).
A job holds its slots from "start"/"resume" until its "exit" (a "finish",
"failed" or "kill" before that exit only names the outcome). Unknown fields
and events are ignored; blank lines too, and events with a null "job" (a
submission refused before it got an id).

Nothing in the file is trusted: only a regular file of at most 256 MiB is
read (a FIFO, a device or a directory is refused by name, without blocking);
each line is at most 64 KiB of UTF-8 JSON; times are Unix seconds from 0 to
1e11, job ids integers from 0 to 2^64-1, tenant, class and slot names
printable text of at most 255 bytes, slot ids integers from 0 to 10,000,000,
exit codes int32, and the file names at most 1024 distinct slots. Any other
line is malformed and reported with its number.
"""

import json
import math
import os
import stat

KNOWN_EVENTS = {"submit", "start", "notice", "checkpoint", "exit", "resume",
                "finish", "kill", "wait", "cancel", "reject", "failed"}
# The outcome these events name; the run itself ends at the job's "exit".
OUTCOME_EVENTS = {"finish": "finished", "failed": "failed", "kill": "killed"}
MAX_REPORTED_PROBLEMS = 20
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
MAX_TIME = 1e11          # Unix seconds, about the year 5138
MAX_JOB_ID = 2**64 - 1
MAX_NAME_BYTES = 255     # as lull's own names
MAX_SLOTS = 1024         # distinct slots drawn (one row each)
MAX_SLOT_ID = 10_000_000
FILE_TYPES = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
EX_TEMPFAIL = 75  # lull's exit code for "preempted, resumable"


class UserError(Exception):
    """A problem with the user's input or environment: one message, exit 1."""


class MalformedEvents(Exception):
    def __init__(self, problems, count):
        super().__init__(f"{count} malformed line(s)")
        self.problems = problems
        self.count = count


class Run:
    """One run of a job: the slots it held from start/resume to exit."""

    def __init__(self, how, start, slots):
        self.how = how            # "start" or "resume"
        self.start = start
        self.end = None           # None while running
        self.slots = slots
        self.notice = None        # time of the first preemption notice
        self.checkpoints = []     # times of committed checkpoints
        self.outcome_time = None  # a finish/failed/kill before the exit

    def duration(self):
        return max(0.0, self.end - self.start)


class Job:
    def __init__(self, job_id):
        self.id = job_id
        self.tenant = None
        self.job_class = None
        self.runs = []
        self.state = "submitted"
        self.preemptions = 0
        self.resumes = 0

    def open_run(self):
        if self.runs and self.runs[-1].end is None:
            return self.runs[-1]
        return None

    def label(self):
        details = ", ".join(x for x in (self.tenant, self.job_class) if x)
        return f"job {self.id} ({details})" if details else f"job {self.id}"


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def name_problem(value):
    """What is wrong with a tenant, class or slot name, or None."""
    if not value:
        return "is empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate)"
    if size > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    if any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in value):
        return "holds a control character"
    return None


def check_slots(name, slots):
    if not isinstance(slots, list) or not slots:
        raise ValueError(f'"{name}" event without "slots" (a non-empty list of slot ids)')
    if len(slots) > MAX_SLOTS:
        raise ValueError(f'"{name}" event with {len(slots)} slots (at most {MAX_SLOTS})')
    for slot in slots:
        if is_integer(slot):
            if not 0 <= slot <= MAX_SLOT_ID:
                raise ValueError(f'"{name}" event with slot {slot} (slot ids are 0 to {MAX_SLOT_ID})')
        elif isinstance(slot, str):
            problem = name_problem(slot)
            if problem:
                raise ValueError(f'"{name}" event with a slot name that {problem}')
        else:
            raise ValueError(f'"{name}" event without "slots" (a non-empty list of slot ids)')


def parse_line(text):
    """Returns the event dict, None for a line to skip; raises ValueError."""
    if not text.strip():
        return None
    if text.startswith("\ufeff"):  # json's own message advises a Python API
        raise ValueError("a byte order mark where only the file's first line may have one")
    try:
        event = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise ValueError("not JSON lull writes: nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4300 digits (and says which call lifts that)
        raise ValueError("not JSON lull writes: an integer of thousands of digits") from None
    if not isinstance(event, dict):
        raise ValueError("not a JSON object")
    name = event.get("event")
    if not isinstance(name, str):
        raise ValueError('no "event" name (a string)')
    if name not in KNOWN_EVENTS:
        return None
    if not is_number(event.get("time")):
        raise ValueError(f'"{name}" event without a numeric "time"')
    if not 0 <= event["time"] <= MAX_TIME:
        raise ValueError(f'"time" is out of range (0 to {MAX_TIME:.0e} Unix seconds)')
    if event.get("job") is None:
        return None  # a submission refused before it got an id: no job to draw
    if not is_integer(event["job"]):
        raise ValueError('"job" is not an integer')
    if not 0 <= event["job"] <= MAX_JOB_ID:
        raise ValueError(f'"job" is out of range (0 to {MAX_JOB_ID})')
    for key in ("tenant", "class"):
        if event.get(key) is not None:
            if not isinstance(event[key], str):
                raise ValueError(f'"{key}" is not a string')
            problem = name_problem(event[key])
            if problem:
                raise ValueError(f'"{key}" {problem}')
    if name in ("start", "resume"):
        check_slots(name, event.get("slots"))
    if name == "exit" and event.get("exit_code") is not None:
        if not is_integer(event["exit_code"]) or not -2**31 <= event["exit_code"] < 2**31:
            raise ValueError('"exit_code" is not an integer exit code')
    return event


def read_bounded(path):
    """The bytes of the regular file `path`; anything else is refused, without blocking."""
    def refuse_non_regular(mode):
        for test, what in FILE_TYPES:
            if test(mode):
                raise UserError(f"{path} is {what}, not an events file")
        if not stat.S_ISREG(mode):
            raise UserError(f"{path} is not a regular file, not an events file")

    try:
        # O_NONBLOCK: opening a FIFO without a writer must not wait for one.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UserError(f"events file {path} does not exist") from None
    except OSError as error:
        try:
            refuse_non_regular(os.stat(path).st_mode)  # a socket cannot be opened: say what it is
        except OSError:
            pass
        raise UserError(f"cannot read events file {path}: {error.strerror}") from None
    too_large = UserError(f"events file {path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, "
                          "the most lull report reads")
    try:
        info = os.fstat(descriptor)
        refuse_non_regular(info.st_mode)
        if info.st_size > MAX_FILE_BYTES:
            raise too_large
        file = os.fdopen(descriptor, "rb")  # fails for a directory: checked first
    except BaseException:
        os.close(descriptor)
        raise
    with file:
        try:
            data = file.read(MAX_FILE_BYTES + 1)  # one byte more tells a file that grew meanwhile
        except OSError as error:
            raise UserError(f"cannot read events file {path}: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise too_large
    return data


def decode_line(raw):
    """One line of the file as text; raises ValueError."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"longer than {MAX_LINE_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text ({error.reason} at byte {error.start + 1})") from None


def read_events(path):
    """The events of `path` in time order (ties keep file order)."""
    return parse_events(read_bounded(path), path)


def parse_events(data, path):
    """The events in `data` (the bytes of the events file `path`) in time order.

    Raises MalformedEvents naming each bad line, or UserError; nothing else
    for any bytes (tests/fuzz/events_file_fuzz.py holds it to that)."""
    # Lines end at "\n" only: str.splitlines() would also end them inside JSON
    # strings holding U+2028 and the like, and number the lines wrongly.
    lines = data.split(b"\n")
    if lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]  # a UTF-8 byte order mark
    events, problems, count = [], [], 0
    slots = set()
    for number, raw in enumerate(lines, start=1):
        try:
            event = parse_line(decode_line(raw.rstrip(b"\r")))
        except ValueError as error:
            count += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(f"{path}:{number}: {error}")
            continue
        if event is not None:
            if event["event"] in ("start", "resume"):
                slots.update(event["slots"])
                if len(slots) > MAX_SLOTS:
                    raise UserError(f"{path}:{number}: more than {MAX_SLOTS} distinct slots, "
                                    "more than lull report draws")
            events.append(event)
    if count:
        raise MalformedEvents(problems, count)
    if not events:
        raise UserError(f"{path} holds no events")
    events.sort(key=lambda e: e["time"])
    return events


def replay(events):
    """Jobs by id, in order of first appearance."""
    jobs = {}
    for event in events:
        name, time = event["event"], float(event["time"])
        job = jobs.setdefault(event["job"], Job(event["job"]))
        job.tenant = event.get("tenant") or job.tenant  # null: not known here
        job.job_class = event.get("class") or job.job_class
        run = job.open_run()
        if name in ("start", "resume"):
            if run is not None:  # a second start without an exit: close the first
                run.end = time
            job.runs.append(Run(name, time, list(event["slots"])))
            job.resumes += name == "resume"
            job.state = "running"
        elif name == "notice":
            if run is not None and run.notice is None:
                run.notice = time
                job.preemptions += 1
        elif name == "checkpoint":
            if run is not None:
                run.checkpoints.append(time)
        elif name == "exit":
            if run is not None:
                run.end = time
                code = event.get("exit_code")
                if run.outcome_time is None:
                    if code == 0:
                        job.state = "finished"
                    elif code == EX_TEMPFAIL or (code is None and run.notice is not None):
                        job.state = "preempted"
                    else:
                        job.state = "exited" if code is None else f"exited {code}"
        elif name in OUTCOME_EVENTS:
            job.state = OUTCOME_EVENTS[name]
            if run is not None and run.outcome_time is None:
                run.outcome_time = time
        elif name == "wait":
            if run is None:
                job.state = "waiting"
        elif name == "cancel":
            job.state = "cancelled"
        elif name == "reject":
            job.state = "rejected"
    last = float(events[-1]["time"])
    for job in jobs.values():
        run = job.open_run()
        if run is not None:
            # Without an exit: a job that finished ends at its outcome, one
            # still running at the end of the file is drawn up to the last event.
            run.end = run.outcome_time if run.outcome_time is not None else last
    return jobs


def slot_key(slot):
    return (0, slot, "") if is_integer(slot) else (1, 0, str(slot))


def plural(count, word):
    return f"{count} {word}" + ("" if count == 1 else "s")


def totals(jobs):
    return (len(jobs), sum(j.preemptions for j in jobs.values()),
            sum(j.resumes for j in jobs.values()))


def summary(jobs, events, path):
    first, last = float(events[0]["time"]), float(events[-1]["time"])
    slots = {s for j in jobs.values() for r in j.runs for s in r.slots}
    rows = [("job", "tenant", "class", "runs", "preemptions", "running_s", "final")]
    for job in jobs.values():
        running = sum(r.duration() for r in job.runs)
        rows.append((str(job.id), job.tenant or "-", job.job_class or "-", str(len(job.runs)),
                     str(job.preemptions), f"{running:.1f}", job.state))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{os.path.basename(path)}: {plural(len(events), 'event')} over "
             f"{last - first:.1f} s, {plural(len(slots), 'slot')}"]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    job_count, preemptions, resumes = totals(jobs)
    lines.append(f"total: {plural(job_count, 'job')}, {plural(preemptions, 'preemption')}, "
                 f"{plural(resumes, 'resume')}")
    return "\n".join(lines)
