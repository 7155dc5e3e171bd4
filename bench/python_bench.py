#!/usr/bin/python3
"""The lull Python package's costs, each beside what a PyTorch user would do instead.

    bench/python_bench.py --build BUILD --work DIR --out BUILD/bench/python.json [--quick]

1. end_step() from Python per step, at 1 and 2 ranks under mpirun, beside a
   10 ms step whose gradients go through torch.distributed gloo (a 1 MiB
   all_reduce, as DDP would do): target <= 1 % of the step (100 us).
2. A checkpoint of a model + its Adam state (LULL_BENCH_TOTAL_MIB, default
   1024 MiB in all: a third parameters, two thirds moments), 1 rank: lull's
   rt.checkpoint() against torch.save of the same state_dicts to one file +
   fsync, interleaved (each repetition a new process per method, the order
   alternating), median ratio (target: lull >= 1.5x faster). Then each
   restores the other repetition's snapshot with the page cache dropped for its
   files (posix_fadvise DONTNEED after an fsync): lull's restore into the
   model in place against torch.load + load_state_dict.

Figures on a shared machine swing: everything is interleaved in one run and
medians are quoted. Children print one JSON line each; this script writes
the report.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "LULL_LOG_LEVEL": "warn"}
STEP_MS = 10.0


def drop_cache(path):
    """fsync then posix_fadvise(DONTNEED) every file under `path`: its next read comes from the disk."""
    files = [path] if os.path.isfile(path) else [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    for name in files:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def model_and_adam(total_mib):
    """Parameters of total_mib / 3 MiB in float32 tensors of 32 MiB at most, Adam's moments created."""
    import torch

    torch.manual_seed(0)
    param_bytes = total_mib * 2**20 // 3
    sizes, left = [], param_bytes // 4
    while left > 0:
        sizes.append(min(left, 8 * 2**20))
        left -= sizes[-1]
    model = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(n)) for n in sizes])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e-3)
    optimizer.step()
    return model, optimizer


# ---- children --------------------------------------------------------------------------------

