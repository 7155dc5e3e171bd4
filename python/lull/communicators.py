"""Which ranks a Runtime agrees with: MPI_COMM_WORLD, an mpi4py communicator,
or torch.distributed's process group when the program was started without
MPI (torchrun's environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)."""

import os
import sys

from .errors import UsageError

# Set by Open MPI's, MPICH's and PMIx's launchers in every rank.
MPI_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def launched_by_mpi():
    return any(v in os.environ for v in MPI_LAUNCHER_VARIABLES)


def launched_by_torchrun():
    return all(v in os.environ for v in TORCHRUN_VARIABLES)


def torch_group():
    """A gloo group of every rank for lull's own traffic, beside the program's
    group (which may be NCCL); initialises torch.distributed from the
    environment (env://) if the program has not."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    if dist.get_backend() == "gloo":
        return None  # the default group: lull's collectives are ordered with the program's on every rank
    return dist.new_group(backend="gloo")


def resolve(comm):
    """(MPI handle or None, torch group or None, use torch) for Runtime(comm=...)."""
    if comm is None or comm == "auto":
        dist = sys.modules.get("torch.distributed")
        torch_ready = dist is not None and dist.is_available() and dist.is_initialized()
        if not launched_by_mpi() and (launched_by_torchrun() or torch_ready):
            return None, torch_group(), True
        return None, None, False
    if comm == "mpi":
        return None, None, False
    if comm == "torch":
        return None, torch_group(), True
    mpi4py = sys.modules.get("mpi4py.MPI")
    if mpi4py is not None and isinstance(comm, mpi4py.Comm):
        return mpi4py._handleof(comm), None, False
    dist = sys.modules.get("torch.distributed")
    if dist is not None and isinstance(comm, dist.ProcessGroup):
        return None, comm, True
    raise UsageError(
        f"comm must be None (automatic), 'mpi', 'torch', an mpi4py communicator or a torch.distributed "
        f"ProcessGroup (gloo), not {type(comm).__name__}"
    )
