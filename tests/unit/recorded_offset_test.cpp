// The shard file offsets that reports and manifests record (reads go
// straight to them once the first read of an object has checked that the
// offset is its dataset's):
//   - a report whose tensor or blob lies outside its shard file, even by one
//     byte, is refused by the commit naming the rank and the object, and the
//     previous snapshot stays the latest and readable;
//   - a manifest without offsets (written before they were recorded) still
//     reads bitwise, through the HDF5 lookup, and still catches a flipped byte;
//   - a manifest offset that points at other bytes of the file (in range,
//     wrong place) makes the read fail, never return those bytes, and makes
//     full verification fail, so open_latest() falls back; one outside the
//     file makes the snapshot fail to open.
// Manifests are rewritten with the HDF5 C API (support/snapshot_editor.h),
// with a correct checksum, as an older lull (or a bug) would have left them.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_editor.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

using nlohmann::json;

constexpr int kWorld = 2;

// "w" and "w2" have the same shards, so each can be pointed at the other's bytes.
SnapshotSpec offset_spec() {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {64, 32}, 0},
                  {"w2", DType::f32, {64, 32}, 0},
                  {"ids", DType::i64, {40}, -1},
                  {"scale", DType::f64, {}, -1}};
  spec.blobs = {{"rng", 100}};
  return spec;
}

StoreOptions keeping(int keep) {
  StoreOptions options;
  options.keep = keep;
  return options;
}

json& shard_entry(json& doc, const std::string& tensor, int rank) {
  for (auto& t : doc["tensors"]) {
    if (t["name"] != tensor) continue;
    for (auto& s : t["shards"]) {
      if (s["rank"] == rank) return s;
    }
  }
  ADD_FAILURE() << "the manifest has no shard of tensor " << tensor << " of rank " << rank;
  static json none;
  return none;
}

json& blob_entry(json& doc, const std::string& blob, int rank) {
  for (auto& b : doc["blobs"]) {
    if (b["name"] == blob && b["rank"] == rank) return b;
  }
  ADD_FAILURE() << "the manifest has no blob " << blob << " of rank " << rank;
  static json none;
  return none;
}

std::string shard_file_of(const json& doc, int rank) {
  for (const auto& f : doc["files"]) {
    if (f["rank"] == rank) return f["name"].get<std::string>();
  }
  ADD_FAILURE() << "the manifest has no shard file of rank " << rank;
  return {};
}

std::uint64_t file_bytes_of(const json& doc, int rank) {
  for (const auto& f : doc["files"]) {
    if (f["rank"] == rank) return f["bytes"].get<std::uint64_t>();
  }
  return 0;
}

void flip_byte(const std::filesystem::path& file, std::uint64_t at) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  ASSERT_TRUE(f) << file;
  f.seekg(static_cast<std::streamoff>(at));
  char byte = 0;
  f.read(&byte, 1);
  byte = static_cast<char>(byte ^ '\xff');
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&byte, 1);
  ASSERT_TRUE(f) << "flipping byte " << at << " of " << file;
}

class RecordedOffsets : public ::testing::Test {
 protected:
  RecordedOffsets() : scratch_("recorded-offsets"), store_(scratch_.path() / "store", keeping(3)) {}

  void SetUp() override {
    const auto reports = write_all_ranks(store_, offset_spec(), 1, kWorld);
    for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
    store_.commit(1, reports);
  }

  std::vector<ShardReport> step2_reports() {
    auto reports = write_all_ranks(store_, offset_spec(), 2, kWorld);
    for (const auto& r : reports) EXPECT_TRUE(r.ok()) << r.error;
    return reports;
  }

  // Commits step 2 and returns its root file.
  std::filesystem::path commit_step2() {
    store_.commit(2, step2_reports());
    return snapshot_dir(store_, 2) / "root.h5";
  }

