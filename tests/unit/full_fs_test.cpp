// A file system that refuses: the new snapshot fails with a clear
// lull::Error (the system's own words: "No space left on device"), releases
// everything it opened (no HDF5 object, no file descriptor, no partial file
// or pending directory left: a full disk gets its space back), and the
// previous one stays latest, opens and verifies.
//
// Two ways, as the issue asks to say which:
//   FullTmpfs.*      a REAL full file system: a 4 MiB tmpfs mounted for the
//                    test (needs root/CAP_SYS_ADMIN; skipped with the reason
//                    otherwise). Covers HDF5's own metadata writes too (lull's
//                    HDF5 write driver), at every fill level from a full disk
//                    to one that just fits a snapshot.
//   InjectedFault.*  the fault-injection seam: FaultyFileSystem (tests/
//                    support/fault_file_systems.h) wraps FileSystem::posix()
//                    and fails the n-th write_at (HDF5's own included) / file
//                    sync / sync_file / sync_dir / rename / write_file /
//                    make_dir / open_file / create_file / file truncate /
//                    set_mode with ENOSPC, EIO or EMFILE, for every n the
//                    protocol reaches (sampled when there are many): what a
//                    real disk cannot show on demand (a failing fsync, the
//                    n-th write of one kind, a failure after the commit point).

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

namespace lull::test {
namespace {

SnapshotSpec small_spec() {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {64, 32}, 0}, {"b", DType::f64, {10}, -1}, {"ids", DType::i64, {4, 9}, 1}};
  spec.blobs = {{"rng", 24}};
  return spec;
}

