// Corruption of committed snapshots on disk: a flipped byte in tensor data
// or in a blob, a truncated shard file, a deleted shard file, a deleted or
// replaced root file. Each is detected (by open, by the checksum on read, by
// verify()), reported with what failed, and open_latest() falls back to the
// previous committed snapshot, listing the one it passed over.
//
// Then snapshots that lie about themselves, rewritten as anyone who can write
// the directory could (support/snapshot_editor.h, checksums recomputed): a
// renamed step directory, symbolic links, external links, virtual datasets
// and external storage that lead out of the snapshot (shown never opened,
// with inotify), a global view that disagrees with the manifest, and
// declared sizes far beyond the files' (refused before any allocation, the
// child process's peak memory measured). Every one is refused by the one
// check every reader makes (SnapshotReader::open, so the store's open_step
// a restore uses too), with the object and the reason named.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/open_watch.h"
#include "support/pattern.h"
#include "support/snapshot_editor.h"
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

  // open_latest() must pass over step `passed_over` (2 unless said) and give
  // step 1, naming `reason_needle` in the rejection.
  void expect_fallback_to_step_1(Verification verification, const std::string& reason_needle,
                                 std::uint64_t passed_over = 2) {
    std::vector<RejectedSnapshot> rejected;
    SnapshotReader reader = store_->open_latest(verification, &rejected);
    EXPECT_EQ(reader.step(), 1u);
    ASSERT_EQ(rejected.size(), 1u);
    EXPECT_EQ(rejected[0].step, passed_over);
    EXPECT_TRUE(contains(rejected[0].reason, reason_needle))
        << "the rejection of step 2 does not mention \"" << reason_needle << "\": " << rejected[0].reason;
    EXPECT_TRUE(reader.verify().ok());
    std::vector<std::byte> row(kWorld * kRowBytes);
    reader.read_all("pattern", DType::u8, row.data());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(row.data()), tensor_marker(1, 0).size()), tensor_marker(1, 0));
  }

  // Every reader refuses step 2 with Error(corrupt) naming each of
  // `needles`: open() of its directory, the store's open_step() (what a
  // restore calls) and open_latest() at both levels, which fall back to step 1.
  template <typename... Needles>
  void expect_refused_everywhere(const Needles&... needles) {
    EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(*store_, 2)); }, ErrorCode::corrupt, needles...));
    EXPECT_TRUE(throws_error([&] { store_->open_step(2, Verification::structure); }, ErrorCode::corrupt, needles...));
    for (const std::string& needle : {std::string(), std::string(needles)...}) {
      expect_fallback_to_step_1(Verification::structure, needle);
      expect_fallback_to_step_1(Verification::full, needle);
    }
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

// ---- snapshots that lie about themselves ------------------------------------

TEST_F(Corruption, RenamedStepDirectoryIsRefusedEverywhere) {
  // step-…2 renamed step-…5: a restore would report step 5 and load step 2's state.
  const auto renamed = store_->dir() / step_dir_name(5);
  std::filesystem::rename(snapshot_dir(*store_, 2), renamed);
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(renamed); }, ErrorCode::corrupt, "named for step 5",
                           "snapshot of step 2"));
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(renamed / "root.h5"); }, ErrorCode::corrupt, "named for step 5"));
  EXPECT_TRUE(throws_error([&] { store_->open_step(5, Verification::structure); }, ErrorCode::corrupt,
                           "named for step 5"));
  expect_fallback_to_step_1(Verification::structure, "named for step 5", 5);
  expect_fallback_to_step_1(Verification::full, "named for step 5", 5);
  // Copied out under another name, it is the snapshot of step 2 again.
  const auto copy = scratch_.path() / "copy-of-a-snapshot";
  std::filesystem::copy(renamed, copy);
  EXPECT_EQ(SnapshotReader::open(copy).step(), 2u);
}

