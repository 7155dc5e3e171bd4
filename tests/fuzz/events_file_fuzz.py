#!/usr/bin/python3
"""Fuzz target: the events file `lull report` reads (launcher/src/report/events_file.py).

The file is parsed only in Python: the arbiter writes it from C++ but no C++
reads it, so a libFuzzer target would test code `lull report` never runs.
This is a random-mutation fuzzer over events_file.py (the parser
timeline.py uses) instead, run the way the libFuzzer targets are
(scripts/fuzz.sh passes it the same options) and replayed in CTest (fuzz.events_file.corpus, .mutations).

What must hold for any bytes: parse_events + replay + summary give a
summary that prints as UTF-8, or refuse with MalformedEvents whose every
problem names "PATH:LINE:" for a line the input has, or with UserError;
never another exception, and never longer than -timeout seconds.

Inputs are mutated as bytes (bits, bytes, tokens from the dictionary,
deleted, repeated and spliced ranges, whole lines cut, doubled, swapped and
taken from other inputs) and as JSON (a field of a line set to a hostile
value). Feedback is what the input led to: each refusal reason (numbers
blanked) and each final job state; an input that led to one no earlier
input did joins the corpus (a cheap stand-in for code coverage, which
Python 3.11's tracing would slow tenfold).

Usage, as a libFuzzer program:
  events_file_fuzz.py [-options] [WORK_DIR] CORPUS_DIR...   fuzz
  events_file_fuzz.py INPUT_FILE...                          run each once
Options: -runs=N (mutated inputs; default until -max_total_time),
-max_total_time=S, -seed=N, -timeout=S (per input, 10), -dict=FILE,
-artifact_prefix=PREFIX (where a finding is saved), -max_len=BYTES (262144),
-rss_limit_mb=MB (2048, as an address-space limit). New inputs go to the
first directory when there are two or more (a lone corpus is only read).
Exit 0 without a finding, 1 with one (the input saved, its command printed).
"""

import hashlib
import importlib.util
import json
import os
import random
import re
import resource
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
EVENTS_FILE = os.path.join(HERE, "..", "..", "launcher", "src", "report", "events_file.py")
NAME = "events.jsonl"  # the path the parser is told; problems must start with it

# Values a field is set to by the JSON mutations.
HOSTILE_VALUES = [None, True, False, -1, 0, 1, 75, 2**31, 2**64, -2**63 - 1, 10**400, 1e308, -1e308, 1e11,
                  1e11 + 1, float("nan"), float("inf"), 1.5, "", "\ud800", "a\x1b[31mred", "x" * 300, "\u2028",
                  "\x00", "\u200f", [], [None], [-1], [10**30], ["\ud800"], [0, "gpu0"], list(range(1100)),
                  {}, {"a": 1}, "start", "resume", "exit", "notice", "9" * 100, [[[[[]]]]]]
FIELDS = ["time", "event", "job", "tenant", "class", "slots", "exit_code", "step", "reason", "ranks", "extra"]


def load_parser():
    spec = importlib.util.spec_from_file_location("events_file", EVENTS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Hang(Exception):
    pass


class Broken(Exception):
    """A property broken: the finding."""


def on_alarm(_signum, _frame):
    raise Hang()


def blanked(message):
    return re.sub(r"[0-9]+", "#", message)[:120]


def outcome(parser, data, timeout):
    """Runs the parser on `data`; returns what it led to (a set of features); raises Broken."""
    line_count = data.count(b"\n") + 1
    signal.alarm(timeout)
    try:
        events = parser.parse_events(data, NAME)
        jobs = parser.replay(events)
        parser.summary(jobs, events, NAME).encode("utf-8")  # what print() does
        return {"accepted"} | {"state " + job.state.split(" ")[0] for job in jobs.values()}
    except parser.MalformedEvents as error:
        if error.count < 1 or not error.problems:
            raise Broken("MalformedEvents without problems") from None
        for problem in error.problems:
            number = problem[len(NAME) + 1:].split(":", 1)[0]
            if not problem.startswith(NAME + ":") or not number.isdigit() or not 1 <= int(number) <= line_count:
                raise Broken(f"a problem that names no line of the input: {problem!r}") from None
            problem.encode("utf-8")
        return {"malformed " + blanked(problem[len(NAME):]) for problem in error.problems}
    except parser.UserError as error:
        str(error).encode("utf-8")
        return {"refused " + blanked(str(error))}
    except Hang:
        raise Broken(f"still parsing after {timeout} s") from None
    except Exception:  # noqa: BLE001 -- anything else reaching the user is what this looks for
        raise Broken(traceback.format_exc()) from None
    finally:
        signal.alarm(0)


class Mutator:
    def __init__(self, rng, tokens, max_len):
        self.rng = rng
        self.tokens = tokens
        self.max_len = max_len

    def mutate(self, data, corpus):
        for _ in range(self.rng.randint(1, 5)):
            operation = self.rng.choice((self.flip, self.set_byte, self.insert_token, self.delete, self.repeat,
                                         self.splice, self.line_operation, self.line_operation, self.json_field,
                                         self.json_field))
            data = operation(data, corpus)
        return data[:self.max_len]

    def position(self, data):
        return self.rng.randint(0, len(data))

    def flip(self, data, _corpus):
        if not data:
            return data
        at = self.rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ (1 << self.rng.randrange(8))]) + data[at + 1:]

    def set_byte(self, data, _corpus):
        at = self.position(data)
        return data[:at] + bytes([self.rng.choice((0, 10, 13, 0x22, 0x5c, 0x7f, 0x80, 0xc0, 0xef, 0xff,
                                                  self.rng.randrange(256)))]) + data[at + 1:]

    def insert_token(self, data, _corpus):
        at = self.position(data)
        return data[:at] + self.rng.choice(self.tokens) + data[at:]

    def delete(self, data, _corpus):
        at = self.position(data)
        return data[:at] + data[at + self.rng.randint(1, 64):]

    def repeat(self, data, _corpus):
        at = self.position(data)
        chunk = data[at:at + self.rng.randint(1, 16)] or b"["
        return data[:at] + chunk * self.rng.choice((2, 10, 1000, 5000)) + data[at:]

    def splice(self, data, corpus):
        other = self.rng.choice(corpus)
        return data[:self.position(data)] + other[self.rng.randint(0, len(other)):]

    def line_operation(self, data, corpus):
        lines = data.split(b"\n")
        at = self.rng.randrange(len(lines))
        choice = self.rng.randrange(4)
        if choice == 0:
            del lines[at]
        elif choice == 1:
            lines.insert(at, lines[at])
        elif choice == 2:
            other = self.rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            lines.insert(at, self.rng.choice(self.rng.choice(corpus).split(b"\n")))
        return b"\n".join(lines)

    def json_field(self, data, _corpus):
        lines = data.split(b"\n")
        at = self.rng.randrange(len(lines))
        try:
            event = json.loads(lines[at])
        except (ValueError, RecursionError):
            return data
        if not isinstance(event, dict):
            return data
        event[self.rng.choice(FIELDS)] = self.rng.choice(HOSTILE_VALUES)
        lines[at] = json.dumps(event, ensure_ascii=self.rng.random() < 0.5).encode("utf-8", "surrogatepass")
        return b"\n".join(lines)


