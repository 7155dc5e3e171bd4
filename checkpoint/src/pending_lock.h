#pragma once
// PendingLock — who is still writing a pending snapshot directory.
//
// Every writer (and the committer) holds a shared flock(2) on
// <pending>/.lock while it works; the kernel drops it when the process dies,
// SIGKILL included. A cleaner that can take the lock exclusively knows no
// live process is writing there.
//
// The lock file is opened and locked here, not through FileSystem: a flock
// is the kernel's record of a live process, not state on disk, so a
// simulated crash or failing disk has nothing to act on, and the empty
// lock file's durability does not matter (file_system.h says more). The
// directory it guards is made through FileSystem.

#include <sys/types.h>

#include <filesystem>
#include <utility>

#include "lull/base/file_system.h"
#include "lull/base/unique_fd.h"

namespace lull::detail {

class PendingLock {
 public:
  PendingLock() = default;
  // Ensures `pending_dir` exists (mode `dir_mode`, through `fs`) and holds a
  // shared lock on it that no cleaner can slip under.
  static PendingLock join(FileSystem& fs, const std::filesystem::path& pending_dir, mode_t dir_mode);
  // Creates <pending>/.lock (0600) if needed and takes a shared lock on it.
  // Throws lull::Error on failure.
  static PendingLock shared(const std::filesystem::path& pending_dir);
  // Tries to take an exclusive lock without waiting; an invalid lock when
  // someone holds it or the lock file does not exist.
  static PendingLock try_exclusive(const std::filesystem::path& pending_dir) noexcept;

  bool held() const noexcept { return fd_.valid(); }
  // True when the locked file is still the directory's .lock: a cleaner may
  // have removed the directory between our open() and our flock(), in which
  // case the caller recreates the directory and locks again.
  bool still_linked() const noexcept;
  void release() noexcept { fd_.reset(); }  // closing drops the flock

 private:
  explicit PendingLock(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::filesystem::path path_;  // the lock file, for still_linked()
};

}  // namespace lull::detail
