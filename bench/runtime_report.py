#!/usr/bin/python3
"""Assemble runtime_bench's JSON lines into build/bench/runtime.json.

    /usr/bin/python3 bench/runtime_report.py SAMPLES.jsonl OUT.json [--meta KEY=VALUE ...]

SAMPLES.jsonl holds one object per line as runtime_bench wrote them (kind
end_step: one per rank count; kind preemption: one per rank count, with a
result per mpirun variant). Nothing is computed here beyond collecting the
measured figures and their targets; runtime_bench printed each as it ran.
"""

import argparse
import json


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("samples")
    parser.add_argument("out")
    parser.add_argument("--meta", action="append", default=[])
    args = parser.parse_args()
    with open(args.samples) as f:
        records = [json.loads(line) for line in f if line.strip()]
    end_step = {str(r["ranks"]): r for r in records if r["kind"] == "end_step"}
    preemption = {str(r["ranks"]): r for r in records if r["kind"] == "preemption"}
    summary = {
        "end_step_cost_us": {n: round(r["cost_us"], 1) for n, r in end_step.items()},
        "end_step_pct_of_step": {n: round(r["cost_pct_of_step"], 3) for n, r in end_step.items()},
        "end_step_target_met": {n: r["target"]["met"] for n, r in end_step.items()},
        "preemption_overhead_s": {n: {v: round(x["overhead_s"], 3) for v, x in r["variants"].items()}
                                  for n, r in preemption.items()},
        "preemption_target_met": {n: {v: x["target"]["met"] for v, x in r["variants"].items()}
                                  for n, r in preemption.items()},
    }
    report = {
        "meta": dict(m.split("=", 1) for m in args.meta),
        "targets": {"end_step": "cost below 1% of a 10 ms step",
                    "preemption": "SIGTERM to exit 75, minus the snapshot write, below one step + 100 ms"},
        "summary": summary,
        "end_step": end_step,
        "preemption": preemption,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
