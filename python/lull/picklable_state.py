"""Rank-local Python state, pickled into the snapshot: objects with
state_dict()/load_state_dict() (LR schedulers, the Stateful protocol of
torch.distributed.checkpoint), and plain picklable objects restored in place
(a dict, a list, or an object's attributes)."""

import pickle

from .errors import UntrustedPickle, UsageError
from .protected import Protected


def dumps(value):
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # torch tensors pickle as themselves


def loads(data):
    return pickle.loads(data)


# What a pickle from a file lull does not trust may rebuild: containers,
# numbers, strings, numpy arrays and torch tensors (the state lull itself
# pickles: RNG states, scheduler and optimizer scalars, a dict of progress).
# Any other global would be code the file chooses to run.
_PLAIN_BUILTINS = frozenset(
    ["bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int", "list", "range", "set", "slice",
     "str", "tuple"]
)
_PLAIN_GLOBALS = frozenset(
    [
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # bytes in pickles of protocol 2 and below
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("torch", "Size"),
        *(("torch", dtype) for dtype in
          ["bfloat16", "bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8"]),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
    ]
)


class PlainDataUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only plain data; anything else raises UntrustedPickle."""

    def find_class(self, module, name):
        if (module == "builtins" and name in _PLAIN_BUILTINS) or (module, name) in _PLAIN_GLOBALS:
            return super().find_class(module, name)
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _storage_weights_only
        raise UntrustedPickle(f"it names {module}.{name}, which is not plain data")


def _storage_weights_only(data):
    import io

    import torch

    # A tensor's storage is itself a torch.save; torch's own restricted loader reads it.
    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as e:
        raise UntrustedPickle(f"it holds a tensor storage torch's weights-only loader refuses ({e})") from None


def loads_plain_data(data):
    """`data` unpickled with PlainDataUnpickler (raises UntrustedPickle on anything else)."""
    import io

    return PlainDataUnpickler(io.BytesIO(data)).load()


class StatefulState(Protected):
    """An object with state_dict() and load_state_dict(): saved whole at each checkpoint (per rank)."""

    def __init__(self, name, obj, replicated=True):
        self.name = name
        self.obj = obj
        self.replicated_blobs = replicated

    def blobs(self):
        return [(self.name, lambda: dumps(self.obj.state_dict()), lambda data: self.obj.load_state_dict(loads(data)))]


def restore_in_place(obj, value, name):
    """Puts `value` (what was saved of `obj`) into `obj` itself."""
    if isinstance(obj, dict):
        obj.clear()
        obj.update(value)
    elif isinstance(obj, list):
        obj[:] = value
    elif hasattr(obj, "__dict__"):
        obj.__dict__.clear()
        obj.__dict__.update(value)
    else:
        raise UsageError(f'"{name}": cannot restore a {type(obj).__name__} in place')


def saved_form(obj):
    return dict(obj.__dict__) if not isinstance(obj, (dict, list)) else obj


class ObjectState(Protected):
    """A picklable rank-local object restored in place: a dict, a list, or an object's attributes."""

    def __init__(self, name, obj, replicated=True):
        self.replicated_blobs = replicated
        if not isinstance(obj, (dict, list)) and not hasattr(obj, "__dict__"):
            raise UsageError(
                f'"{name}" ({type(obj).__name__}) cannot be restored in place: protect a dict, a list or an '
                "object with attributes that holds it (e.g. progress = {'epoch': 0}), or use "
                "protect_blob(name, save, load)"
            )
        try:
            pickle.dumps(saved_form(obj))
        except Exception as e:
            raise UsageError(f'"{name}" cannot be pickled: {e}') from None
        self.name = name
        self.obj = obj

    def blobs(self):
        return [
            (
                self.name,
                lambda: pickle.dumps(saved_form(self.obj), protocol=pickle.HIGHEST_PROTOCOL),
                lambda data: restore_in_place(self.obj, pickle.loads(data), self.name),
            )
        ]


class BlobState(Protected):
    """Bytes through the program's own callbacks."""

    def __init__(self, name, save, load):
        self.name, self.save, self.load = name, save, load

    def blobs(self):
        return [(self.name, self.save, self.load)]
