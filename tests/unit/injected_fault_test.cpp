// A file system that refuses, through the fault-injection seam:
// FaultyFileSystem (tests/support/fault_file_systems.h) wraps
// FileSystem::posix() and fails the n-th write_at (HDF5's own included) /
// file sync / sync_file / sync_dir / rename / write_file / make_dir /
// open_file / create_file / file truncate / set_mode with ENOSPC, EIO or
// EMFILE, for every n the protocol reaches (sampled when there are many):
// what a real disk cannot show on demand (a failing fsync, the n-th write of
// one kind, a failure after the commit point). The new snapshot fails
// cleanly and the previous one stays latest (full_fs_test.cpp has the same
// on a real full tmpfs).


#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/fault_file_systems.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

#include "failed_snapshot_support.h"

namespace lull::test {
namespace {

// ---- the fault-injection seam ----------------------------------------------

struct FaultCase {
  FsOp op;
  int err;
  // The operation happens only before the commit point (shard data, the
  // fsync of a shard or the root file): its failure must fail the commit.
  // Others may come after it (LATEST, retention): their failure must at
  // least be reported in CommitResult::warnings. Nothing is swallowed.
  bool fails_the_commit;
};

std::string case_name(const ::testing::TestParamInfo<FaultCase>& info) {
  std::string name = fs_op_name(info.param.op);
  for (char& c : name) {
    if (c == ' ') c = '_';
  }
  return name + (info.param.err == ENOSPC ? "_ENOSPC" : info.param.err == EMFILE ? "_EMFILE" : "_EIO");
}

class InjectedFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(InjectedFault, EachOccurrenceFailsCleanlyAndKeepsTheSnapshotsIntact) {
  const FaultCase param = GetParam();
  const SnapshotSpec spec = small_spec();
  std::uint64_t total = 0;
  {
    ScratchDir scratch("fault-count");
    const auto dir = scratch.path() / "job";
    ASSERT_FALSE(try_snapshot(SnapshotStore(dir), spec, 1, 2).has_value());
    FaultyFileSystem counter;
    StoreOptions options;
    options.fs = &counter;
    ASSERT_FALSE(try_snapshot(SnapshotStore(dir, options), spec, 2, 2).has_value());
    total = counter.count(param.op);
  }
  if (total == 0) GTEST_SKIP() << "one write+commit never calls " << fs_op_name(param.op);

