"""lull: preemptible training for PyTorch (and numpy) programs.

    import lull                                # first: a notice during `import torch` is then kept
    import torch
    rt = lull.Runtime()                        # every rank; MPI_COMM_WORLD, or torchrun's group
    rt.protect("model", model)                 # parameters and buffers, restored in place
    rt.protect("opt", optimizer)               # Adam's moments included
    rt.protect("sched", scheduler)             # anything with state_dict()/load_state_dict()
    rt.protect_rng()                           # torch, numpy, random (and CUDA) RNG states
    cursor = lull.SampleCursor(len(data), seed=0)
    rt.protect("data.order", cursor)           # epoch and position, right at any world size
    for step in rt.steps(total):               # restores; raises lull.Preempted (exit 75) on a notice
        train_one_step(data[cursor.rank_batch(global_batch, rt.rank, rt.world_size)])
        cursor.advance(global_batch)

Run it under `lull run --ckpt-dir DIR -- mpirun -np N python3 train.py`;
exit 75 means preempted, and the same command resumes it. lull.load(DIR)
reads a snapshot back as state_dicts, without MPI. Everything raises
lull.Error (see lull.errors). docs/preemptible-programs.md has the rest.
"""

from .errors import (
    CorruptSnapshot,
    DirectoryInUse,
    Error,
    InternalError,
    SnapshotNotFound,
    StateReplaced,
    StorageError,
    Unsupported,
    UnsupportedTensor,
    UntrustedPickle,
    UsageError,
)
from ._lull import SampleCursor
from .load import load, open_snapshot
from .runtime import EXIT_FINISHED, EXIT_PREEMPTED, EXIT_SNAPSHOT_FAILED, JobStopped, Preempted, Runtime
from .tensors import Shard

__all__ = [
    "CorruptSnapshot",
    "DirectoryInUse",
    "EXIT_FINISHED",
    "EXIT_PREEMPTED",
    "EXIT_SNAPSHOT_FAILED",
    "Error",
    "InternalError",
    "JobStopped",
    "Preempted",
    "Runtime",
    "SampleCursor",
    "Shard",
    "SnapshotNotFound",
    "StateReplaced",
    "StorageError",
    "Unsupported",
    "UnsupportedTensor",
    "UntrustedPickle",
    "UsageError",
    "load",
    "open_snapshot",
]
