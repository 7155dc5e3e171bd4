#pragma once
// What an epoll set has ready now, without waiting: for the sets that a
// loop's own epoll watches (the arbiter's clients, its runs), read when the
// loop saw the set readable.

#include <sys/epoll.h>

#include <span>
#include <string>

namespace lull::posix {

// epoll_wait(2) on `epoll` with no timeout, into `ready`; EINTR is retried.
// Returns how many entries of `ready` are filled. Throws the errno mapper's
// Error naming `what` (the set's owner, for the message).
int epoll_ready(int epoll, std::span<epoll_event> ready, const std::string& what);

}  // namespace lull::posix
