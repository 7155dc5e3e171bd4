#!/usr/bin/python3
"""lull.SampleCursor from Python: each sample once per epoch across world-size
changes, ids torch can index with, misuse refused with lull.UsageError in
Python's words; protected by a real Runtime, checkpointed at 2 ranks (mpirun)
and restored at 2 and at 1 rank, and refused when resumed with another seed.
Run one case with
    /usr/bin/python3 tests/python_package/cursor_test.py Api
"""
import json

from harness import Scratch, has_torch, main

# Prints one JSON line: the checks' results, asserted by the test.
API = """
import json
import numpy as np
import lull

def walk(worlds, samples=103, global_batch=16, epochs=3, steps_per_world=3, seed=42):
    # One cursor through world sizes `worlds` in turn, as a job resumed on each.
    cursor = lull.SampleCursor(samples, seed=seed)
    seen, epoch, step, once, steps_are_shares = [], 0, 0, True, True
    while cursor.epoch < epochs:
        world = worlds[(step // steps_per_world) % len(worlds)]
        shares = [cursor.rank_batch(global_batch, r, world) for r in range(world)]
        joined = np.concatenate(shares)
        steps_are_shares &= joined.tolist() == cursor.rank_batch(global_batch, 0, 1).tolist()
        steps_are_shares &= len(joined) == cursor.step_size(global_batch)
        seen.extend(joined.tolist())
        cursor.advance(global_batch)
        step += 1
        if cursor.epoch != epoch:
            once &= sorted(seen) == list(range(samples))
            seen, epoch = [], cursor.epoch
    return once, steps_are_shares

def refusal(call):
    try:
        call()
    except lull.Error as e:
        return [type(e).__name__, str(e), isinstance(e, lull.UsageError)]
    return None

once, steps_are_shares = walk([4, 2, 3])
c = lull.SampleCursor(10, seed=5)
ids = c.rank_batch(4, 1, 2)
out = {
    "once_4_2_3": once,
    "steps_are_shares": steps_are_shares,
    "dtype": str(ids.dtype),
    "ids": ids.tolist(),
    "same_seed_same_order": lull.SampleCursor(1000, 9).rank_batch(1000, 0, 1).tolist()
                            == lull.SampleCursor(1000, 9).rank_batch(1000, 0, 1).tolist(),
    "another_seed_another_order": lull.SampleCursor(1000, 9).rank_batch(1000, 0, 1).tolist()
                                  != lull.SampleCursor(1000, 10).rank_batch(1000, 0, 1).tolist(),
    "numpy_ints": lull.SampleCursor(np.int64(10), np.uint64(5)).rank_batch(np.int32(4), np.int64(1), 2).tolist()
                  == ids.tolist(),
    "negative_seed": lull.SampleCursor(10, seed=-1).seed == 2**64 - 1,
    "repr": repr(c),
    "refusals": {
        "empty": refusal(lambda: lull.SampleCursor(0)),
        "negative_size": refusal(lambda: lull.SampleCursor(-3)),
        "float_size": refusal(lambda: lull.SampleCursor(10.0)),
        "zero_batch": refusal(lambda: c.rank_batch(0, 0, 1)),
        "zero_batch_advance": refusal(lambda: c.advance(0)),
        "rank_out_of_range": refusal(lambda: c.rank_batch(4, 2, 2)),
        "no_world": refusal(lambda: c.rank_batch(4, 0, 0)),
        "position_past_end": refusal(lambda: c.sample_at(0, 10)),
    },
    "unmoved": (c.epoch, c.position) == (0, 0),
}
try:
    import torch
    data = torch.arange(100, 110)
    out["torch_indexes"] = data[torch.from_numpy(ids)].tolist() == [100 + i for i in ids.tolist()]
except ImportError:
    out["torch_indexes"] = None
print(json.dumps(out))
"""

