// What a snapshot carries besides tensors, through real HDF5 files: blobs
// (empty and large), metadata, the snapshot's properties and file names,
// commit_snapshot() without a store, rank reports through their JSON, and
// the dtype table. Tensors' round trips are in round_trip_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

TEST(RoundTrip, BlobsIncludingEmptyAndLarge) {
  ScratchDir scratch("round-trip-blobs");
  const SnapshotStore store(scratch.path() / "store");
  constexpr int kWorld = 3;
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < kWorld; ++rank) {
    SnapshotWriter writer = store.writer(9, rank, kWorld);
    writer.write_blob("rng", pattern_blob(32 + static_cast<std::size_t>(rank), 100 + static_cast<std::uint64_t>(rank)));
    writer.write_blob("empty", {});
    if (rank == 2) writer.write_blob("large", pattern_blob(3 << 20, 7));
    reports.push_back(writer.finish());
  }
  store.commit(9, reports);
  SnapshotReader reader = store.open_latest();
  for (int rank = 0; rank < kWorld; ++rank) {
    EXPECT_EQ(compare_bytes(DType::u8, pattern_blob(32 + static_cast<std::size_t>(rank), 100 + static_cast<std::uint64_t>(rank)),
                            reader.read_blob(rank, "rng")),
              "")
        << "rank " << rank;
    EXPECT_TRUE(reader.read_blob(rank, "empty").empty()) << "rank " << rank;
  }
  EXPECT_EQ(compare_bytes(DType::u8, pattern_blob(3 << 20, 7), reader.read_blob(2, "large")), "");
  const auto blobs = reader.blobs();
  EXPECT_EQ(blobs.size(), 7u);
  for (const BlobInfo& b : blobs) {
    if (b.name == "rng") EXPECT_EQ(b.bytes, 32u + static_cast<unsigned>(b.rank));
    else if (b.name == "empty") EXPECT_EQ(b.bytes, 0u);
    else if (b.name == "large") EXPECT_EQ(b.rank, 2);
    else ADD_FAILURE() << "unexpected blob " << b.name;
  }
  EXPECT_TRUE(throws_error([&] { reader.read_blob(0, "large"); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_error([&] { reader.read_blob(kWorld, "rng"); }, ErrorCode::not_found));
  EXPECT_TRUE(reader.verify().ok());
}

TEST(RoundTrip, MetadataKeepsRankZeros) {
  ScratchDir scratch("round-trip-metadata");
  const SnapshotStore store(scratch.path() / "store");
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < 2; ++rank) {
    SnapshotWriter writer = store.writer(12, rank, 2);
    writer.set_metadata("epoch", rank == 0 ? "3" : "99");
    writer.set_metadata("lr schedule", "cosine, warmup=100 \xce\xbb=0.1");
    writer.set_metadata("empty", "");
    reports.push_back(writer.finish());
  }
  store.commit(12, reports);
  SnapshotReader reader = store.open_latest();
  const auto& metadata = reader.metadata();
  ASSERT_EQ(metadata.count("epoch"), 1u);
  EXPECT_EQ(metadata.at("epoch"), "3");
  ASSERT_EQ(metadata.count("lr schedule"), 1u);
  EXPECT_EQ(metadata.at("lr schedule"), "cosine, warmup=100 \xce\xbb=0.1");
  ASSERT_EQ(metadata.count("empty"), 1u);
  EXPECT_EQ(metadata.at("empty"), "");
}

TEST(RoundTrip, SnapshotPropertiesAndFileNames) {
  ScratchDir scratch("round-trip-properties");
  const SnapshotStore store(scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {{"a", DType::f32, {16, 4}, 0}, {"b", DType::i8, {10}, -1}};
  spec.blobs = {{"rng", 10}};
  // The commit's clock, system_clock: std::time() reads the coarse clock,
  // which can still show the last second after the commit's has moved on.
  const auto unix_now = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const auto before = unix_now();
  const auto reports = write_all_ranks(store, spec, 42, 2);
  const CommitResult result = store.commit(42, reports);
  const auto after = unix_now();

  EXPECT_EQ(result.step, 42u);
  EXPECT_TRUE(std::filesystem::is_directory(result.path));
  EXPECT_EQ(result.path.parent_path(), store.dir());
  EXPECT_EQ(result.path.filename().string().rfind("step-", 0), 0u) << result.path;
  EXPECT_EQ(result.root_file.parent_path(), result.path);
  EXPECT_EQ(result.root_file.filename(), "root.h5");
  EXPECT_TRUE(std::filesystem::is_regular_file(result.root_file));
  const std::uint64_t payload = 16 * 4 * 4 + 10 + 10 + 11;
  EXPECT_EQ(result.bytes, payload);
  for (const auto& r : reports) {
    EXPECT_TRUE(std::filesystem::is_regular_file(result.path / r.file)) << r.file << " in " << joined(names_in(result.path));
    EXPECT_EQ(std::filesystem::file_size(result.path / r.file), r.file_bytes) << r.file;
  }

  const auto committed = store.committed();
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_EQ(committed[0].step, 42u);
  EXPECT_EQ(committed[0].path, result.path);

  auto check = [&](SnapshotReader reader, const char* how) {
    SCOPED_TRACE(how);
    EXPECT_EQ(reader.step(), 42u);
    EXPECT_EQ(reader.world_size(), 2);
    EXPECT_GE(reader.created_unix(), static_cast<std::int64_t>(before));
    EXPECT_LE(reader.created_unix(), static_cast<std::int64_t>(after));
    EXPECT_EQ(reader.total_bytes(), payload);
    EXPECT_EQ(reader.dir(), result.path);
    EXPECT_EQ(reader.root_file(), result.root_file);
    ASSERT_EQ(reader.tensors().size(), 2u);
    EXPECT_TRUE(reader.has_tensor("a"));
    EXPECT_FALSE(reader.has_tensor("c"));
    const VerifyReport report = reader.verify();
    EXPECT_TRUE(report.ok());
    EXPECT_GE(report.bytes_checked, 16u * 4 * 4 + 10);
  };
  check(store.open_latest(), "open_latest");
  check(store.open_step(42), "open_step");
  check(SnapshotReader::open(result.path), "open(dir)");
  check(SnapshotReader::open(result.root_file), "open(root file)");
  EXPECT_TRUE(throws_error([&] { store.open_step(41); }, ErrorCode::not_found));
}

TEST(RoundTrip, CommitSnapshotFunctionWithoutStore) {
  ScratchDir scratch("round-trip-free");
  const auto dir = scratch.path() / "job";
  SnapshotSpec spec;
  spec.tensors = {{"x", DType::f64, {12, 3}, 0}};
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < 3; ++rank) {
    SnapshotWriter writer(dir, 1, rank, 3);
    write_rank(writer, spec, 1, rank, 3);
    reports.push_back(writer.finish());
  }
  CommitOptions options;
  options.keep = 1;
  const CommitResult result = commit_snapshot(dir, 1, reports, options);
  SnapshotReader reader = SnapshotReader::open(result.path);
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, 1)), "");
}

