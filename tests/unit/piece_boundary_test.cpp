// Round trips of tensors and blobs whose sizes sit exactly at, one byte
// below and one byte above the sizes where the snapshot store's I/O changes
// course: the shard sink's 256 KiB background-checksum threshold and its
// 8 MiB writeback pieces, and the shard source's 16 MiB read pieces (a
// larger dataset is checksummed on the pipeline's thread). Everything comes
// back bitwise, and the sink's writes, seen through the FileSystem seam,
// come in pieces of at most 8 MiB with writeback started inside the file.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/fault_file_systems.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kBackgroundChecksum = 256 * kKiB;
constexpr std::uint64_t kWritebackPiece = 8 * kMiB;
constexpr std::uint64_t kReadPiece = 16 * kMiB;

// `size` deterministic bytes, different for every seed (splitmix64).
std::vector<std::byte> bytes_of(std::size_t size, std::uint64_t seed) {
  std::vector<std::byte> out(size);
  std::uint64_t state = seed * 0x2545F4914F6CDD1Dull;
  for (std::size_t i = 0; i < size; i += 8) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (std::size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<std::byte>(z >> (8 * j));
  }
  return out;
}

// First differing byte, or empty.
std::string first_difference(const std::vector<std::byte>& expected, const std::vector<std::byte>& actual) {
  if (expected.size() != actual.size()) {
    return std::to_string(actual.size()) + " bytes, expected " + std::to_string(expected.size());
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) return "byte " + std::to_string(i) + " of " + std::to_string(expected.size());
  }
  return {};
}

struct Range {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
};

// The real file system, recording the writes and writeback hints made on
// files opened for writing (the shard files: HDF5 writes its own metadata,
// so these are the datasets' raw bytes).
class RecordingFileSystem final : public InterposingFileSystem {
 public:
  RecordingFileSystem() : InterposingFileSystem(FileSystem::posix()) {}

  void before(FsOp, const std::string&) override {}

  std::unique_ptr<RandomAccessFile> open_file(const std::filesystem::path& file, bool writable) override {
    auto inner = InterposingFileSystem::open_file(file, writable);
    if (!writable) return inner;
    return std::make_unique<RecordingFile>(*this, std::move(inner));
  }

  std::vector<Range> writes() const {
    std::lock_guard lock(mutex_);
    return writes_;
  }
  std::vector<Range> writebacks() const {
    std::lock_guard lock(mutex_);
    return writebacks_;
  }

 private:
  class RecordingFile final : public RandomAccessFile {
   public:
    RecordingFile(RecordingFileSystem& fs, std::unique_ptr<RandomAccessFile> file)
        : fs_(fs), file_(std::move(file)) {}
    void write_at(std::uint64_t offset, const void* data, std::size_t size) override {
      fs_.note(fs_.writes_, offset, size);
      file_->write_at(offset, data, size);
    }
    void read_at(std::uint64_t offset, void* data, std::size_t size) override { file_->read_at(offset, data, size); }
    void sync() override { file_->sync(); }
    std::uint64_t size() override { return file_->size(); }
    void truncate(std::uint64_t size) override { file_->truncate(size); }
    void start_writeback(std::uint64_t offset, std::uint64_t size) override {
      fs_.note(fs_.writebacks_, offset, size);
      file_->start_writeback(offset, size);
    }

   private:
    RecordingFileSystem& fs_;
    std::unique_ptr<RandomAccessFile> file_;
  };

  void note(std::vector<Range>& list, std::uint64_t offset, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    list.push_back({offset, bytes});
  }

  mutable std::mutex mutex_;
  std::vector<Range> writes_;
  std::vector<Range> writebacks_;
};

std::vector<std::uint64_t> boundary_sizes() {
  std::vector<std::uint64_t> sizes{1};
  for (std::uint64_t at : {kBackgroundChecksum, kWritebackPiece, kReadPiece}) {
    sizes.insert(sizes.end(), {at - 1, at, at + 1});
  }
  return sizes;
}

