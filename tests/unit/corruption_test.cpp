// Corruption of committed snapshots on disk: a flipped byte in tensor data
// or in a blob, a truncated shard file, a deleted shard file, a deleted or
// replaced root file. Each is detected (by open, by the checksum on read, by
// verify()), reported with what failed, and open_latest() falls back to the
// previous committed snapshot, listing the one it passed over.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

constexpr int kWorld = 2;
constexpr std::uint64_t kRowBytes = 4096;

std::string tensor_marker(std::uint64_t step, int rank) {
  return "LULL-TENSOR-MARKER-r" + std::to_string(rank) + "-s" + std::to_string(step) + "-";
}

std::string blob_marker(std::uint64_t step, int rank) {
  return "LULL-BLOB-MARKER-r" + std::to_string(rank) + "-s" + std::to_string(step) + "-";
}

// `size` bytes starting with `marker`, then a pattern.
std::vector<std::byte> marked_bytes(const std::string& marker, std::size_t size, std::uint64_t seed) {
  auto bytes = pattern_blob(size, seed);
  for (std::size_t i = 0; i < marker.size(); ++i) bytes[i] = static_cast<std::byte>(marker[i]);
  return bytes;
}

// Flips (xor 0xff) the byte `delta` bytes after the only occurrence of
// `marker` in `file`, in place.
void flip_after(const std::filesystem::path& file, const std::string& marker, std::size_t delta) {
  const std::string content = read_whole_file(file);
  const auto at = content.find(marker);
  ASSERT_NE(at, std::string::npos) << "marker " << marker << " not found in " << file;
  ASSERT_EQ(content.find(marker, at + 1), std::string::npos) << "marker found twice in " << file;
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(at + delta));
  const char flipped = static_cast<char>(content[at + delta] ^ '\xff');
  f.write(&flipped, 1);
}

class Corruption : public ::testing::Test {
 protected:
  Corruption() : scratch_("corruption") {
    StoreOptions options;
    options.keep = 3;
    store_.emplace(scratch_.path() / "store", options);
  }

  void SetUp() override {
    commit_step(1);
    commit_step(2);
  }

  void commit_step(std::uint64_t step) {
    std::vector<ShardReport> reports;
    for (int rank = 0; rank < kWorld; ++rank) {
      SnapshotWriter writer = store_->writer(step, rank, kWorld);
      const auto r = static_cast<std::uint64_t>(rank);
      const auto row = marked_bytes(tensor_marker(step, rank), kRowBytes, step * 10 + r);
      writer.write_tensor("pattern", DType::u8, {kWorld, kRowBytes}, {r, 0}, {1, kRowBytes}, row.data());
      const Box box = split_box({64, 16}, 1, kWorld, rank);
      const auto weights = pattern_box(DType::f32, {64, 16}, box.offset, box.extent, step);
      writer.write_tensor("weights", DType::f32, {64, 16}, box.offset, box.extent, weights.data());
      writer.write_blob("rng", marked_bytes(blob_marker(step, rank), 300, step * 20 + r));
      reports.push_back(writer.finish());
    }
    shard_files_[step] = {};
    for (const auto& report : reports) shard_files_[step].push_back(report.file);
    store_->commit(step, reports);
  }

  std::filesystem::path shard_file(std::uint64_t step, int rank) {
    return snapshot_dir(*store_, step) / shard_files_.at(step).at(static_cast<std::size_t>(rank));
  }

  std::filesystem::path root_file(std::uint64_t step) { return snapshot_dir(*store_, step) / "root.h5"; }

  // open_latest() must pass over step 2 and give step 1, naming `reason_needle` in the rejection.
  void expect_fallback_to_step_1(Verification verification, const std::string& reason_needle) {
    std::vector<RejectedSnapshot> rejected;
    SnapshotReader reader = store_->open_latest(verification, &rejected);
    EXPECT_EQ(reader.step(), 1u);
    ASSERT_EQ(rejected.size(), 1u);
    EXPECT_EQ(rejected[0].step, 2u);
    EXPECT_TRUE(contains(rejected[0].reason, reason_needle))
        << "the rejection of step 2 does not mention \"" << reason_needle << "\": " << rejected[0].reason;
    EXPECT_TRUE(reader.verify().ok());
    std::vector<std::byte> row(kWorld * kRowBytes);
    reader.read_all("pattern", DType::u8, row.data());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(row.data()), tensor_marker(1, 0).size()), tensor_marker(1, 0));
  }

  ScratchDir scratch_;
  std::optional<SnapshotStore> store_;
  std::map<std::uint64_t, std::vector<std::string>> shard_files_;
};

