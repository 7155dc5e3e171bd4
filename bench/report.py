#!/usr/bin/python3
"""Assemble the benchmark samples into build/bench/checkpoint.json and a table.

    /usr/bin/python3 bench/report.py SAMPLES.jsonl OUT.json [--meta KEY=VALUE ...]

SAMPLES.jsonl holds one JSON object per line as written by checkpoint_bench
(kind io / commit), layout_bench (kind layout) and peers.py (kind peer). Every
figure below is derived from those measured samples: bandwidth = bytes / time
(GB/s = 1e9 B/s), medians over repetitions; a ratio to the limit is taken per
repetition (lull, the limit and the peers of one repetition ran back to back)
and its median is quoted.
"""

import argparse
import json
import statistics
import sys
from collections import defaultdict

GB = 1e9
METHODS = ["lull", "limit", "h5py", "torch"]
LAYOUT_METHODS = ["lull", "shared_hdf5_independent", "shared_hdf5_collective"]
TARGET_RATIO = 0.9
TARGET_COMMIT_MS = 50.0


def med(values):
    return statistics.median(values) if values else None


def summary(values, digits=4):
    if not values:
        return {"median": None, "samples": []}
    return {"median": round(med(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "samples": [round(v, digits) for v in values]}


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def io_section(records):
    """Per rank count: per method per rep, write/read seconds and bandwidths."""
    by_ranks = defaultdict(lambda: defaultdict(dict))  # ranks -> rep -> method -> record
    first = defaultdict(dict)  # ranks -> rep -> which of lull/limit wrote first
    parts = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))  # ranks -> method -> part -> [s]
    totals = {}
    cached = defaultdict(list)
    for r in records:
        if r["kind"] == "io":
            totals[r["ranks"]] = r["total_bytes"]
            first[r["ranks"]][r["rep"]] = r["order"][0]
            for name, m in r["methods"].items():
                by_ranks[r["ranks"]][r["rep"]][name] = m
                cached[name].append(m.get("cached_before_read", 0.0))
                for phase in ("write_parts", "read_parts"):
                    for part, seconds in m.get(phase, {}).items():
                        parts[r["ranks"]][name][f"{phase[:-6]}.{part}"].append(seconds)
        elif r["kind"] == "peer":
            totals.setdefault(r["ranks"], r["total_bytes"])
            by_ranks[r["ranks"]][r["rep"]][r["tool"]] = r
            cached[r["tool"]].append(r.get("cached_before_read", 0.0))

    out = {}
    for ranks in sorted(by_ranks):
        total = totals[ranks]
        reps = by_ranks[ranks]
        entry = {"total_bytes": total,
                 "reps": {m: sum(1 for k in reps if m in reps[k]) for m in METHODS if any(m in reps[k] for k in reps)}}
        for name in METHODS:
            w = [total / reps[k][name]["write_s"] / GB for k in sorted(reps) if name in reps[k]]
            rd = [total / reps[k][name]["read_s"] / GB for k in sorted(reps) if name in reps[k]]
            if not w:
                continue
            entry[name] = {"write_gbps": summary(w), "read_gbps": summary(rd)}
            for phase in ("write", "read"):
                cpu = [reps[k][name][f"{phase}_cpu_s"] for k in sorted(reps)
                       if name in reps[k] and f"{phase}_cpu_s" in reps[k][name]]
                if cpu:
                    entry[name][f"{phase}_cpu_s"] = summary(cpu, 3)
            if name in parts[ranks]:
                entry[name]["parts_seconds_median"] = {p: round(med(v), 4) for p, v in sorted(parts[ranks][name].items())}
        ratios = {}
        # lull and the limit run back to back in every repetition: paired.
        pw, pr = [], []
        for k in sorted(reps):
            if "lull" in reps[k] and "limit" in reps[k]:
                pw.append(reps[k]["limit"]["write_s"] / reps[k]["lull"]["write_s"])
                pr.append(reps[k]["limit"]["read_s"] / reps[k]["lull"]["read_s"])
        if pw:
            ratios["lull"] = {"write": summary(pw, 3), "read": summary(pr, 3), "paired": True}
        # The peers run in their own processes between those: ratio of medians.
        for name in ("h5py", "torch"):
            if name in entry and "limit" in entry:
                ratios[name] = {
                    phase: {"median": round(entry[name][f"{phase}_gbps"]["median"] /
                                            entry["limit"][f"{phase}_gbps"]["median"], 3)}
                    for phase in ("write", "read")}
                ratios[name]["paired"] = False
        # The disk favours one position in a repetition; lull and the limit
        # alternate, so show the ratio by who went first too.
        if "lull" in ratios:
            by_order = {}
            for who in ("lull", "limit"):
                ks = [k for k in sorted(reps) if first[ranks].get(k) == who and "lull" in reps[k]]
                if ks:
                    by_order[f"{who}_first"] = {
                        "write": round(med([reps[k]["limit"]["write_s"] / reps[k]["lull"]["write_s"] for k in ks]), 3),
                        "read": round(med([reps[k]["limit"]["read_s"] / reps[k]["lull"]["read_s"] for k in ks]), 3),
                        "reps": len(ks)}
            ratios["lull"]["by_order"] = by_order
        entry["ratio_to_limit"] = ratios
        out[str(ranks)] = entry
    residual = {name: round(max(v), 4) for name, v in cached.items()}
    return out, residual


