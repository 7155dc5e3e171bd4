#include "lull/base/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "lull/base/errno_error.h"
#include "lull/base/file_system.h"
#include "lull/base/error.h"
#include "lull/base/unique_fd.h"

namespace lull {

RegularFileContent read_regular_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what,
                                     Symlinks symlinks) {
  const std::string cannot = "cannot read " + std::string(what) + " " + path.string();
  auto refuse = [&](ErrorCode code, const std::string& why) { return Error(code, cannot, {}, why); };
  auto not_regular = [&](mode_t mode) {
    return refuse(ErrorCode::invalid_argument, "it is " + std::string(file_kind_name(file_kind_of(mode))) + ", not a regular file");
  };
  auto failed = [&](int err, const char* call) {
    const Error mapped = errno_error(err, call, path.string());
    return Error(mapped.code(), cannot, call, mapped.detail(), mapped.hint());
  };

  // O_NONBLOCK: opening a FIFO that has no writer returns at once instead of
  // waiting for one; the type check below then refuses it. O_NOFOLLOW makes a
  // final symbolic link fail with ELOOP.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (symlinks == Symlinks::refuse ? O_NOFOLLOW : 0);
  const int raw_fd = ::open(path.c_str(), flags);
  if (raw_fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw refuse(ErrorCode::not_found, "it does not exist");
    if (err == ELOOP && symlinks == Symlinks::refuse) {
      throw refuse(ErrorCode::invalid_argument, "it is a symbolic link, which is not followed");
    }
    // A socket cannot be opened (ENXIO): say what it is rather than the errno.
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) throw not_regular(info.st_mode);
    throw failed(err, "open");
  }
  const UniqueFd fd(raw_fd);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw failed(errno, "fstat");
  if (!S_ISREG(info.st_mode)) throw not_regular(info.st_mode);
  const auto too_large = [&](const std::string& size) {
    return refuse(ErrorCode::invalid_argument,
                  "it is " + size + " bytes; the maximum is " + std::to_string(max_bytes));
  };
  if (static_cast<std::uintmax_t>(info.st_size) > max_bytes) throw too_large(std::to_string(info.st_size));

  RegularFileContent content;
  content.owner = info.st_uid;
  // Grown as it fills, never past max_bytes + 1 (the byte that proves the file too large).
  content.bytes.resize(std::min<std::size_t>(max_bytes + 1, 64 * 1024));
  std::size_t used = 0;
  for (;;) {
    if (used == content.bytes.size()) {
      if (used > max_bytes) throw too_large("more than " + std::to_string(max_bytes));  // grew while read
      content.bytes.resize(std::min(max_bytes + 1, content.bytes.size() * 2));
    }
    const ssize_t n = ::read(fd.get(), content.bytes.data() + used, content.bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failed(errno, "read");
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  content.bytes.resize(used);
  return content;
}

}  // namespace lull