TEST(RoundTrip, ReportsSurviveTheirJsonRoundTrip) {
  ScratchDir scratch("round-trip-json");
  const SnapshotStore store(scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {{"a", DType::bf16, {8, 2}, 0}, {"s", DType::i64, {}, -1}};
  spec.blobs = {{"rng", 5}};
  auto reports = write_all_ranks(store, spec, 3, 2);
  reports[0].metadata["quote\"and\\slash"] = "line\nbreak \xe2\x9c\x93";
  for (const ShardReport& r : reports) {
    const ShardReport back = ShardReport::from_json(r.to_json());
    EXPECT_EQ(back.step, r.step);
    EXPECT_EQ(back.rank, r.rank);
    EXPECT_EQ(back.world_size, r.world_size);
    EXPECT_EQ(back.error, r.error);
    EXPECT_EQ(back.file, r.file);
    EXPECT_EQ(back.file_bytes, r.file_bytes);
    EXPECT_EQ(back.metadata, r.metadata);
    ASSERT_EQ(back.tensors.size(), r.tensors.size());
    for (std::size_t i = 0; i < r.tensors.size(); ++i) {
      EXPECT_EQ(back.tensors[i].name, r.tensors[i].name);
      EXPECT_EQ(back.tensors[i].dtype, r.tensors[i].dtype);
      EXPECT_EQ(back.tensors[i].global_shape, r.tensors[i].global_shape);
      EXPECT_EQ(back.tensors[i].offset, r.tensors[i].offset);
      EXPECT_EQ(back.tensors[i].extent, r.tensors[i].extent);
      EXPECT_EQ(back.tensors[i].bytes, r.tensors[i].bytes);
      EXPECT_EQ(back.tensors[i].checksum, r.tensors[i].checksum);
    }
    ASSERT_EQ(back.blobs.size(), r.blobs.size());
    for (std::size_t i = 0; i < r.blobs.size(); ++i) {
      EXPECT_EQ(back.blobs[i].name, r.blobs[i].name);
      EXPECT_EQ(back.blobs[i].bytes, r.blobs[i].bytes);
      EXPECT_EQ(back.blobs[i].checksum, r.blobs[i].checksum);
    }
  }
  // A checksum with the top bit set survives (no double rounding in JSON).
  ShardReport big = reports[0];
  big.tensors[0].checksum = 0xFFFFFFFFFFFFFFFFull;
  big.file_bytes = (1ull << 53) + 1;
  const ShardReport big_back = ShardReport::from_json(big.to_json());
  EXPECT_EQ(big_back.tensors[0].checksum, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(big_back.file_bytes, (1ull << 53) + 1);

  const ShardReport failed = ShardReport::failure(3, 1, 2, "out of memory on rank 1");
  EXPECT_FALSE(failed.ok());
  const ShardReport failed_back = ShardReport::from_json(failed.to_json());
  EXPECT_FALSE(failed_back.ok());
  EXPECT_EQ(failed_back.error, "out of memory on rank 1");
  EXPECT_EQ(failed_back.rank, 1);
  // The round-tripped reports commit.
  std::vector<ShardReport> carried;
  for (const auto& r : reports) carried.push_back(ShardReport::from_json(r.to_json()));
  store.commit(3, carried);
  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, 3)), "");
}

TEST(DType, NamesSizesAndCounts) {
  const std::size_t sizes[] = {2, 2, 4, 8, 1, 1, 4, 8, 1};
  const char* names[] = {"f16", "bf16", "f32", "f64", "i8", "u8", "i32", "i64", "bool"};
  for (std::size_t i = 0; i < std::size(kAllDTypes); ++i) {
    EXPECT_EQ(dtype_size(kAllDTypes[i]), sizes[i]);
    EXPECT_EQ(dtype_name(kAllDTypes[i]), names[i]);
    EXPECT_EQ(parse_dtype(names[i]), kAllDTypes[i]);
  }
  EXPECT_FALSE(parse_dtype("f128").has_value());
  EXPECT_FALSE(parse_dtype("").has_value());
  EXPECT_FALSE(parse_dtype("F32").has_value());
  EXPECT_EQ(element_count({}), 1u);
  EXPECT_EQ(element_count({3, 0, 2}), 0u);
  EXPECT_EQ(element_count({3, 4, 5}), 60u);
}

}  // namespace
}  // namespace lull::test
