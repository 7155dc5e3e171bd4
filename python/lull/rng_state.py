"""Per-rank random number generator states: torch's (CPU, and every CUDA
device where torch has CUDA), numpy's global one, Python's `random`, and
torch.Generator / numpy Generator objects the program names."""

import pickle
import random
import sys

from .protected import Protected


def capture():
    state = {"python": random.getstate()}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        state["numpy"] = numpy.random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        state["torch"] = torch.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def apply(state):
    random.setstate(state["python"])
    if "numpy" in state:
        import numpy

        numpy.random.set_state(state["numpy"])
    if "torch" in state:
        import torch

        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


class GlobalRngState(Protected):
    """The process's global generators (torch, CUDA, numpy, random)."""

    def __init__(self, name):
        self.name = name

    def blobs(self):
        return [(self.name, lambda: pickle.dumps(capture()), lambda data: apply(pickle.loads(data)))]


class GeneratorState(Protected):
    """A torch.Generator or numpy.random.Generator of the program."""

    def __init__(self, name, generator):
        self.name = name
        self.generator = generator

    def blobs(self):
        g = self.generator
        if hasattr(g, "get_state"):  # torch.Generator
            return [(self.name, lambda: pickle.dumps(g.get_state()), lambda data: g.set_state(pickle.loads(data)))]

        def load(data):  # numpy.random.Generator: its bit generator's state dict
            g.bit_generator.state = pickle.loads(data)

        return [(self.name, lambda: pickle.dumps(g.bit_generator.state), load)]
