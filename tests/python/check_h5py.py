#!/usr/bin/python3
"""Reads a multi-rank lull snapshot with plain h5py and checks every byte.

Usage: /usr/bin/python3 check_h5py.py --tool build/bin/snapshot_mpi_tool --dir SNAPSHOT_DIR
                                      [--expect-world W] [--expect-step S]

`snapshot_mpi_tool describe` names the latest snapshot's root file and the
seed of every tensor and blob; this script re-implements the content formula
of tests/support/pattern.h with numpy and compares:
  /tensors/<name>   one global dataset per tensor: shape and every element
  /ranks/<r>/<blob> each rank's blob bytes
  root attributes   step, world_size, format == "lull", format_version
It runs from a different working directory than the snapshot's, so relative
virtual-dataset source paths must resolve against the root file's directory.
Exit 0 when all is exact, 1 with the differences listed, 77 (CTest skip)
when h5py is not importable.
"""

import argparse
import json
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: h5py/numpy not importable by {sys.executable}: {e}")
    sys.exit(77)

U64 = np.uint64


def linear_index(shape):
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    return np.arange(n, dtype=np.uint64).reshape(shape)


def expected_tensor(dtype, shape, seed):
    """The global tensor of pattern.h, as (numpy array, kind of comparison)."""
    i = linear_index(shape)
    with np.errstate(over="ignore"):
        k = i * U64(131) + U64((seed * 17) % 2**64)
        v = (k % U64(251)).astype(np.int64)
        if dtype == "f16":
            return v.astype(np.float16)
        if dtype == "bf16":
            return v.astype(np.float32)  # exact: v < 251 fits bf16's 8-bit significand
        if dtype == "f32":
            return ((i % U64(1000003)).astype(np.float64) * 0.5 + (seed % 1000)).astype(np.float32)
        if dtype == "f64":
            return i.astype(np.float64) * 0.25 + float(seed % 1000000)
        if dtype == "i8":
            return v.astype(np.uint8).view(np.int8)
        if dtype == "u8":
            return (k & U64(0xFF)).astype(np.uint8)
        if dtype == "i32":
            return ((i * U64(2654435761) + U64(seed)) & U64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)
        if dtype == "i64":
            return (i * U64(0x9E3779B97F4A7C15) + U64(seed)).view(np.int64)
        if dtype == "bool":
            return (k % U64(3) == U64(0)).astype(np.uint8)
    raise ValueError(f"unknown dtype {dtype}")


def expected_blob(size, seed):
    j = np.arange(size, dtype=np.uint64)
    return ((j * U64(31) + U64(seed * 7)) & U64(0xFF)).astype(np.uint8)


def attr_text(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        return attr_text(value.reshape(()).item())
    return str(value)


def attr_int(value):
    return int(np.asarray(value).reshape(()).item())


def check_tensor(problems, group, t):
    name, dtype, shape = t["name"], t["dtype"], tuple(t["shape"])
    if name not in group:
        problems.append(f"/tensors/{name} is missing (has {sorted(group.keys())})")
        return
    ds = group[name]
    if ds.shape != shape:
        problems.append(f"/tensors/{name}: shape {ds.shape}, expected {shape}")
        return
    try:
        actual = np.asarray(ds[()])
    except Exception as e:  # report, keep checking the rest
        problems.append(f"/tensors/{name} ({dtype}, HDF5 type {ds.dtype}): h5py cannot read it: {e}")
        return
    expected = expected_tensor(dtype, shape, t["seed"])
    if dtype == "bool":
        actual = actual.astype(np.uint8)
    elif dtype == "bf16":
        # numpy has no bfloat16: h5py converts to some float (or hands back raw 2-byte values).
        if actual.dtype.kind == "f":
            actual = actual.astype(np.float32)
        else:
            actual = (actual.view(np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)
    else:
        if actual.dtype != expected.dtype:
            problems.append(f"/tensors/{name}: numpy dtype {actual.dtype}, expected {expected.dtype}")
            return
    if dtype in ("f16", "f32", "f64", "i8", "u8", "i32", "i64", "bool"):
        same = actual.tobytes() == expected.tobytes()
    else:
        same = np.array_equal(actual, expected)
    if not same:
        flat_a, flat_e = actual.reshape(-1), expected.reshape(-1)
        bad = np.flatnonzero(flat_a != flat_e)
        first = int(bad[0]) if bad.size else -1
        problems.append(f"/tensors/{name} ({dtype}{list(shape)}): {bad.size} elements differ, first at "
                        f"{first}: expected {flat_e[first]!r} got {flat_a[first]!r}")
    else:
        print(f"ok /tensors/{name} {dtype}{list(shape)} (h5py dtype {ds.dtype})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--expect-world", type=int)
    parser.add_argument("--expect-step", type=int)
    args = parser.parse_args()

    described = subprocess.run([args.tool, "describe", "--dir", args.dir], capture_output=True, text=True)
    if described.returncode != 0:
        print(f"FAIL: {args.tool} describe: {described.stderr}")
        return 1
    desc = json.loads(described.stdout)
    root = desc["root_file"]
    print(f"root file {root}, step {desc['step']}, world size {desc['world_size']}")
    problems = []
    if os.path.basename(root) != "root.h5":
        problems.append(f"root file is named {os.path.basename(root)}, expected root.h5")

    os.chdir("/")  # virtual dataset sources must not depend on the working directory
    with h5py.File(root, "r") as f:
        attrs = {k: f.attrs[k] for k in f.attrs.keys()}
        for key in ("step", "world_size", "format", "format_version"):
            if key not in attrs:
                problems.append(f"root attribute {key!r} is missing (has {sorted(attrs)})")
        if "step" in attrs and attr_int(attrs["step"]) != desc["step"]:
            problems.append(f"attribute step = {attrs['step']!r}, expected {desc['step']}")
        if args.expect_step is not None and desc["step"] != args.expect_step:
            problems.append(f"latest step is {desc['step']}, expected {args.expect_step}")
        if "world_size" in attrs:
            world = attr_int(attrs["world_size"])
            if world != desc["world_size"] or (args.expect_world and world != args.expect_world):
                problems.append(f"attribute world_size = {world}, expected {args.expect_world or desc['world_size']}")
        if "format" in attrs and attr_text(attrs["format"]) != "lull":
            problems.append(f"attribute format = {attrs['format']!r}, expected 'lull'")
        if "format_version" in attrs and attr_int(attrs["format_version"]) < 1:
            problems.append(f"attribute format_version = {attrs['format_version']!r}, expected >= 1")

        if "tensors" not in f:
            problems.append(f"/tensors is missing (root has {sorted(f.keys())})")
        else:
            for t in desc["tensors"]:
                check_tensor(problems, f["tensors"], t)

        for b in desc["blobs"]:
            path = f"/ranks/{b['rank']}/{b['name']}"
            if path not in f:
                problems.append(f"{path} is missing")
                continue
            raw = np.asarray(f[path][()])
            actual = np.frombuffer(raw.tobytes(), dtype=np.uint8)
            expected = expected_blob(b["bytes"], b["seed"])
            if actual.tobytes() != expected.tobytes():
                problems.append(f"{path}: {actual.size} bytes read, differing from the expected {expected.size} bytes")
            else:
                print(f"ok {path} ({b['bytes']} bytes)")

    listed = subprocess.run(["h5ls", "-r", root], capture_output=True, text=True)
    if listed.returncode != 0:
        problems.append(f"h5ls -r {root} failed: {listed.stderr.strip()}")

    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(f"h5py read {len(desc['tensors'])} tensors and {len(desc['blobs'])} blobs exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
