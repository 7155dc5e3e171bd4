#!/usr/bin/python3
"""lull's Python package with numpy arrays and torch tensors: every dtype lull
stores (bf16 and 0-d included) protected, checkpointed and restored in place
in a new process; what it refuses and the errors it raises; the GIL released
during a checkpoint. Run one case with
    /usr/bin/python3 tests/python_package/tensors_test.py NumpyArrays
"""
import json

from harness import Scratch, main, require_torch

NUMPY_ROUND_TRIP = """
import sys, numpy as np
import lull
ckpt, mode = sys.argv[1], sys.argv[2]
arrays = {
    "f16": np.arange(6, dtype=np.float16).reshape(2, 3) / 3,
    "f32": np.linspace(-1, 1, 7, dtype=np.float32),
    "f64": np.array(3.25),                      # 0-d
    "i8": np.array([-128, 0, 127], dtype=np.int8),
    "u8": np.arange(5, dtype=np.uint8),
    "i32": np.array([[-2**31, 2**31 - 1]], dtype=np.int32),
    "i64": np.array([-2**63, 2**63 - 1], dtype=np.int64),
    "bool": np.array([True, False, True]),
}
held = {k: (v.copy() if mode == "write" else np.zeros_like(v)) for k, v in arrays.items()}
with lull.Runtime(ckpt, job="arrays") as rt:
    for k, v in held.items():
        rt.protect(k, v)
    step = rt.restore()
    if mode == "write":
        assert step == 0, step
        rt.checkpoint(7)
    else:
        assert step == 7, step
        for k, v in arrays.items():
            assert held[k].dtype == v.dtype and held[k].shape == v.shape, k
            assert held[k].tobytes() == v.tobytes(), (k, held[k], v)
        print("restored", sorted(held))
"""

TORCH_ROUND_TRIP = """
import sys, torch
import lull
ckpt, mode = sys.argv[1], sys.argv[2]
g = torch.Generator().manual_seed(5)
tensors = {
    "f16": torch.randn(3, 4, generator=g).half(),
    "bf16": torch.randn(5, generator=g).bfloat16(),
    "bf16_scalar": torch.tensor(1.5, dtype=torch.bfloat16),   # 0-d bf16
    "f32": torch.randn(2, 3, 4, generator=g),
    "f64_scalar": torch.tensor(2.0 ** -40, dtype=torch.float64),
    "i8": torch.tensor([-128, 3, 127], dtype=torch.int8),
    "u8": torch.arange(9, dtype=torch.uint8),
    "i32": torch.tensor([-2**31, 2**31 - 1], dtype=torch.int32),
    "i64": torch.tensor(-2**63),                              # 0-d i64
    "bool": torch.tensor([True, False]),
    "param": torch.nn.Parameter(torch.randn(4, generator=g)),
}
held = {k: (v.detach().clone() if mode == "write" else torch.zeros_like(v)) for k, v in tensors.items()}
with lull.Runtime(ckpt, job="tensors") as rt:
    for k, v in held.items():
        rt.protect(k, v)
    step = rt.restore()
    if mode == "write":
        rt.checkpoint(3)
    else:
        assert step == 3, step
        for k, v in tensors.items():
            h = held[k]
            assert h.dtype == v.dtype and h.shape == v.shape, k
            assert torch.equal(h.view(torch.uint8) if h.dim() else h.reshape(1).view(torch.uint8),
                               v.detach().view(torch.uint8) if v.dim() else v.detach().reshape(1).view(torch.uint8)), (k, h, v)
        loaded = lull.load(ckpt)
        for k, v in tensors.items():
            assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape, (k, loaded[k])
            assert torch.equal(loaded[k], v.detach()), k
        print("restored", sorted(held))
"""


class NumpyArrays(Scratch):
    def test_every_dtype_restored_bitwise_in_place(self):
        self.python(NUMPY_ROUND_TRIP, self.ckpt, "write")
        out = self.python(NUMPY_ROUND_TRIP, self.ckpt, "read")
        self.assertIn("restored", out.stdout)

    def test_works_without_torch(self):
        # torch is made unimportable: the package must not need it for arrays.
        blocker = "import sys; sys.modules['torch'] = None\n"
        self.python(blocker + NUMPY_ROUND_TRIP, self.ckpt, "write")
        self.python(blocker + NUMPY_ROUND_TRIP, self.ckpt, "read")


