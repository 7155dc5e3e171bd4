// One live job per snapshot directory (WriterLock, writer_lock.h): a second
// writer is refused with a message naming the directory and the holder; the
// lock dies with its process (kill -9 included), so it is never stale; a
// reader's look (holder()) neither takes nor drops it; commit_snapshot()
// refuses a directory another process holds; a child the holder forked does
// not keep the lock after the holder is killed. The same with two real jobs
// under mpirun is tests/runtime/shared_directory_test.py.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

SnapshotSpec tiny_spec() {
  SnapshotSpec spec;
  spec.tensors = {{"w", DType::f32, {6, 4}, 0}};
  spec.blobs = {{"rng", 8}};
  return spec;
}

void commit_tiny(const SnapshotStore& store, std::uint64_t step) {
  const auto reports = write_all_ranks(store, tiny_spec(), step, 2);
  for (const auto& r : reports) ASSERT_TRUE(r.ok()) << r.error;
  store.commit(step, reports);
}

// Another process holding the lock of `dir` as job `job` until it is
// killed (SIGKILL by the destructor, or by the test). With `fork_a_child`,
// it forks a child after taking the lock (as a program forks data-loader
// workers) that lives on, orphaned, until the test kills it.
class HoldingProcess {
 public:
  HoldingProcess(const std::filesystem::path& dir, const std::string& job, bool fork_a_child = false) {
    int ready[2];
    if (::pipe(ready) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      char status = 'L';
      WriterLock lock;
      try {
        lock = WriterLock::acquire(dir, job);
      } catch (...) {
        status = 'E';
      }
      pid_t child = 0;
      if (fork_a_child && status == 'L') {
        // The child gives up its share of the lock in a fork handler that
        // runs in the child, concurrently with this parent: wait until the
        // child runs its own code (the handler is done by then), so the test
        // never sees a lock the child has not yet let go of.
        int forked[2];
        if (::pipe(forked) != 0) status = 'F';
        child = status == 'L' ? ::fork() : -1;
        if (child == 0) {
          (void)::write(forked[1], "c", 1);
          for (;;) ::pause();
        }
        char running = 0;
        if (child < 0 || ::read(forked[0], &running, 1) != 1) status = 'F';
      }
      (void)::write(ready[1], &status, 1);
      (void)::write(ready[1], &child, sizeof child);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char status = 0;
    const ssize_t n = ::read(ready[0], &status, 1);
    const ssize_t m = ::read(ready[0], &child_, sizeof child_);
    ::close(ready[0]);
    holding_ = n == 1 && m == sizeof child_ && status == 'L';
  }
  ~HoldingProcess() {
    kill();
    if (child_ > 0) ::kill(child_, SIGKILL);  // reaped by init: it is not ours
  }
  HoldingProcess(const HoldingProcess&) = delete;
  HoldingProcess& operator=(const HoldingProcess&) = delete;

  bool holding() const noexcept { return holding_; }
  pid_t pid() const noexcept { return pid_; }
  pid_t child() const noexcept { return child_; }

  // SIGKILL and reap: the kernel has dropped the lock when this returns.
  void kill() noexcept {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  pid_t child_ = 0;
  bool holding_ = false;
};

// Nobody holds the lock of `dir` and the next job takes it at once.
void expect_free(const std::filesystem::path& dir, const char* why) {
  EXPECT_FALSE(WriterLock::holder(dir).has_value()) << why;
  WriterLock mine = WriterLock::acquire(dir, "next-job");
  EXPECT_TRUE(mine.held());
}

TEST(WriterLock, ASecondWriterIsRefusedNamingTheDirectoryAndTheHolder) {
  ScratchDir scratch("writer-lock");
  const SnapshotStore store(scratch.path() / "job");
  WriterLock first = WriterLock::acquire(store.dir(), "first-job");
  ASSERT_TRUE(first.held());
  EXPECT_TRUE(throws_error([&] { WriterLock::acquire(store.dir(), "second-job"); }, ErrorCode::in_use,
                           store.dir().string(), "job \"first-job\"", "pid " + std::to_string(::getpid()),
                           "one live job at a time"));
  first.release();
  WriterLock second = WriterLock::acquire(store.dir(), "second-job");
  EXPECT_TRUE(second.held());
  const auto holder = WriterLock::holder(store.dir());
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->job, "second-job");
}

TEST(WriterLock, HolderLooksWithoutTakingOrDroppingTheLock) {
  ScratchDir scratch("writer-lock-look");
  const SnapshotStore store(scratch.path() / "job");
  EXPECT_FALSE(WriterLock::holder(store.dir()).has_value()) << "no lock file yet";
  {
    WriterLock lock = WriterLock::acquire(store.dir(), "looked-at");
    for (int i = 0; i < 3; ++i) {
      const auto holder = WriterLock::holder(store.dir());  // opens and closes the lock file each time
      ASSERT_TRUE(holder.has_value());
      EXPECT_EQ(holder->job, "looked-at");
      EXPECT_EQ(holder->pid, static_cast<long>(::getpid()));
      EXPECT_FALSE(holder->host.empty());
      EXPECT_GT(holder->since_unix, 0);
    }
    // Still held after the looks: closing a reader's descriptor drops nothing.
    EXPECT_TRUE(throws_error([&] { WriterLock::acquire(store.dir(), "other"); }, ErrorCode::in_use, "looked-at"));
  }
  // Released: the file stays, the lock does not.
  EXPECT_TRUE(std::filesystem::exists(store.dir() / ".writer.lock"));
  EXPECT_FALSE(WriterLock::holder(store.dir()).has_value());
}

TEST(WriterLock, TheLockDiesWithItsProcessKilledBySigkill) {
  ScratchDir scratch("writer-lock-kill");
  const SnapshotStore store(scratch.path() / "job");
  HoldingProcess other(store.dir(), "killed-job");
  ASSERT_TRUE(other.holding());
  const auto holder = WriterLock::holder(store.dir());
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->pid, static_cast<long>(other.pid()));
  EXPECT_TRUE(throws_error([&] { WriterLock::acquire(store.dir(), "next-job"); }, ErrorCode::in_use, "killed-job",
                           "pid " + std::to_string(other.pid())));