TEST_F(Corruption, StepNamesOtherThanTheCommittersAreNotSnapshots) {
  std::filesystem::rename(snapshot_dir(*store_, 2), store_->dir() / "step-2");
  std::filesystem::create_directory(store_->dir() / "step-0000000000007");
  std::filesystem::create_directory(store_->dir() / "step-+8");
  ASSERT_EQ(store_->committed().size(), 1u);
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_->open_latest(Verification::full, &rejected).step(), 1u);
  EXPECT_TRUE(rejected.empty());
}

TEST_F(Corruption, SymbolicLinkToAnotherJobsSnapshotIsNotFollowed) {
  ScratchDir other_scratch("other-job");
  const SnapshotStore other(other_scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {{"weights", DType::f32, {64, 16}, 1}};
  other.commit(9, write_all_ranks(other, spec, 9, 2));
  const auto theirs = snapshot_dir(other, 9);
  OpenWatch their_root(theirs / "root.h5");
  OpenWatch their_shard(theirs / "shard-00000.h5");
  std::filesystem::create_directory_symlink(theirs, store_->dir() / step_dir_name(9));
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(store_->dir() / step_dir_name(9)); }, ErrorCode::corrupt,
                           "symbolic link"));
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_->open_latest(Verification::full, &rejected).step(), 2u);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].step, 9u);
  EXPECT_TRUE(contains(rejected[0].reason, "symbolic link")) << rejected[0].reason;
  EXPECT_FALSE(their_root.opened()) << "the other job's root file was opened";
  EXPECT_FALSE(their_shard.opened()) << "the other job's shard file was opened";
}

TEST_F(Corruption, SymbolicLinksToRootOrShardFilesAreNotFollowed) {
  const auto dir = snapshot_dir(*store_, 2);
  const auto outside = scratch_.path() / "outside";
  std::filesystem::create_directory(outside);
  for (const std::string& name : std::vector<std::string>{"root.h5", shard_files_.at(2).at(1)}) {
    SCOPED_TRACE(name);
    std::filesystem::copy_file(dir / name, outside / name);  // the very same bytes
    std::filesystem::rename(dir / name, outside / (name + ".original"));
    std::filesystem::create_symlink(outside / name, dir / name);
    OpenWatch watch(outside / name);
    expect_refused_everywhere(name, "symbolic link");
    EXPECT_FALSE(watch.opened()) << "the link's target was opened";
    std::filesystem::remove(dir / name);
    std::filesystem::rename(outside / (name + ".original"), dir / name);
  }
  EXPECT_TRUE(store_->open_step(2).verify().ok());
}

TEST_F(Corruption, ExternalLinkOutOfTheSnapshotIsRefused) {
  // /ranks/1/rng is an external link into shard-00001.h5; point it elsewhere.
  const auto outside = scratch_.path() / "passwd";
  write_whole_file(outside, "root:x:0:0:root:/root:/bin/bash\n");
  // A copy of the right shard file beside the snapshot, in the job directory.
  std::filesystem::create_directory(store_->dir() / "elsewhere");
  const auto beside = store_->dir() / "elsewhere" / shard_files_.at(2).at(1);
  std::filesystem::copy_file(shard_file(2, 1), beside);
  OpenWatch outside_watch(outside);
  OpenWatch beside_watch(beside);
  for (const std::string& target :
       std::vector<std::string>{outside.string(), "/etc/passwd", "../elsewhere/" + shard_files_.at(2).at(1)}) {
    SCOPED_TRACE(target);
    replace_with_external_link(root_file(2), "/ranks/1/rng", target, "/ranks/1/rng");
    expect_refused_everywhere("/ranks/1/rng", "links to " + target);
  }
  EXPECT_FALSE(outside_watch.opened());
  EXPECT_FALSE(beside_watch.opened()) << "a file beside the snapshot was opened through its root file";
}

