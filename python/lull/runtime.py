"""lull.Runtime: what a PyTorch (or numpy) training script uses to survive preemption."""

import atexit
import weakref

from . import _lull
from .communicators import resolve
from .errors import StateReplaced, UsageError
from .picklable_state import BlobState, ObjectState, StatefulState
from .protected import Protected, TensorEntry, TensorState, rank_local_entry
from .rng_state import GeneratorState, GlobalRngState
from .tensors import Shard, is_tensor

EXIT_FINISHED = 0
EXIT_SNAPSHOT_FAILED = 74
EXIT_PREEMPTED = 75

# A blob every Runtime adds last: at each checkpoint it checks that no protected
# tensor was replaced by another object (lull would have saved stale memory).
GUARD_BLOB = "lull.guard"


class JobStopped(SystemExit):
    """Raised by Runtime.steps() when the job must exit now; its ``code`` is the exit code.

    Uncaught, it ends the program with that code (as sys.exit would):
    75 preempted (resumable: run the same command again), 74 a snapshot the
    job needed could not be written. ``reason`` says why.
    """

    def __init__(self, code, reason):
        super().__init__(code)
        self.reason = reason

    def __str__(self):
        return f"exit {self.code}: {self.reason}"


class Preempted(JobStopped):
    """The job stopped for preemption on a committed snapshot (exit 75)."""


def _close_at_exit(reference):
    runtime = reference()
    if runtime is not None:
        runtime.close()


