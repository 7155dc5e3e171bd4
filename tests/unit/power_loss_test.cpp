// Power loss at every step of a snapshot's write and commit
// (DurableStateFileSystem: at the crash, every byte and directory entry
// not yet fsync'd is dropped, which kill -9 cannot show because the page
// cache outlives the process).
//
// DurableStateFileSystemModel.*: the model itself drops what was not
//   synced and keeps what was (each case fails if it kept or dropped the
//   wrong thing).
// PowerLoss/CommitAtEveryOperation.*: steps 1 and 2 committed; a job of 1
//   or 2 ranks (simulated in this process) writes and commits step 3, and
//   the power fails before its n-th file-system operation, for every n, and
//   once more after the commit returned. After each: the store opens; the
//   newest snapshot is step 2 or 3 (3 once commit returned), passes full
//   verification and equals the formula of its step byte for byte; no
//   committed snapshot is torn; LATEST names a committed, readable
//   snapshot; a restarted job commits the next step over the debris.
// PowerLoss.ACommitWhoseLatestUpdateFailedIsDurable: LATEST cannot be
//   written (ENOSPC), so commit succeeds with a warning; the power then
//   fails: the snapshot it committed must still be there.

#include <gtest/gtest.h>

#include <cerrno>
#include <iostream>
#include <filesystem>
#include <string>
#include <vector>

#include "lull/base/log.h"
#include "lull/checkpoint.h"
#include "support/crash_spec.h"
#include "support/durable_state_file_system.h"
#include "support/fault_file_systems.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

// ---- the model ----------------------------------------------------------------

class DurableStateFileSystemModel : public ::testing::Test {
 protected:
  DurableStateFileSystemModel() : scratch_("durable-model"), root_(scratch_.path()) {
    std::filesystem::create_directory(root_ / "old");
    write_whole_file(root_ / "old" / "kept", "before");
  }
  ScratchDir scratch_;
  std::filesystem::path root_;
};

TEST_F(DurableStateFileSystemModel, WhatWasThereAtTheStartIsDurable) {
  DurableStateFileSystem fs(root_);
  fs.crash();
  EXPECT_EQ(read_whole_file(root_ / "old" / "kept"), "before");
}

TEST_F(DurableStateFileSystemModel, BytesWrittenSinceTheLastSyncAreDropped) {
  DurableStateFileSystem fs(root_);
  auto file = fs.open_file(root_ / "old" / "kept", true);
  file->write_at(6, " synced", 7);
  file->sync();
  file->write_at(0, "BEFORE", 6);   // overwritten, never synced
  file->write_at(13, " lost", 5);  // appended, never synced
  fs.crash();
  EXPECT_EQ(read_whole_file(root_ / "old" / "kept"), "before synced");
}

TEST_F(DurableStateFileSystemModel, AFileWhoseDirectoryWasNeverSyncedDisappears) {
  DurableStateFileSystem fs(root_);
  fs.write_file(root_ / "old" / "new", "synced bytes", 0600);
  fs.crash();
  EXPECT_FALSE(std::filesystem::exists(root_ / "old" / "new"));
}

TEST_F(DurableStateFileSystemModel, AFileSyncedInASyncedDirectoryStays) {
  DurableStateFileSystem fs(root_);
  fs.write_file(root_ / "old" / "new", "synced bytes", 0600);
  fs.sync_dir(root_ / "old");
  fs.crash();
  EXPECT_EQ(read_whole_file(root_ / "old" / "new"), "synced bytes");
}

TEST_F(DurableStateFileSystemModel, AnEntryWhoseFileWasNeverSyncedIsEmpty) {
  DurableStateFileSystem fs(root_);
  auto file = fs.create_file(root_ / "old" / "new", 0600);
  file->write_at(0, "unsynced", 8);
  fs.sync_dir(root_ / "old");
  fs.crash();
  EXPECT_EQ(read_whole_file(root_ / "old" / "new"), "");
}

TEST_F(DurableStateFileSystemModel, ARenameIsUndoneUntilItsDirectoryIsSynced) {
  {
    DurableStateFileSystem fs(root_);
    fs.rename(root_ / "old" / "kept", root_ / "old" / "moved");
    fs.crash();
    EXPECT_EQ(names_in(root_ / "old"), std::vector<std::string>{"kept"});
    EXPECT_EQ(read_whole_file(root_ / "old" / "kept"), "before");
  }
  DurableStateFileSystem fs(root_);
  fs.rename(root_ / "old" / "kept", root_ / "old" / "moved");
  fs.sync_dir(root_ / "old");
  fs.crash();
  EXPECT_EQ(names_in(root_ / "old"), std::vector<std::string>{"moved"});
  EXPECT_EQ(read_whole_file(root_ / "old" / "moved"), "before");
}