def commit_section(records):
    recs = [r for r in records if r["kind"] == "commit"]
    if not recs:
        return None
    r = recs[-1]
    w = [s["write_finish_s"] * 1e3 for s in r["samples"]]
    c = [s["commit_s"] * 1e3 for s in r["samples"]]
    o = [s["open_s"] * 1e3 for s in r["samples"] if "open_s" in s]
    rd = [s["read_cached_s"] * 1e3 for s in r["samples"] if "read_cached_s" in s]
    return {"tensors": r["tensors"], "tensor_bytes": r["tensor_bytes"], "ranks": 1,
            "write_finish_ms": summary(w, 2), "commit_ms": summary(c, 2),
            "open_structure_ms": summary(o, 2), "read_all_cached_ms": summary(rd, 2),
            "target_commit_ms": TARGET_COMMIT_MS, "met": med(c) < TARGET_COMMIT_MS}


def layout_section(records):
    by_ranks = defaultdict(lambda: defaultdict(lambda: {"w": [], "r": []}))
    totals = {}
    for r in records:
        if r["kind"] != "layout":
            continue
        totals[r["ranks"]] = r["total_bytes"]
        for name, m in r["methods"].items():
            by_ranks[r["ranks"]][name]["w"].append(r["total_bytes"] / m["write_s"] / GB)
            by_ranks[r["ranks"]][name]["r"].append(r["total_bytes"] / m["read_s"] / GB)
    out = {}
    for ranks in sorted(by_ranks):
        out[str(ranks)] = {name: {"write_gbps": summary(v["w"]), "read_gbps": summary(v["r"])}
                           for name, v in by_ranks[ranks].items()}
    return out


def targets(io):
    result = {}
    for ranks, entry in io.items():
        lull = entry.get("lull")
        if not lull:
            continue
        t = {}
        ratio = entry["ratio_to_limit"].get("lull")
        if ratio and ranks in ("1", "4"):
            t["write_ratio_ge_0.9"] = ratio["write"]["median"] >= TARGET_RATIO
            t["read_ratio_ge_0.9"] = ratio["read"]["median"] >= TARGET_RATIO
        for peer in ("h5py", "torch"):
            if peer in entry:
                t[f"write_faster_than_{peer}"] = lull["write_gbps"]["median"] > entry[peer]["write_gbps"]["median"]
                t[f"read_faster_than_{peer}"] = lull["read_gbps"]["median"] > entry[peer]["read_gbps"]["median"]
        result[ranks] = t
    return result


def fmt(x, width=7, digits=3):
    return f"{x:{width}.{digits}f}" if x is not None else " " * (width - 1) + "-"