TEST_F(Corruption, VirtualDatasetReadingAFileOutsideTheSnapshotIsRefused) {
  // An outside copy of rank 1's shard file with the very same bytes: the
  // checksums would all pass; the mapping itself is the lie.
  const auto outside = scratch_.path() / "outside-shard.h5";
  std::filesystem::copy_file(shard_file(2, 1), outside);
  OpenWatch watch(outside);
  auto pieces = virtual_pieces(root_file(2), "/tensors/weights");
  ASSERT_EQ(pieces.size(), 2u);
  ASSERT_EQ(pieces[1].file, shard_files_.at(2).at(1));
  pieces[1].file = outside.string();
  replace_with_virtual_dataset(root_file(2), "/tensors/weights", DType::f32, {64, 16}, pieces);
  expect_refused_everywhere("/tensors/weights", "piece 1 reads " + outside.string());
  EXPECT_FALSE(watch.opened()) << "the outside copy was opened";
}

TEST_F(Corruption, ExternalStorageIsRefused) {
  const auto outside = scratch_.path() / "outside.bin";
  write_whole_file(outside, std::string(64 * 16 * 4, '\x01'));
  OpenWatch watch(outside);
  replace_with_external_storage(root_file(2), "/tensors/weights", DType::f32, {64, 16}, outside.string());
  expect_refused_everywhere("/tensors/weights", "external files");
  replace_with_external_storage(root_file(2), "/lull/manifest", DType::u8, {64 * 16 * 4}, outside.string());
  expect_refused_everywhere("manifest", "not stored in the root file itself");
  EXPECT_FALSE(watch.opened());
}

TEST_F(Corruption, GlobalViewThatDisagreesWithTheManifestIsRefusedByRestoresToo) {
  // The two halves of weights swapped between the shard files: h5py would
  // read a scrambled tensor while a restore, reading the shards the manifest
  // names, would read the right one. Both must refuse it.
  auto pieces = virtual_pieces(root_file(2), "/tensors/weights");
  ASSERT_EQ(pieces.size(), 2u);
  std::swap(pieces[0].file, pieces[1].file);
  replace_with_virtual_dataset(root_file(2), "/tensors/weights", DType::f32, {64, 16}, pieces);
  expect_refused_everywhere("/tensors/weights", "piece 0 reads " + shard_files_.at(2).at(1));

  // Another shape in the root file than in the manifest.
  pieces = virtual_pieces(root_file(1), "/tensors/weights");
  replace_with_virtual_dataset(root_file(2), "/tensors/weights", DType::f32, {64, 17}, pieces);
  expect_refused_everywhere("/tensors/weights", "another shape");

  // A plain dataset where the manifest has shards.
  replace_with_external_storage(root_file(2), "/tensors/weights", DType::f32, {64, 16}, "x");
  expect_refused_everywhere("/tensors/weights");
}

TEST_F(Corruption, ObjectsTheManifestDoesNotListAreRefused) {
  replace_with_external_link(root_file(2), "/tensors/extra", shard_files_.at(2).at(0), "/tensors/weights");
  expect_refused_everywhere("/tensors holds extra", "which the manifest does not list");
}

TEST_F(Corruption, ShardDatasetBehindAnExternalLinkIsRefusedByReadsAndVerify) {
  // Inside rank 1's shard file, its blob becomes a link to an outside copy
  // (same bytes): h5py, following the root file's link, would leave the
  // snapshot. The shard file's new size is recorded, so the snapshot opens.
  const auto outside = scratch_.path() / "outside-shard.h5";
  std::filesystem::copy_file(shard_file(2, 1), outside);
  OpenWatch watch(outside);
  move_object(shard_file(2, 1), "/ranks/1/rng", "/ranks/1/rng-was-here");  // its bytes stay where recorded
  replace_with_external_link(shard_file(2, 1), "/ranks/1/rng", outside.string(), "/ranks/1/rng");
  edit_manifest(root_file(2), [&](nlohmann::json& doc) {
    for (auto& f : doc["files"]) {
      if (f["rank"] == 1) f["bytes"] = std::filesystem::file_size(shard_file(2, 1));
    }
  });
  SnapshotReader reader = store_->open_step(2, Verification::structure);  // as a restore opens it
  EXPECT_TRUE(throws_error([&] { reader.read_blob(1, "rng"); }, ErrorCode::corrupt, "rng", "rank 1",
                           "external link"));
  const VerifyReport report = reader.verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_TRUE(contains(report.problems[0].describe(), "/ranks/1/rng is an external link"))
      << report.problems[0].describe();
  expect_fallback_to_step_1(Verification::full, "external link");
  EXPECT_FALSE(watch.opened());
}

