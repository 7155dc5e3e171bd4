// Round trips through real HDF5 files: what the writers of several ranks put
// in (here several SnapshotWriter instances in one process, one per rank)
// comes back bitwise, whole and as any hyperslab in global coordinates, for
// every dtype, sharding along each dimension, replicated tensors, scalars,
// 8 dimensions and zero-size dimensions. Blobs, metadata and the rest of a
// snapshot's contents are in snapshot_contents_test.cpp.

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

}  // namespace
}  // namespace lull::test