TEST_F(DurableStateFileSystemModel, ARenameIntoANewDirectoryNeedsBothSyncs) {
  DurableStateFileSystem fs(root_);
  fs.make_dir(root_ / "new", 0700);
  fs.rename(root_ / "old" / "kept", root_ / "new" / "kept");
  fs.sync_dir(root_ / "new");
  fs.crash();  // "new" itself was never linked durably into the root
  EXPECT_FALSE(std::filesystem::exists(root_ / "new"));
  EXPECT_EQ(read_whole_file(root_ / "old" / "kept"), "before");
}

TEST_F(DurableStateFileSystemModel, ARemovalComesBackUntilItsDirectoryIsSynced) {
  DurableStateFileSystem fs(root_);
  fs.remove_all(root_ / "old");
  fs.crash();
  EXPECT_EQ(read_whole_file(root_ / "old" / "kept"), "before");
}

TEST_F(DurableStateFileSystemModel, ACrashBeforeAnOperationStopsItAndEveryLaterOne) {
  DurableStateFileSystem fs(root_);
  fs.crash_before_operation(2);
  fs.write_file(root_ / "old" / "new", "x", 0600);
  EXPECT_TRUE(throws_error([&] { fs.sync_dir(root_ / "old"); }, ErrorCode::io, "simulated crash"));
  EXPECT_TRUE(fs.crashed());
  EXPECT_TRUE(throws_error([&] { fs.remove_all(root_ / "old"); }, ErrorCode::io, "machine is down"));
  EXPECT_TRUE(std::filesystem::exists(root_ / "old" / "new")) << "the page cache still has it before the crash";
  fs.crash();
  EXPECT_FALSE(std::filesystem::exists(root_ / "old" / "new"));
  EXPECT_FALSE(fs.crashed());
  EXPECT_EQ(fs.operations(), 0u);
}

// ---- the snapshot commit ------------------------------------------------------------

constexpr std::uint64_t kRows = 8;  // small: the commit runs a few hundred times
constexpr std::uint64_t kNewStep = 3;

// LATEST, if it is there, names a committed snapshot that opens.
void expect_latest_is_durable(const SnapshotStore& store, const std::string& context) {
  const auto latest = store.dir() / "LATEST";
  ASSERT_TRUE(std::filesystem::exists(latest)) << context << ": LATEST is gone";
  const std::string named = read_whole_file(latest);
  bool found = false;
  for (const auto& entry : store.committed()) {
    if (named == step_dir_name(entry.step) + "\n") found = true;
  }
  EXPECT_TRUE(found) << context << ": LATEST holds \"" << named << "\", which names no committed snapshot; directory: "
                     << joined(names_in(store.dir()));
}

// What a restarted job finds after the power came back: the newest
// snapshot's step, between `at_least` and `at_most`.
std::uint64_t check_after_power_loss(const std::filesystem::path& job, const SnapshotSpec& spec, std::uint64_t at_least,
                                     std::uint64_t at_most, const std::string& context) {
  SCOPED_TRACE(context);
  StoreOptions options;
  options.create = false;
  const SnapshotStore store(job, options);
  for (const auto& entry : store.committed()) {  // every visible snapshot whole, not only the newest
    try {
      SnapshotReader reader = SnapshotReader::open(entry.path);
      const VerifyReport report = reader.verify();
      for (const auto& p : report.problems) ADD_FAILURE() << "step " << entry.step << " is torn: " << p.describe();
      const auto problems = check_snapshot(reader, spec, entry.step);
      EXPECT_TRUE(problems.empty()) << "step " << entry.step << ":\n" << join_lines(problems);
    } catch (const Error& e) {
      ADD_FAILURE() << "a torn snapshot is visible: step " << entry.step << ": " << e.what()
                    << "\ndirectory: " << joined(names_in(job)) << "; in it: " << joined(names_in(entry.path));
    }
  }
  std::vector<RejectedSnapshot> rejected;
  const std::uint64_t step = store.open_latest(Verification::full, &rejected).step();
  EXPECT_TRUE(rejected.empty()) << "open_latest passed over step " << rejected.front().step << ": "
                                << rejected.front().reason;
  EXPECT_GE(step, at_least);
  EXPECT_LE(step, at_most);
  expect_latest_is_durable(store, context);
  return step;
}

class PowerLoss : public ::testing::TestWithParam<int> {
 protected:
  PowerLoss() : scratch_("power-loss"), spec_(crash_spec(kRows)) {}