// ---- declared sizes ------------------------------------------------------------

TEST_F(Corruption, ManifestDatasetDeclaringHugeSizesIsRefusedBeforeAnyAllocation) {
  for (const std::uint64_t bytes : {std::uint64_t{1} << 40, std::uint64_t{1} << 32}) {
    SCOPED_TRACE(bytes);
    declare_manifest_bytes(root_file(2), bytes);
    ASSERT_LT(std::filesystem::file_size(root_file(2)), 64u * 1024) << "the crafted root file should be small";
    const auto dir = snapshot_dir(*store_, 2);
    const ChildOutcome outcome = run_in_child(
        [&]() -> std::string {
          try {
            SnapshotReader::open(dir);
            return "the snapshot opened";
          } catch (const Error& e) {
            return e.code() == ErrorCode::corrupt && contains(e.what(), "more than the whole root file holds")
                       ? ""
                       : e.what();
          }
        },
        std::chrono::seconds(60));
    ASSERT_TRUE(outcome.finished) << "still running after " << outcome.seconds << " s";
    EXPECT_EQ(outcome.report, "");
    EXPECT_LT(outcome.peak_rss_kib, 256 * 1024) << "the reader allocated what the file declared";
    expect_fallback_to_step_1(Verification::full, "more than the whole root file holds");
  }
}

TEST_F(Corruption, ManifestThatLiesAboutItsObjectsIsRefused) {
  using nlohmann::json;
  struct Case {
    const char* why;
    std::function<void(json&)> edit;
    std::vector<std::string> needles;
  };
  auto blob = [](json& doc, int rank) -> json& {
    for (auto& b : doc["blobs"]) {
      if (b["rank"] == rank) return b;
    }
    throw std::runtime_error("no blob");
  };
  auto tensor = [](json& doc, const std::string& name) -> json& {
    for (auto& t : doc["tensors"]) {
      if (t["name"] == name) return t;
    }
    throw std::runtime_error("no tensor");
  };
  const std::vector<Case> cases = {
      {"a 2^40-byte blob", [&](json& d) { blob(d, 1)["bytes"] = std::uint64_t{1} << 40; },
       {"blob \"rng\" of rank 1", "declares 1099511627776 bytes"}},
      {"a blob past the end of its file", [&](json& d) { blob(d, 1)["file_offset"] = std::uint64_t{1} << 62; },
       {"blob \"rng\" of rank 1", "recorded at bytes"}},
      {"a shape of 2^80 elements",
       [&](json& d) { tensor(d, "weights")["shape"] = json::array({std::uint64_t{1} << 40, std::uint64_t{1} << 40}); },
       {"tensor \"weights\"", "more than 2^64 bytes"}},
      {"a shard's bytes that are not its box's",
       [&](json& d) { tensor(d, "pattern")["shards"][0]["bytes"] = kRowBytes + 1; },
       {"tensor \"pattern\"", "the box holds 4096"}},
      {"shards that do not tile the tensor",
       [&](json& d) { tensor(d, "pattern")["shards"].erase(1); }, {"tensor \"pattern\"", "covered by no rank"}},
      {"a shard file outside the directory",
       [&](json& d) { d["files"][1]["name"] = "../" + step_dir_name(1) + "/shard-00001.h5"; },
       {"is not named shard-00001.h5"}},
      {"a rank outside the world", [&](json& d) { blob(d, 1)["rank"] = 7; }, {"rank 7", "no shard file"}},
      {"a tensor listed twice", [&](json& d) { d["tensors"].push_back(tensor(d, "weights")); },
       {"tensor \"weights\" is listed twice"}},
      {"a name that is a path", [&](json& d) { tensor(d, "weights")["name"] = "../weights"; },
       {"not a valid tensor name"}},
      {"a world of no ranks", [&](json& d) { d["world_size"] = 0; }, {"world_size 0"}},
  };
  const nlohmann::json original = read_manifest(root_file(2));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.why);
    write_manifest(root_file(2), original);
    edit_manifest(root_file(2), c.edit);
    try {
      SnapshotReader::open(snapshot_dir(*store_, 2));
      ADD_FAILURE() << "opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      for (const auto& needle : c.needles) EXPECT_TRUE(contains(e.what(), needle)) << "no \"" << needle << "\" in " << e.what();
    }
    expect_fallback_to_step_1(Verification::full, c.needles.front());
  }
}