def print_table(doc):
    io = doc["io"]
    print()
    print("=" * 100)
    print(f"lull snapshot store benchmark — {doc['date']}  (dir {doc.get('work_dir', '?')}, {doc.get('filesystem', '?')})")
    if io:
        any_entry = next(iter(io.values()))
        w = doc["workload"]
        print(f"state: {any_entry['total_bytes'] / 2**30:.3f} GiB, {w.get('tensors', '?')} tensors "
              f"({w.get('min_tensor_bytes', 0) / 2**10:.0f} KiB .. {w.get('max_tensor_bytes', 0) / 2**20:.0f} MiB); "
              "big tensors sharded along dim 0, small ones round-robin")
    print(f"page cache: {doc['page_cache']}")
    print(f"peers: {doc['peers']}")
    print("GB/s = 1e9 B/s; medians over repetitions (n = lull-and-limit repetitions / peer repetitions);")
    print("lull/limit = median of per-repetition ratios (back to back, alternating who goes first); "
          "peer/limit = ratio of medians")
    for phase, label in (("write", "WRITE (fsync included; lull: write + finish + gather + commit)"),
                         ("read", "READ (pages dropped before each read; lull verifies checksums)")):
        print()
        print(label)
        print(f"{'ranks':>5} {'n':>5} | {'lull':>7} {'limit':>7} {'h5py':>7} {'torch':>7} | "
              f"{'lull/limit':>10} {'h5py/lim':>8} {'torch/lim':>9} | samples lull/limit")
        for ranks, e in io.items():
            g = lambda m: e[m][f"{phase}_gbps"]["median"] if m in e else None
            rt = lambda m: e["ratio_to_limit"][m][phase]["median"] if m in e["ratio_to_limit"] else None
            samples = e["ratio_to_limit"].get("lull", {}).get(phase, {}).get("samples", [])
            n = f"{e['reps'].get('lull', 0)}/{e['reps'].get('h5py', 0)}"
            print(f"{ranks:>5} {n:>5} | {fmt(g('lull'))} {fmt(g('limit'))} {fmt(g('h5py'))} {fmt(g('torch'))} | "
                  f"{fmt(rt('lull'), 9, 2)}x {fmt(rt('h5py'), 7, 2)}x {fmt(rt('torch'), 8, 2)}x | "
                  + " ".join(f"{s:.2f}" for s in samples))
        orders = []
        for ranks, e in io.items():
            bo = e["ratio_to_limit"].get("lull", {}).get("by_order", {})
            cells = [f"{who.split('_')[0]} first {v[phase]:.2f}x ({v['reps']})" for who, v in bo.items()]
            if cells:
                orders.append(f"{ranks}: " + ", ".join(cells))
        if orders:
            print("  lull/limit by who went first: " + "; ".join(orders))
    print()
    print("CPU seconds per phase, user + system summed over ranks (median): write | read")
    print(f"{'ranks':>5} | " + " ".join(f"{m:>13}" for m in METHODS))
    for ranks, e in io.items():
        cells = []
        for m in METHODS:
            if m in e and "write_cpu_s" in e[m]:
                cells.append(f"{e[m]['write_cpu_s']['median']:>6.2f} |{e[m]['read_cpu_s']['median']:>5.2f}")
            else:
                cells.append(f"{'-':>13}")
        print(f"{ranks:>5} | " + " ".join(cells))
    c = doc.get("commit")
    if c:
        print()
        print(f"COMMIT of {c['tensors']} tensors x {c['tensor_bytes']} B (1 rank, median of {len(c['commit_ms']['samples'])}): "
              f"write+finish {c['write_finish_ms']['median']:.1f} ms, commit {c['commit_ms']['median']:.1f} ms "
              f"(target < {c['target_commit_ms']:.0f} ms: {'met' if c['met'] else 'MISSED'})")
        if c["open_structure_ms"]["median"] is not None:
            print(f"  then open_step(structure) {c['open_structure_ms']['median']:.1f} ms and read() of all "
                  f"{c['tensors']} (pages cached) {c['read_all_cached_ms']['median']:.1f} ms")
    lay = doc.get("layout")
    if lay:
        print()
        print("LAYOUT: per-rank shard files (lull, incl. commit) vs ONE shared parallel-HDF5 file, GB/s write / read")
        print(f"{'ranks':>5} | " + " | ".join(f"{m:>27}" for m in LAYOUT_METHODS))
        for ranks, e in lay.items():
            cells = []
            for m in LAYOUT_METHODS:
                if m in e:
                    cells.append(f"{e[m]['write_gbps']['median']:>12.3f} / {e[m]['read_gbps']['median']:<12.3f}")
                else:
                    cells.append(f"{'-':>27}")
            print(f"{ranks:>5} | " + " | ".join(cells))
    print()
    print("TARGETS")
    for ranks, t in doc["targets"].items():
        missed = [k for k, v in t.items() if not v]
        print(f"  {ranks} rank(s): " + ("all met" if not missed else "missed: " + ", ".join(missed))
              + f"  ({len(t) - len(missed)}/{len(t)})")
    if doc.get("elapsed_s"):
        print(f"\nwall time of the whole run: {float(doc['elapsed_s']):.0f} s")
    print("=" * 100)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("samples")
    ap.add_argument("out")
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE copied into the JSON")
    ap.add_argument("--plan", help="a plan JSON, for the workload description")
    args = ap.parse_args()

    records = load(args.samples)
    io, residual = io_section(records)
    doc = {}
    for kv in args.meta:
        key, _, value = kv.partition("=")
        doc[key] = value
    doc.setdefault("date", "")
    workload = {}
    if args.plan:
        with open(args.plan) as f:
            plan = json.load(f)
        sizes = [t["bytes"] for t in plan["tensors"]]
        workload = {"total_bytes": plan["total_bytes"], "tensors": len(sizes), "min_tensor_bytes": min(sizes),
                    "max_tensor_bytes": max(sizes),
                    "sharding": "tensors >= 4 MiB: f32 [rows, 1024] split along dim 0 over the ranks; "
                                "smaller ones held whole by one rank, round-robin"}
    doc["workload"] = workload
    doc["units"] = "bandwidth in GB/s (1e9 bytes/s) = total bytes of the state / wall time of the phase"
    doc["page_cache"] = ("each method writes and fsyncs, then posix_fadvise(POSIX_FADV_DONTNEED) on every file it "
                         "wrote (lull: shard and root files) right before its read; lull, limit, h5py and torch "
                         "alike. Largest fraction of those pages still cached just before a read (mincore): "
                         f"{residual}. A hypervisor's own cache below the VM's disk is beyond reach")
    doc["peers"] = ("one Python process per rank (forked, same shares as lull), each writing its own file in the "
                    "same directory; h5py: create_dataset per tensor, close, os.fsync; read_direct into "
                    "preallocated arrays. torch: torch.save(dict of tensors) to an open file, flush, os.fsync; "
                    "torch.load")
    doc["io"] = io
    doc["ratio_definition"] = ("lull: median over repetitions of limit time / lull time in the same repetition "
                               "(lull and the limit run back to back, alternating who goes first); peers: "
                               "median peer GB/s / median limit GB/s")
    doc["commit"] = commit_section(records)
    doc["layout"] = layout_section(records)
    doc["targets"] = targets(io)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print_table(doc)
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    sys.exit(main())
