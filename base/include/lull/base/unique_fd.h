#pragma once
// UniqueFd — owns one file descriptor and closes it once. Move-only; the
// destructor never throws and ignores what close(2) says. A caller for whom
// the close's result matters (data written without an fsync) calls close()
// and checks it. Not thread-safe.

#include <unistd.h>

#include <utility>

namespace lull {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd`; a negative one makes an empty owner, so the
  // result of open(2) or socket(2) can be passed as it is and checked with
  // valid().
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // Closes now (if open), ignoring the result; the owner is empty after.
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes now and returns close(2)'s result: 0, or -1 with errno set (the
  // descriptor is gone either way; it is never closed twice). 0 when empty.
  int close() noexcept { return fd_ >= 0 ? ::close(std::exchange(fd_, -1)) : 0; }
  // Gives the descriptor up without closing it; the owner is empty after.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace lull
