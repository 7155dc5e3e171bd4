#!/usr/bin/python3
"""A PyTorch training loop's whole state through lull: nn.Module parameters
and buffers, Adam's lazily created moments, an LR scheduler, the RNGs and a
picklable object, restored in place in a new process so that the run ends
bitwise like an uninterrupted one; lull.load equal to the model's state_dict;
optimizer.load_state_dict re-bound, a replaced parameter refused. Run one
case with
    /usr/bin/python3 tests/python_package/torch_state_test.py Resume
"""
import hashlib
import json

from harness import Scratch, main, require_torch

# argv: ckpt total stop_after. Trains `total` steps; stops (exit 75 through
# lull.Preempted) after `stop_after` by checkpointing and raising, as a notice would.
TRAINING = """
import hashlib, random, sys
import numpy as np
import lull
import torch

ckpt, total, stop_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0); np.random.seed(0); random.seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
progress = {"samples": 0}
with lull.Runtime(ckpt, job="torch-state") as rt:
    rt.protect("model", model)
    rt.protect("opt", optimizer)
    rt.protect("sched", scheduler)
    rt.protect("progress", progress)
    rt.protect_rng()
    for step in rt.steps(total):
        x = torch.randn(32, 8) + float(np.random.rand()) + random.random()
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        progress["samples"] += 32
        if step + 1 == stop_after:
            rt.checkpoint(step + 1)
            raise lull.Preempted(75, "stopped by the test")
digest = hashlib.sha256()
for key, value in model.state_dict().items():
    digest.update(key.encode()); digest.update(value.numpy().tobytes())
for state in optimizer.state.values():
    for key in sorted(state):
        digest.update(state[key].numpy().tobytes())
print("lr", optimizer.param_groups[0]["lr"], "samples", progress["samples"])
print("digest", digest.hexdigest())
"""

# Compared with a run that never used lull: lull's creation of Adam's state must not change training.
PLAIN = TRAINING.replace('with lull.Runtime(ckpt, job="torch-state") as rt:', "if True:").replace(
    "    rt.protect", "    pass  # rt.protect").replace("rt.steps(total)", "range(total)")


def digest(out):
    return out.stdout.strip().splitlines()[-1]


class Resume(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)

    def test_stopped_twice_and_resumed_ends_bitwise_like_an_uninterrupted_run(self):
        whole = self.python(TRAINING, self.ckpt + "-whole", 10, 0)
        first = self.python(TRAINING, self.ckpt, 10, 4, check=False)
        self.assertEqual(first.returncode, 75, first.stderr)
        second = self.python(TRAINING, self.ckpt, 10, 7, check=False)
        self.assertEqual(second.returncode, 75, second.stderr)
        resumed = self.python(TRAINING, self.ckpt, 10, 0)
        self.assertEqual(resumed.stdout, whole.stdout)
        self.assertIn("samples 320", resumed.stdout)

    def test_protecting_the_optimizer_does_not_change_training(self):
        plain = self.python(PLAIN, self.ckpt, 10, 0)
        with_lull = self.python(TRAINING, self.ckpt, 10, 0)
        self.assertEqual(digest(plain), digest(with_lull))


LOAD = """
import sys, torch
import lull
ckpt = sys.argv[1]
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).to(torch.float64)
optimizer = torch.optim.Adam(model.parameters())
with lull.Runtime(ckpt, job="load") as rt:
    rt.protect("model", model)
    rt.protect("opt", optimizer)
    for step in rt.steps(2):
        model(torch.randn(5, 4, dtype=torch.float64)).sum().backward()
        optimizer.step()
state = lull.load(ckpt)
expected = model.state_dict()
assert list(state["model"]) == list(expected), (list(state["model"]), list(expected))
for key, value in expected.items():
    got = state["model"][key]
    assert got.dtype == value.dtype and got.shape == value.shape and torch.equal(got, value), key
fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).to(torch.float64)
fresh.load_state_dict(state["model"])
reloaded = torch.optim.Adam(fresh.parameters())
reloaded.load_state_dict(state["opt"])
mine, theirs = optimizer.state_dict(), reloaded.state_dict()
assert mine["param_groups"] == theirs["param_groups"], (mine["param_groups"], theirs["param_groups"])
for index, values in mine["state"].items():
    for key, value in values.items():
        assert torch.equal(theirs["state"][index][key], value), (index, key)
        assert theirs["state"][index][key].shape == value.shape, (index, key)   # 'step' stays 0-d
print("load ok", sorted(state))
"""

REBIND = """
import json, sys, torch
import lull
ckpt, case = sys.argv[1], sys.argv[2]
torch.manual_seed(2)
model = torch.nn.Linear(3, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
saved = None
with lull.Runtime(ckpt, job="rebind") as rt:
    rt.protect("model", model)
    rt.protect("opt", optimizer)
    rt.restore()
    model(torch.ones(1, 3)).sum().backward(); optimizer.step()
    if case == "optimizer_load_state_dict":
        saved = {k: v for k, v in optimizer.state_dict().items()}
        copy = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.1)
        copy.load_state_dict(saved)
        for state in copy.state.values():
            state["exp_avg"].fill_(0.25)
        optimizer.load_state_dict(copy.state_dict())   # new state tensors
        rt.end_step(1)
        rt.checkpoint(1)
        loaded = lull.load(ckpt)["opt"]["state"]
        assert all(torch.all(s["exp_avg"] == 0.25) for s in loaded.values()), loaded
        # and training goes on with the protected tensors
        first = next(iter(optimizer.state.values()))["exp_avg"]
        print("rebound", float(first.flatten()[0]))
    elif case == "parameter_replaced":
        model.weight = torch.nn.Parameter(torch.zeros(2, 3))
        try:
            rt.checkpoint(1)
        except lull.StateReplaced as e:
            print("refused", json.dumps(str(e)))
"""


class LoadAndRebinding(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)

    def test_load_gives_the_model_and_optimizer_state_dicts(self):
        self.assertIn("load ok", self.python(LOAD, self.ckpt).stdout)

    def test_optimizer_load_state_dict_is_rebound_to_the_protected_tensors(self):
        self.assertIn("rebound 0.25", self.python(REBIND, self.ckpt, "optimizer_load_state_dict").stdout)

    def test_a_replaced_parameter_fails_the_checkpoint_with_its_name(self):
        out = self.python(REBIND, self.ckpt, "parameter_replaced")
        self.assertIn("refused", out.stdout)
        self.assertIn("model:weight", out.stdout)


if __name__ == "__main__":
    main()
