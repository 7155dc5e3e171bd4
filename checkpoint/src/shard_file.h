#pragma once
// How a shard file is laid out, shared by the writer and the reader.
//
// A shard file is an ordinary HDF5 file: /tensors/<name> holds this rank's
// box of each tensor, /ranks/<rank>/<name> its blobs. Datasets are
// contiguous and allocated at creation without fill, so their raw bytes sit
// at one known offset (H5Dget_offset): lull writes and reads those bytes
// itself, overlapping the checksum with the I/O, while h5py and the root
// file's virtual datasets see normal datasets.

#include <hdf5.h>

#include <string>

namespace lull::detail {

inline constexpr const char* kShardFormat = "lull-shard";
inline constexpr const char* kTensorsGroup = "tensors";
inline constexpr const char* kRanksGroup = "ranks";

std::string tensor_path(const std::string& name);           // "/tensors/<name>"
std::string blob_path(int rank, const std::string& name);   // "/ranks/<rank>/<name>"
std::string rank_group_path(int rank);                      // "/ranks/<rank>"

}  // namespace lull::detail
