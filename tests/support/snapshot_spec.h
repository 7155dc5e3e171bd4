#pragma once
// A declarative description of a test snapshot: which tensors (name, dtype,
// global shape, the dimension they are sharded along) and which per-rank
// blobs, with contents from pattern.h derived from the step. Writers (the
// tests themselves, crash_writer, snapshot_mpi_tool) and checkers share it,
// so "every byte equals the formula for that step" is one function.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lull/checkpoint.h"

namespace lull::test {

struct TensorSpec {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  int split_dim = -1;  // -1: replicated, written with write_replicated() on every rank
};

struct BlobSpec {
  std::string name;
  std::size_t bytes = 0;  // rank r's blob has bytes + r bytes
};

struct SnapshotSpec {
  std::vector<TensorSpec> tensors;
  std::vector<BlobSpec> blobs;
};

struct Box {
  Shape offset;
  Shape extent;
};

// Seeds of the pattern: different for every step, tensor, rank and blob.
std::uint64_t tensor_seed(std::uint64_t step, std::size_t tensor_index) noexcept;
std::uint64_t blob_seed(std::uint64_t step, int rank, std::size_t blob_index) noexcept;

// The piece `part` of `parts` of [0, n): sizes differ by at most one, the
// larger pieces first.
Box split_box(const Shape& shape, int dim, int parts, int part);

// Writes rank `rank`'s shards, blobs and metadata ("spec-step") of step `step`.
void write_rank(SnapshotWriter& writer, const SnapshotSpec& spec, std::uint64_t step, int rank,
                int world_size);

// Writes all ranks of `world_size` in this process, one writer after the
// other, and returns their reports (a rank that throws gets a failure report).
std::vector<ShardReport> write_all_ranks(const SnapshotStore& store, const SnapshotSpec& spec,
                                         std::uint64_t step, int world_size);

// Reads every tensor whole and every blob of every rank, compares them with
// the formula of `step`; returns one line per problem (empty = all good).
std::vector<std::string> check_snapshot(SnapshotReader& reader, const SnapshotSpec& spec,
                                        std::uint64_t step);

// What a rank of a job restarted at `world_size` ranks reads: each tensor
// split along another dimension than it was written with, plus a box that
// crosses the written shard boundaries, and the blobs of the old ranks
// old_rank % world_size == rank. Returns the problems.
std::vector<std::string> check_resharded_part(SnapshotReader& reader, const SnapshotSpec& spec,
                                              std::uint64_t step, int rank, int world_size);

std::string join_lines(const std::vector<std::string>& lines);

}  // namespace lull::test
