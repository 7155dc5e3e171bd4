#pragma once
// ShardSink — the writing side of one rank's shard file: writes a dataset's
// raw bytes at the offset HDF5 gave it, checksumming them on another thread
// meanwhile, and starts the device on every few MiB as soon as they are
// written, so the copy into the page cache and the writeback overlap and the
// final fsync has little left to do. Durability still comes only from
// sync(); writeback started early is a hint (RandomAccessFile::start_writeback).

#include <cstdint>
#include <memory>

#include "checksum_pipeline.h"
#include "lull/base/file_system.h"

namespace lull::detail {

class ShardSink {
 public:
  explicit ShardSink(std::unique_ptr<RandomAccessFile> file);

  // Writes `bytes` bytes of `data` at `offset`; returns their XXH3-64.
  std::uint64_t write_checksummed(std::uint64_t offset, const void* data, std::uint64_t bytes);

  // fsync, then the file's size.
  std::uint64_t sync();

 private:
  void note_written(std::uint64_t offset, std::uint64_t bytes);

  std::unique_ptr<RandomAccessFile> file_;
  ChecksumPipeline checksums_;
  // Written since the last start_writeback (an interval covering them).
  std::uint64_t unsent_begin_ = 0;
  std::uint64_t unsent_end_ = 0;
};

}  // namespace lull::detail