TEST_F(Corruption, FlippedTensorByteIsReportedByVerifyWithTensorRankAndChecksums) {
  flip_after(shard_file(2, 1), tensor_marker(2, 1), 100);
  // The structure is intact (same sizes), so the snapshot opens...
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(*store_, 2));
  // ... and verify() finds the checksum mismatch.
  const VerifyReport report = reader.verify();
  ASSERT_FALSE(report.ok());
  bool found = false;
  for (const VerifyProblem& p : report.problems) {
    SCOPED_TRACE(p.describe());
    if (p.rank != 1 || !contains(p.object, "pattern")) continue;
    found = true;
    EXPECT_TRUE(contains(p.what, "checksum")) << p.what;
    EXPECT_FALSE(p.expected.empty());
    EXPECT_FALSE(p.actual.empty());
    EXPECT_NE(p.expected, p.actual);
    EXPECT_TRUE(contains(p.describe(), "pattern")) << p.describe();
  }
  EXPECT_TRUE(found) << "no problem names tensor pattern and rank 1; problems: " << report.problems.size()
                     << (report.problems.empty() ? "" : ", first: " + report.problems[0].describe());
  // Nothing else is wrong.
  for (const VerifyProblem& p : report.problems) {
    EXPECT_TRUE(contains(p.object, "pattern")) << "unexpected problem: " << p.describe();
  }
}

TEST_F(Corruption, FlippedTensorByteFailsReadsThatTouchTheShardOnly) {
  flip_after(shard_file(2, 1), tensor_marker(2, 1), 100);
  SnapshotReader reader = store_->open_step(2, Verification::structure);
  // Rank 0's row verifies and reads.
  std::vector<std::byte> row(kRowBytes);
  reader.read("pattern", DType::u8, {0, 0}, {1, kRowBytes}, row.data());
  EXPECT_EQ(compare_bytes(DType::u8, marked_bytes(tensor_marker(2, 0), kRowBytes, 20), row), "");
  // Rank 1's row does not, even a part of it away from the flipped byte.
  EXPECT_TRUE(throws_error([&] { reader.read("pattern", DType::u8, {1, 2000}, {1, 10}, row.data()); },
                           ErrorCode::corrupt, "pattern"));
  EXPECT_TRUE(throws_error([&] { reader.read_all("pattern", DType::u8, row.data()); }, ErrorCode::corrupt));
  // Another tensor of the same shard file is fine.
  std::vector<std::byte> weights(64 * 16 * 4);
  reader.read_all("weights", DType::f32, weights.data());
  EXPECT_EQ(compare_bytes(DType::f32, pattern_tensor(DType::f32, {64, 16}, 2), weights), "");
}

TEST_F(Corruption, FlippedTensorByteFallsBackToPreviousSnapshot) {
  flip_after(shard_file(2, 1), tensor_marker(2, 1), 100);
  expect_fallback_to_step_1(Verification::full, "pattern");
  EXPECT_TRUE(throws_error([&] { store_->open_step(2, Verification::full); }, ErrorCode::corrupt, "pattern"));
  // The cheap check does not read data: it opens step 2.
  EXPECT_EQ(store_->open_latest(Verification::structure).step(), 2u);
}

TEST_F(Corruption, FlippedBlobByteIsDetected) {
  flip_after(shard_file(2, 1), blob_marker(2, 1), 150);
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(*store_, 2));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(1, "rng"); }, ErrorCode::corrupt, "rng"));
  EXPECT_EQ(compare_bytes(DType::u8, marked_bytes(blob_marker(2, 0), 300, 40), reader.read_blob(0, "rng")), "");
  const VerifyReport report = reader.verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].rank, 1) << report.problems[0].describe();
  EXPECT_TRUE(contains(report.problems[0].object, "rng")) << report.problems[0].describe();
  EXPECT_NE(report.problems[0].expected, report.problems[0].actual);
  expect_fallback_to_step_1(Verification::full, "rng");
}

