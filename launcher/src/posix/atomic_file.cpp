#include "posix/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "lull/base/errno_error.h"

namespace lull::posix {

namespace {

void write_all(int fd, std::string_view text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write", path);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

void fsync_directory(const std::filesystem::path& dir) {
  const std::filesystem::path target = dir.empty() ? std::filesystem::path(".") : dir;
  const int fd = ::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open", target.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw errno_error(err, "fsync", target.string());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  ::unlink(temporary.c_str());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw_errno("open", temporary.string());
  try {
    write_all(fd, content, temporary.string());
    if (::fsync(fd) != 0) throw_errno("fsync", temporary.string());
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    throw errno_error(err, "rename", path.string());
  }
  fsync_directory(path.parent_path());
}

}  // namespace lull::posix
