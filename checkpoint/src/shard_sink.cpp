#include "shard_sink.h"

#include <algorithm>

#include "checksum.h"

namespace lull::detail {

namespace {

// Writes go to the page cache in pieces of this size, each handed to the
// device once written: small enough that the device starts early, large
// enough that its requests stay large.
constexpr std::uint64_t kWritebackBytes = 8u << 20;
// Below this the checksum costs less than handing it to the other thread.
constexpr std::uint64_t kBackgroundChecksumBytes = 256u << 10;

}  // namespace

ShardSink::ShardSink(std::unique_ptr<RandomAccessFile> file) : file_(std::move(file)) {}

std::uint64_t ShardSink::write_checksummed(std::uint64_t offset, const void* data, std::uint64_t bytes) {
  const auto* src = static_cast<const unsigned char*>(data);
  if (bytes < kBackgroundChecksumBytes) {
    file_->write_at(offset, src, bytes);
    note_written(offset, bytes);
    return checksum(src, bytes);
  }
  ChecksumPipeline::Run sum(checksums_);
  sum.feed(src, bytes);
  for (std::uint64_t done = 0; done < bytes;) {
    const std::uint64_t n = std::min(kWritebackBytes, bytes - done);
    file_->write_at(offset + done, src + done, n);
    note_written(offset + done, n);
    done += n;
  }
  return sum.finish();
}

void ShardSink::note_written(std::uint64_t offset, std::uint64_t bytes) {
  if (unsent_end_ == unsent_begin_) {
    unsent_begin_ = offset;
    unsent_end_ = offset + bytes;
  } else {
    // HDF5 places datasets one after the other, so this stays one run;
    // pages in it that were not written are clean and cost nothing.
    unsent_begin_ = std::min(unsent_begin_, offset);
    unsent_end_ = std::max(unsent_end_, offset + bytes);
  }
  if (unsent_end_ - unsent_begin_ >= kWritebackBytes) {
    file_->start_writeback(unsent_begin_, unsent_end_ - unsent_begin_);
    unsent_begin_ = unsent_end_ = 0;
  }
}

std::uint64_t ShardSink::sync() {
  file_->sync();
  return file_->size();
}

}  // namespace lull::detail