// Tensors of `mib` MiB in all (f32, sharded over the ranks).
SnapshotSpec big_spec(std::uint64_t mib) {
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

std::ostream& operator<<(std::ostream& out, const Held& held) {
  return out << held.descriptors << " descriptors, " << held.hdf5_objects << " HDF5 objects";
}

Held held_now() {
  Held held;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++held.descriptors;
  held.hdf5_objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  return held;
}

// Pending directories and partial files left in `dir` (none may be, after
// a snapshot failed: they hold space and no reader wants them).
std::vector<std::string> debris(const std::filesystem::path& dir) {
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
Outcome try_snapshot(const SnapshotStore& store, const SnapshotSpec& spec, std::uint64_t step, int world) {
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
void expect_latest_intact(const std::filesystem::path& dir, const SnapshotSpec& spec, std::uint64_t step) {
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

// ---- a real full file system -----------------------------------------------

class FullTmpfs : public ::testing::Test {
 protected:
  FullTmpfs() : scratch_("tmpfs") {}

  void SetUp() override {
    mount_point_ = scratch_.path() / "mnt";
    std::filesystem::create_directory(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=4m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a 4 MiB tmpfs at " << mount_point_ << " (" << std::strerror(errno)
                   << "): needs root or CAP_SYS_ADMIN; the full-disk case is then covered only by InjectedFault";
    }
    mounted_ = true;
  }

  void TearDown() override {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }

  ScratchDir scratch_;
  std::filesystem::path mount_point_;
  bool mounted_ = false;
};

TEST_F(FullTmpfs, SnapshotLargerThanTheDiskFailsClearlyAndThePreviousSurvives) {
  const auto dir = mount_point_ / "job";
  const SnapshotStore store(dir);
  const SnapshotSpec small = small_spec();
  ASSERT_FALSE(try_snapshot(store, small, 1, 2).has_value());

  const Held before = held_now();
  const auto failure = try_snapshot(store, big_spec(8), 2, 2);  // 8 MiB onto 4 MiB
  ASSERT_TRUE(failure.has_value()) << "an 8 MiB snapshot was committed to a 4 MiB file system";
  EXPECT_EQ(held_now(), before) << "the failed snapshot left something open";
  EXPECT_EQ(joined(debris(dir)), "") << "the failed snapshot left files behind";
  std::cout << "[ error    ] " << error_code_name(failure->code()) << ": " << failure->what() << std::endl;
  EXPECT_EQ(failure->code(), ErrorCode::io) << failure->what();
  EXPECT_TRUE(contains(failure->what(), "No space left on device")) << failure->what();
  EXPECT_TRUE(contains(failure->what(), "free space")) << "the error does not say what to do: " << failure->what();
  expect_latest_intact(dir, small, 1);

  // The failure gave the space back: the next snapshot fits.
  ASSERT_FALSE(try_snapshot(store, small, 3, 2).has_value());
  expect_latest_intact(dir, small, 3);
}

TEST_F(FullTmpfs, DiskFillingUpBeforeTheCommitFailsIt) {
  const auto dir = mount_point_ / "job";
  const SnapshotStore store(dir);
  const SnapshotSpec spec = small_spec();
  ASSERT_FALSE(try_snapshot(store, spec, 1, 2).has_value());
  // Shards of step 2 are durable; then someone else fills the disk.
  const auto reports = write_all_ranks(store, spec, 2, 2);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  {
    std::FILE* filler = std::fopen((mount_point_ / "filler").c_str(), "wb");
    ASSERT_NE(filler, nullptr);
    std::vector<char> chunk(4096, 'f');
    while (std::fwrite(chunk.data(), 1, chunk.size(), filler) == chunk.size() && std::fflush(filler) == 0) {
    }
    std::fclose(filler);
  }
  const Held before = held_now();
  try {
    store.commit(2, reports);
    // tmpfs may still have had room for the small root file; then the
    // commit is complete and must be intact.
    expect_latest_intact(dir, spec, 2);
  } catch (const Error& e) {
    std::cout << "[ error    ] " << error_code_name(e.code()) << ": " << e.what() << std::endl;
    EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
    EXPECT_TRUE(contains(e.what(), "No space left on device")) << e.what();
    EXPECT_TRUE(contains(e.what(), "root.h5")) << "the error does not name the file: " << e.what();
    EXPECT_EQ(joined(debris(dir)), "") << "the failed commit left its shards behind";
    expect_latest_intact(dir, spec, 1);
  }
  EXPECT_EQ(held_now(), before);
  std::filesystem::remove(mount_point_ / "filler");
}

// Leaves `free_bytes` (rounded to pages) of the file system at `mount`
// free by allocating the rest to one filler file.
void fill_leaving(const std::filesystem::path& mount, std::uint64_t free_bytes) {
  struct statvfs fs {};
  ASSERT_EQ(::statvfs(mount.c_str(), &fs), 0);
  const std::uint64_t available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  ASSERT_GE(available, free_bytes) << "the disk already has less room than that";
  const int fd = ::open((mount / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  if (available > free_bytes) {
    EXPECT_EQ(::posix_fallocate(fd, 0, static_cast<off_t>(available - free_bytes)), 0);
  }
  ::close(fd);
}

// ENOSPC at every point a snapshot can hit it: in a shard's data (the
// checksum thread hashing it meanwhile), in HDF5's metadata of a shard or of
// the root file (written by HDF5 itself when it flushes or closes a file),
// in the manifest, in LATEST. Whatever the disk has room for, the snapshot
// either commits whole or fails with the system's message and releases
// everything; the previous snapshot stays latest and intact.
std::uint64_t used_bytes(const std::filesystem::path& mount) {
  struct statvfs fs {};
  EXPECT_EQ(::statvfs(mount.c_str(), &fs), 0);
  return static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
}

TEST_F(FullTmpfs, EveryFillLevelFailsCleanlyOrCommitsWhole) {
  const auto dir = mount_point_ / "job";
  const SnapshotStore store(dir);
  ASSERT_FALSE(try_snapshot(store, small_spec(), 1, 2).has_value());
  // Each rank's share of "big" (512 KiB) goes through the checksum thread.
  const SnapshotSpec spec = big_spec(1);
  // What one snapshot takes, measured: the levels around it are where the
  // data fits and HDF5's own metadata, the root file or LATEST do not.
  const std::uint64_t used_before = used_bytes(mount_point_);
  ASSERT_FALSE(try_snapshot(store, spec, 2, 2).has_value());
  const std::uint64_t needed = used_bytes(mount_point_) - used_before;
  constexpr std::uint64_t kPage = 4096;
  std::vector<std::uint64_t> levels;
  for (std::uint64_t free = 0; free + 48 * kPage < needed; free += needed / 8) levels.push_back(free);
  for (std::uint64_t free = needed - 48 * kPage; free <= needed + 2 * kPage; free += kPage) levels.push_back(free);

  std::uint64_t step = 3, latest = 2;
  int failures = 0, inside_hdf5 = 0, commits = 0;
  for (const std::uint64_t free : levels) {
    SCOPED_TRACE(std::to_string(free / kPage) + " pages free of the " + std::to_string(needed / kPage) +
                 " a snapshot takes, step " + std::to_string(step));
    fill_leaving(mount_point_, free);
    const Held before = held_now();
    const Outcome outcome = try_snapshot(store, spec, step, 2);
    EXPECT_EQ(held_now(), before) << "the snapshot left something open";
    if (outcome.has_value()) {
      ++failures;
      if (contains(outcome->what(), "a write of HDF5's own")) ++inside_hdf5;
      EXPECT_EQ(outcome->code(), ErrorCode::io) << outcome->what();
      EXPECT_TRUE(contains(outcome->what(), "No space left on device")) << outcome->what();
      EXPECT_EQ(joined(debris(dir)), "") << "the failed snapshot left files behind";
      expect_latest_intact(dir, spec, latest);
    } else {
      ++commits;
      for (const auto& w : outcome.warnings) {
        EXPECT_TRUE(contains(w, "No space left on device")) << "a housekeeping failure other than ENOSPC: " << w;
      }
      expect_latest_intact(dir, spec, step);
      latest = step;
    }
    std::filesystem::remove(mount_point_ / "filler");
    ++step;
  }
  std::cout << "[ levels   ] " << levels.size() << " fill levels around a snapshot of " << needed / kPage
            << " pages: " << failures << " failed cleanly (" << inside_hdf5 << " inside HDF5's own writes), "
            << commits << " committed" << std::endl;
  EXPECT_GT(inside_hdf5, 0) << "no level made HDF5's own metadata writes fail: the levels miss the case";
  EXPECT_GT(commits, 0) << "no fill level had room for the snapshot: the levels are off";
}

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
