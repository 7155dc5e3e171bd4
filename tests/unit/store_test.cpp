// The snapshot directory as a whole: permissions (0700 directories, 0600
// files, a world-writable directory refused), retention (keep=K keeps the
// newest K, deleting only after the new one is durable), the LATEST hint,
// and removal of leftovers (.trash-*, .pending-* of writers that are gone)
// without touching a snapshot still being written in this process.
// Leftovers of writers in other, live or killed, processes are tested with
// real processes in tests/integration/crash_consistency_test.cpp. Then the
// job's identity: a snapshot records the job that wrote it, and a reader
// that names its job (as a restore does) passes over another job's.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

SnapshotSpec tiny_spec() {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {6, 4}, 0}, {"s", DType::i32, {}, -1}};
  spec.blobs = {{"rng", 8}};
  return spec;
}

void commit_tiny(const SnapshotStore& store, std::uint64_t step, int world = 2) {
  const auto reports = write_all_ranks(store, tiny_spec(), step, world);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  store.commit(step, reports);
}

std::vector<std::uint64_t> committed_steps(const SnapshotStore& store) {
  std::vector<std::uint64_t> steps;
  for (const auto& e : store.committed()) steps.push_back(e.step);
  return steps;
}

// Restores the umask when the test ends.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : saved_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(saved_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t saved_;
};

// ---- security --------------------------------------------------------------

TEST(StoreSecurity, DirectoriesAre0700AndFiles0600EvenWithAPermissiveUmask) {
  ScratchDir scratch("security");
  const UmaskGuard umask_zero(0);  // the modes must not come from the umask
  const SnapshotStore store(scratch.path() / "job");
  commit_tiny(store, 1);
  commit_tiny(store, 2);
  EXPECT_EQ(mode_of(store.dir()), 0700u);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(store.dir())) {
    const unsigned mode = mode_of(entry.path());
    if (entry.is_directory()) {
      EXPECT_EQ(mode, 0700u) << entry.path() << " has mode " << std::oct << mode;
    } else if (entry.is_regular_file()) {
      ++files;
      EXPECT_EQ(mode, 0600u) << entry.path() << " has mode " << std::oct << mode;
    }
  }
  EXPECT_GE(files, 2u * 3u);  // root + 2 shards per snapshot, at least
}

TEST(StoreSecurity, WriterAloneCreatesAPrivateDirectory) {
  ScratchDir scratch("security-writer");
  const UmaskGuard umask_zero(0);
  const auto dir = scratch.path() / "nested" / "job";
  std::filesystem::create_directories(dir.parent_path());
  std::vector<ShardReport> reports;
  {
    SnapshotWriter writer(dir, 1, 0, 1);
    const float v = 1;
    writer.write_tensor("v", DType::f32, {1}, {0}, {1}, &v);
    reports.push_back(writer.finish());
  }
  EXPECT_EQ(mode_of(dir), 0700u);
  const CommitResult result = commit_snapshot(dir, 1, reports);
  EXPECT_EQ(mode_of(result.path), 0700u);
  EXPECT_EQ(mode_of(result.root_file), 0600u);
  EXPECT_EQ(mode_of(result.path / reports[0].file), 0600u);
}

TEST(StoreSecurity, WorldWritableDirectoryIsRefused) {
  ScratchDir scratch("security-world");
  for (const unsigned mode : {0777u, 0703u, 01777u}) {
    const auto dir = scratch.path() / ("open-" + std::to_string(mode));
    std::filesystem::create_directory(dir);
    ASSERT_EQ(::chmod(dir.c_str(), mode), 0);
    EXPECT_TRUE(throws_error([&] { SnapshotStore store(dir); }, ErrorCode::invalid_argument, "writable"))
        << "mode " << std::oct << mode;
  }
  // Group-writable is the owner's choice; only others are the threat.
  const auto group = scratch.path() / "group";
  std::filesystem::create_directory(group);
  ASSERT_EQ(::chmod(group.c_str(), 0770), 0);
  EXPECT_NO_THROW(SnapshotStore store(group));
}

TEST(StoreSecurity, AFileWhereTheDirectoryShouldBeIsRefused) {
  ScratchDir scratch("security-file");
  const auto file = scratch.path() / "job";
  write_whole_file(file, "not a directory");
  EXPECT_TRUE(throws_error([&] { SnapshotStore store(file); }, ErrorCode::invalid_argument));
}