  other.kill();
  expect_free(store.dir(), "a lock outlived its process");
}

// A forked child shares its parent's open file description, and with it an
// OFD lock: without the fork handler, a data-loader worker outliving a
// kill -9'd rank 0 would keep the directory locked for as long as it lives.
TEST(WriterLock, AChildTheHolderForkedDoesNotKeepTheLock) {
  ScratchDir scratch("writer-lock-fork");
  const SnapshotStore store(scratch.path() / "job");
  HoldingProcess other(store.dir(), "forking-job", /*fork_a_child=*/true);
  ASSERT_TRUE(other.holding());
  ASSERT_GT(other.child(), 0);
  // The fork took nothing from the holder.
  EXPECT_TRUE(throws_error([&] { WriterLock::acquire(store.dir(), "next-job"); }, ErrorCode::in_use, "forking-job"));

  other.kill();
  ASSERT_EQ(::kill(other.child(), 0), 0) << "the forked child is gone: the test shows nothing";
  expect_free(store.dir(), "the holder's forked child kept its lock");
}

TEST(WriterLock, CommitIsRefusedWhileAnotherProcessHoldsTheDirectory) {
  ScratchDir scratch("writer-lock-commit");
  const SnapshotStore store(scratch.path() / "job");
  commit_tiny(store, 1);
  const std::string root_before = read_whole_file(snapshot_dir(store, 1) / "root.h5");

  HoldingProcess other(store.dir(), "owner");
  ASSERT_TRUE(other.holding());
  const auto reports = write_all_ranks(store, tiny_spec(), 2, 2);
  EXPECT_TRUE(throws_error([&] { store.commit(2, reports); }, ErrorCode::in_use, "not committed",
                           store.dir().string(), "job \"owner\""));
  EXPECT_EQ(store.committed().size(), 1u);
  EXPECT_EQ(read_whole_file(snapshot_dir(store, 1) / "root.h5"), root_before) << "the owner's snapshot changed";

  // The lock's holder commits when it says so (even with the record gone,
  // as a full disk leaves it); a commit that does not is refused.
  other.kill();
  WriterLock mine = WriterLock::acquire(store.dir(), "me");
  write_whole_file(store.dir() / ".writer.lock", "");
  EXPECT_TRUE(throws_error([&] { store.commit(2, write_all_ranks(store, tiny_spec(), 2, 2)); }, ErrorCode::in_use,
                           "another job"));
  CommitOptions holding;
  holding.writer_lock = &mine;
  commit_snapshot(store.dir(), 3, write_all_ranks(store, tiny_spec(), 3, 2), holding);
  EXPECT_EQ(store.open_latest().step(), 3u);
}

TEST(WriterLock, AStoreThatLocksHoldsTheDirectoryForItsLife) {
  ScratchDir scratch("writer-lock-store");
  StoreOptions locking;
  locking.lock_as_job = "owner";
  {
    const SnapshotStore owner(scratch.path() / "job", locking);  // creates the directory, then locks it
    const SnapshotStore copy = owner;                              // shares the lock
    commit_tiny(owner, 1);
    EXPECT_TRUE(throws_error([&] { SnapshotStore(owner.dir(), locking); }, ErrorCode::in_use, "job \"owner\""));
    EXPECT_TRUE(throws_error([&] { commit_tiny(SnapshotStore(owner.dir()), 2); }, ErrorCode::in_use, "owner"));
    commit_tiny(copy, 3);
  }
  // Gone with the last copy: the next job locks and commits.
  const SnapshotStore next(scratch.path() / "job", locking);
  commit_tiny(next, 4);
  EXPECT_EQ(next.open_latest().step(), 4u);
}

TEST(WriterLock, AFifoUnderTheLockNameNeverBlocks) {
  ScratchDir scratch("writer-lock-fifo");
  const SnapshotStore store(scratch.path() / "job");
  ASSERT_EQ(::mkfifo((store.dir() / ".writer.lock").c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(WriterLock::holder(store.dir()).has_value());
  EXPECT_TRUE(throws_error([&] { WriterLock::acquire(store.dir(), "job"); }, ErrorCode::invalid_argument,
                           "not a regular file"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(WriterLock, AForgedRecordIsBoundedAndPrintable) {
  ScratchDir scratch("writer-lock-forged");
  const SnapshotStore store(scratch.path() / "job");
  HoldingProcess other(store.dir(), "real");
  ASSERT_TRUE(other.holding());
  // Someone rewrites the record: a long name with control characters.
  write_whole_file(store.dir() / ".writer.lock",
                   "{\"job\": \"\\u001b[2J" + std::string(3000, 'x') + "\", \"pid\": -5, \"since_unix\": 1e300}");
  const auto holder = WriterLock::holder(store.dir());
  ASSERT_TRUE(holder.has_value()) << "the lock is what counts, not the record";
  EXPECT_EQ(holder->job.substr(0, 4), "?[2J");
  EXPECT_EQ(holder->pid, 0);
  EXPECT_EQ(holder->since_unix, 0);
  EXPECT_LE(holder->describe().size(), 1024u);
  for (char c : holder->describe()) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

}  // namespace
}  // namespace lull::test
