"""What lull needs of a tensor to protect it in place: its address, dtype and shape.

numpy arrays and torch tensors (CPU; CUDA where lull was built with CUDA) are
protected where they are: lull reads their memory at each checkpoint and
writes it back on restore, so there is no second copy of the model. Hence a
tensor must be one contiguous block (C order) of a dtype lull stores.
"""

import sys

from . import dtypes
from .errors import UnsupportedTensor


class Shard:
    """This rank's box of a tensor spread over the ranks.

    ``Shard(local, global_shape, offset)``: `local` holds the elements
    ``[offset, offset + local.shape)`` of a tensor of `global_shape`. The
    snapshot stores ONE dataset of `global_shape`, whatever the number of
    ranks, so a job resumed on another number of ranks reads its new boxes.
    """

    def __init__(self, local, global_shape, offset):
        self.local = local
        self.global_shape = tuple(int(d) for d in global_shape)
        self.offset = tuple(int(d) for d in offset)

    def __repr__(self):
        return f"lull.Shard(shape={tuple(self.local.shape)}, global_shape={self.global_shape}, offset={self.offset})"


def is_torch_tensor(obj):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def is_numpy_array(obj):
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(obj, numpy.ndarray)


def is_tensor(obj):
    return is_torch_tensor(obj) or is_numpy_array(obj)


class TensorMemory:
    """A tensor's memory as lull protects it. Holds a reference that keeps the
    memory alive while it is protected, even if the program drops or replaces
    the tensor (then lull.StateReplaced says so at the next checkpoint)."""

    def __init__(self, name, tensor):
        self.name = name
        if is_torch_tensor(tensor):
            self._init_torch(tensor)
        elif is_numpy_array(tensor):
            self._init_numpy(tensor)
        else:
            raise UnsupportedTensor(
                f'"{name}" is a {type(tensor).__name__}, not a torch.Tensor or numpy.ndarray'
            )

    def _init_torch(self, tensor):
        import torch

        name = self.name
        if tensor.layout != torch.strided:
            raise UnsupportedTensor(f'"{name}" is a sparse tensor; lull protects dense (strided) tensors only')
        lull_dtype = dtypes.torch_to_lull().get(tensor.dtype)
        if lull_dtype is None:
            raise UnsupportedTensor(
                f'"{name}" has dtype {tensor.dtype}, which lull does not store (it stores {dtypes.SUPPORTED})'
            )
        if tensor.device.type not in ("cpu", "cuda"):
            raise UnsupportedTensor(f'"{name}" is on device {tensor.device}; lull protects CPU and CUDA tensors')
        if not tensor.is_contiguous():
            raise UnsupportedTensor(
                f'"{name}" is not contiguous (shape {tuple(tensor.shape)}, strides {tensor.stride()}): lull reads '
                "and restores a tensor's memory in place, so it must be one C-order block; protect the tensor "
                "that owns the memory, or a .contiguous() copy that the program then uses"
            )
        self.dtype = lull_dtype
        self.shape = tuple(int(d) for d in tensor.shape)
        # Another tensor object on the same memory: keeps it alive, and is not
        # affected when the program rebinds the original's .data.
        self.keepalive = tensor.detach()
        self.address = tensor.data_ptr()

    def _init_numpy(self, array):
        name = self.name
        lull_dtype = dtypes.NUMPY_TO_LULL.get(array.dtype)
        if lull_dtype is None:
            raise UnsupportedTensor(
                f'"{name}" has numpy dtype {array.dtype}, which lull does not store (it stores float16, float32, '
                "float64, int8, uint8, int32, int64 and bool; bfloat16 through torch)"
            )
        if not array.flags.c_contiguous:
            raise UnsupportedTensor(
                f'"{name}" is not C-contiguous (shape {array.shape}, strides {array.strides}): lull reads and '
                "restores an array's memory in place, so it must be one C-order block; protect the array that "
                "owns the memory (numpy.ascontiguousarray makes a copy the program must then use)"
            )
        if not array.flags.writeable:
            raise UnsupportedTensor(f'"{name}" is read-only: lull writes restored values into it')
        self.dtype = lull_dtype
        self.shape = tuple(int(d) for d in array.shape)
        self.keepalive = array
        self.address = array.__array_interface__["data"][0]

    def still_at(self, tensor):
        """Whether `tensor` (what the program holds now) is still this memory."""
        if is_torch_tensor(tensor):
            return tensor.data_ptr() == self.address and tuple(tensor.shape) == self.shape
        if is_numpy_array(tensor):
            return tensor.__array_interface__["data"][0] == self.address and tuple(tensor.shape) == self.shape
        return False
