#!/usr/bin/python3
"""Checks that README.md and docs/*.md stay navigable and true to the code.

    docs_test.py --root REPO [--lull BIN] [--work DIR] CHECK...

Checks (each a CTest test docs.<check>, tests/docs/CMakeLists.txt):

  links        every relative link resolves to a file or folder of the
               repository, every #anchor to a heading (GitHub's slugs) or an
               <a id> of its page, and every page of docs/ is reachable from
               README.md.
  snippets     every fenced block after <!-- example: FILE --> is FILE's own
               lines, byte for byte: in order, each run of lines between
               elision lines ("...", "// ...", "/* ... */", "# ...")
               contiguous in FILE. Every fenced block in a language (cpp, c,
               python, cmake, sh, toml) carries such a marker, or
               <!-- transcript ... --> or <!-- not run: REASON -->.
  references   what the docs name exists: every LULL_* variable in a source
               file, every `make TARGET` in the Makefile, every path under a
               top-level folder in the tree, every `lull CMD --option` in
               `lull CMD --help` (needs --lull).
  transcripts  every fenced block after <!-- transcript --> is run: each
               "$ COMMAND" line by bash in a scratch folder that sees the
               repository's docs/, examples/ and tests/, with `lull` on PATH, and its
               output (stdout and stderr) must be the lines that follow it. An
               expected line "..." stands for any number of lines;
               <!-- transcript; varies: REGEX; varies: REGEX --> names parts
               that differ from run to run (matched the same on both sides).
               "$ echo $?" prints the previous command's exit code.

Exit 0 when every check passes; 1 with one line per problem (file:line: what).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from markdown_pages import load_pages

CODE_LANGUAGES = {"cpp", "c", "python", "cmake", "sh", "bash", "toml"}
ELISIONS = {"...", "// ...", "/* ... */", "# ..."}
PLACEHOLDER = re.compile(r"[<*…{\[]|\.\.\.")

# ---- links -------------------------------------------------------------------------------------

def check_links(root, pages, problems):
    """Returns how many relative links it checked."""
    reached = {(root / "README.md").resolve()}
    checked = 0
    for page in pages.values():
        for line, target in page.links():
            where = f"{page.name}:{line}"
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: — not checked offline
                continue
            checked += 1
            path_part, _, anchor = target.partition("#")
            if path_part.startswith("/"):
                problems.append(f"{where}: link {target!r} is absolute; use a path relative to {page.name}")
                continue
            destination = (page.path.parent / path_part).resolve() if path_part else page.path.resolve()
            if root.resolve() not in destination.parents and destination != root.resolve():
                problems.append(f"{where}: link {target!r} leaves the repository")
                continue
            if not destination.exists():
                problems.append(f"{where}: link {target!r}: {destination.relative_to(root.resolve())} does not exist")
                continue
            if destination in pages:
                reached.add(destination)
            if anchor:
                if destination not in pages:
                    problems.append(f"{where}: link {target!r}: an anchor into a file that is not a checked page")
                elif anchor not in pages[destination].anchors:
                    known = ", ".join(sorted(pages[destination].anchors))
                    problems.append(f"{where}: link {target!r}: no heading with the anchor #{anchor} in "
                                    f"{pages[destination].name} (its anchors: {known})")
    # Every page reachable from the front page (a link from a reached page counts).
    grown = True
    while grown:
        grown = False
        for path in list(reached):
            page = pages.get(path)
            if page is None:
                continue
            for _, target in page.links():
                path_part = target.partition("#")[0]
                if not path_part or re.match(r"^[a-z][a-z0-9+.-]*:", path_part):
                    continue
                destination = (page.path.parent / path_part).resolve()
                if destination in pages and destination not in reached:
                    reached.add(destination)
                    grown = True
    for path, page in pages.items():
        if path not in reached:
            problems.append(f"{page.name}:1: no link leads here from README.md")
    return f"{checked} relative links"


# ---- snippets ----------------------------------------------------------------------------------

def segments_of(body):
    """The block's runs of lines between elision lines."""
    runs, current = [], []
    for line in body:
        if line.strip() in ELISIONS:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(line)
    if current:
        runs.append(current)
    return runs


def find_run(run, lines, start):
    for index in range(start, len(lines) - len(run) + 1):
        if lines[index:index + len(run)] == run:
            return index
    return None


