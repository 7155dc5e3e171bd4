#include "support/open_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace lull::test {

OpenWatch::OpenWatch(const std::filesystem::path& path)
    : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)), path_(path.string()) {
  if (!fd_.valid()) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  if (::inotify_add_watch(fd_.get(), path_.c_str(), IN_OPEN) < 0) {
    const int err = errno;
    throw std::system_error(err, std::generic_category(), "inotify_add_watch " + path_);
  }
}

bool OpenWatch::opened() {
  alignas(inotify_event) char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n > 0) {
      opened_ = true;  // IN_OPEN is the only event asked for
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN: nothing (more) queued
  }
  return opened_;
}

}  // namespace lull::test
