#pragma once
// commit_snapshot — make one snapshot visible, atomically.
//
// Called by exactly one process (rank 0 by convention) once it holds the
// reports of all ranks. Protocol (leveldb + FTI): check that every rank
// succeeded and that the shards tile every tensor exactly; write the root
// file (global virtual datasets, checksums, attributes) into the pending
// directory and fsync it and the directory; rename the pending directory to
// step-<N>; fsync the snapshot directory; update LATEST the same way; only
// then apply retention and remove leftovers of crashed writers. Retention
// removes only snapshots of lower steps than the one committed: a snapshot of
// a higher step is work a later run may still resume from (the newest step is
// what a restore tries first), and is removed only when the caller says so
// (CommitOptions::discard_newer, a deliberate rollback).
// A crash at any point leaves either the previous snapshot or the new one
// as the latest, never a torn one.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lull/base/file_system.h"
#include "lull/checkpoint/shard_report.h"
#include "lull/checkpoint/writer_lock.h"

namespace lull {

struct CommitOptions {
  int keep = 2;              // committed snapshots to keep (>= 1), newest first
  FileSystem* fs = nullptr;  // null = FileSystem::posix()
  mode_t file_mode = 0600;
  // The directory's writer lock, when the caller holds it: a commit into a
  // directory whose lock someone holds is refused unless it is this one.
  const WriterLock* writer_lock = nullptr;
  // Remove the committed snapshots of higher steps than this one, before the
  // commit point (so that a reader trying the newest first finds this one):
  // for a caller that rolls the job back on purpose. Off, they stay and
  // retention never counts or removes them.
  bool discard_newer = false;
};

struct CommitResult {
  std::uint64_t step = 0;
  std::filesystem::path path;       // the committed snapshot directory
  std::filesystem::path root_file;  // its root HDF5 file
  std::uint64_t bytes = 0;          // tensor and blob bytes
  double seconds = 0;               // time spent in commit_snapshot
  std::vector<std::uint64_t> removed_steps;  // snapshots removed: older ones by retention, newer ones by discard_newer
  // Failures after the commit point (updating LATEST, retention, removing
  // leftovers): the snapshot is committed and durable all the same.
  std::vector<std::string> warnings;
};

// Throws Error(incomplete) naming the ranks when a report is missing or
// failed, Error(invalid_argument) when the shards disagree or do not tile a
// tensor, Error(io/hdf5) when the file system fails before the snapshot is
// durable (ENOSPC: "No space left on device"), Error(in_use) when the
// directory's WriterLock (writer_lock.h) is held and not options.writer_lock. After a throw the previous
// snapshot stays the latest, and the pending directory is removed (every
// rank's shard file with it) unless the reports themselves disagree.
CommitResult commit_snapshot(const std::filesystem::path& dir, std::uint64_t step,
                             const std::vector<ShardReport>& reports, const CommitOptions& options = {});

}  // namespace lull
