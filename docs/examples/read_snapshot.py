#!/usr/bin/python3
"""read_snapshot — a lull snapshot read with h5py alone (no lull involved).

docs/snapshot-format.md shows this file; the test docs.example.snapshot_store
runs it on the snapshot docs/examples/snapshot_store.cpp wrote:

    /usr/bin/python3 docs/examples/read_snapshot.py /tmp/ckpt/store/step-000000000100/root.h5

Exit codes: 0 the snapshot reads as snapshot_store wrote it, 1 it does not.
"""
import sys

import h5py
import numpy

with h5py.File(sys.argv[1], "r") as f:
    w = f["/tensors/w"][:]                  # the global array: numpy float32, shape (8, 4)
    rows = f["/tensors/w"][3:5]             # or any slice
    rng = f["/ranks/1/rng"][:].tobytes()    # rank 1's blob
    attributes = dict(f.attrs)              # step, world_size, format, format_version, created...

expected = numpy.arange(32, dtype=numpy.float32).reshape(8, 4)
problems = [what for what, ok in [
    ("w", w.dtype == numpy.float32 and numpy.array_equal(w, expected)),
    ("w[3:5]", numpy.array_equal(rows, expected[3:5])),
    ("rng of rank 1", rng == bytes([1]) * 32),
    ("step", attributes.get("step") == 100),
    ("world_size", attributes.get("world_size") == 2),
    ("format", attributes.get("format") in ("lull", b"lull")),
] if not ok]
if problems:
    print(f"read_snapshot: {sys.argv[1]}: wrong {', '.join(problems)}", file=sys.stderr)
    sys.exit(1)
print(f"read_snapshot: step {attributes['step']}, w {w.shape} {w.dtype}: ok")
