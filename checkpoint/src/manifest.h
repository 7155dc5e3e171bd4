#pragma once
// Manifest — everything a reader needs to know about one committed snapshot:
// which file holds which box of which tensor, the blobs, every checksum.
// Stored as JSON in the root file (/lull/manifest, with its own checksum in
// the attribute "checksum"), so the root file alone describes the snapshot.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lull/checkpoint/dtype.h"
#include "tiling.h"

namespace lull::detail {

inline constexpr int kFormatVersion = 1;

struct ShardEntry {
  int rank = 0;
  Box box;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  // Where the bytes start in the rank's shard file, so a reader needs no
  // HDF5 lookup; 0 in manifests written before it was recorded.
  std::uint64_t file_offset = 0;
};

struct TensorEntry {
  std::string name;
  DType dtype = DType::u8;
  Shape shape;
  std::vector<ShardEntry> shards;
};

struct BlobEntry {
  int rank = 0;
  std::string name;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  std::uint64_t file_offset = 0;  // as ShardEntry::file_offset
};

struct FileEntry {
  int rank = 0;
  std::string name;  // shard file name inside the snapshot directory
  std::uint64_t bytes = 0;
};

struct Manifest {
  int format_version = kFormatVersion;
  std::uint64_t step = 0;
  int world_size = 1;
  std::int64_t created_unix = 0;
  std::map<std::string, std::string> metadata;
  std::vector<TensorEntry> tensors;  // sorted by name
  std::vector<BlobEntry> blobs;      // sorted by (rank, name)
  std::vector<FileEntry> files;      // one per rank that wrote a shard file

  const FileEntry* file_of(int rank) const noexcept;
};

std::string manifest_to_json(const Manifest& manifest);
// Throws Error(corrupt) saying which field is wrong.
Manifest manifest_from_json(std::string_view json);

}  // namespace lull::detail
