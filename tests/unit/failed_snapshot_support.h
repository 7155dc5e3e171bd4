#pragma once
// What the failed-snapshot tests share (full_fs_test.cpp on a real full
// tmpfs, injected_fault_test.cpp through the fault-injection seam): the
// snapshots they write, one attempt's outcome, what the process holds open,
// the debris a failure must not leave, and the check that the previous
// snapshot is still latest and intact.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_spec.h"

namespace lull::test {

inline SnapshotSpec small_spec() {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {64, 32}, 0}, {"b", DType::f64, {10}, -1}, {"ids", DType::i64, {4, 9}, 1}};
  spec.blobs = {{"rng", 24}};
  return spec;
}

// Tensors of `mib` MiB in all (f32, sharded over the ranks).
inline SnapshotSpec big_spec(std::uint64_t mib) {
  SnapshotSpec spec = small_spec();
  spec.tensors.push_back({"big", DType::f32, {mib * 256, 1024}, 0});
  return spec;
}

struct Outcome {
  std::optional<Error> error;  // the first Error, from a writer or the commit
  bool writer_failed = false;  // a writer threw, so the commit had a failed report
  std::vector<std::string> warnings;  // a committed snapshot's housekeeping failures
  bool has_value() const noexcept { return error.has_value(); }
  const Error* operator->() const { return &*error; }
};

// What this process holds open. A failed snapshot must leave it as it was:
// an HDF5 object left open is what crashed HDF5's exit cleanup (SIGSEGV).
struct Held {
  std::size_t descriptors = 0;
  ssize_t hdf5_objects = 0;
  bool operator==(const Held&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const Held& held) {
  return out << held.descriptors << " descriptors, " << held.hdf5_objects << " HDF5 objects";
}

inline Held held_now() {
  Held held;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++held.descriptors;
  held.hdf5_objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  return held;
}

// Pending directories and partial files left in `dir` (none may be, after
// a snapshot failed: they hold space and no reader wants them).
inline std::vector<std::string> debris(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".pending-", 0) == 0 || name.rfind(".trash-", 0) == 0 ||
        (name.size() > 8 && name.substr(name.size() - 8) == ".partial")) {
      found.push_back(entry.path().lexically_relative(dir).string());
    }
  }
  return found;
}

// Writes `spec` for `step` with `world` ranks through `store`, then commits.
inline Outcome try_snapshot(const SnapshotStore& store, const SnapshotSpec& spec, std::uint64_t step, int world) {
  Outcome outcome;
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < world; ++rank) {
    try {
      SnapshotWriter writer = store.writer(step, rank, world);
      write_rank(writer, spec, step, rank, world);
      reports.push_back(writer.finish());
    } catch (const Error& e) {
      if (!outcome.error) outcome.error = e;
      outcome.writer_failed = true;
      reports.push_back(ShardReport::failure(step, rank, world, e.what()));
    }
  }
  try {
    outcome.warnings = store.commit(step, reports).warnings;
    EXPECT_FALSE(outcome.writer_failed) << "a commit with a failed report succeeded";
  } catch (const Error& e) {
    if (!outcome.error) outcome.error = e;
    if (outcome.writer_failed) {
      EXPECT_EQ(e.code(), ErrorCode::incomplete) << "a commit with a failed report: " << e.what();
    }
  }
  return outcome;
}

// The store (opened with the real file system) must give `step`, intact.
inline void expect_latest_intact(const std::filesystem::path& dir, const SnapshotSpec& spec, std::uint64_t step) {
  StoreOptions options;
  options.create = false;
  const SnapshotStore store(dir, options);
  std::vector<RejectedSnapshot> rejected;
  SnapshotReader reader = store.open_latest(Verification::full, &rejected);
  EXPECT_EQ(reader.step(), step);
  for (const auto& r : rejected) ADD_FAILURE() << "rejected step " << r.step << ": " << r.reason;
  EXPECT_TRUE(reader.verify().ok());
  EXPECT_EQ(join_lines(check_snapshot(reader, spec, reader.step())), "");
}

}  // namespace lull::test
