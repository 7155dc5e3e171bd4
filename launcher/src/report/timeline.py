#!/usr/bin/python3
"""Draws the node arbiter's events file as a timeline of its slots.

Usage: timeline.py EVENTS -o FILE.png [--title T]
(`lull report` runs it with /usr/bin/python3; see docs/arbiter.md, "A node's timeline".)
EVENTS and what is refused in it: events_file.py, beside this script.

The picture: x is seconds since the first event, one row per slot, one bar
per (job, slot, run), coloured by job; the job's class sets the bars' edge
style; a notice is a red marker and the time from notice to exit is hatched;
a committed checkpoint is a small black tick. A run still open at the end of
the file is drawn up to the last event.

stdout gets a summary: one line per job (runs, preemptions, seconds running,
final state) and the totals. Exit 0 when the picture was written; 1 with
"lull: EVENTS:LINE: ..." on stderr for each malformed line (no picture), or
when EVENTS cannot be read, FILE cannot be written or matplotlib is missing;
2 for a bad command line.
"""

import argparse
import os
import sys
import tempfile

# events_file.py sits beside this script, which may be loaded by path (the fuzz target).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from events_file import (MalformedEvents, UserError, plural, read_events, replay, slot_key,  # noqa: E402
                         summary, totals)

SHADE = (0, 0, 0, 0.25)  # the notice-to-exit interval
HATCH = (0, 0, 0, 0.7)


def job_colours(count, colormaps):
    if count <= 10:
        palette = colormaps["tab10"]
        return [palette(i) for i in range(count)]
    if count <= 20:
        palette = colormaps["tab20"]
        return [palette(i) for i in range(count)]
    palette = colormaps["turbo"]
    return [palette(i / (count - 1)) for i in range(count)]


