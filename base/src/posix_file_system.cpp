// FileSystem::posix(): the real thing, every failure through the errno mapper.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/file_system.h"
#include "lull/base/unique_fd.h"

namespace lull {

namespace {

[[noreturn]] void refuse_non_regular(const std::filesystem::path& path, FileKind kind) {
  throw Error(ErrorCode::corrupt,
              path.string() + " is " + std::string(file_kind_name(kind)) + ", not a regular file; lull opens only regular files",
              {}, {}, "remove it: nothing lull writes is anything else");
}

// Opens a regular file and nothing else. O_NOFOLLOW: a symbolic link at the
// end is not followed; O_NONBLOCK: a FIFO planted under the name does not
// block the open (it has no effect on a regular file's reads and writes).
// The lstat first keeps a device from being opened at all.
UniqueFd open_regular(const std::filesystem::path& path, int flags, mode_t mode = 0) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) refuse_non_regular(path, file_kind_of(st.st_mode));
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode));
  if (!fd.valid()) {
    if (errno == ELOOP) refuse_non_regular(path, FileKind::symlink);
    throw_errno("open", path.string());
  }
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat", path.string());
  if (!S_ISREG(st.st_mode)) refuse_non_regular(path, file_kind_of(st.st_mode));
  return fd;
}

FileStatus status_of(const struct stat& st) noexcept {
  FileStatus status;
  status.kind = file_kind_of(st.st_mode);
  if (status.kind == FileKind::regular) status.size = static_cast<std::uint64_t>(st.st_size);
  status.permissions = st.st_mode & 07777;
  status.modified = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return status;
}

// What `call` (lstat or stat) says of `path`; nothing there is FileKind::missing.
FileStatus status_by(int (*call)(const char*, struct stat*), const char* call_name, const std::filesystem::path& path) {
  struct stat st {};
  if (call(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return {};
    throw_errno(call_name, path.string());
  }
  return status_of(st);
}

UniqueFd open_directory(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw_errno("open", path.string());
  return fd;
}

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::filesystem::path path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  void write_at(std::uint64_t offset, const void* data, std::size_t size) override {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = ::pwrite(fd_.get(), p, size, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("pwrite", path_.string());
      }
      p += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
  }

  void read_at(std::uint64_t offset, void* data, std::size_t size) override {
    char* p = static_cast<char*>(data);
    while (size > 0) {
      ssize_t n = ::pread(fd_.get(), p, size, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("pread", path_.string());
      }
      if (n == 0) {
        throw Error(ErrorCode::corrupt, "file " + path_.string() + " ends before offset " +
                                            std::to_string(offset + size) + " (truncated?)");
      }
      p += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
  }

  void sync() override {
    if (::fsync(fd_.get()) != 0) throw_errno("fsync", path_.string());
  }

  // A failed hint is no error: sync() reports real ones.
  void start_writeback(std::uint64_t offset, std::uint64_t size) override {
    ::sync_file_range(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(size), SYNC_FILE_RANGE_WRITE);
  }

  std::uint64_t size() override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw_errno("fstat", path_.string());
    return static_cast<std::uint64_t>(st.st_size);
  }

  void truncate(std::uint64_t size) override {
    while (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) throw_errno("ftruncate", path_.string());
    }
  }

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  bool make_dir(const std::filesystem::path& dir, mode_t mode) override {
    if (::mkdir(dir.c_str(), mode) == 0) {
      // mkdir applies the umask; the mode asked for is the mode meant.
      if (::chmod(dir.c_str(), mode) != 0) throw_errno("chmod", dir.string());
      return true;
    }
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
    throw errno_error(err, "mkdir", dir.string());
  }

  void sync_file(const std::filesystem::path& file) override {
    const UniqueFd fd = open_regular(file, O_RDONLY);
    if (::fsync(fd.get()) != 0) throw_errno("fsync", file.string());
  }

  void sync_dir(const std::filesystem::path& dir) override {
    const UniqueFd fd = open_directory(dir);
    if (::fsync(fd.get()) != 0) throw_errno("fsync", dir.string());
  }

  void rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename", from.string() + " -> " + to.string());
  }

  void exchange(const std::filesystem::path& a, const std::filesystem::path& b) override {
    if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
      throw_errno("renameat2(RENAME_EXCHANGE)", a.string() + " <-> " + b.string());
    }
  }

  void write_file(const std::filesystem::path& file, std::string_view bytes, mode_t mode) override {
    PosixRandomAccessFile writer(file, open_regular(file, O_WRONLY | O_CREAT | O_TRUNC, mode));
    writer.write_at(0, bytes.data(), bytes.size());
    writer.sync();
  }

  std::string read_file(const std::filesystem::path& file) override {
    PosixRandomAccessFile reader(file, open_regular(file, O_RDONLY));
    std::string out(reader.size(), '\0');
    reader.read_at(0, out.data(), out.size());
    return out;
  }

  std::vector<std::string> list_dir(const std::filesystem::path& dir) override {
    std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), ::closedir);
    if (!handle) throw_errno("opendir", dir.string());
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = ::readdir(handle.get())) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    if (errno != 0) throw_errno("readdir", dir.string());
    return names;
  }

  void remove_all(const std::filesystem::path& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) throw errno_error(ec.value(), "remove_all", path.string());
  }

  std::unique_ptr<RandomAccessFile> open_file(const std::filesystem::path& file, bool writable) override {
    return std::make_unique<PosixRandomAccessFile>(file, open_regular(file, writable ? O_RDWR : O_RDONLY));
  }

  std::unique_ptr<RandomAccessFile> create_file(const std::filesystem::path& file, mode_t mode) override {
    return std::make_unique<PosixRandomAccessFile>(file, open_regular(file, O_RDWR | O_CREAT | O_TRUNC, mode));
  }

  FileStatus status(const std::filesystem::path& path) override { return status_by(::lstat, "lstat", path); }

  FileStatus target_status(const std::filesystem::path& path) override { return status_by(::stat, "stat", path); }

  void set_mode(const std::filesystem::path& path, mode_t mode) override {
    if (::chmod(path.c_str(), mode) != 0) throw_errno("chmod", path.string());
  }
};

}  // namespace

FileKind file_kind_of(mode_t mode) noexcept {
  if (S_ISDIR(mode)) return FileKind::directory;
  if (S_ISLNK(mode)) return FileKind::symlink;
  if (S_ISFIFO(mode)) return FileKind::fifo;
  if (S_ISSOCK(mode)) return FileKind::socket;
  if (S_ISCHR(mode)) return FileKind::character_device;
  if (S_ISBLK(mode)) return FileKind::block_device;
  return FileKind::regular;  // S_ISREG, and nothing else is left in S_IFMT
}

std::string_view file_kind_name(FileKind kind) noexcept {
  switch (kind) {
    case FileKind::missing: return "missing";
    case FileKind::regular: return "a regular file";
    case FileKind::directory: return "a directory";
    case FileKind::symlink: return "a symbolic link";
    case FileKind::fifo: return "a FIFO";
    case FileKind::socket: return "a socket";
    case FileKind::character_device: return "a character device";
    case FileKind::block_device: return "a block device";
  }
  return "of an unknown kind";
}

FileSystem& FileSystem::posix() {
  static PosixFileSystem instance;
  return instance;
}

}  // namespace lull
