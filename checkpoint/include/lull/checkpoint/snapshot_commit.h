#pragma once
// commit_snapshot — make one snapshot visible, atomically.
//
// Called by exactly one process (rank 0 by convention) once it holds the
// reports of all ranks. Protocol (leveldb + FTI): check that every rank
// succeeded and that the shards tile every tensor exactly; write the root
// file (global virtual datasets, checksums, attributes) into the pending
// directory and fsync it and the directory; rename the pending directory to
// step-<N>; fsync the snapshot directory; update LATEST the same way; only
// then apply retention and remove leftovers of crashed writers.
// A crash at any point leaves either the previous snapshot or the new one
// as the latest, never a torn one.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "lull/checkpoint/file_system.h"
#include "lull/checkpoint/shard_report.h"

namespace lull {

struct CommitOptions {
  int keep = 2;              // committed snapshots to keep (>= 1), newest first
  FileSystem* fs = nullptr;  // null = FileSystem::posix()
  mode_t file_mode = 0600;
};

struct CommitResult {
  std::uint64_t step = 0;
  std::filesystem::path path;       // the committed snapshot directory
  std::filesystem::path root_file;  // its root HDF5 file
  std::uint64_t bytes = 0;          // tensor and blob bytes
  double seconds = 0;               // time spent in commit_snapshot
  std::vector<std::uint64_t> removed_steps;  // old snapshots retention removed
};

// Throws Error(incomplete) naming the ranks when a report is missing or
// failed (the pending directory is then removed and the previous snapshot
// stays latest), Error(invalid_argument) when the shards disagree or do not
// tile a tensor, Error(io/hdf5) when the file system fails.
CommitResult commit_snapshot(const std::filesystem::path& dir, std::uint64_t step,
                             const std::vector<ShardReport>& reports, const CommitOptions& options = {});

}  // namespace lull
