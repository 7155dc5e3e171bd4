#include "lull/checkpoint/writer_lock.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <nlohmann/json.hpp>

#include "layout.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/notice_file.h"
#include "lull/base/utc_time.h"

namespace lull {

using detail::kWriterLockFile;

namespace {

constexpr std::size_t kMaxRecordBytes = 4096;
constexpr std::size_t kMaxFieldChars = 256;

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// Text read from disk, made safe to print: printable ASCII, bounded.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, kMaxFieldChars)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

// Whole-file lock of the given type (F_WRLCK to take it, to test for it).
struct flock whole_file(short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  return lock;  // l_start = l_len = 0: the whole file, however it grows
}

WriterLockHolder read_record(int fd) noexcept {
  WriterLockHolder holder;
  char buffer[kMaxRecordBytes];
  const ssize_t n = ::pread(fd, buffer, sizeof buffer, 0);
  if (n <= 0) return holder;
  const auto doc = nlohmann::json::parse(buffer, buffer + n, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return holder;
  try {
    if (auto it = doc.find("job"); it != doc.end() && it->is_string()) holder.job = printable(it->get<std::string>());
    if (auto it = doc.find("host"); it != doc.end() && it->is_string()) holder.host = printable(it->get<std::string>());
    if (auto it = doc.find("pid"); it != doc.end() && it->is_number_integer()) {
      const auto pid = it->get<std::int64_t>();
      holder.pid = pid > 0 && pid <= INT_MAX ? static_cast<long>(pid) : 0;
    }
    if (auto it = doc.find("since_unix"); it != doc.end() && it->is_number()) {
      const double since = it->get<double>();
      holder.since_unix = std::isfinite(since) && since > 0 && since < 1e11 ? since : 0;
    }
  } catch (...) {
    // a field of an unexpected type: keep what was read
  }
  return holder;
}

// Records the holder for the next job's message. A failure here (a full
// disk) costs only that message: the lock is what protects the directory.
void write_record(int fd, std::string_view job) noexcept {
  try {
    const std::string text = nlohmann::json{{"job", std::string(job)},
                                            {"pid", static_cast<std::int64_t>(::getpid())},
                                            {"host", this_host()},
                                            {"since_unix", unix_time_now()}}
                                 .dump() +
                             "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      log::debug("could not record the writer in the lock file: " + std::to_string(errno));
    }
  } catch (...) {
    log::debug("could not record the writer in the lock file");
  }
}

// The descriptors of the locks this process holds, for the fork handler
// below (the one mutable global here: a fork handler has no other way to
// find them). A lock taken when every slot is full is still taken; only a
// forked child would then share it.
constexpr std::size_t kMaxHeldLocks = 16;
// Each slot is a held descriptor plus one; 0 is an empty slot (a static is
// zero-initialized before anything runs).
std::array<std::atomic<int>, kMaxHeldLocks> g_held_fds_plus_one;

// In a forked child: every held lock's descriptor is pointed at /dev/null
// instead of closed, so its number stays taken (the child's WriterLock
// closes it later) while the child's share of the lock is gone. Only
// async-signal-safe calls: the child of a multithreaded process may run
// nothing else.
void give_up_locks_in_child() noexcept {
  for (auto& slot : g_held_fds_plus_one) {
    const int fd = slot.exchange(0) - 1;
    if (fd < 0) continue;
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
      ::close(fd);  // the number may be reused in the child; the lock matters more
      continue;
    }
    if (::dup3(null_fd, fd, O_CLOEXEC) < 0) ::close(fd);
    ::close(null_fd);
  }
}

void remember_held(int fd) {
  static const bool handler = ::pthread_atfork(nullptr, nullptr, give_up_locks_in_child) == 0;
  if (!handler) {
    log::warn("cannot register the writer lock's fork handler: a child this process forks shares its lock");
    return;
  }
  for (auto& slot : g_held_fds_plus_one) {
    int empty = 0;
    if (slot.compare_exchange_strong(empty, fd + 1)) return;
  }
  log::warn("more than " + std::to_string(kMaxHeldLocks) +
            " snapshot directories locked by this process: a child it forks shares the latest lock");
}

void forget_held(int fd) noexcept {
  for (auto& slot : g_held_fds_plus_one) {
    int held = fd + 1;
    if (slot.compare_exchange_strong(held, 0)) return;
  }
}

bool locks_unsupported(int err) noexcept { return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS; }

}  // namespace

std::string WriterLockHolder::describe() const {
  std::string out = job.empty() ? std::string("another job") : "job \"" + job + "\"";
  std::string who;
  if (pid > 0) who = "pid " + std::to_string(pid);
  if (!host.empty()) who += (who.empty() ? "on " : " on ") + host;
  if (since_unix > 0) who += (who.empty() ? "since " : ", since ") + iso8601_utc(static_cast<std::int64_t>(since_unix));
  return who.empty() ? out : out + " (" + who + ")";
}

WriterLock WriterLock::acquire(const std::filesystem::path& dir, std::string_view job) {
  const auto path = dir / kWriterLockFile;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
  if (!fd.valid()) throw_errno("open", path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat", path.string());
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::invalid_argument, path.string() + " is not a regular file", {}, {},
                "remove it: it is the snapshot directory's writer lock");
  }
  struct flock lock = whole_file(F_WRLCK);
  if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    const int err = errno;
    if (err == EAGAIN || err == EACCES) {
      throw Error(ErrorCode::in_use,
                  "snapshot directory " + dir.string() + " is in use by " + read_record(fd.get()).describe(), {}, {},
                  "one snapshot directory has one live job at a time: wait until that job ends (or stop it), "
                  "or give this job its own snapshot directory");
    }
    if (locks_unsupported(err)) {
      log::warn("the file system of " + dir.string() + " has no locks (" + errno_error(err, "fcntl", "").detail() +
                "): nothing stops a second job from writing to it at the same time");
      return WriterLock();
    }
    throw errno_error(err, "fcntl(F_OFD_SETLK)", path.string());
  }
  write_record(fd.get(), job);
  remember_held(fd.get());
  return WriterLock(std::move(fd));
}

void WriterLock::release() noexcept {
  if (!fd_.valid()) return;
  forget_held(fd_.get());  // before the close: the number may be reused at once
  fd_.reset();
}

std::optional<WriterLockHolder> WriterLock::holder(const std::filesystem::path& dir) noexcept {
  const auto path = dir / kWriterLockFile;
  // O_NONBLOCK: a FIFO planted under the lock's name never blocks a reader.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  struct flock probe = whole_file(F_WRLCK);
  if (::fcntl(fd.get(), F_OFD_GETLK, &probe) != 0 || probe.l_type == F_UNLCK) return std::nullopt;
  return read_record(fd.get());
}

}  // namespace lull
