"""lull's exceptions: every failure in the lull package is a lull.Error.

The classes follow what went wrong, so a program can catch what it can act on::

    try:
        state = lull.load(path)
    except lull.CorruptSnapshot as e:   # a checksum or the structure failed
        ...
"""


class Error(Exception):
    """A failure in lull; ``str(e)`` is lull's message (what failed, where, what to do).

    ``e.code`` names the kind: ``invalid_argument``, ``not_found``, ``corrupt``,
    ``io``, ``hdf5``, ``incomplete``, ``in_use``, ``unsupported``, ``internal``.
    """

    code = "internal"


class UsageError(Error, ValueError):
    """The program asked for something lull refuses: a bad name, shape, dtype or order of calls."""

    code = "invalid_argument"


class UnsupportedTensor(UsageError, TypeError):
    """A tensor lull cannot protect in place: another dtype, non-contiguous, on an unsupported device."""


class StateReplaced(UsageError):
    """A protected tensor was replaced by another object after protect() and cannot be re-bound."""


class SnapshotNotFound(Error, LookupError):
    """No snapshot (or no tensor/blob of that name in it) where one was asked for."""

    code = "not_found"


class CorruptSnapshot(Error):
    """A snapshot failed verification: a checksum, a missing shard, a malformed file."""

    code = "corrupt"


class StorageError(Error, OSError):
    """The file system or HDF5 refused (a full disk, permissions), or a commit found ranks that failed."""

    code = "io"


class DirectoryInUse(Error):
    """Another live job writes to this snapshot directory."""

    code = "in_use"


class Unsupported(Error):
    """A valid request this build cannot serve (e.g. CUDA memory in a build without CUDA)."""

    code = "unsupported"


class UntrustedPickle(Error):
    """lull.load met a pickled object of a class it does not rebuild from an untrusted file.

    Unpickling runs code the file names; by default lull.load rebuilds only
    plain data (see lull.load's ``weights_only``).
    """

    code = "unsupported"


class InternalError(Error):
    """A broken invariant inside lull: please report it with the message."""

    code = "internal"
