#include "support/crash_spec.h"

namespace lull::test {

SnapshotSpec crash_spec(std::uint64_t big_rows) {
  SnapshotSpec spec;
  spec.tensors = {
      {"big", DType::f32, {big_rows, 1024}, 0},
      {"w", DType::f64, {64, 33}, 1},
      {"emb", DType::bf16, {8, 100}, 0},
      {"mask", DType::boolean, {40, 3}, 0},
      {"ids", DType::i32, {5, 4, 12}, 2},
      {"rep", DType::i64, {5, 5}, -1},
      {"scalar", DType::f64, {}, -1},
  };
  spec.blobs = {{"rng", 32}, {"cursor", 8}};
  return spec;
}

}  // namespace lull::test
