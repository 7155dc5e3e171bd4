#include "pending_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "layout.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"

namespace lull::detail {

PendingLock PendingLock::shared(const std::filesystem::path& pending_dir) {
  auto path = pending_dir / kLockFile;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) throw_errno("open", path.string());
  if (::flock(fd.get(), LOCK_SH) != 0) throw_errno("flock", path.string());
  PendingLock lock(std::move(fd));
  lock.path_ = path;
  return lock;
}

PendingLock PendingLock::try_exclusive(const std::filesystem::path& pending_dir) noexcept {
  auto path = pending_dir / kLockFile;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return PendingLock();
  return PendingLock(std::move(fd));
}

bool PendingLock::still_linked() const noexcept {
  if (!fd_.valid()) return false;
  struct stat held {}, linked {};
  if (::fstat(fd_.get(), &held) != 0) return false;
  if (held.st_nlink == 0) return false;
  return path_.empty() || (::stat(path_.c_str(), &linked) == 0 && linked.st_ino == held.st_ino &&
                           linked.st_dev == held.st_dev);
}

PendingLock PendingLock::join(FileSystem& fs, const std::filesystem::path& pending_dir, mode_t dir_mode) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    fs.make_dir(pending_dir, dir_mode);
    PendingLock lock = shared(pending_dir);
    if (lock.still_linked()) return lock;
  }
  throw Error(ErrorCode::io, "could not lock " + pending_dir.string() +
                                 ": another process keeps removing it (two jobs sharing one snapshot directory?)");
}

}  // namespace lull::detail
