"""One protected thing (a tensor, a module, an optimizer, an RNG, an object)
as the Runtime registers it: tensors lull reads in place, blobs it saves
through callbacks, and the checks that keep the registered memory right."""

from .tensors import TensorMemory


class TensorEntry:
    """A tensor as registered: its snapshot name, memory, and box of the global tensor."""

    def __init__(self, name, tensor, global_shape=None, offset=None, replicated=True, current=None, extent=None):
        self.name = name
        self.memory = TensorMemory(name, tensor)
        self.extent = tuple(extent) if extent is not None else self.memory.shape
        self.global_shape = tuple(global_shape) if global_shape is not None else self.extent
        self.offset = tuple(offset) if offset is not None else (0,) * len(self.extent)
        self.replicated = replicated
        # What the program holds under this name now (for replacement checks).
        self.current = current if current is not None else (lambda: tensor)

    def replaced(self):
        """A sentence when the program's tensor is no longer this memory, else None."""
        now = self.current()
        if now is None or not self.memory.still_at(now):
            return f'"{self.name}"'
        return None


class Protected:
    """Base: what one protect() call registered."""

    def tensors(self):
        """TensorEntry list, in a fixed order (every rank alike)."""
        return []

    # Whether the blobs hold what every rank holds alike (an optimizer's
    # hyperparameters, a scheduler): on a resume at another world size they
    # are loaded from old rank 0's. Rank-local ones (RNG states) are not
    # loaded then (Runtime.restored_blob reads any old rank's).
    replicated_blobs = False

    def blobs(self):
        """[(name, save() -> bytes, load(bytes))], in a fixed order."""
        return []

    def rebind(self):
        """Cheap, every step: puts protected memory back where the program
        replaced it by design (an optimizer's load_state_dict)."""

    def replaced(self):
        """Names of tensors the program replaced in a way lull cannot follow."""
        return [r for r in (t.replaced() for t in self.tensors()) if r]


class TensorState(Protected):
    """A tensor or array, whole on every rank (replicated) or a lull.Shard."""

    def __init__(self, name, entry):
        self.entry = entry

    def tensors(self):
        return [self.entry]


def rank_local_entry(name, tensor, rank, world_size):
    """A tensor each rank holds its own of: row `rank` of a (world_size, *shape) tensor."""
    memory_shape = tuple(int(d) for d in tensor.shape)
    return TensorEntry(
        name, tensor, global_shape=(world_size, *memory_shape), offset=(rank,) + (0,) * len(memory_shape),
        replicated=False, extent=(1, *memory_shape),
    )
