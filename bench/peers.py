#!/usr/bin/python3
"""The peers a user would pick instead of lull, on lull's tensor mix.

    /usr/bin/python3 bench/peers.py --tool h5py|torch --plan plan-N.json \
        --dir WORK [--reps 1] [--first-rep K] [--json-out samples.jsonl]

`plan-N.json` comes from `checkpoint_bench plan --ranks N`: the same tensors,
split over N ranks exactly as lull and the limit split them. One Python
process per rank (forked; no mpi4py needed), each holding its share:

  h5py   naive: h5py.File(path, "w"), f.create_dataset(name, data=array) per
         tensor, close, then os.fsync of the file; read back with
         read_direct into preallocated arrays (kinder to h5py than f[name][()]).
  torch  torch.save({name: tensor}) to an open file, flush, os.fsync;
         read back with torch.load (which allocates its own tensors).

Each process writes its own file in the same directory, after an untimed
write+delete of a scratch file of its share (as checkpoint_bench does; see
bench/interleaved_rep.h). Page cache: after
the fsync every file's pages are dropped with os.posix_fadvise(DONTNEED),
and again right before the read, as for lull and the limit; the pages still
cached just before the read are counted with mincore(2). Times are wall
clock from the common start (a barrier) to the last process done, on
CLOCK_MONOTONIC, which all processes share. Bytes read are compared with
those written after the timing.
"""

import argparse
import ctypes
import ctypes.util
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import time

import numpy as np

NUMPY_TYPES = {
    "f16": np.float16, "bf16": np.int16, "f32": np.float32, "f64": np.float64,
    "i8": np.int8, "u8": np.uint8, "i32": np.int32, "i64": np.int64, "bool": np.uint8,
}

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
PROT_READ, MAP_SHARED = 1, 1
MAP_FAILED = ctypes.c_void_p(-1).value


def cached_pages(path):
    """(resident, total) pages of `path` in the page cache, touching none."""
    page = os.sysconf("SC_PAGE_SIZE")
    size = os.path.getsize(path)
    total = (size + page - 1) // page
    if size == 0:
        return 0, 0
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _libc.mmap(None, size, PROT_READ, MAP_SHARED, fd, 0)
        if addr is None or addr == MAP_FAILED:
            raise OSError(ctypes.get_errno(), "mmap " + path)
        try:
            vec = (ctypes.c_ubyte * total)()
            if _libc.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore " + path)
            return sum(v & 1 for v in vec), total
        finally:
            _libc.munmap(addr, size)
    finally:
        os.close(fd)


def cpu_seconds():
    """CPU seconds (user + system) of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drop_cached_pages(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def prime_page_cache(path, nbytes):
    """Untimed: write this rank's bytes of zeros and delete them unsynced, as
    checkpoint_bench does before its first method (see interleaved_rep.h)."""
    zeros = bytes(16 << 20)
    with open(path, "wb") as f:
        for done in range(0, nbytes, len(zeros)):
            f.write(zeros[: min(len(zeros), nbytes - done)])
    os.unlink(path)


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def same_bytes(a, b):
    """Bitwise equality (random bits make NaNs, which == would reject)."""
    return a.nbytes == b.nbytes and np.array_equal(np.ascontiguousarray(a).view(np.uint8),
                                                   np.ascontiguousarray(b).view(np.uint8))


def make_arrays(plan, rank, rep):
    """This rank's pieces: (name, source array, preallocated target array)."""
    rng = np.random.default_rng(1000 * rank + rep + 1)
    out = []
    for piece in plan["pieces"][rank]:
        dtype = NUMPY_TYPES[piece["dtype"]]
        raw = rng.integers(0, 2**63, size=(piece["bytes"] + 7) // 8, dtype=np.uint64).view(np.uint8)
        source = raw[: piece["bytes"]].view(dtype).reshape(piece["extent"])
        target = np.zeros_like(source)
        out.append((piece["name"], source, target))
    return out


class H5pyPeer:
    suffix = "h5"

    def __init__(self):
        import h5py  # noqa: imported here so the torch run does not need it
        self.h5py = h5py

    def write(self, path, arrays):
        with self.h5py.File(path, "w") as f:
            for name, source, _ in arrays:
                f.create_dataset(name, data=source)
        fsync_path(path)

    def read(self, path, arrays):
        with self.h5py.File(path, "r") as f:
            for name, _, target in arrays:
                f[name].read_direct(target)
        return None

    @staticmethod
    def check(arrays, _loaded):
        return all(same_bytes(s, t) for _, s, t in arrays)


class TorchPeer:
    suffix = "pt"

    def __init__(self):
        import torch
        torch.set_num_threads(1)
        self.torch = torch

    def write(self, path, arrays):
        state = {}
        for name, source, _ in arrays:
            tensor = self.torch.from_numpy(source)
            if source.dtype == np.int16:  # numpy has no bfloat16; torch does
                tensor = tensor.view(self.torch.bfloat16)
            state[name] = tensor
        with open(path, "wb") as f:
            self.torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())

    def read(self, path, arrays):
        return self.torch.load(path)

    def check(self, arrays, loaded):
        for name, source, _ in arrays:
            tensor = loaded[name]
            if tensor.dtype == self.torch.bfloat16:
                tensor = tensor.view(self.torch.int16)
            if not same_bytes(tensor.numpy(), source):
                return False
        return True