// Sets the size of the free space entry (object 0) of the root file's
// global heap collection (where its variable-length strings live) to 0.
void empty_the_global_heaps_free_space(const std::filesystem::path& root) {
  std::string bytes = read_whole_file(root);
  const auto at = bytes.find("GCOL");
  ASSERT_NE(at, std::string::npos) << "no global heap in " << root;
  auto u64 = [&](std::size_t i) {
    std::uint64_t v = 0;
    for (std::size_t k = 8; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[i + k]);
    return v;
  };
  const std::size_t end = at + u64(at + 8);
  for (std::size_t object = at + 16; object + 16 <= end;) {
    const unsigned index = static_cast<unsigned char>(bytes[object]) | static_cast<unsigned char>(bytes[object + 1]) << 8;
    if (index == 0) {
      std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(object + 8), bytes.begin() + static_cast<std::ptrdiff_t>(object + 16), '\0');
      write_whole_file(root, bytes);
      return;
    }
    object += 16 + ((u64(object + 8) + 7) & ~std::uint64_t{7});
  }
  FAIL() << "no free space entry in the global heap of " << root;
}

TEST_F(Corruption, GlobalHeapThatHdf5WouldReadForEverIsRefused) {
  // HDF5 1.10.8 loops for ever on it when it reads any string attribute.
  empty_the_global_heaps_free_space(root_file(2));
  const auto dir = snapshot_dir(*store_, 2);
  const ChildOutcome outcome = run_in_child(
      [&]() -> std::string {
        const ::testing::AssertionResult refused =
            throws_error([&] { SnapshotReader::open(dir); }, ErrorCode::corrupt, "global heap", "for ever");
        return refused ? "" : refused.message();
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(outcome.finished) << "still reading after " << outcome.seconds << " s";
  EXPECT_EQ(outcome.report, "");
  expect_refused_everywhere("global heap");
}

TEST_F(Corruption, ArraysWhereOneValueBelongsAreRefused) {
  // Read into one value, an array would be written past it (ASan: make test-asan).
  replace_attribute_with_array(root_file(2), "/", "format_version", 1000, false);
  expect_refused_everywhere("format_version");
  std::filesystem::remove_all(snapshot_dir(*store_, 2));
  commit_step(2);
  replace_attribute_with_array(root_file(2), "/", "format", 1000, true);
  expect_refused_everywhere("not a lull snapshot");
  std::filesystem::remove_all(snapshot_dir(*store_, 2));
  commit_step(2);
  replace_attribute_with_array(root_file(2), "/lull/manifest", "checksum", 1000, true);
  expect_refused_everywhere("has no checksum");
}

}  // namespace
}  // namespace lull::test
