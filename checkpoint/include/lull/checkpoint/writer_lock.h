#pragma once
// WriterLock — one live job per snapshot directory.
//
// The process that commits a job's snapshots (the runtime's rank 0) holds
// an exclusive lock on <dir>/.writer.lock for as long as the job runs. It is
// an open file description lock (fcntl F_OFD_SETLK): the kernel drops it
// when the process ends, however it ends (kill -9 included), so a lock is
// never stale; and it conflicts with every other open of the file, in this
// process too. A child the holder forks (a data-loader worker, a helper)
// would share the lock and keep it past a kill -9 of the holder for as long
// as it lives; so at fork() the child gives up its share (pthread_atfork):
// only the process that took the lock ever holds it. (A child started with
// exec never had it: the descriptor is close-on-exec.) The file records who holds it (job, pid, host, since), for
// the message the next job gets. A second job on the same directory fails to
// take it and stops before it writes anything, and commit_snapshot() refuses
// to commit into a locked directory unless it is given the lock
// (CommitOptions::writer_lock; a SnapshotStore opened with
// StoreOptions::lock_as_job takes it and passes it): a full disk may leave
// the record empty, so the lock itself, not the record, says whose it is.
//
// Readers (lull verify and inspect, restore, lull run's outcome check, the
// arbiter's snapshot watch) never take it; holder() only looks.
//
// Across nodes the lock is as good as the file system's locks: local file
// systems and NFS (Linux clients lock through NLM or NFSv4) see it from
// every node; Lustre only when mounted with -o flock (-o localflock locks
// per node). On a file system without locks at all, acquire() logs a
// warning and returns a lock that holds nothing.
//
// Like the pending directories' locks it works on the lock file directly,
// not through FileSystem: a lock is the kernel's record of a live process,
// nothing a simulated crash or failing disk could drop (file_system.h).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "lull/base/unique_fd.h"

namespace lull {

// Who holds a snapshot directory's writer lock, as recorded in the lock
// file (read from disk: bounded and sanitized, never trusted for more).
struct WriterLockHolder {
  std::string job;       // empty when the file does not say
  long pid = 0;          // 0 when the file does not say
  std::string host;
  double since_unix = 0;

  // "job \"train\" (pid 4242 on node7, since 2025-05-01T12:34:56Z)"
  std::string describe() const;
};

class WriterLock {
 public:
  WriterLock() = default;
  ~WriterLock() { release(); }
  WriterLock(WriterLock&& other) noexcept = default;
  WriterLock& operator=(WriterLock&& other) noexcept {
    if (this != &other) {
      release();
      fd_ = std::move(other.fd_);
    }
    return *this;
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // Takes the lock of the snapshot directory `dir` (which must exist)
  // without waiting, and records `job` and this process in it. Throws
  // Error(in_use) naming the directory and the holder when another open of
  // the lock file holds it; Error(io) when the lock file cannot be opened.
  static WriterLock acquire(const std::filesystem::path& dir, std::string_view job);

  // Who holds the lock of `dir` now, without taking it (a reader's look);
  // nullopt when nobody does or there is no lock file. Never blocks, never
  // throws.
  static std::optional<WriterLockHolder> holder(const std::filesystem::path& dir) noexcept;

  // In a child forked since acquire() (which holds nothing), still true.
  bool held() const noexcept { return fd_.valid(); }
  // Drops the lock now (the file stays). Never throws; idempotent.
  void release() noexcept;

 private:
  explicit WriterLock(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace lull