  void expect_previous_is_latest() {
    ASSERT_EQ(store_.committed().size(), 1u);
    EXPECT_EQ(store_.committed().front().step, 1u);
    std::vector<RejectedSnapshot> rejected;
    SnapshotReader reader = store_.open_latest(Verification::full, &rejected);
    EXPECT_EQ(reader.step(), 1u);
    EXPECT_TRUE(rejected.empty());
    EXPECT_EQ(join_lines(check_snapshot(reader, offset_spec(), 1)), "");
  }

  // Reading tensor `name` whole from a fresh reader of step 2 fails,
  // naming the tensor, `rank` and `why`, every time it is tried.
  void expect_tensor_read_fails(const std::string& name, int rank, const std::string& why) {
    SnapshotReader reader = SnapshotReader::open(snapshot_dir(store_, 2));
    std::vector<std::byte> out(64 * 32 * 4);
    for (int attempt = 0; attempt < 2; ++attempt) {
      EXPECT_TRUE(throws_error([&] { reader.read_all(name, DType::f32, out.data()); }, ErrorCode::corrupt,
                               "\"" + name + "\"", "rank " + std::to_string(rank), why))
          << "attempt " << attempt;
    }
  }

  ScratchDir scratch_;
  SnapshotStore store_;
};

// ---- the commit checks reported offsets -----------------------------------

TEST_F(RecordedOffsets, ReportsRecordAnOffsetInsideTheFileForEveryNonEmptyObject) {
  for (const auto& r : step2_reports()) {
    for (const auto& t : r.tensors) {
      if (t.bytes == 0) continue;
      EXPECT_GT(t.file_offset, 0u) << "rank " << r.rank << " tensor " << t.name;
      EXPECT_LE(t.file_offset + t.bytes, r.file_bytes) << "rank " << r.rank << " tensor " << t.name;
    }
    for (const auto& b : r.blobs) {
      EXPECT_GT(b.file_offset, 0u) << "rank " << r.rank << " blob " << b.name;
      EXPECT_LE(b.file_offset + b.bytes, r.file_bytes) << "rank " << r.rank << " blob " << b.name;
    }
    // The offsets survive the JSON the runtime carries reports in.
    const ShardReport back = ShardReport::from_json(r.to_json());
    ASSERT_EQ(back.tensors.size(), r.tensors.size());
    for (std::size_t i = 0; i < r.tensors.size(); ++i) EXPECT_EQ(back.tensors[i].file_offset, r.tensors[i].file_offset);
    ASSERT_EQ(back.blobs.size(), r.blobs.size());
    for (std::size_t i = 0; i < r.blobs.size(); ++i) EXPECT_EQ(back.blobs[i].file_offset, r.blobs[i].file_offset);
  }
}

TEST_F(RecordedOffsets, TensorOutsideItsShardFileIsRefusedByTheCommit) {
  const auto reports = step2_reports();
  const ShardReport& rank1 = reports[1];
  const TensorShard& w = rank1.tensors[0];
  ASSERT_EQ(w.name, "w");
  struct Case {
    const char* why;
    std::uint64_t file_offset;
  };
  const std::vector<Case> cases = {
      {"ends one byte past the end", rank1.file_bytes - w.bytes + 1},
      {"starts at the end", rank1.file_bytes},
      {"starts past the end", rank1.file_bytes + 4096},
      {"offset + bytes wraps around", ~0ull - w.bytes / 2},
      {"largest offset", ~0ull},
  };
  for (const auto& c : cases) {
    auto bad = reports;
    bad[1].tensors[0].file_offset = c.file_offset;
    bad[1] = ShardReport::from_json(bad[1].to_json());  // as it travels between ranks
    EXPECT_TRUE(throws_error([&] { store_.commit(2, bad); }, ErrorCode::invalid_argument, "rank 1", "tensor \"w\""))
        << c.why;
    expect_previous_is_latest();
  }
  // Nothing of the refused commits is left in the way of a good one.
  store_.commit(2, reports);
  SnapshotReader reader = store_.open_latest();
  EXPECT_EQ(reader.step(), 2u);
  EXPECT_EQ(join_lines(check_snapshot(reader, offset_spec(), 2)), "");
}

