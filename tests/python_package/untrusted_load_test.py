#!/usr/bin/python3
"""lull.load does not run code a snapshot names: by default a pickled
rank-local object is rebuilt only from plain data (containers, numbers,
strings, numpy arrays, torch tensors), and anything else raises
lull.UntrustedPickle naming the global and the blob. The same file read with
weights_only=False does run it, which shows the refused pickle is a real one.
    /usr/bin/python3 tests/python_package/untrusted_load_test.py UntrustedPickles
"""
import os

from harness import Scratch, main, require_torch

# argv: ckpt marker. A job whose snapshot holds a plain progress dict and a
# blob that, unpickled, creates `marker` (as a hostile file would run a command).
WRITE = """
import io, os, pickle, sys
import numpy as np
import torch
import lull

ckpt, marker, how = sys.argv[1], sys.argv[2], sys.argv[3]

class Hostile:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))

def hostile_storage():
    # A tensor's pickle whose storage bytes are a torch.save of a hostile object.
    inner = io.BytesIO()
    torch.save(Hostile(), inner)
    class Tensorish:
        def __reduce__(self):
            return (torch.storage._load_from_bytes, (inner.getvalue(),))
    return pickle.dumps(Tensorish())

progress = {"epoch": 3, "seen": np.arange(4), "weights": torch.ones(2, dtype=torch.bfloat16)}
with lull.Runtime(ckpt, job="untrusted") as rt:
    rt.protect("progress", progress)
    payload = pickle.dumps(Hostile()) if how == "global" else hostile_storage()
    rt.protect_blob("hostile", lambda: payload, lambda data: None)
    for step in rt.steps(1):
        pass
"""

# argv: ckpt weights_only(0|1). Prints what lull.load gave or refused.
LOAD = """
import sys
import lull

try:
    state = lull.load(sys.argv[1], weights_only=sys.argv[2] == "1")
    print("loaded", sorted(state), state["progress"]["epoch"], list(state["progress"]["seen"]),
          state["progress"]["weights"].dtype)
except lull.UntrustedPickle as e:
    print("refused", type(e).__name__, isinstance(e, lull.Error), e.code, str(e))
"""


class UntrustedPickles(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)
        self.marker = os.path.join(self.tmp, "code-ran")

    def check_refused_then_trusted(self, how, named):
        self.python(WRITE, self.ckpt, self.marker, how)
        refused = self.python(LOAD, self.ckpt, "1").stdout
        self.assertIn("refused UntrustedPickle True unsupported", refused)
        self.assertIn('rank 0, "hostile"', refused)
        self.assertIn(named, refused)
        self.assertIn("weights_only=False", refused)
        self.assertFalse(os.path.exists(self.marker), "lull.load ran the code the snapshot named")
        trusted = self.python(LOAD, self.ckpt, "0").stdout
        self.assertIn("loaded ['hostile', 'progress'] 3 [0, 1, 2, 3] torch.bfloat16", trusted)
        self.assertTrue(os.path.exists(self.marker), "the hostile pickle of this test is not a real one")

    def test_a_global_that_is_not_plain_data_is_refused(self):
        self.check_refused_then_trusted("global", "posix.system")

    def test_a_tensor_storage_with_a_hostile_pickle_inside_is_refused(self):
        self.check_refused_then_trusted("storage", "weights-only loader refuses")


if __name__ == "__main__":
    main()
