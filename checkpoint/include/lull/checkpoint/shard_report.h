#pragma once
// ShardReport — what one rank tells the committer about the shard it wrote.
//
// Writing a shard needs no communication; the runtime carries each rank's
// report to the committing rank over its collectives (as JSON bytes), and
// commit_snapshot() checks the reports together before anything becomes
// visible.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lull/checkpoint/dtype.h"

namespace lull {

// One rank's piece of one tensor: the box [offset, offset+extent) of the
// global array, and the XXH3-64 checksum of its bytes in C order.
struct TensorShard {
  std::string name;
  DType dtype = DType::u8;
  Shape global_shape;
  Shape offset;
  Shape extent;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  std::uint64_t file_offset = 0;  // where its bytes start in the shard file; 0 = not recorded
};

// One rank-local blob (RNG state, data cursor, ...).
struct BlobRecord {
  std::string name;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  std::uint64_t file_offset = 0;  // as TensorShard::file_offset
};

struct ShardReport {
  std::uint64_t step = 0;
  int rank = 0;
  int world_size = 1;
  std::string error;            // empty when this rank's shard is durable on disk
  std::string file;             // shard file name inside the snapshot directory
  std::uint64_t file_bytes = 0; // its size after fsync
  std::vector<TensorShard> tensors;
  std::vector<BlobRecord> blobs;
  std::map<std::string, std::string> metadata;  // user key/values; rank 0's are kept

  bool ok() const noexcept { return error.empty(); }

  // A report saying this rank failed, with the reason, so that the commit
  // fails naming the rank instead of waiting for it.
  static ShardReport failure(std::uint64_t step, int rank, int world_size, std::string why);

  // Lossless JSON round trip (for carrying reports between ranks).
  // from_json throws Error(invalid_argument) on malformed input.
  std::string to_json() const;
  static ShardReport from_json(std::string_view json);
};

}  // namespace lull