TEST_F(RecordedOffsets, BlobOutsideItsShardFileIsRefusedByTheCommit) {
  auto reports = step2_reports();
  ASSERT_EQ(reports[0].blobs.at(0).name, "rng");
  reports[0].blobs[0].file_offset = reports[0].file_bytes - reports[0].blobs[0].bytes + 1;
  EXPECT_TRUE(throws_error([&] { store_.commit(2, reports); }, ErrorCode::invalid_argument, "rank 0", "blob \"rng\""));
  expect_previous_is_latest();
}

// ---- manifests without offsets (the older format) ----------------------------

class ManifestWithoutOffsets : public RecordedOffsets {
 protected:
  void SetUp() override {
    RecordedOffsets::SetUp();
    root_ = commit_step2();
    original_ = read_manifest(root_);
    edit_manifest(root_, [](json& doc) {
      for (auto& t : doc["tensors"]) {
        for (auto& s : t["shards"]) s.erase("file_offset");
      }
      for (auto& b : doc["blobs"]) b.erase("file_offset");
    });
    ASSERT_EQ(read_manifest(root_).dump().find("file_offset"), std::string::npos);
  }

  std::filesystem::path root_;
  json original_;  // with the offsets
};

TEST_F(ManifestWithoutOffsets, ReadsEveryTensorAndBlobBitwise) {
  // Offset 0 would read the HDF5 superblock: these reads can only pass
  // through the lookup.
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(store_, 2));
  EXPECT_EQ(join_lines(check_snapshot(reader, offset_spec(), 2)), "");
  EXPECT_EQ(join_lines(check_resharded_part(reader, offset_spec(), 2, 0, 3)), "");
  EXPECT_TRUE(reader.verify().ok());
  EXPECT_EQ(store_.open_latest(Verification::full).step(), 2u);
}

TEST_F(ManifestWithoutOffsets, FlippedTensorByteIsStillCaught) {
  const std::uint64_t at = shard_entry(original_, "w", 1)["file_offset"].get<std::uint64_t>() + 100;
  flip_byte(snapshot_dir(store_, 2) / shard_file_of(original_, 1), at);
  expect_tensor_read_fails("w", 1, "checksum");
  // The neighbours in the same file still read.
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(store_, 2));
  const auto expected = pattern_tensor(DType::f32, {64, 32}, tensor_seed(2, 1));
  std::vector<std::byte> w2(expected.size());
  reader.read_all("w2", DType::f32, w2.data());
  EXPECT_EQ(compare_bytes(DType::f32, expected, w2), "");
  EXPECT_FALSE(reader.verify().ok());
  std::vector<RejectedSnapshot> rejected;
  EXPECT_EQ(store_.open_latest(Verification::full, &rejected).step(), 1u);
  EXPECT_EQ(rejected.size(), 1u);
}

TEST_F(ManifestWithoutOffsets, FlippedBlobByteIsStillCaught) {
  const std::uint64_t at = blob_entry(original_, "rng", 0)["file_offset"].get<std::uint64_t>() + 3;
  flip_byte(snapshot_dir(store_, 2) / shard_file_of(original_, 0), at);
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(store_, 2));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(0, "rng"); }, ErrorCode::corrupt, "rng", "rank 0", "checksum"));
  EXPECT_EQ(compare_bytes(DType::u8, pattern_blob(101, blob_seed(2, 1, 0)), reader.read_blob(1, "rng")), "");
}

// ---- offsets that point at the wrong bytes --------------------------------

class TamperedOffsets : public RecordedOffsets {
 protected:
  void SetUp() override {
    RecordedOffsets::SetUp();
    root_ = commit_step2();
    original_ = read_manifest(root_);
  }

  std::uint64_t offset_of(const std::string& tensor, int rank) {
    return shard_entry(original_, tensor, rank)["file_offset"].get<std::uint64_t>();
  }

