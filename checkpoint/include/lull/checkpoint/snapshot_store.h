#pragma once
// SnapshotStore — a job's snapshot directory as a whole.
//
// Layout of `dir` (0700):
//   step-000000000042/        a committed snapshot: root.h5 + shard-<rank>.h5
//   LATEST                    name of the newest committed snapshot (a hint
//                             for tools; the step-* names are the truth)
//   .pending-step-…/          a snapshot being written (or left by a crash)
//   .trash-…/                 a snapshot being deleted
// Only step-* directories are ever read; they appear by rename once durable.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lull/base/file_system.h"
#include "lull/checkpoint/snapshot_commit.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_writer.h"
#include "lull/checkpoint/writer_lock.h"

namespace lull {

struct SnapshotEntry {
  std::uint64_t step = 0;
  std::filesystem::path path;
};

// A snapshot open_latest() passed over, and why.
struct RejectedSnapshot {
  std::uint64_t step = 0;
  std::string reason;
};

enum class Verification {
  structure,  // files present with their recorded sizes, manifest intact (cheap)
  full,       // and every checksum (reads every byte once)
};

struct StoreOptions {
  int keep = 2;              // committed snapshots kept by commit(), this one and older ones
  bool discard_newer = false;  // commit() removes snapshots of higher steps (CommitOptions::discard_newer)
  FileSystem* fs = nullptr;  // null = FileSystem::posix()
  bool create = true;        // create `dir` (mode 0700) when missing
  // For the process that commits a job's snapshots (the runtime's rank 0):
  // the store takes the directory's writer lock as this job
  // (WriterLock::acquire: Error(in_use) naming the holder when another live
  // job has it), holds it as long as the store or a copy of it lives, and
  // commits under it. Empty: no lock (readers, and writers of other ranks).
  std::string lock_as_job;
};

class SnapshotStore {
 public:
  // Throws Error(invalid_argument) when `dir` is world-writable (others could
  // plant or replace snapshots) or is not a directory; Error(not_found) when
  // missing and options.create is false.
  explicit SnapshotStore(std::filesystem::path dir, StoreOptions options = {});

  const std::filesystem::path& dir() const { return dir_; }

  // Committed snapshots (entries named step-<N>), newest first. Neither
  // opened nor verified: an entry may still be refused when opened (a
  // symbolic link, a FIFO, a renamed directory).
  std::vector<SnapshotEntry> committed() const;

  // The newest committed snapshot that passes SnapshotReader::open's checks,
  // `verification` and, when `job` is not empty, was written by that job
  // (SnapshotReader::check_job); each one that fails is logged as a warning,
  // appended to `rejected` if given, and the next older one is tried. Throws
  // Error(not_found) when none is usable.
  SnapshotReader open_latest(Verification verification = Verification::full,
                             std::vector<RejectedSnapshot>* rejected = nullptr, std::string_view job = {}) const;

  // The snapshot of `step`, checked as above; no fallback.
  SnapshotReader open_step(std::uint64_t step, Verification verification = Verification::full,
                           std::string_view job = {}) const;

  // A writer for one rank's part of snapshot `step` in this directory.
  SnapshotWriter writer(std::uint64_t step, int rank, int world_size) const;

  // commit_snapshot() with this store's retention, file system and writer
  // lock (commits into a directory another process has locked are refused).
  CommitResult commit(std::uint64_t step, const std::vector<ShardReport>& reports) const;

  // Removes leftovers of crashed writers and deleters: .trash-* always,
  // .pending-* only when no live process holds its lock. Returns the names
  // removed. Safe to run while another process writes a snapshot.
  std::vector<std::string> remove_leftovers() const;

 private:
  FileSystem& fs() const { return FileSystem::or_posix(options_.fs); }

  std::filesystem::path dir_;
  StoreOptions options_;
  std::shared_ptr<const WriterLock> writer_lock_;  // when options.lock_as_job is set
};

}  // namespace lull