def child_end_step(args):
    import lull
    import torch
    import torch.distributed as dist

    rt = lull.Runtime(args.dir, job="bench-end-step")
    rt.init_process_group("gloo")
    state = torch.zeros(1024)
    rt.protect("state", state)
    rt.restore()
    gradients = torch.ones(256 * 1024)  # 1 MiB
    costs = []
    steps = args.steps
    for step in range(steps):
        deadline = time.perf_counter() + STEP_MS / 1000
        dist.all_reduce(gradients)
        while time.perf_counter() < deadline:
            time.sleep(max(0.0, deadline - time.perf_counter()))
        start = time.perf_counter()
        rt.end_step(step + 1)
        costs.append(time.perf_counter() - start)
    costs = costs[steps // 10:]  # warm-up left out
    print(json.dumps({"kind": "end_step", "rank": rt.rank, "ranks": rt.world_size, "costs_s": costs}), flush=True)
    rt.finish(steps)


def child_lull(args):
    import lull

    model, optimizer = model_and_adam(args.total_mib)
    with lull.Runtime(args.dir, job="bench-checkpoint") as rt:
        rt.protect("model", model)
        rt.protect("opt", optimizer)
        start = time.perf_counter()
        step = rt.restore()
        restore_s = time.perf_counter() - start if step else None
        start = time.perf_counter()
        rt.checkpoint(step + 1)
        checkpoint_s = time.perf_counter() - start
    print(json.dumps({"kind": "lull", "checkpoint_s": checkpoint_s, "restore_s": restore_s}), flush=True)


def child_torch(args):
    import torch

    model, optimizer = model_and_adam(args.total_mib)
    path = os.path.join(args.dir, "state.pt")
    restore_s = None
    if os.path.exists(path):
        start = time.perf_counter()
        saved = torch.load(path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["opt"])
        restore_s = time.perf_counter() - start
    start = time.perf_counter()
    with open(path + ".tmp", "wb") as f:
        torch.save({"model": model.state_dict(), "opt": optimizer.state_dict()}, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(path + ".tmp", path)
    checkpoint_s = time.perf_counter() - start
    print(json.dumps({"kind": "torch", "checkpoint_s": checkpoint_s, "restore_s": restore_s}), flush=True)


# ---- driver ----------------------------------------------------------------------------------

def run_child(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"python_bench: {' '.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def summary(values):
    values = sorted(values)
    return {"median": statistics.median(values), "mean": statistics.fmean(values),
            "p90": values[int(0.9 * (len(values) - 1))], "count": len(values)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["end_step", "lull", "torch"])
    parser.add_argument("--dir")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--total-mib", type=int, default=int(os.environ.get("LULL_BENCH_TOTAL_MIB", 1024)))
    parser.add_argument("--build")
    parser.add_argument("--work")
    parser.add_argument("--out")
    parser.add_argument("--reps", type=int, default=int(os.environ.get("LULL_BENCH_REPS", 4)))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        {"end_step": child_end_step, "lull": child_lull, "torch": child_torch}[args.child](args)
        return

    env = dict(os.environ, **MPI_ENV, PYTHONPATH=os.path.join(args.build, "python"))
    if args.quick:
        args.reps, args.steps = 2, 200
    work = os.path.join(args.work, f"python-{os.getpid()}")
    os.makedirs(work, mode=0o700)
    report = {"meta": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": os.uname().nodename,
                       "command": " ".join(sys.argv), "cpus": os.cpu_count(),
                       "load_before": open("/proc/loadavg").read().split()[:3]}}
    try:
        print(f"== python: end_step() from Python beside a {STEP_MS:g} ms step with a 1 MiB gloo all_reduce")
        end_step = {}
        for ranks in (1, 2):
            costs = []
            for rep in range(max(1, args.reps // 2)):
                d = os.path.join(work, f"end-step-{ranks}-{rep}")
                for line in run_child(["mpirun", "--bind-to", "none", "-np", str(ranks), PYTHON, __file__,
                                       "--child", "end_step", "--dir", d, "--steps", str(args.steps)], env):
                    costs += line["costs_s"]
            s = summary([c * 1e6 for c in costs])
            s["share_of_step_percent_mean"] = s["mean"] / (STEP_MS * 1000) * 100
            end_step[str(ranks)] = s
            print(f"   {ranks} rank(s): median {s['median']:.1f} us, mean {s['mean']:.1f} us, p90 {s['p90']:.1f} us "
                  f"= {s['share_of_step_percent_mean']:.2f} % of the step on average (target <= 1 %)")
        report["end_step_us"] = end_step
        report["end_step_target"] = "mean <= 1 % of a 10 ms step (100 us)"

        print(f"== python: checkpoint of a model + Adam state ({args.total_mib} MiB), lull vs torch.save + fsync, "
              f"{args.reps} interleaved repetitions")
        lull_dir, torch_dir = os.path.join(work, "lull"), os.path.join(work, "torch")
        os.makedirs(lull_dir, mode=0o700)
        os.makedirs(torch_dir, mode=0o700)
        results = {"lull": [], "torch": []}
        for rep in range(args.reps + 1):  # the first repetition only writes what the next one restores
            order = ["lull", "torch"] if rep % 2 == 0 else ["torch", "lull"]
            for method in order:
                target = lull_dir if method == "lull" else torch_dir
                drop_cache(target)
                line = run_child([PYTHON, __file__, "--child", method, "--dir", target,
                                  "--total-mib", str(args.total_mib)], env)[0]
                if rep > 0:
                    results[method].append(line)
        lull_w = [r["checkpoint_s"] for r in results["lull"]]
        torch_w = [r["checkpoint_s"] for r in results["torch"]]
        lull_r = [r["restore_s"] for r in results["lull"]]
        torch_r = [r["restore_s"] for r in results["torch"]]
        gib = args.total_mib / 1024
        report["checkpoint"] = {
            "state_mib": args.total_mib,
            "lull_s": summary(lull_w), "torch_save_fsync_s": summary(torch_w),
            "speedup_median": statistics.median(torch_w) / statistics.median(lull_w),
            "target_speedup": 1.5,
        }
        report["restore"] = {
            "lull_s": summary(lull_r), "torch_load_s": summary(torch_r),
            "speedup_median": statistics.median(torch_r) / statistics.median(lull_r),
            "page_cache": "dropped (fsync + posix_fadvise DONTNEED) before every restore",
        }
        c, r = report["checkpoint"], report["restore"]
        print(f"   checkpoint: lull {c['lull_s']['median']:.2f} s ({gib / c['lull_s']['median']:.2f} GiB/s), "
              f"torch.save+fsync {c['torch_save_fsync_s']['median']:.2f} s: lull {c['speedup_median']:.2f}x faster "
              f"(target >= 1.5x)")
        print(f"   restore:    lull {r['lull_s']['median']:.2f} s, torch.load {r['torch_load_s']['median']:.2f} s: "
              f"lull {r['speedup_median']:.2f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"python figures written to {args.out}")


if __name__ == "__main__":
    main()