class TorchTensors(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)

    def test_every_dtype_restored_bitwise_in_place_and_loaded(self):
        self.python(TORCH_ROUND_TRIP, self.ckpt, "write")
        out = self.python(TORCH_ROUND_TRIP, self.ckpt, "read")
        self.assertIn("restored", out.stdout)


REFUSALS = """
import json, sys, numpy as np, torch
import lull
ckpt = sys.argv[1]
found = {}
def refused(label, call):
    try:
        call()
    except lull.Error as e:
        found[label] = [type(e).__name__, str(e), isinstance(e, lull.Error)]
    else:
        found[label] = None
refused("no_dir", lambda: lull.Runtime())
rt = lull.Runtime(ckpt, job="refusals")
refused("transposed_tensor", lambda: rt.protect("t", torch.zeros(3, 4).t()))
refused("sliced_array", lambda: rt.protect("s", np.zeros((4, 4))[:, 1]))
refused("int16", lambda: rt.protect("i16", torch.zeros(3, dtype=torch.int16)))
refused("complex", lambda: rt.protect("c", np.zeros(3, dtype=np.complex64)))
refused("colon", lambda: rt.protect("a:b", np.zeros(3)))
rt.protect("w", np.zeros(3))
refused("twice", lambda: rt.protect("w", np.zeros(3)))
refused("not_a_tensor", lambda: rt.protect("n", 5))
rt.restore()
refused("after_restore", lambda: rt.protect("late", np.zeros(3)))
refused("load_missing", lambda: lull.load(ckpt + "/nothing-here"))
print(json.dumps(found))
"""


class Refusals(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)

    def test_each_misuse_raises_a_lull_error_saying_what_and_where(self):
        out = self.python(REFUSALS, self.ckpt, env=None)
        found = json.loads(out.stdout.strip().splitlines()[-1])
        expected = {
            "no_dir": ("UsageError", "LULL_CKPT_DIR"),
            "transposed_tensor": ("UnsupportedTensor", "not contiguous"),
            "sliced_array": ("UnsupportedTensor", "not C-contiguous"),
            "int16": ("UnsupportedTensor", "torch.int16"),
            "complex": ("UnsupportedTensor", "complex64"),
            "colon": ("UsageError", 'may not contain ":"'),
            "twice": ("UsageError", "protected twice"),
            "not_a_tensor": ("UsageError", "(int) cannot be restored in place"),
            "after_restore": ("UsageError", "after restore()"),
            "load_missing": ("SnapshotNotFound", "nothing-here"),
        }
        for label, (cls, words) in expected.items():
            with self.subTest(label):
                self.assertIsNotNone(found[label], f"{label} was accepted")
                name, message, is_lull_error = found[label]
                self.assertEqual(name, cls, message)
                self.assertTrue(is_lull_error)
                self.assertIn(words, message)
                self.assertNotIn("::", message, "a C++ name in a Python message")


GIL = """
import sys, threading, time, numpy as np
import lull
ckpt = sys.argv[1]
big = np.ones(64 << 20, dtype=np.float32)        # 256 MiB: a checkpoint of some length
ticks = [0]
stop = threading.Event()
def count():
    while not stop.is_set():
        ticks[0] += 1
        time.sleep(0.0005)
with lull.Runtime(ckpt, job="gil") as rt:
    rt.protect("big", big)
    rt.restore()
    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.05)
    before = ticks[0]
    start = time.monotonic()
    rt.checkpoint(1)
    seconds = time.monotonic() - start
    during = ticks[0] - before
    stop.set(); thread.join()
print(f"ticks during the checkpoint: {during} in {seconds:.3f} s")
sys.exit(0 if during > 0 else 1)
"""


class GilReleased(Scratch):
    def test_other_threads_run_during_a_checkpoint(self):
        out = self.python(GIL, self.ckpt)
        self.assertIn("ticks during the checkpoint", out.stdout)


if __name__ == "__main__":
    main()