TEST_F(Corruption, TruncatedShardFileIsDetectedOnOpen) {
  const auto file = shard_file(2, 1);
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(*store_, 2)); }, ErrorCode::corrupt,
                           file.filename().string()));
  expect_fallback_to_step_1(Verification::structure, file.filename().string());
}

TEST_F(Corruption, ShardFileShortByOneByteIsDetected) {
  const auto file = shard_file(2, 0);
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 1);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(*store_, 2)); }, ErrorCode::corrupt));
  expect_fallback_to_step_1(Verification::full, file.filename().string());
}

TEST_F(Corruption, ShardFileTruncatedToNothingIsDetected) {
  const auto file = shard_file(2, 1);
  std::filesystem::resize_file(file, 0);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(*store_, 2)); }, ErrorCode::corrupt));
  expect_fallback_to_step_1(Verification::full, file.filename().string());
}

TEST_F(Corruption, DeletedShardFileIsNotReadAsFillValues) {
  const auto file = shard_file(2, 1);
  std::filesystem::remove(file);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(*store_, 2)); }, ErrorCode::corrupt,
                           file.filename().string()));
  expect_fallback_to_step_1(Verification::structure, file.filename().string());
  expect_fallback_to_step_1(Verification::full, file.filename().string());
}

TEST_F(Corruption, DeletedRootFileIsDetected) {
  const auto dir = snapshot_dir(*store_, 2);
  std::filesystem::remove(root_file(2));
  try {
    SnapshotReader::open(dir);
    ADD_FAILURE() << "a snapshot without its root file opened";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::corrupt || e.code() == ErrorCode::not_found)
        << error_code_name(e.code()) << ": " << e.what();
    EXPECT_TRUE(contains(e.what(), "root")) << e.what();
  }
  expect_fallback_to_step_1(Verification::structure, "root");
}

TEST_F(Corruption, RootFileReplacedByAShardFileIsDetected) {
  std::filesystem::copy_file(shard_file(2, 0), root_file(2), std::filesystem::copy_options::overwrite_existing);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(*store_, 2)); }, ErrorCode::corrupt));
  expect_fallback_to_step_1(Verification::structure, "");
}

TEST_F(Corruption, SwappedShardFilesAreDetected) {
  // Same structure, wrong places: only the checksums through the global
  // view can tell.
  const auto a = shard_file(2, 0);
  const auto b = shard_file(2, 1);
  const auto tmp = a.parent_path() / "swap.tmp";
  std::filesystem::rename(a, tmp);
  std::filesystem::rename(b, a);
  std::filesystem::rename(tmp, b);
  std::vector<RejectedSnapshot> rejected;
  SnapshotReader reader = store_->open_latest(Verification::full, &rejected);
  EXPECT_EQ(reader.step(), 1u);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].step, 2u);
}

TEST_F(Corruption, NoUsableSnapshotIsNotFound) {
  std::filesystem::remove(shard_file(1, 0));
  std::filesystem::remove(shard_file(2, 1));
  std::vector<RejectedSnapshot> rejected;
  EXPECT_TRUE(throws_error([&] { store_->open_latest(Verification::full, &rejected); }, ErrorCode::not_found));
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].step, 2u);
  EXPECT_EQ(rejected[1].step, 1u);
}

TEST_F(Corruption, CommitAfterACorruptSnapshotWorks) {
  flip_after(shard_file(2, 1), tensor_marker(2, 1), 100);
  commit_step(3);
  std::vector<RejectedSnapshot> rejected;
  SnapshotReader reader = store_->open_latest(Verification::full, &rejected);
  EXPECT_EQ(reader.step(), 3u);
  EXPECT_TRUE(rejected.empty());
  EXPECT_TRUE(reader.verify().ok());
}

}  // namespace
}  // namespace lull::test