class Runtime:
    """lull's runtime for this rank.

    Collective: every rank of the job makes one, and calls restore(),
    end_step(), checkpoint() and finish() at the same points; protect() is
    local, but every rank protects the same names in the same order.

    ckpt_dir: the job's snapshot directory (default: LULL_CKPT_DIR, which
        ``lull run --ckpt-dir`` sets). job: its name (default LULL_JOB).
    comm: None picks MPI_COMM_WORLD under mpirun (lull initialises MPI when
        the program has not), torch.distributed (a gloo group) when started
        with torchrun's variables and no MPI; or 'mpi', 'torch', an mpi4py
        communicator, a torch.distributed gloo ProcessGroup.

    The other LULL_* settings (docs/preemptible-programs.md) come from the
    environment. Raises lull.UsageError for bad settings, lull.DirectoryInUse
    when another live job writes to ckpt_dir.
    """

    def __init__(self, ckpt_dir=None, *, job=None, comm=None):
        handle, group, use_torch = resolve(comm)
        torch_comm = _lull.TorchCommunicator(group) if use_torch else None
        self._native = _lull.Runtime(job, None if ckpt_dir is None else str(ckpt_dir), handle, torch_comm)
        self._protected = []
        self._rebinders = []
        self._names = set()
        self._restored = False
        self._replacement = None
        atexit.register(_close_at_exit, weakref.ref(self))

    # ---- protecting state (local; same names, same order on every rank; before restore()) ----

    def protect(self, name, obj, *, replicated=True):
        """Protects `obj` under `name` and restores it in place.

        - torch.Tensor / numpy.ndarray: every rank holds it whole (replicated,
          rank 0 writes it); replicated=False makes it rank-local.
        - lull.Shard(local, global_shape, offset): this rank's box of one
          global tensor.
        - lull.SampleCursor: the job's place in its data (epoch and
          position), the same on every rank; restored at any world size.
        - torch.nn.Module: parameters and buffers by state_dict names.
        - torch.optim.Optimizer: its state (created now if torch creates it
          at the first step) and hyperparameters.
        - anything with state_dict()/load_state_dict() (LR schedulers,
          torch.distributed.checkpoint's Stateful): saved whole, per rank.
        - torch.Generator / numpy.random.Generator: its state, per rank.
        - a dict, a list or an object with attributes: pickled per rank,
          restored in place.

        Tensors must be contiguous and of a dtype lull stores (f16, bf16,
        f32, f64, i8, u8, i32, i64, bool), else lull.UnsupportedTensor.
        """
        self._check_name(name)
        self._add(name, self._describe(name, obj, replicated))

    def protect_rng(self, name="rng"):
        """Protects this rank's global RNG states: torch's (and CUDA's), numpy's, Python's random."""
        self._check_name(name)
        self._add(name, GlobalRngState(name))

    def protect_blob(self, name, save, load):
        """Rank-local bytes through callbacks: save() -> bytes at each checkpoint, load(bytes) on restore."""
        self._check_name(name)
        self._add(name, BlobState(name, save, load))

    # ---- the training loop (collective) ----

    def restore(self):
        """Loads the newest usable snapshot into everything protected (in place)
        and returns its step: the number of steps already done (0 when there
        is none). Falls back to older snapshots when one fails its checksums."""
        if self._restored:
            raise UsageError("restore() was called already: it runs once, before the first step")
        self._check_bindings("restore()")
        self._native.protect_blob(GUARD_BLOB, self._guard, lambda data: None)
        self._restored = True
        step = self._native.restore()
        old_world = self.restored_world_size
        if old_world and old_world != self.world_size:
            # Another world size: lull loaded no blob. What every rank held
            # alike comes from old rank 0; rank-local state stays as set.
            for protected in self._protected:
                if protected.replicated_blobs:
                    for name, _save, load in protected.blobs():
                        load(self._native.restored_blob(name, 0))
        return step

    @property
    def restored_world_size(self):
        """After restore(): the number of ranks that wrote the snapshot restored (0: none)."""
        return self._native.restored_world_size

    def restored_blob(self, name, old_rank):
        """Between restore() and the first step: the bytes old rank `old_rank` saved
        as blob `name` (a job resumed on another number of ranks reads every old
        rank's rank-local state this way; lull does not load it then)."""
        return self._native.restored_blob(name, old_rank)

    def end_step(self, step):
        """Call after every step with the number of steps done. Returns True
        when the program must stop now and exit with exit_code (75:
        preempted, on a committed snapshot). Checkpoints when the schedule
        (LULL_EVERY_STEPS, LULL_EVERY_SECONDS) or a notice says so."""
        for rebind in self._rebinders:
            rebind()
        stop = self._native.end_step(step)
        self._raise_replacement()
        return stop

    def checkpoint(self, step):
        """Writes and commits a snapshot of `step` now. Raises lull.StorageError
        when it could not be committed (the previous snapshot stays the latest)."""
        for rebind in self._rebinders:
            rebind()
        try:
            self._native.checkpoint(step)
        finally:
            self._raise_replacement()

    def finish(self, step):
        """The loop ended after `step` steps: commits the final state and
        returns the exit code (0; 74 when the final snapshot failed)."""
        for rebind in self._rebinders:
            rebind()
        code = self._native.finish(step)
        self._raise_replacement()
        return code

    def steps(self, total):
        """The training loop in one line::

            for step in rt.steps(total):   # restores first; yields 0-based step numbers
                train_one_step(step)

        After each step it calls end_step(); when the job must stop it raises
        lull.Preempted (a SystemExit with code 75: uncaught, the program exits
        75 and the same command resumes it). After the last step it calls
        finish(total) (raising lull.JobStopped with 74 if the final snapshot
        failed)."""
        step = self.restore()
        while step < total:
            yield step
            step += 1
            if self.end_step(step):
                raise Preempted(self.exit_code, self.exit_reason)
        code = self.finish(total)
        if code != EXIT_FINISHED:
            cls = Preempted if code == EXIT_PREEMPTED else JobStopped
            raise cls(code, self.exit_reason)

    def init_process_group(self, backend="gloo", **kwargs):
        """torch.distributed.init_process_group over this Runtime's ranks, for
        a program started with mpirun: rank 0 picks a free TCP port on its
        host and the ranks agree on it through lull. Same rank numbers as lull.
        A preemption notice meanwhile stays pending, not fatal: liblull keeps the
        notice signals blocked in the threads that may take them."""
        import socket

        import torch.distributed as dist

        address = b""
        if self.rank == 0:
            with socket.socket() as s:
                s.bind(("", 0))
                address = f"{socket.gethostname()}:{s.getsockname()[1]}".encode()
        address = self._native.broadcast_bytes(address, 0).decode()
        dist.init_process_group(
            backend, init_method=f"tcp://{address}", rank=self.rank, world_size=self.world_size, **kwargs
        )

    # ---- state of the run ----

    @property
    def exit_code(self):
        """0, 75 after a preemption stop, 74 after a failed snapshot the job needed."""
        return self._native.exit_code

    @property
    def exit_reason(self):
        """Why exit_code is what it is, in a sentence."""
        return self._native.exit_reason

    @property
    def rank(self):
        return self._native.rank

    @property
    def world_size(self):
        return self._native.world_size

    @property
    def last_committed_step(self):
        """The step of the newest snapshot committed or restored, or None."""
        return self._native.last_committed_step

    def close(self):
        """Releases the runtime (the snapshot directory's lock); local. Idempotent."""
        native = getattr(self, "_native", None)
        if native is not None:
            native.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- internals ----

    def _check_name(self, name):
        if not isinstance(name, str) or not name:
            raise UsageError(f"a protected name must be a non-empty string, not {name!r}")
        if ":" in name:
            raise UsageError(f'"{name}": protected names may not contain ":" (lull uses it to name the parts)')
        if name in self._names:
            raise UsageError(f'"{name}" is protected twice')
        if self._restored:
            raise UsageError(f'"{name}" is protected after restore(): protect everything first, then restore()')

    def _describe(self, name, obj, replicated):
        import sys

        torch = sys.modules.get("torch")
        if isinstance(obj, Shard):
            return TensorState(name, TensorEntry(name, obj.local, obj.global_shape, obj.offset, replicated=False))
        if isinstance(obj, _lull.SampleCursor):
            return TensorState(name, TensorEntry(name, obj._state))  # C++'s protect_cursor: int64[4], replicated
        if is_tensor(obj):
            if replicated:
                return TensorState(name, TensorEntry(name, obj))
            return TensorState(name, rank_local_entry(name, obj, self.rank, self.world_size))
        if torch is not None:
            from . import torch_state

            if isinstance(obj, torch.nn.Module):
                return torch_state.ModuleState(name, obj, replicated)
            if isinstance(obj, torch.optim.Optimizer):
                lazily = any(p not in obj.state for p in torch_state.trainable_params(obj) if p.requires_grad)
                if lazily and type(obj).__name__ not in torch_state.ZERO_INITIALIZED:
                    return StatefulState(name, obj, replicated)
                return torch_state.OptimizerState(name, obj, replicated)
            if isinstance(obj, torch.Generator):
                return GeneratorState(name, obj)
        if hasattr(obj, "bit_generator"):
            return GeneratorState(name, obj)
        if callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None)):
            return StatefulState(name, obj, replicated)
        return ObjectState(name, obj, replicated)

    def _add(self, name, protected):
        self._names.add(name)
        for entry in protected.tensors():
            m = entry.memory
            self._native.protect_tensor(
                entry.name, m.address, m.dtype, list(entry.global_shape), list(entry.offset), list(entry.extent),
                entry.replicated,
            )
        for blob_name, save, load in protected.blobs():
            self._native.protect_blob(blob_name, save, load)
        self._protected.append(protected)
        if type(protected).rebind is not Protected.rebind:
            self._rebinders.append(protected.rebind)

    def _replaced(self):
        return [name for p in self._protected for name in p.replaced()]

    def _check_bindings(self, when):
        replaced = self._replaced()
        if replaced:
            raise StateReplaced(self._replacement_message(replaced, when))

    @staticmethod
    def _replacement_message(replaced, when):
        return (
            f"before {when}: protected tensor(s) {', '.join(replaced)} were replaced by other objects after "
            "protect() (e.g. module.to(), param.data = ...); lull protects memory in place and would have "
            "saved the old values. Keep the same tensors (copy_ into them, load_state_dict), or protect after "
            "the change"
        )

    def _guard(self):
        replaced = self._replaced()
        if replaced:
            self._replacement = StateReplaced(self._replacement_message(replaced, "a checkpoint"))
            raise self._replacement
        return b""

    def _raise_replacement(self):
        if self._replacement is not None:
            error, self._replacement = self._replacement, None
            raise error
