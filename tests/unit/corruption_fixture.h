#pragma once
// The fixture of the corruption tests (corruption_test.cpp,
// lying_snapshot_test.cpp): two committed snapshots of 2 ranks whose tensor
// rows and blobs start with markers a test can find in the files, and the
// checks that a damaged step 2 is refused everywhere with step 1 restored.
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

inline constexpr int kWorld = 2;
inline constexpr std::uint64_t kRowBytes = 4096;

inline std::string tensor_marker(std::uint64_t step, int rank) {
  return "LULL-TENSOR-MARKER-r" + std::to_string(rank) + "-s" + std::to_string(step) + "-";
}

inline std::string blob_marker(std::uint64_t step, int rank) {
  return "LULL-BLOB-MARKER-r" + std::to_string(rank) + "-s" + std::to_string(step) + "-";
}

// `size` bytes starting with `marker`, then a pattern.
inline std::vector<std::byte> marked_bytes(const std::string& marker, std::size_t size, std::uint64_t seed) {
  auto bytes = pattern_blob(size, seed);
  for (std::size_t i = 0; i < marker.size(); ++i) bytes[i] = static_cast<std::byte>(marker[i]);
  return bytes;
}

// Flips (xor 0xff) the byte `delta` bytes after the only occurrence of
// `marker` in `file`, in place.
inline void flip_after(const std::filesystem::path& file, const std::string& marker, std::size_t delta) {
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


}  // namespace lull::test
