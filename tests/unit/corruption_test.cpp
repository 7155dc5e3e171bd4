// Corruption of committed snapshots on disk: a flipped byte in tensor data
// or in a blob, a truncated shard file, a deleted shard file, a deleted or
// replaced root file. Each is detected (by open, by the checksum on read, by
// verify()), reported with what failed, and open_latest() falls back to the
// previous committed snapshot, listing the one it passed over.
#include "corruption_fixture.h"

namespace lull::test {
namespace {

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
