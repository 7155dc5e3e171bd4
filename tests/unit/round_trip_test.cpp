// Round trips through real HDF5 files: what the writers of several ranks put
// in (here several SnapshotWriter instances in one process, one per rank)
// comes back bitwise, whole and as any hyperslab in global coordinates, for
// every dtype, sharding along each dimension, replicated tensors, scalars,
// 8 dimensions, zero-size dimensions, blobs (empty too) and metadata.

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
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

// Reads a box and compares it with the pattern; returns the difference.
std::string read_and_compare(SnapshotReader& reader, const TensorSpec& t, std::uint64_t seed, const Box& box) {
  const auto expected = pattern_box(t.dtype, t.shape, box.offset, box.extent, seed);
  std::vector<std::byte> actual(expected.size() + 1);
  reader.read(t.name, t.dtype, box.offset, box.extent, actual.data());
  actual.pop_back();
  auto diff = compare_bytes(t.dtype, expected, actual);
  if (!diff.empty()) diff = t.name + " offset " + shape_string(box.offset) + " extent " + shape_string(box.extent) + ": " + diff;
  return diff;
}

// `count` random non-empty boxes inside `shape`.
std::vector<Box> random_boxes(const Shape& shape, std::mt19937_64& rng, int count) {
  std::vector<Box> boxes;
  for (int i = 0; i < count; ++i) {
    Box box{Shape(shape.size()), Shape(shape.size())};
    for (std::size_t d = 0; d < shape.size(); ++d) {
      std::uniform_int_distribution<std::uint64_t> start(0, shape[d] - 1);
      box.offset[d] = start(rng);
      std::uniform_int_distribution<std::uint64_t> length(1, shape[d] - box.offset[d]);
      box.extent[d] = length(rng);
    }
    boxes.push_back(box);
  }
  return boxes;
}

class RoundTripPerDType : public ::testing::TestWithParam<DType> {};