def check_snippets(root, pages, problems):
    """Returns how many example blocks it compared with their files."""
    compared = 0
    for page in pages.values():
        for block in page.blocks:
            marker = block["marker"]
            where = f"{page.name}:{block['line']}"
            if marker is None:
                if block["language"] in CODE_LANGUAGES:
                    problems.append(f"{where}: a {block['language']} block without <!-- example: FILE -->, "
                                    "<!-- transcript --> or <!-- not run: REASON --> before it")
                continue
            if marker["kind"] == "not run" and not marker["argument"]:
                problems.append(f"{page.name}:{marker['line']}: <!-- not run: --> says no reason")
            if marker["kind"] != "example":
                continue
            source = root / marker["argument"]
            if not marker["argument"] or not source.is_file():
                problems.append(f"{page.name}:{marker['line']}: example file {marker['argument']!r} does not exist")
                continue
            lines = source.read_text(encoding="utf-8").split("\n")
            compared += 1
            position = 0
            for run in segments_of(block["body"]):
                found = find_run(run, lines, position)
                if found is None:
                    first = next((i for i, line in enumerate(lines) if line == run[0]), None)
                    hint = (f"its first line is line {first + 1} of the file, but what follows differs"
                            if first is not None else f"its first line {run[0]!r} is not in the file")
                    problems.append(f"{where}: the block's lines are not {marker['argument']}'s "
                                    f"(the run of {len(run)} lines starting {run[0].strip()!r}: {hint}); "
                                    "copy them from the file again")
                    break
                position = found + len(run)
    return f"{compared} example blocks"


# ---- references --------------------------------------------------------------------------------

def source_texts(root):
    """Text of every file of the tree that is not Markdown, build output or a corpus."""
    skip = re.compile(r"^(build[^/]*|\.git|tests/fuzz/corpus)(/|$)")
    for folder, folders, files in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        folders[:] = [f for f in folders if not skip.match(f"{relative}/{f}".lstrip("./"))]
        for name in files:
            if name.endswith(".md"):
                continue
            try:
                yield (Path(folder) / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue


def make_targets(root):
    targets = set()
    for line in (root / "Makefile").read_text(encoding="utf-8").split("\n"):
        match = re.match(r"^([A-Za-z][\w-]*)\s*:(?!=)", line)
        if match:
            targets.add(match.group(1))
    return targets


def code_fragments(page):
    """(line, text) of every inline code span and every line of a fenced block."""
    yield from page.code_spans()
    for block in page.blocks:
        for offset, line in enumerate(block["body"], 1):
            yield block["line"] + offset, line


def lull_help(lull, command, cache):
    if command not in cache:
        result = subprocess.run([lull, *command.split(), "--help"], capture_output=True, text=True, timeout=60)
        cache[command] = result.stdout if result.returncode == 0 else None
    return cache[command]


def lull_commands(lull):
    text = subprocess.run([lull, "--help"], capture_output=True, text=True, timeout=60).stdout
    section = text.split("SUBCOMMANDS:", 1)[-1]
    return {m.group(1) for m in re.finditer(r"^\s+([a-z]+)\s", section, re.M)}


def check_lull_options(lull, where, text, commands, cache, problems):
    """Returns how many options of `lull CMD` in `text` it looked up."""
    looked_up = 0
    for match in re.finditer(r"(?<![\w/.-])lull\s+([a-z]+)((?:\s+[^\s|;&#)]+)*)", text):
        command, rest = match.group(1), match.group(2).split()
        if command not in commands:
            continue
        if command == "policy" and rest[:1] in (["check"], ["export"]):
            command, rest = f"policy {rest[0]}", rest[1:]
        help_text = lull_help(lull, command, cache)
        if help_text is None:
            problems.append(f"{where}: `lull {command} --help` failed")
            continue
        for token in rest:
            if token == "--":
                break
            option = token.strip("[](){}|,.").split("=", 1)[0]
            if not re.match(r"^--?[a-z][\w-]*$", option) or option in ("--help", "--version"):
                continue
            looked_up += 1
            if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text):
                problems.append(f"{where}: `lull {command}` has no option {option} (lull {command} --help)")
    return looked_up


def check_references(root, pages, lull, problems):
    """Returns what it checked, counted."""
    if not lull:
        raise SystemExit("docs_test.py: references needs --lull")
    known_variables = set(re.findall(r"\bLULL_[A-Z0-9_]*[A-Z0-9]\b", "\n".join(source_texts(root))))
    targets = make_targets(root)
    commands = lull_commands(lull)
    if not commands:
        raise SystemExit(f"docs_test.py: `{lull} --help` lists no subcommands")
    # A path is checked when it starts with a top-level folder of the tree (not build output).
    top_folders = tuple(f"{p.name}/" for p in root.iterdir()
                        if p.is_dir() and not p.name.startswith(("build", ".git")))
    cache = {}
    counts = {"variables": 0, "make targets": 0, "paths": 0, "lull options": 0}
    for page in pages.values():
        variables = {}
        for number, line in page.prose + [(b["line"] + i, l) for b in page.blocks for i, l in enumerate(b["body"], 1)]:
            for name in re.findall(r"\bLULL_[A-Z0-9_]*[A-Z0-9]\b", line):
                variables.setdefault(name, number)
        counts["variables"] += len(variables)
        for name, number in sorted(variables.items()):
            if name not in known_variables:
                problems.append(f"{page.name}:{number}: {name} appears in no source file")
        for number, text in code_fragments(page):
            where = f"{page.name}:{number}"
            for target in re.findall(r"(?<![\w./-])make\s+([a-z][\w-]*)", text):
                counts["make targets"] += 1
                if target not in targets:
                    problems.append(f"{where}: `make {target}`: the Makefile has no such target")
            for token in re.split(r"[\s`'\"(),;:=]+", text):
                if not token.startswith(top_folders):
                    continue
                path = PLACEHOLDER.split(token, 1)[0]
                path = path if path == token else path.rsplit("/", 1)[0]
                path = path.rstrip(".")
                counts["paths"] += 1
                if path and not (root / path).exists():
                    problems.append(f"{where}: {token} does not exist in the repository")
            counts["lull options"] += check_lull_options(lull, where, text, commands, cache, problems)
    return ", ".join(f"{n} {what}" for what, n in counts.items())