  void SetUp() override {
    // The dead file system's refusals, logged by lull's cleanup, are expected.
    log::set_level(log::Level::error);
    commit(base_job(), 1);
    commit(base_job(), 2);
  }
  void TearDown() override { log::set_level(log::Level::warn); }

  int world() const { return GetParam(); }
  std::filesystem::path base_job() const { return scratch_.path() / "base" / "job"; }

  // Writes every rank's part of `step` and commits it through `fs`.
  void commit(const std::filesystem::path& job, std::uint64_t step, FileSystem* fs = nullptr) const {
    StoreOptions options;
    options.fs = fs;
    options.keep = kCrashKeep;
    const SnapshotStore store(job, options);
    const auto reports = write_all_ranks(store, spec_, step, world());
    store.commit(step, reports);
  }

  // A machine of its own: root/job, a copy of the base directory.
  std::filesystem::path fresh_root(const std::string& name) const {
    const auto root = scratch_.path() / name;
    std::filesystem::create_directory(root);
    std::filesystem::copy(base_job(), root / "job", std::filesystem::copy_options::recursive);
    return root;
  }

  ScratchDir scratch_;
  SnapshotSpec spec_;
};

TEST_P(PowerLoss, CommitAtEveryOperation) {
  std::vector<std::string> operations;
  {
    const auto root = fresh_root("count");
    DurableStateFileSystem fs(root);
    commit(root / "job", kNewStep, &fs);
    operations = fs.trace();
    std::filesystem::remove_all(root);
  }
  ASSERT_GT(operations.size(), 10u);
  std::cout << "[ ops      ] writing and committing step 3 at " << world() << " rank(s) makes " << operations.size()
            << " file-system operations" << std::endl;

  std::uint64_t new_step_survived = 0;
  for (std::uint64_t n = 1; n <= operations.size() + 1 && !HasFailure(); ++n) {
    const auto root = fresh_root("op-" + std::to_string(n));
    DurableStateFileSystem fs(root);
    fs.crash_before_operation(n);
    bool returned = false;
    try {
      commit(root / "job", kNewStep, &fs);
      returned = !fs.crashed();
    } catch (const Error& e) {
      EXPECT_TRUE(fs.crashed()) << "op " << n << ": the commit failed, not for the crash: " << e.what();
    }
    const std::string where = fs.crashed() ? fs.trace().back() : "after the commit returned";
    EXPECT_EQ(fs.crashed(), n <= operations.size()) << where << ": the operations differ from the counted run";
    fs.crash();

    const std::string context = "power lost before op " + std::to_string(n) + ": " + where;
    const std::uint64_t step =
        check_after_power_loss(root / "job", spec_, returned ? kNewStep : kNewStep - 1, kNewStep, context);
    if (step == kNewStep) ++new_step_survived;

    // The job restarts from what it found and commits the next step over
    // the debris (through the rebooted model, which skips the real fsyncs).
    commit(root / "job", step + 1, &fs);
    check_after_power_loss(root / "job", spec_, step + 1, step + 1, "restart after " + context);
    std::filesystem::remove_all(root);
  }
  if (HasFailure()) return;  // stopped at the first power loss that went wrong
  // Both outcomes happen: a test that never saw the new snapshot survive (or
  // never saw it lost) would not be testing the commit point.
  EXPECT_GT(new_step_survived, 0u);
  EXPECT_LT(new_step_survived, operations.size() + 1);
}

INSTANTIATE_TEST_SUITE_P(Ranks, PowerLoss, ::testing::Values(1, 2),
                         [](const auto& ranks) { return std::to_string(ranks.param) + "rank"; });

TEST_P(PowerLoss, ACommitWhoseLatestUpdateFailedIsDurable) {
  const auto root = fresh_root("latest-fails");
  FaultyFileSystem full;  // only LATEST is written with write_file
  full.fail_all(FsOp::write_file, ENOSPC);
  DurableStateFileSystem fs(root, full);
  StoreOptions options;
  options.fs = &fs;
  const SnapshotStore store(root / "job", options);
  const CommitResult result = store.commit(kNewStep, write_all_ranks(store, spec_, kNewStep, world()));
  ASSERT_TRUE(full.fired()) << "LATEST was written some other way: the test shows nothing";
  EXPECT_FALSE(result.warnings.empty());
  full.disarm();  // the disk is writable again after the reboot
  fs.crash();
  EXPECT_EQ(check_after_power_loss(root / "job", spec_, kNewStep, kNewStep, "LATEST not updated"), kNewStep)
      << "commit_snapshot returned, but its snapshot did not survive the power loss";
}

}  // namespace
}  // namespace lull::test