def draw(jobs, events, output, title, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import colormaps
    from matplotlib import pyplot
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    formats = pyplot.figure().canvas.get_supported_filetypes()
    pyplot.close("all")
    extension = os.path.splitext(output)[1].lower().lstrip(".")
    if extension not in formats:
        raise UserError(f"cannot tell the picture format from {output}: "
                        f"name it .png (or one of .{', .'.join(sorted(formats))})")

    origin = float(events[0]["time"])
    span = max(float(events[-1]["time"]) - origin, 1e-9)
    slots = sorted({s for j in jobs.values() for r in j.runs for s in r.slots}, key=slot_key)
    row_of = {slot: row for row, slot in enumerate(slots)}
    ran = [j for j in jobs.values() if j.runs]
    colours = dict(zip((j.id for j in ran), job_colours(len(ran), colormaps)))
    classes = sorted({j.job_class or "-" for j in ran})
    edge_styles = ["solid", "dashed", "dotted", "dashdot"]
    edge_of = {c: edge_styles[i % len(edge_styles)] for i, c in enumerate(classes)}

    height = min(3.0 + 0.45 * max(len(slots), 1), 30.0)
    figure, axes = pyplot.subplots(figsize=(12, height), dpi=100)
    bar = 0.7
    for job in ran:
        edge = edge_of[job.job_class or "-"]
        for run in job.runs:
            start, end = run.start - origin, run.end - origin
            for slot in run.slots:
                y = row_of[slot] - bar / 2
                axes.broken_barh([(start, max(end - start, span * 1e-3))], (y, bar),
                                 facecolors=colours[job.id], edgecolors="black",
                                 linewidth=1.2, linestyles=edge)
                if run.notice is not None:
                    notice = run.notice - origin
                    axes.broken_barh([(notice, max(end - notice, 0.0))], (y, bar),
                                     facecolors=SHADE, edgecolors=HATCH, linewidth=0,
                                     hatch="////")
                    axes.plot([notice], [row_of[slot] - bar / 2], marker="v", color="red",
                              markeredgecolor="black", markersize=8, zorder=4)
                if run.how == "resume":
                    axes.plot([start], [row_of[slot]], marker=">", color="white",
                              markeredgecolor="black", markersize=7, zorder=4)
                if run.checkpoints:
                    ticks = [t - origin for t in run.checkpoints]
                    axes.plot(ticks, [row_of[slot]] * len(ticks), linestyle="none", marker="|",
                              color="black", markersize=10, markeredgewidth=1.5, zorder=3)

    axes.set_yticks(range(len(slots)), [f"slot {s}" for s in slots])
    axes.set_ylim(len(slots) - 0.5 if slots else 0.5, -0.5)  # slot 0 at the top
    axes.set_xlim(0, span * 1.02)
    axes.set_xlabel("seconds since the first event")
    axes.grid(axis="x", linestyle=":", alpha=0.6)
    if not slots:
        axes.text(0.5, 0.5, "no job ran", transform=axes.transAxes, ha="center", va="center")

    job_count, preemptions, resumes = totals(jobs)
    counts = (f"{plural(job_count, 'job')}, {plural(preemptions, 'preemption')}, "
              f"{plural(resumes, 'resume')}")
    axes.set_title(f"{title or 'lull timeline: ' + os.path.basename(path)}\n{counts}")

    handles = [Patch(facecolor=colours[j.id], edgecolor="black", label=j.label()) for j in ran[:30]]
    if len(ran) > 30:
        handles.append(Patch(facecolor="white", edgecolor="none", label=f"... {len(ran) - 30} more jobs"))
    if len(classes) > 1:
        handles += [Patch(facecolor="white", edgecolor="black", linestyle=edge_of[c], label=f"class {c}")
                    for c in classes]
    handles += [
        Line2D([], [], linestyle="none", marker="v", color="red", markeredgecolor="black",
               label="preemption notice"),
        Patch(facecolor=SHADE, hatch="////", edgecolor=HATCH, linewidth=0, label="notice to exit"),
        Line2D([], [], linestyle="none", marker=">", color="white", markeredgecolor="black",
               label="resume"),
        Line2D([], [], linestyle="none", marker="|", color="black", markersize=10,
               markeredgewidth=1.5, label="checkpoint"),
    ]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                frameon=False)
    figure.tight_layout()

    # Write next to the target and rename, so a reader never sees half a picture.
    directory = os.path.dirname(os.path.abspath(output))
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".timeline-", suffix="." + extension,
                                                 dir=directory)
    except OSError as error:
        raise UserError(f"cannot write {output}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            figure.savefig(file, format=extension)
        os.replace(temporary, output)
    except OSError as error:
        raise UserError(f"cannot write {output}: {error.strerror}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
        pyplot.close(figure)
    width, height = (round(v) for v in figure.get_size_inches() * figure.dpi)
    return width, height


def main(argv):
    parser = argparse.ArgumentParser(
        prog="lull report", description="Draw a node arbiter's events file as a timeline of its slots.")
    parser.add_argument("events", help="the events file (JSON lines)")
    parser.add_argument("-o", "--output", required=True, help="the picture to write (.png)")
    parser.add_argument("--title", help="the picture's title (default: the events file's name)")
    options = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401  (checked before reading anything)
    except ImportError as error:
        print(f"lull: report needs matplotlib, which {sys.executable} cannot import ({error}): "
              "install python3-matplotlib (scripts/install-deps.sh does)", file=sys.stderr)
        return 1
    try:
        events = read_events(options.events)
        jobs = replay(events)
        width, height = draw(jobs, events, options.output, options.title, options.events)
    except MalformedEvents as error:
        for problem in error.problems:
            print(f"lull: {problem}", file=sys.stderr)
        if error.count > len(error.problems):
            print(f"lull: ... and {error.count - len(error.problems)} more", file=sys.stderr)
        print(f"lull: {plural(error.count, 'malformed line')} in {options.events}; no picture written",
              file=sys.stderr)
        return 1
    except UserError as error:
        print(f"lull: {error}", file=sys.stderr)
        return 1
    print(summary(jobs, events, options.events))
    print(f"wrote {options.output} ({width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