  void set_offset(const std::string& tensor, int rank, std::uint64_t file_offset) {
    edit_manifest(root_, [&](json& doc) { shard_entry(doc, tensor, rank)["file_offset"] = file_offset; });
  }

  std::filesystem::path root_;
  json original_;
};

TEST_F(TamperedOffsets, SwappedTensorsOfTheSameSizeAreRefused) {
  const std::uint64_t w = offset_of("w", 1);
  const std::uint64_t w2 = offset_of("w2", 1);
  ASSERT_NE(w, w2);
  edit_manifest(root_, [&](json& doc) {
    shard_entry(doc, "w", 1)["file_offset"] = w2;
    shard_entry(doc, "w2", 1)["file_offset"] = w;
  });
  expect_tensor_read_fails("w", 1, "recorded offset is not the dataset's");
  expect_tensor_read_fails("w2", 1, "recorded offset is not the dataset's");
  // Rank 0's half of w is where it says, so a box inside it reads.
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(store_, 2));
  const auto expected = pattern_box(DType::f32, {64, 32}, {0, 0}, {32, 32}, tensor_seed(2, 0));
  std::vector<std::byte> half(expected.size());
  reader.read("w", DType::f32, {0, 0}, {32, 32}, half.data());
  EXPECT_EQ(compare_bytes(DType::f32, expected, half), "");
}

TEST_F(TamperedOffsets, OffsetOneByteOffIsRefused) {
  set_offset("w", 1, offset_of("w", 1) + 1);
  expect_tensor_read_fails("w", 1, "recorded offset is not the dataset's");
  set_offset("w", 1, offset_of("w", 1) - 1);
  expect_tensor_read_fails("w", 1, "recorded offset is not the dataset's");
}

TEST_F(TamperedOffsets, OffsetAtTheEndOfTheFileIsRefused) {
  const std::uint64_t bytes = shard_entry(original_, "w", 1)["bytes"].get<std::uint64_t>();
  const std::uint64_t file_bytes = file_bytes_of(original_, 1);
  set_offset("w", 1, file_bytes - bytes);  // the last bytes of the file: in range
  expect_tensor_read_fails("w", 1, "recorded offset is not the dataset's");
  set_offset("w", 1, file_bytes - bytes + 1);  // one past: the snapshot does not even open
  EXPECT_TRUE(throws_error([&] { SnapshotReader::open(snapshot_dir(store_, 2)); }, ErrorCode::corrupt, "rank 1",
                           "tensor \"w\"", "recorded at bytes"));
  EXPECT_EQ(store_.open_latest(Verification::structure).step(), 1u);
}

TEST_F(TamperedOffsets, BlobPointedElsewhereIsRefused) {
  edit_manifest(root_, [&](json& doc) {
    json& rng = blob_entry(doc, "rng", 1);
    rng["file_offset"] = rng["file_offset"].get<std::uint64_t>() - 8;
  });
  SnapshotReader reader = SnapshotReader::open(snapshot_dir(store_, 2));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(1, "rng"); }, ErrorCode::corrupt, "rng", "rank 1",
                           "recorded offset is not the dataset's"));
  EXPECT_EQ(compare_bytes(DType::u8, pattern_blob(100, blob_seed(2, 0, 0)), reader.read_blob(0, "rng")), "");
}

TEST_F(TamperedOffsets, FullVerificationPassesOverTheSnapshot) {
  // A snapshot that passes full verification must read: open_latest falls
  // back instead of handing out a reader whose reads all fail.
  set_offset("w", 1, offset_of("w2", 1));
  std::vector<RejectedSnapshot> rejected;
  SnapshotReader reader = store_.open_latest(Verification::full, &rejected);
  EXPECT_EQ(reader.step(), 1u);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].step, 2u);
  EXPECT_TRUE(contains(rejected[0].reason, "w")) << rejected[0].reason;
  EXPECT_FALSE(SnapshotReader::open(snapshot_dir(store_, 2)).verify().ok());
}

}  // namespace
}  // namespace lull::test
