"""torch modules and optimizers, protected in place.

A module's parameters and buffers are protected by their state_dict names
(``<name>:<key>``, e.g. ``model:fc.weight``). An optimizer's state tensors
(``<name>:state.<i>.<key>``, i = the parameter's index in param_groups, as in
optimizer.state_dict()) are protected in place too; its hyperparameters
(param_groups: the learning rate a scheduler changed, ...) and non-tensor
state go in a per-rank blob named ``<name>``.

Optimizers create their state at their first step (Adam's exp_avg). lull
creates it at protect() the way torch.distributed.checkpoint does (one step
with zero gradients and lr 0, which changes no parameter) and then resets it
to what the first step would have found (zeros, step 0), so a run that
protects its optimizer trains bitwise like one that does not. That holds for
the optimizers in ZERO_INITIALIZED; any other optimizer is saved whole through
state_dict() at each checkpoint instead (correct, slower for large state).
"""

import pickle

from .errors import StateReplaced, UsageError
from .protected import Protected, TensorEntry

# Optimizers whose lazily created state is zeros and step 0 (torch 1.13 - 2.x).
ZERO_INITIALIZED = ("Adam", "AdamW", "SGD", "RMSprop", "Adadelta", "Adamax", "RAdam", "Adagrad")


class ModuleState(Protected):
    """nn.Module: parameters and persistent buffers by their state_dict names."""

    def __init__(self, name, module, replicated=True):
        self.name = name
        self.module = module
        self.replicated_blobs = replicated
        self.entries = []
        for key, tensor in module.state_dict(keep_vars=True).items():
            self.entries.append(TensorEntry(f"{name}:{key}", tensor, replicated=replicated))
        self.keys = list(module.state_dict(keep_vars=True).keys())

    def tensors(self):
        return self.entries

    def blobs(self):
        # The state_dict's order, for lull.load (the snapshot lists tensors by name).
        return [(self.name, lambda: pickle.dumps({"lull": "module", "keys": self.keys}), lambda data: None)]

    def replaced(self):
        now = self.module.state_dict(keep_vars=True)
        return [f'"{e.name}"' for key, e in zip(self.keys, self.entries) if key not in now or not e.memory.still_at(now[key])]


def trainable_params(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def create_lazy_state(optimizer):
    """Makes `optimizer` create its state now, as at its first step, without
    changing a parameter; then resets what the step counted."""
    params = [p for p in trainable_params(optimizer) if p.requires_grad and p not in optimizer.state]
    if not params:
        return
    grads = {p: p.grad for p in params}
    for p in params:
        if p.grad is None:
            import torch

            p.grad = torch.zeros_like(p)
    lrs = [group.get("lr") for group in optimizer.param_groups]
    for group in optimizer.param_groups:
        if "lr" in group:
            group["lr"] = 0.0
    try:
        optimizer.step()
    finally:
        for group, lr in zip(optimizer.param_groups, lrs):
            if lr is not None:
                group["lr"] = lr
        for p, grad in grads.items():
            p.grad = grad
    import torch

    for p in params:
        state = optimizer.state[p]
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                value.zero_()
            elif key == "step":
                state[key] = 0


class OptimizerState(Protected):
    """torch.optim.Optimizer: state tensors in place, the rest in a blob."""

    def __init__(self, name, optimizer, replicated=True):
        import torch

        self.name = name
        self.optimizer = optimizer
        self.replicated_blobs = replicated
        create_lazy_state(optimizer)
        self.params = trainable_params(optimizer)
        self.entries = []  # TensorEntry
        self.slots = []  # (param index, key, the tensor object put back on rebind)
        for index, p in enumerate(self.params):
            for key, value in sorted(optimizer.state.get(p, {}).items()):
                if isinstance(value, torch.Tensor):
                    current = lambda index=index, key=key: self.current_tensor(index, key)  # noqa: E731
                    self.entries.append(
                        TensorEntry(f"{name}:state.{index}.{key}", value, replicated=replicated, current=current)
                    )
                    self.slots.append((index, key, value))
        self.state_object = optimizer.state

    def tensors(self):
        return self.entries

    def blobs(self):
        return [(self.name, self.save, self.load)]

    def save(self):
        import torch

        groups = []
        position = {id(p): i for i, p in enumerate(self.params)}
        for group in self.optimizer.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = [position[id(p)] for p in group["params"]]
            groups.append(g)
        scalars = {}
        for index, p in enumerate(self.params):
            for key, value in self.optimizer.state.get(p, {}).items():
                if not isinstance(value, torch.Tensor):
                    scalars.setdefault(index, {})[key] = value
        layout = {}
        for index, key, _ in self.slots:
            layout.setdefault(index, []).append(key)
        return pickle.dumps({"lull": "optimizer", "param_groups": groups, "scalars": scalars, "tensors": layout})

    def load(self, data):
        saved = pickle.loads(data)
        if len(saved["param_groups"]) != len(self.optimizer.param_groups):
            raise UsageError(
                f'optimizer "{self.name}" has {len(self.optimizer.param_groups)} parameter groups; the snapshot '
                f"has {len(saved['param_groups'])}"
            )
        for group, stored in zip(self.optimizer.param_groups, saved["param_groups"]):
            group.update({k: v for k, v in stored.items() if k != "params"})
        for index, values in saved["scalars"].items():
            self.optimizer.state[self.params[index]].update(values)

    def rebind(self):
        # optimizer.load_state_dict() builds a new state dict with new
        # tensors: copy their values into the protected ones and put those back.
        if self.optimizer.state is self.state_object:
            return
        state = self.optimizer.state
        for (index, key, protected), entry in zip(self.slots, self.entries):
            new = state.get(self.params[index], {}).get(key)
            if new is None or tuple(new.shape) != entry.memory.shape or new.dtype != protected.dtype:
                raise StateReplaced(
                    f'optimizer "{self.name}": after its state was replaced (load_state_dict?), "{entry.name}" is '
                    + ("missing" if new is None else f"{new.dtype} {tuple(new.shape)}")
                    + f", not {protected.dtype} {entry.memory.shape} as protected"
                )
            if new is not protected:
                protected.copy_(new)
                state[self.params[index]][key] = protected
        self.state_object = state

    def replaced(self):
        self.rebind()
        return super().replaced()

    def current_tensor(self, index, key):
        return self.optimizer.state.get(self.params[index], {}).get(key)