# ---- transcripts -------------------------------------------------------------------------------

def transcript_steps(body):
    """[(command, expected lines)] of a transcript block."""
    steps = []
    for line in body:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def matches(expected, actual, varies):
    """Does `actual` (lines) fit `expected` (lines, "..." for any lines)? Returns the first difference."""
    def norm(line):
        for pattern in varies:
            line = re.sub(pattern, "<varies>", line)
        return line.rstrip()

    expected = [norm(line) for line in expected]
    actual = [norm(line) for line in actual]
    while expected and not expected[-1]:
        expected.pop()
    while actual and not actual[-1]:
        actual.pop()

    def fit(e, a):
        if e == len(expected):
            return None if a == len(actual) else f"unexpected line {actual[a]!r}"
        if expected[e] == "...":
            for skip in range(a, len(actual) + 1):
                if fit(e + 1, skip) is None:
                    return None
            return f"no lines fit after '...' (expected {expected[e + 1]!r})" if e + 1 < len(expected) else None
        if a == len(actual):
            return f"missing line {expected[e]!r}"
        if expected[e] != actual[a]:
            return f"expected {expected[e]!r}, got {actual[a]!r}"
        return fit(e + 1, a + 1)

    return fit(0, 0)


def check_transcripts(root, pages, lull, work, problems):
    """Returns how many commands it ran."""
    if not lull:
        raise SystemExit("docs_test.py: transcripts needs --lull")
    bin_dir = Path(work) / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "lull"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(lull).resolve())
    environment = dict(os.environ, PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    ran = 0
    for page in pages.values():
        for block in page.blocks:
            marker = block["marker"]
            if marker is None or marker["kind"] != "transcript":
                continue
            varies = [v.strip()[len("varies:"):].strip() for v in marker["argument"].split(";")
                      if v.strip().startswith("varies:")]
            scratch = Path(tempfile.mkdtemp(dir=work, prefix="transcript-"))
            for folder in ("docs", "examples", "tests"):
                (scratch / folder).symlink_to(root / folder)
            previous_code = 0
            for command, expected in transcript_steps(block["body"]):
                command = re.sub(r"\s+#\s.*$", "", command)  # a comment after the command
                ran += 1
                if command.strip() == "echo $?":
                    output = f"{previous_code}\n"
                else:
                    result = subprocess.run(["bash", "-c", command], cwd=scratch, env=environment, text=True,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
                    output, previous_code = result.stdout, result.returncode
                difference = matches(expected, output.split("\n"), varies)
                if difference:
                    problems.append(f"{page.name}:{block['line']}: `{command}`: {difference}\n"
                                    f"    it printed:\n" + "".join(f"      {l}\n" for l in output.split("\n")))
            shutil.rmtree(scratch, ignore_errors=True)
    return f"{ran} commands run"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="the repository")
    parser.add_argument("--lull", help="the built lull command (references, transcripts)")
    parser.add_argument("--work", default=None, help="a scratch folder (transcripts)")
    parser.add_argument("checks", nargs="+", choices=["links", "snippets", "references", "transcripts"])
    options = parser.parse_args()
    root = Path(options.root).resolve()
    pages = load_pages(root)
    problems, found = [], []
    for check in options.checks:
        if check == "links":
            counted = check_links(root, pages, problems)
        elif check == "snippets":
            counted = check_snippets(root, pages, problems)
        elif check == "references":
            counted = check_references(root, pages, options.lull, problems)
        else:
            work = options.work or tempfile.mkdtemp(prefix="lull-docs-")
            Path(work).mkdir(parents=True, exist_ok=True)
            counted = check_transcripts(root, pages, options.lull, work, problems)
        # A check that found nothing to check passes nothing: the pages or the parser are wrong.
        if re.match(r"^0 ", counted) or ", 0 " in counted:
            problems.append(f"{check}: found nothing to check ({counted})")
        found.append(f"{check}: {counted}")
    for problem in problems:
        print(problem)
    print(f"docs_test: {len(pages)} pages ({', '.join(page.name for page in pages.values())}); {'; '.join(found)}; "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