TEST_P(RoundTripPerDType, ShardedAlongEachDimensionReadsBackBitwise) {
  const DType type = GetParam();
  constexpr int kWorld = 4;
  SnapshotSpec spec;
  spec.tensors = {
      {"v", type, {23}, 0},
      {"c0", type, {9, 6, 7}, 0},
      {"c1", type, {5, 9, 7}, 1},
      {"c2", type, {5, 6, 11}, 2},
      {"h0", type, {6, 5, 7, 4}, 0},
      {"h1", type, {3, 7, 5, 4}, 1},
      {"h2", type, {3, 5, 9, 4}, 2},
      {"h3", type, {3, 5, 4, 10}, 3},
  };
  ScratchDir scratch("round-trip");
  const SnapshotStore store(scratch.path() / "store");
  const auto reports = write_all_ranks(store, spec, 7, kWorld);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << "rank " << r.rank << ": " << r.error;
  const CommitResult result = store.commit(7, reports);
  EXPECT_EQ(result.step, 7u);

  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(reader.step(), 7u);
  EXPECT_EQ(reader.world_size(), kWorld);
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, 7)), "");

  std::mt19937_64 rng(0x5eed + static_cast<unsigned>(type));
  for (std::size_t t = 0; t < spec.tensors.size(); ++t) {
    const TensorSpec& tensor = spec.tensors[t];
    const TensorInfo& info = reader.tensor(tensor.name);
    EXPECT_EQ(info.name, tensor.name);
    EXPECT_EQ(info.dtype, type);
    EXPECT_EQ(info.shape, tensor.shape);
    EXPECT_EQ(info.bytes, element_count(tensor.shape) * dtype_size(type));
    EXPECT_EQ(info.shards, static_cast<std::size_t>(kWorld)) << tensor.name;

    const std::uint64_t seed = tensor_seed(7, t);
    // Crossing every written boundary along the split dimension, one
    // element thick elsewhere, then random boxes.
    Box crossing{Shape(tensor.shape.size(), 0), Shape(tensor.shape.size(), 1)};
    const auto d = static_cast<std::size_t>(tensor.split_dim);
    crossing.offset[d] = 1;
    crossing.extent[d] = tensor.shape[d] - 2;
    for (std::size_t other = 0; other < tensor.shape.size(); ++other) {
      if (other != d) crossing.offset[other] = tensor.shape[other] - 1;
    }
    EXPECT_EQ(read_and_compare(reader, tensor, seed, crossing), "");
    // Single elements at the corners of a shard boundary.
    const Box second = split_box(tensor.shape, tensor.split_dim, kWorld, 1);
    Box corner{second.offset, Shape(tensor.shape.size(), 1)};
    EXPECT_EQ(read_and_compare(reader, tensor, seed, corner), "");
    corner.offset[d] -= 1;
    EXPECT_EQ(read_and_compare(reader, tensor, seed, corner), "");
    for (const Box& box : random_boxes(tensor.shape, rng, 12)) {
      EXPECT_EQ(read_and_compare(reader, tensor, seed, box), "");
    }
  }
  EXPECT_TRUE(reader.verify().ok());
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, RoundTripPerDType, ::testing::ValuesIn(kAllDTypes),
                         [](const ::testing::TestParamInfo<DType>& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

TEST(RoundTrip, BlockDecompositionOverTwoDimensions) {
  // 2 x 3 grid of 6 ranks over a {10, 14} tensor, plus a 4-D tensor split
  // along dims 1 and 3 at once over 4 ranks.
  ScratchDir scratch("round-trip-grid");
  const SnapshotStore store(scratch.path() / "store");
  const Shape grid_shape{10, 14};
  const Shape four_d{3, 6, 2, 8};
  constexpr int kWorld = 6;
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < kWorld; ++rank) {
    SnapshotWriter writer = store.writer(3, rank, kWorld);
    const Box rows = split_box(grid_shape, 0, 2, rank / 3);
    const Box cols = split_box(grid_shape, 1, 3, rank % 3);
    const Shape offset{rows.offset[0], cols.offset[1]};
    const Shape extent{rows.extent[0], cols.extent[1]};
    const auto data = pattern_box(DType::f32, grid_shape, offset, extent, 11);
    writer.write_tensor("grid", DType::f32, grid_shape, offset, extent, data.data());
    if (rank < 4) {
      const Box a = split_box(four_d, 1, 2, rank / 2);
      const Box b = split_box(four_d, 3, 2, rank % 2);
      const Shape off{0, a.offset[1], 0, b.offset[3]};
      const Shape ext{3, a.extent[1], 2, b.extent[3]};
      const auto d4 = pattern_box(DType::i64, four_d, off, ext, 12);
      writer.write_tensor("four", DType::i64, four_d, off, ext, d4.data());
    }
    reports.push_back(writer.finish());
  }
  store.commit(3, reports);
  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(reader.tensor("grid").shards, 6u);
  EXPECT_EQ(reader.tensor("four").shards, 4u);
  std::vector<std::byte> all(element_count(grid_shape) * 4);
  reader.read_all("grid", DType::f32, all.data());
  EXPECT_EQ(compare_bytes(DType::f32, pattern_tensor(DType::f32, grid_shape, 11), all), "");
  EXPECT_EQ(read_and_compare(reader, {"grid", DType::f32, grid_shape, 0}, 11, Box{{3, 2}, {5, 10}}), "");
  EXPECT_EQ(read_and_compare(reader, {"four", DType::i64, four_d, 1}, 12, Box{{1, 2, 0, 3}, {2, 3, 2, 3}}), "");
  EXPECT_TRUE(reader.verify().ok());
}