TEST(PieceBoundaries, TensorsAndBlobsAtEveryThresholdReadBackBitwise) {
  ScratchDir scratch("piece-boundaries");
  RecordingFileSystem fs;
  StoreOptions options;
  options.fs = &fs;
  const SnapshotStore store(scratch.path() / "store", options);

  const auto sizes = boundary_sizes();
  const std::vector<std::uint64_t> blob_sizes{kBackgroundChecksum - 1, kBackgroundChecksum, kBackgroundChecksum + 1,
                                              kWritebackPiece + 1};
  std::vector<std::vector<std::byte>> tensors;
  std::vector<std::vector<std::byte>> blobs;
  std::uint64_t payload = 0;
  SnapshotWriter writer = store.writer(1, 0, 1);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    tensors.push_back(bytes_of(sizes[i], i + 1));
    writer.write_replicated("t" + std::to_string(sizes[i]), DType::u8, {sizes[i]}, tensors.back().data());
    payload += sizes[i];
  }
  for (std::size_t i = 0; i < blob_sizes.size(); ++i) {
    blobs.push_back(bytes_of(blob_sizes[i], 100 + i));
    writer.write_blob("b" + std::to_string(blob_sizes[i]), blobs.back());
    payload += blob_sizes[i];
  }
  const ShardReport report = writer.finish();
  ASSERT_TRUE(report.ok()) << report.error;
  store.commit(1, {report});

  // Every byte was written once, in pieces of at most 8 MiB, and writeback
  // was started on ranges inside the file.
  std::uint64_t written = 0;
  for (const Range& w : fs.writes()) {
    EXPECT_LE(w.bytes, kWritebackPiece) << "a write of " << w.bytes << " bytes at " << w.offset;
    written += w.bytes;
  }
  EXPECT_EQ(written, payload);
  const auto writebacks = fs.writebacks();
  // Each writeback covers at least 8 MiB and less than 16 MiB (what was
  // left below 8 MiB plus one piece); less than 8 MiB may stay unsent.
  EXPECT_GE(writebacks.size(), (payload - kWritebackPiece) / (2 * kWritebackPiece));
  for (const Range& r : writebacks) {
    EXPECT_GE(r.bytes, kWritebackPiece);
    EXPECT_LE(r.offset + r.bytes, report.file_bytes) << "writeback of [" << r.offset << ", +" << r.bytes << ")";
  }

  SnapshotReader reader = store.open_latest(Verification::full);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::string name = "t" + std::to_string(sizes[i]);
    std::vector<std::byte> back(sizes[i]);
    reader.read_all(name, DType::u8, back.data());
    EXPECT_EQ(first_difference(tensors[i], back), "") << name << ", first read (checksummed)";
    std::fill(back.begin(), back.end(), std::byte{0});
    reader.read_all(name, DType::u8, back.data());
    EXPECT_EQ(first_difference(tensors[i], back), "") << name << ", second read (already verified)";
  }
  for (std::size_t i = 0; i < blob_sizes.size(); ++i) {
    const std::string name = "b" + std::to_string(blob_sizes[i]);
    EXPECT_EQ(first_difference(blobs[i], reader.read_blob(0, name)), "") << "blob " << name;
  }

  // Boxes across the piece boundaries, from a fresh reader (so the box read
  // is the first, checksummed one) and from this one.
  SnapshotReader fresh = SnapshotReader::open(store.committed().front().path);
  for (std::uint64_t at : {kBackgroundChecksum, kWritebackPiece, kReadPiece}) {
    const std::uint64_t size = kReadPiece + 1;
    const std::uint64_t begin = at - 3;  // [at - 3, at + 1): the last box ends with the tensor
    std::vector<std::byte> box(4);
    const std::vector<std::byte> expected(tensors.back().begin() + static_cast<std::ptrdiff_t>(begin),
                                          tensors.back().begin() + static_cast<std::ptrdiff_t>(begin + 4));
    ASSERT_EQ(sizes.back(), size);
    for (SnapshotReader* r : {&fresh, &reader}) {
      r->read("t" + std::to_string(size), DType::u8, {begin}, {4}, box.data());
      EXPECT_EQ(first_difference(expected, box), "") << "box at " << begin;
    }
  }
  EXPECT_TRUE(reader.verify().ok());
}

}  // namespace
}  // namespace lull::test