# argv: ckpt mode; modes: write (advance 8 steps of 8 over 50 samples, checkpoint),
# read (restore, print where it is and the next step's ids), reseeded (restore with seed 8).
PROTECTED = """
import json, sys
import lull
ckpt, mode = sys.argv[1], sys.argv[2]
cursor = lull.SampleCursor(50, seed=8 if mode == "reseeded" else 7)
with lull.Runtime(ckpt, job="cursor") as rt:
    rt.protect("data.order", cursor)
    step = rt.restore()
    if mode == "write":
        for _ in range(8):
            cursor.advance(8)
        rt.checkpoint(8)
    out = {"rank": rt.rank, "world": rt.world_size, "step": step, "restored_world": rt.restored_world_size,
           "epoch": cursor.epoch, "position": cursor.position}
    try:
        out["next"] = cursor.rank_batch(8, 0, 1).tolist()
    except lull.UsageError as e:
        out["refused"] = str(e)
    print(json.dumps(out))
"""


def results(run):
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


class Api(Scratch):
    def test_orders_shares_and_refusals(self):
        out = results(self.python(API))[0]
        self.assertTrue(out["once_4_2_3"], "a sample taken twice or never in an epoch across 4 -> 2 -> 3 ranks")
        self.assertTrue(out["steps_are_shares"], "a step's shares joined in rank order are not the step")
        self.assertEqual(out["dtype"], "int64")
        self.assertEqual(len(out["ids"]), 2)
        self.assertTrue(out["same_seed_same_order"])
        self.assertTrue(out["another_seed_another_order"])
        self.assertTrue(out["numpy_ints"])
        self.assertTrue(out["negative_seed"])
        self.assertEqual(out["repr"], "lull.SampleCursor(dataset_size=10, seed=5, epoch=0, position=0)")
        if has_torch():
            self.assertTrue(out["torch_indexes"])
        expected = {
            "empty": "a sample cursor over an empty data set",
            "negative_size": "dataset_size must be between 0 and 9223372036854775807, not -3",
            "float_size": "dataset_size must be an int, not float",
            "zero_batch": "a global batch of 0 samples",
            "zero_batch_advance": "a global batch of 0 samples",
            "rank_out_of_range": "rank 2 of a world of 2",
            "no_world": "rank 0 of a world of 0",
            "position_past_end": "position 10 is past the data set of 10 samples",
        }
        for label, words in expected.items():
            with self.subTest(label):
                self.assertIsNotNone(out["refusals"][label], f"{label} was accepted")
                name, message, is_usage_error = out["refusals"][label]
                self.assertEqual(name, "UsageError", message)
                self.assertTrue(is_usage_error)
                self.assertIn(words, message)
                self.assertNotIn("::", message, "a C++ name in a Python message")
        self.assertTrue(out["unmoved"], "a refused call moved the cursor")


class Protected(Scratch):
    def test_checkpointed_at_two_ranks_restored_at_two_and_one(self):
        written = results(self.python(PROTECTED, self.ckpt, "write", ranks=2))
        self.assertEqual(len(written), 2)
        # 6 steps of 8, the 2 left of the epoch, 8 more: epoch 1, position 8, on both ranks.
        self.assertEqual({(w["epoch"], w["position"]) for w in written}, {(1, 8)})
        expected_next = written[0]["next"]
        self.assertEqual(len(expected_next), 8)

        same = results(self.python(PROTECTED, self.ckpt, "read", ranks=2))
        self.assertEqual(len(same), 2)
        one = results(self.python(PROTECTED, self.ckpt, "read"))
        self.assertEqual(one[0]["world"], 1)
        for r in same + one:
            with self.subTest(world=r["world"], rank=r["rank"]):
                self.assertEqual((r["step"], r["restored_world"]), (8, 2))
                self.assertEqual((r["epoch"], r["position"]), (1, 8))
                self.assertEqual(r["next"], expected_next)

        # The snapshot holds the cursor as C++ and C protect it: int64[4] (size, seed, epoch, position).
        load = self.python("import sys, lull\nprint(lull.open_snapshot(sys.argv[1]).read('data.order').tolist())",
                           self.ckpt)
        self.assertEqual(load.stdout.strip(), "[50, 7, 1, 8]")

        reseeded = results(self.python(PROTECTED, self.ckpt, "reseeded"))[0]
        self.assertIn("50 samples with seed 7, this program has 50 samples with seed 8", reseeded.get("refused", ""))


if __name__ == "__main__":
    main()
