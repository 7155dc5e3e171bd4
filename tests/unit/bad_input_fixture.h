#pragma once
// The fixture of the bad-input tests (bad_input_test.cpp, bad_commit_test.cpp):
// a store with step 1 committed by 2 ranks of small_spec().
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {

inline SnapshotSpec small_spec() {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {8, 6}, 0}, {"s", DType::i64, {}, -1}};
  spec.blobs = {{"rng", 16}};
  return spec;
}

class BadInput : public ::testing::Test {
 protected:
  BadInput() : scratch_("bad-input"), store_(scratch_.path() / "store") {}

  void SetUp() override {
    const auto reports = write_all_ranks(store_, small_spec(), 1, 2);
    store_.commit(1, reports);
  }

  // A committed-looking step directory whose root.h5 is `make_root`'s file.
  template <typename MakeRoot>
  std::filesystem::path plant_fake_snapshot(std::uint64_t step, MakeRoot make_root) {
    const auto dir = store_.dir() / step_dir_name(step);
    std::filesystem::create_directory(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    make_root(dir / "root.h5");
    return dir;
  }

  ScratchDir scratch_;
  SnapshotStore store_;
};

}  // namespace lull::test
