#pragma once
// SnapshotWriter — one rank's part of one snapshot.
//
// Every rank of a job constructs one for the same (dir, step), writes its
// shards and blobs, and calls finish(), which makes its shard file durable
// and returns the report to hand to the committer. No MPI is involved and
// nothing is visible to readers until commit_snapshot() succeeds.
//
// Thread-safety: one thread at a time per writer, and (HDF5 being built
// without thread-safety) one thread at a time for all snapshot I/O of the
// process. Every method throws lull::Error; after a throw, report the
// failure with ShardReport::failure() so the commit fails cleanly. A failed
// write or finish() (a full disk, an I/O error) spends the writer at once:
// every HDF5 object and file descriptor it opened is released and its
// partial shard file removed; later calls repeat the first failure.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "lull/checkpoint/dtype.h"
#include "lull/base/file_system.h"
#include "lull/checkpoint/shard_report.h"

namespace lull {

struct WriterOptions {
  FileSystem* fs = nullptr;  // null = FileSystem::posix()
  mode_t dir_mode = 0700;
  mode_t file_mode = 0600;
};

class SnapshotWriter {
 public:
  // Creates `dir` (the job's snapshot directory) if missing and joins the
  // pending area of `step`. 0 <= rank < world_size.
  SnapshotWriter(std::filesystem::path dir, std::uint64_t step, int rank, int world_size,
                 WriterOptions options = {});
  ~SnapshotWriter();  // never throws; an unfinished shard file is removed
  SnapshotWriter(SnapshotWriter&&) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&&) noexcept;

  // Writes this rank's box of a global tensor. `data` holds extent's
  // elements in C order. Names are validated (lull/base/names.h); the box
  // must lie inside global_shape; a name may be written once.
  void write_tensor(std::string_view name, DType dtype, const Shape& global_shape,
                    const Shape& offset, const Shape& extent, const void* data);

  // A tensor every rank holds whole: rank 0 writes it, other ranks record
  // nothing. Call it on every rank all the same.
  void write_replicated(std::string_view name, DType dtype, const Shape& shape, const void* data);

  // Rank-local bytes, stored under /ranks/<rank>/<name>.
  void write_blob(std::string_view name, std::span<const std::byte> bytes);

  // User key/value metadata; the committed snapshot keeps rank 0's.
  void set_metadata(std::string_view key, std::string_view value);

  // Closes and fsyncs the shard file; returns the report for the committer.
  // Call once; the writer is spent afterwards.
  ShardReport finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lull