def worker(tool, plan, rank, rep, path, barrier, results):
    try:
        peer = PEERS[tool]()
        arrays = make_arrays(plan, rank, rep)
        prime_page_cache(path + ".prime", sum(a.nbytes for _, a, _ in arrays))
        barrier.wait()
        c0 = cpu_seconds()
        t0 = time.monotonic()
        peer.write(path, arrays)
        t1 = time.monotonic()
        write_cpu = cpu_seconds() - c0
        barrier.wait()
        cached_after_write = cached_pages(path)
        drop_cached_pages(path)
        barrier.wait()  # every file dropped before anyone reads
        drop_cached_pages(path)
        cached_before_read = cached_pages(path)
        barrier.wait()
        c0 = cpu_seconds()
        t2 = time.monotonic()
        loaded = peer.read(path, arrays)
        t3 = time.monotonic()
        read_cpu = cpu_seconds() - c0
        barrier.wait()
        ok = peer.check(arrays, loaded)
        results.put({"rank": rank, "t": [t0, t1, t2, t3], "ok": ok, "cpu": [write_cpu, read_cpu],
                     "cached_after_write": cached_after_write, "cached_before_read": cached_before_read})
    except BaseException as e:  # report, and release the others
        barrier.abort()
        results.put({"rank": rank, "error": f"{type(e).__name__}: {e}"})


PEERS = {"h5py": H5pyPeer, "torch": TorchPeer}


def run_rep(tool, plan, rep, work_dir):
    ranks = plan["world_size"]
    rep_dir = os.path.join(work_dir, f"{tool}-np{ranks}-rep{rep}")
    os.makedirs(rep_dir, exist_ok=True)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(ranks)
    results = ctx.Queue()
    procs = []
    for rank in range(ranks):
        path = os.path.join(rep_dir, f"rank-{rank}.{PEERS[tool].suffix}")
        p = ctx.Process(target=worker, args=(tool, plan, rank, rep, path, barrier, results))
        p.start()
        procs.append(p)
    got = [results.get() for _ in range(ranks)]
    for p in procs:
        p.join()
    shutil.rmtree(rep_dir, ignore_errors=True)
    errors = [g["error"] for g in got if "error" in g]
    if errors:
        raise RuntimeError(f"{tool}: " + "; ".join(errors))
    if not all(g["ok"] for g in got):
        raise RuntimeError(f"{tool}: bytes read back differ from those written")
    t = [g["t"] for g in got]
    frac = lambda key: sum(g[key][0] for g in got) / max(1, sum(g[key][1] for g in got))
    return {
        "write_s": max(x[1] for x in t) - min(x[0] for x in t),
        "read_s": max(x[3] for x in t) - min(x[2] for x in t),
        "write_cpu_s": sum(g["cpu"][0] for g in got),
        "read_cpu_s": sum(g["cpu"][1] for g in got),
        "cached_after_write": frac("cached_after_write"),
        "cached_before_read": frac("cached_before_read"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", choices=sorted(PEERS), required=True)
    ap.add_argument("--plan", required=True, help="output of checkpoint_bench plan --ranks N")
    ap.add_argument("--dir", default=os.environ.get("LULL_BENCH_DIR", "lull-bench-work"))
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--first-rep", type=int, default=0)
    ap.add_argument("--json-out", default="")
    args = ap.parse_args()

    with open(args.plan) as f:
        plan = json.load(f)
    if args.tool == "torch":
        import torch  # noqa: F401 — imported once, before forking the ranks
    ranks, total = plan["world_size"], plan["total_bytes"]
    for rep in range(args.first_rep, args.first_rep + args.reps):
        r = run_rep(args.tool, plan, rep, args.dir)
        record = {"kind": "peer", "tool": args.tool, "ranks": ranks, "rep": rep, "total_bytes": total,
                  "processes": ranks, **r}
        if args.json_out:
            with open(args.json_out, "a") as f:
                f.write(json.dumps(record) + "\n")
        print(f"  np={ranks} rep {rep}: {args.tool} write {total / r['write_s'] / 1e9:.3f} GB/s, "
              f"read {total / r['read_s'] / 1e9:.3f} GB/s (cached before read {r['cached_before_read']:.3f})",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
