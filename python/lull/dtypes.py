"""The element types lull stores, spelled for numpy and torch.

lull's names: f16, bf16, f32, f64, i8, u8, i32, i64, bool. numpy has no
bfloat16: bf16 tensors are torch's only (lull.load returns them as
torch.bfloat16; read through numpy they are their raw bits, uint16).
"""

import numpy

NUMPY_TO_LULL = {
    numpy.dtype("float16"): "f16",
    numpy.dtype("float32"): "f32",
    numpy.dtype("float64"): "f64",
    numpy.dtype("int8"): "i8",
    numpy.dtype("uint8"): "u8",
    numpy.dtype("int32"): "i32",
    numpy.dtype("int64"): "i64",
    numpy.dtype("bool"): "bool",
}

SUPPORTED = "float16, bfloat16, float32, float64, int8, uint8, int32, int64 and bool"


def torch_to_lull():
    """{torch.dtype: lull name}; imports torch (call only when a tensor is at hand)."""
    import torch

    return {
        torch.float16: "f16",
        torch.bfloat16: "bf16",
        torch.float32: "f32",
        torch.float64: "f64",
        torch.int8: "i8",
        torch.uint8: "u8",
        torch.int32: "i32",
        torch.int64: "i64",
        torch.bool: "bool",
    }


def lull_to_torch(name):
    """The torch.dtype of lull's dtype `name`."""
    for torch_dtype, lull_name in torch_to_lull().items():
        if lull_name == name:
            return torch_dtype
    raise KeyError(name)
