"""lull.load: a snapshot read back as state_dicts of torch tensors, without
MPI and without the program (for evaluation, fine-tuning, inspection).

Every tensor read is checked against its XXH3 checksum; a snapshot that fails
raises lull.CorruptSnapshot.
"""


from . import _lull
from .dtypes import lull_to_torch
from .errors import UntrustedPickle, UsageError


def open_snapshot(path):
    """The snapshot at `path`, opened and its structure checked.

    `path`: a job's snapshot directory (its newest usable snapshot), a
    committed snapshot (``.../step-000000000042``) or its root file. The
    result has ``step``, ``world_size``, ``job``, ``path``, ``tensors()``
    ([(name, dtype, shape)]), ``blobs()`` ([(rank, name, bytes)]),
    ``read(name)`` (a numpy array; bf16 as its uint16 bits),
    ``read_blob(rank, name)`` and ``verify()`` (a list of problems).
    """
    return _lull.Snapshot.open(str(path))


def as_torch(array, dtype):
    import torch

    if dtype == "bf16":  # numpy has no bfloat16: its bits come as uint16, which torch takes as int16
        return torch.from_numpy(array.view("int16")).view(torch.bfloat16)
    return torch.from_numpy(array)


def load(path, *, rank=0, weights_only=True):
    """Reads the snapshot at `path` (see open_snapshot) into a dict per protected name.

    - a module protected as "model": ``state["model"]`` is its state_dict
      (``model.load_state_dict(state["model"])``);
    - an optimizer: ``state["opt"]`` is its state_dict
      (``optimizer.load_state_dict(state["opt"])``);
    - a tensor or array protected as "w": ``state["w"]`` is a torch tensor
      (0-d and bf16 as they were); a lull.Shard the whole global tensor;
    - rank-local state (RNG, schedulers, objects) of rank `rank`, unpickled.

    ``weights_only`` (as in torch.load): by default a pickled object is
    rebuilt only from plain data (containers, numbers, strings, numpy arrays,
    torch tensors), because unpickling runs whatever code the file names; an
    object of another class raises lull.UntrustedPickle naming it. Pass
    ``weights_only=False`` only for a snapshot you trust (your own job's).
    """
    snapshot = open_snapshot(path)
    grouped = {}
    plain = {}
    for name, dtype, _shape in snapshot.tensors():
        tensor = as_torch(snapshot.read(name), dtype)
        owner, sep, key = name.partition(":")
        if sep:
            grouped.setdefault(owner, {})[key] = tensor
        else:
            plain[name] = tensor
    blobs = {name: snapshot.read_blob(r, name) for r, name, _ in snapshot.blobs() if r == rank}
    if not blobs and snapshot.blobs() and rank != 0:
        raise UsageError(f"the snapshot was written by {snapshot.world_size} ranks; there is no rank {rank}")
    state = dict(plain)
    for owner, parts in grouped.items():
        state[owner] = parts
    for name, data in blobs.items():
        if name.startswith("lull."):
            continue
        value = unpickle(data, weights_only, f'{snapshot.path}, rank {rank}, "{name}"')
        if isinstance(value, dict) and value.get("lull") == "optimizer":
            state[name] = optimizer_state_dict(value, grouped.get(name, {}))
        elif isinstance(value, dict) and value.get("lull") == "module":
            parts = grouped.get(name, {})
            state[name] = {key: parts[key] for key in value["keys"] if key in parts}
        else:
            state[name] = value
    return state


def unpickle(data, weights_only, where):
    """A blob's pickled object, or its bytes when it is not a pickle (protect_blob's own bytes)."""
    from .picklable_state import loads, loads_plain_data

    try:
        return loads_plain_data(data) if weights_only else loads(data)
    except UntrustedPickle as e:
        raise UntrustedPickle(
            f"{where}: not unpickled: {e}; lull.load rebuilds only plain data (containers, numbers, strings, "
            "numpy arrays, torch tensors) from a file it does not trust. For a snapshot you trust, pass "
            "weights_only=False"
        ) from None
    except Exception:  # bytes the program saved itself (protect_blob)
        return data


def optimizer_state_dict(saved, tensors):
    """optimizer.state_dict()'s form from the blob and the tensors "state.<i>.<key>"."""
    state = {}
    for index, values in saved["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    for key, tensor in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = tensor
    return {"state": state, "param_groups": saved["param_groups"]}


__all__ = ["load", "open_snapshot"]