TEST(RoundTrip, ReplicatedTensorsAndScalars) {
  ScratchDir scratch("round-trip-replicated");
  const SnapshotStore store(scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {
      {"rep.f64", DType::f64, {3, 4}, -1},
      {"rep.bf16", DType::bf16, {17}, -1},
      {"scalar.i32", DType::i32, {}, -1},
      {"scalar.bool", DType::boolean, {}, -1},
      {"scalar.f16", DType::f16, {}, -1},
  };
  const auto reports = write_all_ranks(store, spec, 5, 3);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  // Replicated tensors are recorded by rank 0 only.
  EXPECT_EQ(reports[0].tensors.size(), spec.tensors.size());
  EXPECT_TRUE(reports[1].tensors.empty());
  EXPECT_TRUE(reports[2].tensors.empty());
  store.commit(5, reports);
  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, 5)), "");
  for (const auto& t : spec.tensors) {
    EXPECT_EQ(reader.tensor(t.name).shards, 1u) << t.name;
    EXPECT_EQ(reader.tensor(t.name).shape, t.shape) << t.name;
  }
  // A 0-d scalar read as a box with no dimensions.
  std::int32_t scalar = 0;
  reader.read("scalar.i32", DType::i32, {}, {}, &scalar);
  std::int32_t expected = 0;
  pattern_element(DType::i32, 0, tensor_seed(5, 2), reinterpret_cast<std::byte*>(&expected));
  EXPECT_EQ(scalar, expected);
}

TEST(RoundTrip, ScalarWrittenByOneRankWithWriteTensor) {
  ScratchDir scratch("round-trip-scalar");
  const SnapshotStore store(scratch.path() / "store");
  std::vector<ShardReport> reports;
  const double value = 3.25;
  for (int rank = 0; rank < 2; ++rank) {
    SnapshotWriter writer = store.writer(1, rank, 2);
    if (rank == 1) writer.write_tensor("lr", DType::f64, {}, {}, {}, &value);
    reports.push_back(writer.finish());
  }
  store.commit(1, reports);
  SnapshotReader reader = store.open_latest();
  double back = 0;
  reader.read_all("lr", DType::f64, &back);
  EXPECT_EQ(back, value);
  EXPECT_TRUE(reader.tensor("lr").shape.empty());
}

TEST(RoundTrip, EightDimensions) {
  ScratchDir scratch("round-trip-8d");
  const SnapshotStore store(scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {
      {"eight.last", DType::f32, {2, 3, 2, 1, 2, 3, 2, 5}, 7},
      {"eight.first", DType::u8, {4, 3, 2, 1, 2, 3, 2, 2}, 0},
      {"eight.mid", DType::i64, {2, 3, 2, 1, 5, 3, 2, 2}, 4},
  };
  const auto reports = write_all_ranks(store, spec, 2, 2);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  store.commit(2, reports);
  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, 2)), "");
  EXPECT_EQ(join_lines(check_resharded_part(reader, spec, 2, 0, 3)), "");
  EXPECT_EQ(join_lines(check_resharded_part(reader, spec, 2, 2, 3)), "");
  std::mt19937_64 rng(8);
  for (std::size_t t = 0; t < spec.tensors.size(); ++t) {
    for (const Box& box : random_boxes(spec.tensors[t].shape, rng, 6)) {
      EXPECT_EQ(read_and_compare(reader, spec.tensors[t], tensor_seed(2, t), box), "");
    }
  }
}

TEST(RoundTrip, ZeroSizeDimensions) {
  ScratchDir scratch("round-trip-empty");
  const SnapshotStore store(scratch.path() / "store");
  SnapshotSpec spec;
  spec.tensors = {
      {"empty.rep", DType::f32, {0, 5}, -1},
      {"empty.rows", DType::i64, {4, 0}, 0},
      {"empty.mid", DType::f16, {4, 0, 3}, 2},
      {"nonempty", DType::u8, {8}, 0},
  };
  const auto reports = write_all_ranks(store, spec, 4, 2);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  store.commit(4, reports);
  SnapshotReader reader = store.open_latest();
  for (const auto& t : spec.tensors) {
    ASSERT_TRUE(reader.has_tensor(t.name)) << t.name;
    EXPECT_EQ(reader.tensor(t.name).shape, t.shape) << t.name;
  }
  EXPECT_EQ(reader.tensor("empty.rows").bytes, 0u);
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, 4)), "");
  EXPECT_TRUE(reader.verify().ok());
}

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
  const auto before = std::time(nullptr);
  const auto reports = write_all_ranks(store, spec, 42, 2);
  const CommitResult result = store.commit(42, reports);
  const auto after = std::time(nullptr);

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