def read_dictionary(path):
    """libFuzzer's dictionary format: one "quoted token" a line, \\xNN escapes."""
    tokens = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if line.startswith('"') and line.endswith('"') and len(line) >= 2:
                tokens.append(line[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1"))
    return tokens


def parse_options(argv):
    options = {"runs": -1, "max_total_time": 0, "seed": 0, "timeout": 10, "dict": None, "artifact_prefix": "./",
               "max_len": 256 * 1024, "rss_limit_mb": 2048}
    paths = []
    for argument in argv:
        match = re.fullmatch(r"-([a-z_]+)=(.*)", argument)
        if not match:
            paths.append(argument)
            continue
        key, value = match.groups()
        if key in ("dict", "artifact_prefix"):
            options[key] = value
        elif key in options:
            options[key] = int(value)
        # other libFuzzer options (-print_final_stats=1) change nothing here
    return options, paths


def save_finding(options, data, why):
    path = options["artifact_prefix"] + "crash-" + hashlib.sha1(data).hexdigest()
    with open(path, "wb") as file:
        file.write(data)
    print(f"fuzz property broken: {why}", file=sys.stderr)
    print(f"==events_file== the input is {path}; reproduce with: {sys.argv[0]} {path}", file=sys.stderr)


def run_files(parser, options, files):
    for path in files:
        with open(path, "rb") as file:
            data = file.read()
        try:
            print(f"{path}: {'; '.join(sorted(outcome(parser, data, options['timeout'])))}")
        except Broken as broken:
            print(f"fuzz property broken on {path}: {broken}", file=sys.stderr)
            return 1
    return 0


def fuzz(parser, options, directories):
    corpus, seen = [], set()
    work = directories[0] if len(directories) > 1 else None
    if work:
        os.makedirs(work, exist_ok=True)
    for directory in directories:
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), "rb") as file:
                corpus.append(file.read())
    if not corpus:
        corpus.append(b"")
    tokens = read_dictionary(options["dict"]) if options["dict"] else []
    mutator = Mutator(random.Random(options["seed"]), tokens or [b"{", b"}", b"[", b"]", b'"', b","],
                      options["max_len"])
    started = time.monotonic()
    executions = added = 0
    pulse = started + 10

    def run(data):
        nonlocal executions
        executions += 1
        try:
            return outcome(parser, data, options["timeout"])
        except Broken as broken:
            save_finding(options, data, broken)
            raise

    try:
        for data in list(corpus):
            seen |= run(data)
        print(f"#{executions}\tINITED corp: {len(corpus)} features: {len(seen)}", file=sys.stderr)
        while options["runs"] < 0 or executions - len(corpus) < options["runs"]:
            now = time.monotonic()
            if options["max_total_time"] and now - started >= options["max_total_time"]:
                break
            if now >= pulse:
                pulse = now + 10
                print(f"#{executions}\tpulse corp: {len(corpus)} features: {len(seen)} "
                      f"exec/s: {executions / (now - started):.0f}", file=sys.stderr)
            data = mutator.mutate(mutator.rng.choice(corpus), corpus)
            features = run(data)
            if not features <= seen:
                seen |= features
                corpus.append(data)
                added += 1
                if work:
                    with open(os.path.join(work, hashlib.sha1(data).hexdigest()), "wb") as file:
                        file.write(data)
    except Broken:
        return 1
    finally:
        elapsed = max(time.monotonic() - started, 1e-9)
        print(f"stat::number_of_executed_units: {executions}", file=sys.stderr)
        print(f"stat::average_exec_per_sec:     {executions / elapsed:.0f}", file=sys.stderr)
        print(f"stat::new_units_added:          {added}", file=sys.stderr)
        print(f"stat::features:                 {len(seen)}", file=sys.stderr)
    return 0


def main(argv):
    options, paths = parse_options(argv)
    limit = options["rss_limit_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, on_alarm)
    parser = load_parser()
    files = [path for path in paths if os.path.isfile(path)]
    if files:
        return run_files(parser, options, files)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    return fuzz(parser, options, paths)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
