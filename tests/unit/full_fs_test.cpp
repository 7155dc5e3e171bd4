// A file system that refuses: the new snapshot fails with a clear
// lull::Error (the system's own words: "No space left on device"), releases
// everything it opened (no HDF5 object, no file descriptor, no partial file
// or pending directory left: a full disk gets its space back), and the
// previous one stays latest, opens and verifies.
//
// Two ways:
//   FullTmpfs.*      here: a REAL full file system: a 4 MiB tmpfs mounted for
//                    the test (needs root/CAP_SYS_ADMIN; skipped with the
//                    reason otherwise). Covers HDF5's own metadata writes too
//                    (lull's HDF5 write driver), at every fill level from a
//                    full disk to one that just fits a snapshot.
//   InjectedFault.*  injected_fault_test.cpp: the fault-injection seam.


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

}  // namespace
}  // namespace lull::test