// ---- retention -------------------------------------------------------------

TEST(StoreRetention, KeepsTheNewestK) {
  for (const int keep : {1, 2, 3}) {
    SCOPED_TRACE("keep=" + std::to_string(keep));
    ScratchDir scratch("retention");
    StoreOptions options;
    options.keep = keep;
    const SnapshotStore store(scratch.path() / "job", options);
    for (std::uint64_t step = 1; step <= 5; ++step) {
      const auto reports = write_all_ranks(store, tiny_spec(), step * 10, 2);
      const CommitResult result = store.commit(step * 10, reports);
      const auto k = static_cast<std::uint64_t>(keep);
      std::vector<std::uint64_t> expected;
      for (std::uint64_t s = step; s >= 1 && expected.size() < k; --s) expected.push_back(s * 10);
      EXPECT_EQ(committed_steps(store), expected) << "after step " << step * 10;
      if (step > k) {
        EXPECT_EQ(result.removed_steps, std::vector<std::uint64_t>{(step - k) * 10});
      } else {
        EXPECT_TRUE(result.removed_steps.empty());
      }
    }
    // What retention removed is gone from disk, and nothing is left behind.
    std::size_t step_dirs = 0;
    for (const auto& name : names_in(store.dir())) {
      if (name.rfind("step-", 0) == 0) ++step_dirs;
      EXPECT_TRUE(name.rfind(".trash", 0) != 0 && name.rfind(".pending", 0) != 0) << "leftover " << name;
    }
    EXPECT_EQ(step_dirs, static_cast<std::size_t>(keep));
    EXPECT_TRUE(throws_error([&] { store.open_step(10); }, ErrorCode::not_found));
    SnapshotReader reader = store.open_latest();
    EXPECT_EQ(reader.step(), 50u);
    EXPECT_EQ(join_lines(check_snapshot(reader, tiny_spec(), 50)), "");
  }
}

TEST(StoreRetention, CommitOptionsKeepApplies) {
  ScratchDir scratch("retention-options");
  const auto dir = scratch.path() / "job";
  CommitOptions options;
  options.keep = 1;
  for (std::uint64_t step = 1; step <= 3; ++step) {
    std::vector<ShardReport> reports;
    SnapshotWriter writer(dir, step, 0, 1);
    write_rank(writer, tiny_spec(), step, 0, 1);
    reports.push_back(writer.finish());
    commit_snapshot(dir, step, reports, options);
  }
  const SnapshotStore store(dir);
  EXPECT_EQ(committed_steps(store), std::vector<std::uint64_t>{3});
}

TEST(StoreRetention, CommittedIsNewestFirstAndLatestNamesTheNewest) {
  ScratchDir scratch("retention-latest");
  StoreOptions options;
  options.keep = 10;
  const SnapshotStore store(scratch.path() / "job", options);
  for (const std::uint64_t step : {3u, 9u, 100u, 1000000000u}) commit_tiny(store, step);
  EXPECT_EQ(committed_steps(store), (std::vector<std::uint64_t>{1000000000u, 100, 9, 3}));
  const auto latest = store.dir() / "LATEST";
  ASSERT_TRUE(std::filesystem::exists(latest)) << joined(names_in(store.dir()));
  EXPECT_TRUE(contains(read_whole_file(latest), store.committed().front().path.filename().string()))
      << read_whole_file(latest);
  EXPECT_EQ(store.open_latest().step(), 1000000000u);
}

// snapshot_store.h: "LATEST — name of the newest committed snapshot (a hint
// for tools; the step-* names are the truth)", and open_latest() gives "the
// newest committed snapshot that passes": a LATEST that lags behind (a crash
// between the rename of step-N and the LATEST update) must not hide step N.
TEST(StoreRetention, AStaleLatestHintDoesNotMatter) {
  ScratchDir scratch("retention-stale");
  const SnapshotStore store(scratch.path() / "job");
  commit_tiny(store, 1);
  commit_tiny(store, 2);
  write_whole_file(store.dir() / "LATEST", "step-000000000001\n");
  EXPECT_EQ(store.open_latest().step(), 2u);
  std::filesystem::remove(store.dir() / "LATEST");
  EXPECT_EQ(store.open_latest().step(), 2u);
  commit_tiny(store, 3);
  EXPECT_EQ(store.open_latest().step(), 3u);
}

