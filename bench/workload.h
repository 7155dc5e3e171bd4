#pragma once
// The state every checkpoint benchmark writes and reads: one tensor mix, the
// same for lull, the raw limit, parallel HDF5 and (through the JSON plan) the
// Python peers, so that every method moves exactly the same bytes.
//
// The mix for a total of T MiB (default 1024): one tensor of T/4, nine of
// T/16, eight of T/64 and eight of T/256 (256, 64, 16 and 4 MiB at 1 GiB),
// all f32 [rows, 1024] and sharded along dim 0 over the ranks; then small
// tensors held whole by one rank, round-robin: 16 x 1 MiB, 32 x 256 KiB,
// 64 x 64 KiB, 128 x 16 KiB and 256 x 4 KiB with dtypes f32, bf16, i64, u8.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lull/checkpoint/dtype.h"

namespace lull::bench {

struct TensorSpec {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;              // global shape
  std::uint64_t bytes = 0;  // of the global tensor
  bool sharded = false;     // split along dim 0 over all ranks
  int owner = 0;            // the rank holding it whole when not sharded
};

// One rank's box of one tensor.
struct Piece {
  std::size_t tensor = 0;  // index into Workload::tensors
  Shape offset;
  Shape extent;
  std::uint64_t bytes = 0;
};

struct Workload {
  int world_size = 1;
  std::vector<TensorSpec> tensors;
  std::vector<std::vector<Piece>> pieces;  // per rank

  std::uint64_t total_bytes() const;
  std::uint64_t rank_bytes(int rank) const;
  // {"world_size", "total_bytes", "tensors": [...], "pieces": [[...] per rank]}
  std::string to_json() const;
};

// The mix above for `total_mib` MiB (>= 4) over `world_size` ranks.
Workload make_workload(int world_size, std::uint64_t total_mib = 1024);

// Page-aligned heap bytes, freed on destruction.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(std::size_t bytes);
  std::byte* data() noexcept { return data_.get(); }
  const std::byte* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_;
};

// One rank's tensors in memory: the source bytes (pseudo-random, different
// for every tensor and rank) and equally sized, pre-touched read targets.
struct RankState {
  std::vector<Piece> pieces;
  std::vector<AlignedBuffer> source;
  std::vector<AlignedBuffer> target;

  std::uint64_t bytes() const;
  // Zeroes the read targets (so a read that does nothing cannot pass).
  void clear_targets();
  // Index of the first piece whose target differs from its source; -1 if none.
  long first_mismatch() const;
};

RankState make_rank_state(const Workload& workload, int rank);

}  // namespace lull::bench
