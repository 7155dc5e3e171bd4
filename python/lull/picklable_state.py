"""Rank-local Python state, pickled into the snapshot: objects with
state_dict()/load_state_dict() (LR schedulers, the Stateful protocol of
torch.distributed.checkpoint), and plain picklable objects restored in place
(a dict, a list, or an object's attributes)."""

import pickle

from .errors import UsageError
from .protected import Protected


def dumps(value):
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # torch tensors pickle as themselves


def loads(data):
    return pickle.loads(data)


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
