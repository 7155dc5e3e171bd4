#include "posix/epoll_ready.h"

#include <cerrno>

#include "lull/base/errno_error.h"

namespace lull::posix {

int epoll_ready(int epoll, std::span<epoll_event> ready, const std::string& what) {
  int count = 0;
  do {
    count = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 0);
  } while (count < 0 && errno == EINTR);
  if (count < 0) throw_errno("epoll_wait", what);
  return count;
}

}  // namespace lull::posix