  // Every occurrence when there are few, else 12 spread over the range
  // including the first and the last.
  std::vector<std::uint64_t> occurrences;
  constexpr std::uint64_t kMaxRuns = 12;
  for (std::uint64_t i = 0; i < std::min(total, kMaxRuns); ++i) {
    occurrences.push_back(total <= kMaxRuns ? i + 1 : 1 + i * (total - 1) / (kMaxRuns - 1));
  }
  for (const std::uint64_t n : occurrences) {
    SCOPED_TRACE(std::string(fs_op_name(param.op)) + " #" + std::to_string(n) + " of " + std::to_string(total) +
                 " fails with " + std::strerror(param.err));
    ScratchDir scratch("fault");
    const auto dir = scratch.path() / "job";
    ASSERT_FALSE(try_snapshot(SnapshotStore(dir), spec, 1, 2).has_value());

    FaultyFileSystem faulty;
    faulty.fail_nth(param.op, n, param.err);
    StoreOptions options;
    options.fs = &faulty;
    Outcome failure;
    const Held before = held_now();
    try {
      failure = try_snapshot(SnapshotStore(dir, options), spec, 2, 2);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a lull::Error: " << e.what();
      continue;
    }
    ASSERT_TRUE(faulty.fired());
    EXPECT_EQ(held_now(), before) << "the failure of " << faulty.fired_at() << " left something open";
    if (failure.has_value()) {
      EXPECT_EQ(failure->code(), ErrorCode::io) << failure->what();
      EXPECT_TRUE(contains(failure->what(), std::strerror(param.err)))
          << "the error does not carry the system's reason: " << failure->what();
      EXPECT_EQ(joined(debris(dir)), "") << "the failure of " << faulty.fired_at() << " left files behind";
    } else {
      EXPECT_FALSE(param.fails_the_commit) << "the failure of " << faulty.fired_at() << " did not fail the commit";
      ASSERT_EQ(failure.warnings.size(), 1u) << "the failure of " << faulty.fired_at() << " was swallowed";
      EXPECT_TRUE(contains(failure.warnings.front(), std::strerror(param.err))) << failure.warnings.front();
    }

    // Whatever happened, the directory opens (with the real file system) to
    // step 1 or, when the failure came after the commit point, step 2, and
    // either is intact. A failure in a writer can never make step 2 visible.
    StoreOptions plain;
    plain.create = false;
    const SnapshotStore store(dir, plain);
    std::vector<RejectedSnapshot> rejected;
    SnapshotReader reader = store.open_latest(Verification::full, &rejected);
    for (const auto& r : rejected) ADD_FAILURE() << "rejected step " << r.step << ": " << r.reason;
    EXPECT_TRUE(reader.step() == 1 || reader.step() == 2) << reader.step();
    if (failure.writer_failed) {
      EXPECT_EQ(reader.step(), 1u);
    }
    EXPECT_TRUE(reader.verify().ok());
    EXPECT_EQ(join_lines(check_snapshot(reader, spec, reader.step())), "");
    SnapshotReader previous = store.open_step(1);
    EXPECT_EQ(join_lines(check_snapshot(previous, spec, 1)), "");

    // And the job goes on: the next snapshot commits over the debris.
    EXPECT_FALSE(try_snapshot(store, spec, 3, 2).has_value()) << faulty.fired_at();
    expect_latest_intact(dir, spec, 3);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Seam, InjectedFault,
    ::testing::Values(FaultCase{FsOp::file_write_at, ENOSPC, true}, FaultCase{FsOp::file_write_at, EIO, true},
                      FaultCase{FsOp::file_sync, EIO, true}, FaultCase{FsOp::file_sync, ENOSPC, true},
                      FaultCase{FsOp::sync_file, EIO, true}, FaultCase{FsOp::sync_file, ENOSPC, true},
                      FaultCase{FsOp::sync_dir, EIO, false}, FaultCase{FsOp::rename, ENOSPC, false},
                      FaultCase{FsOp::write_file, ENOSPC, false}, FaultCase{FsOp::make_dir, ENOSPC, true},
                      FaultCase{FsOp::open_file, EMFILE, true}, FaultCase{FsOp::set_mode, EIO, true},
                      FaultCase{FsOp::create_file, EMFILE, true}, FaultCase{FsOp::create_file, ENOSPC, true},
                      FaultCase{FsOp::file_truncate, EIO, true}),
    case_name);

// A write that fails in the middle of a large tensor, while the checksum
// thread is still hashing the pieces written before it: the writer waits for
// that thread (it reads the caller's buffer), releases everything and the
// failure reaches the commit.
TEST(InjectedFaultSeam, AWriteFailingWhileTheChecksumThreadHashesReleasesEverything) {
  ScratchDir scratch("fault-mid-tensor");
  const auto dir = scratch.path() / "job";
  const SnapshotSpec small = small_spec();
  ASSERT_FALSE(try_snapshot(SnapshotStore(dir), small, 1, 2).has_value());
  // 24 MiB over 2 ranks: each rank's 12 MiB go out in two 8 MiB pieces.
  const SnapshotSpec big = big_spec(24);
  FaultyFileSystem counter;
  StoreOptions counting;
  counting.fs = &counter;
  {
    ScratchDir probe("fault-mid-tensor-count");
    ASSERT_FALSE(try_snapshot(SnapshotStore(probe.path() / "job", counting), big, 1, 2).has_value());
  }
  const std::uint64_t writes_per_snapshot = counter.count(FsOp::file_write_at);
  ASSERT_GE(writes_per_snapshot, 4u);
  for (std::uint64_t n = 1; n <= writes_per_snapshot; ++n) {
    SCOPED_TRACE("write_at #" + std::to_string(n) + " of " + std::to_string(writes_per_snapshot));
    FaultyFileSystem faulty;
    faulty.fail_nth(FsOp::file_write_at, n, ENOSPC);
    StoreOptions options;
    options.fs = &faulty;
    const Held before = held_now();
    const Outcome failure = try_snapshot(SnapshotStore(dir, options), big, 2, 2);
    ASSERT_TRUE(faulty.fired());
    ASSERT_TRUE(failure.has_value());
    EXPECT_TRUE(contains(failure->what(), "No space left on device")) << failure->what();
    EXPECT_EQ(held_now(), before);
    EXPECT_EQ(joined(debris(dir)), "");
    expect_latest_intact(dir, small, 1);
  }
}

// A writer spent by a failure repeats it rather than report a shard that
// misses what failed.
TEST(InjectedFaultSeam, AWriterThatFailedStaysFailed) {
  ScratchDir scratch("fault-spent");
  FaultyFileSystem faulty;
  faulty.fail_nth(FsOp::file_write_at, 1, ENOSPC);
  StoreOptions options;
  options.fs = &faulty;
  const SnapshotStore store(scratch.path() / "job", options);
  SnapshotWriter writer = store.writer(1, 0, 1);
  const std::vector<float> data(16, 1.0f);
  EXPECT_TRUE(throws_error([&] { writer.write_tensor("a", DType::f32, {16}, {0}, {16}, data.data()); },
                           ErrorCode::io, "No space left on device"));
  faulty.disarm();
  EXPECT_TRUE(throws_error([&] { writer.write_tensor("b", DType::f32, {16}, {0}, {16}, data.data()); },
                           ErrorCode::io, "failed earlier", "No space left on device"));
  EXPECT_TRUE(throws_error([&] { writer.finish(); }, ErrorCode::io, "failed earlier"));
  EXPECT_FALSE(contains(joined(debris(store.dir())), ".partial")) << "the spent writer's partial file is still there";
}

TEST(InjectedFaultSeam, DataAndDurabilityGoThroughTheSeam) {
  // The seam is only a test of the protocol if the protocol uses it.
  ScratchDir scratch("fault-seam");
  FaultyFileSystem counter;
  StoreOptions options;
  options.fs = &counter;
  const SnapshotStore store(scratch.path() / "job", options);
  ASSERT_FALSE(try_snapshot(store, small_spec(), 1, 2).has_value());
  EXPECT_GT(counter.count(FsOp::file_write_at), 0u) << "tensor bytes bypass FileSystem::open_file";
  EXPECT_GT(counter.count(FsOp::file_sync) + counter.count(FsOp::sync_file), 0u) << "no file is fsynced";
  EXPECT_GT(counter.count(FsOp::sync_dir), 0u) << "no directory is fsynced";
  EXPECT_GT(counter.count(FsOp::rename) + counter.count(FsOp::exchange), 0u) << "nothing is renamed into place";
}

TEST(InjectedFaultSeam, ADiskThatStaysFullFailsEveryAttempt) {
  ScratchDir scratch("fault-full");
  const auto dir = scratch.path() / "job";
  const SnapshotSpec spec = small_spec();
  ASSERT_FALSE(try_snapshot(SnapshotStore(dir), spec, 1, 2).has_value());
  FaultyFileSystem full;
  full.fail_all(FsOp::file_write_at, ENOSPC);
  StoreOptions options;
  options.fs = &full;
  const SnapshotStore store(dir, options);
  for (std::uint64_t step = 2; step <= 3; ++step) {
    const auto failure = try_snapshot(store, spec, step, 2);
    ASSERT_TRUE(failure.has_value());
    EXPECT_EQ(failure->code(), ErrorCode::io);
    EXPECT_TRUE(contains(failure->what(), "No space left on device")) << failure->what();
  }
  expect_latest_intact(dir, spec, 1);
}

}  // namespace
}  // namespace lull::test