TEST(StoreRetention, RecommittingAStepReplacesItWhole) {
  // A job resumed from an older snapshot reaches a step it had committed
  // before: the new content replaces the old, never a mix of both.
  ScratchDir scratch("retention-recommit");
  const SnapshotStore store(scratch.path() / "job");
  commit_tiny(store, 1);
  commit_tiny(store, 2);
  SnapshotSpec other = tiny_spec();
  other.tensors.push_back({"extra", DType::u8, {5}, 0});
  const auto reports = write_all_ranks(store, other, 2, 3);  // another world size too
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  store.commit(2, reports);
  EXPECT_EQ(committed_steps(store), (std::vector<std::uint64_t>{2, 1}));
  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(reader.step(), 2u);
  EXPECT_EQ(reader.world_size(), 3);
  EXPECT_EQ(join_lines(check_snapshot(reader, other, 2)), "");
  EXPECT_TRUE(reader.verify().ok());
  for (const auto& name : names_in(store.dir())) {
    EXPECT_TRUE(name.rfind(".trash", 0) != 0 && name.rfind(".pending", 0) != 0) << "leftover " << name;
  }
}

TEST(StoreRetention, AHigherStepStaysUnlessTheCommitDiscardsNewerOnes) {
  // A run that commits a lower step (it did not resume, or counts from 1
  // again) must not cost the work of a higher one: retention never counts
  // or removes it. Only a deliberate rollback (discard_newer) does.
  ScratchDir scratch("retention-higher");
  StoreOptions keep_one;
  keep_one.keep = 1;
  const SnapshotStore store(scratch.path() / "job", keep_one);
  commit_tiny(store, 500);
  const CommitResult lower = store.commit(1, write_all_ranks(store, tiny_spec(), 1, 2));
  EXPECT_TRUE(lower.removed_steps.empty());
  commit_tiny(store, 2);
  EXPECT_EQ(committed_steps(store), (std::vector<std::uint64_t>{500, 2})) << "step 1 goes (keep 1), 500 stays";
  EXPECT_EQ(store.open_latest().step(), 500u);

  StoreOptions rollback = keep_one;
  rollback.discard_newer = true;
  rollback.create = false;
  const SnapshotStore rolling_back(store.dir(), rollback);
  const CommitResult result = rolling_back.commit(3, write_all_ranks(rolling_back, tiny_spec(), 3, 2));
  EXPECT_EQ(result.removed_steps, (std::vector<std::uint64_t>{500, 2}));
  EXPECT_EQ(committed_steps(store), std::vector<std::uint64_t>{3});
  EXPECT_EQ(store.open_latest().step(), 3u);
}

// ---- leftovers ---------------------------------------------------------------

