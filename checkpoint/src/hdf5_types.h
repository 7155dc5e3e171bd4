#pragma once
// HDF5 datatypes for lull's dtypes, and the way back.

#include <hdf5.h>

#include "hdf5_handle.h"
#include "lull/checkpoint/dtype.h"

namespace lull::detail {

// The little-endian file/memory type of `type`: native IEEE and integer
// types; f16 and bf16 as 16-bit IEEE-style floats (bf16: 8-bit exponent,
// 7-bit mantissa, bias 127); bool as an 8-bit enum {FALSE=0, TRUE=1}, which
// h5py reads as numpy bool.
Hid make_hdf5_type(DType type);

}  // namespace lull::detail