TEST(StoreLeftovers, TrashAndAbandonedPendingDirectoriesAreRemoved) {
  ScratchDir scratch("leftovers");
  const SnapshotStore store(scratch.path() / "job");
  commit_tiny(store, 1);
  const std::vector<std::string> leftovers = {".trash-step-000000000000-1234", ".pending-step-000000000007-99",
                                              ".trash-x"};
  for (const auto& name : leftovers) {
    std::filesystem::create_directory(store.dir() / name);
    std::filesystem::permissions(store.dir() / name, std::filesystem::perms::owner_all);
    write_whole_file(store.dir() / name / "shard-00000.h5", std::string(1000, 'x'));
    // Left by a crash two hours ago (a pending directory without a lock
    // file may be one still being created, for a short while).
    std::filesystem::last_write_time(store.dir() / name,
                                     std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  }
  // A writer that started and was abandoned without finish() in this
  // process (its destructor leaves the shard for cleanup).
  {
    SnapshotWriter abandoned = store.writer(8, 0, 1);
    const float v = 1;
    abandoned.write_tensor("v", DType::f32, {1}, {0}, {1}, &v);
  }
  auto removed = store.remove_leftovers();
  std::sort(removed.begin(), removed.end());
  for (const auto& name : leftovers) {
    EXPECT_TRUE(std::find(removed.begin(), removed.end(), name) != removed.end())
        << name << " not reported removed; removed: " << joined(removed);
  }
  for (const auto& name : names_in(store.dir())) {
    EXPECT_TRUE(name.rfind(".trash", 0) != 0 && name.rfind(".pending", 0) != 0)
        << "leftover " << name << " survived; directory: " << joined(names_in(store.dir()));
  }
  EXPECT_EQ(store.open_latest().step(), 1u);
  EXPECT_TRUE(store.remove_leftovers().empty());
}

TEST(StoreLeftovers, AWriterAliveInThisProcessSurvivesCleanupAndCommits) {
  // Asynchronous checkpointing: step 2 is still being written while step 1
  // commits (and commit removes leftovers). Step 2 must survive and commit.
  ScratchDir scratch("leftovers-live");
  const SnapshotStore store(scratch.path() / "job");
  SnapshotWriter step2_rank0 = store.writer(2, 0, 2);
  write_rank(step2_rank0, tiny_spec(), 2, 0, 2);
  commit_tiny(store, 1);
  store.remove_leftovers();
  SnapshotWriter step2_rank1 = store.writer(2, 1, 2);
  write_rank(step2_rank1, tiny_spec(), 2, 1, 2);
  std::vector<ShardReport> reports;
  ASSERT_NO_THROW(reports.push_back(step2_rank0.finish()))
      << "the pending shard of a live writer was removed by cleanup; directory: " << joined(names_in(store.dir()));
  reports.push_back(step2_rank1.finish());
  ASSERT_NO_THROW(store.commit(2, reports)) << joined(names_in(store.dir()));
  SnapshotReader reader = store.open_latest();
  EXPECT_EQ(reader.step(), 2u);
  EXPECT_EQ(join_lines(check_snapshot(reader, tiny_spec(), 2)), "");
}

// ---- the job that wrote a snapshot ------------------------------------------

// Commits `step` at one rank with `job` recorded as the runtime records it;
// no job recorded when `job` is empty.
void commit_of_job(const SnapshotStore& store, std::uint64_t step, const std::string& job) {
  SnapshotWriter writer = store.writer(step, 0, 1);
  write_rank(writer, tiny_spec(), step, 0, 1);
  if (!job.empty()) writer.set_metadata(kJobMetadataKey, job);
  store.commit(step, {writer.finish()});
}

TEST(StoreJobIdentity, AReaderThatNamesItsJobPassesOverAnotherJobsSnapshots) {
  ScratchDir scratch("store-job");
  StoreOptions options;
  options.keep = 5;
  const SnapshotStore store(scratch.path() / "store", options);
  commit_of_job(store, 1, "resnet");
  commit_of_job(store, 2, "bert");  // another job's, newer
  commit_of_job(store, 3, "");      // written without a job name
  EXPECT_EQ(store.open_latest().step(), 3u) << "without a job named, any snapshot is the latest";
  EXPECT_EQ(store.open_step(2).job(), "bert");
  EXPECT_EQ(store.open_step(3).job(), "");

  std::vector<RejectedSnapshot> rejected;
  SnapshotReader reader = store.open_latest(Verification::full, &rejected, "resnet");
  EXPECT_EQ(reader.step(), 1u);
  EXPECT_EQ(reader.job(), "resnet");
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].step, 3u);
  EXPECT_TRUE(contains(rejected[0].reason, "recorded no job name")) << rejected[0].reason;
  EXPECT_TRUE(contains(rejected[0].reason, "not by job \"resnet\"")) << rejected[0].reason;
  EXPECT_EQ(rejected[1].step, 2u);
  EXPECT_TRUE(contains(rejected[1].reason, "written by job \"bert\", not by job \"resnet\""))
      << rejected[1].reason;
  EXPECT_TRUE(throws_error([&] { store.open_step(2, Verification::structure, "resnet"); }, ErrorCode::corrupt,
                           "step 2", "job \"bert\"", "job \"resnet\""));
  EXPECT_TRUE(throws_error([&] { store.open_step(2).check_job("resnet"); }, ErrorCode::corrupt, "bert", "resnet"));
  EXPECT_NO_THROW(store.open_step(2).check_job("bert"));
  EXPECT_TRUE(throws_error([&] { store.open_latest(Verification::full, nullptr, "gpt"); }, ErrorCode::not_found,
                           "no usable snapshot"));
}

}  // namespace
}  // namespace lull::test
