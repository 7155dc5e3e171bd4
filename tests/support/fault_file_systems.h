#pragma once
// File systems for tests, decorating the real one (FileSystem::posix()):
//
//   FaultyFileSystem   fails the n-th call of one kind (write_at, sync_dir,
//                      rename, ...) with an errno (ENOSPC, EIO) through
//                      lull::errno_error, exactly as the real one would fail.
//   KillingFileSystem  raise(SIGKILL)s its own process just before its n-th
//                      operation of any kind, so crash_writer --die-at-op N
//                      crashes at every point of the commit protocol in turn.
//
// Both count every call, including those on the files open_file() returns.
// Thread-safe, as the FileSystem contract asks. A power failure, which
// drops what was not fsync'd, is durable_state_file_system.h.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lull/base/file_system.h"

namespace lull::test {

enum class FsOp : std::uint8_t {
  make_dir,
  sync_file,
  sync_dir,
  rename,
  exchange,
  write_file,
  read_file,
  list_dir,
  remove_all,
  open_file,
  set_mode,
  file_write_at,  // RandomAccessFile::write_at
  file_read_at,   // RandomAccessFile::read_at
  file_sync,      // RandomAccessFile::sync
  file_size,      // RandomAccessFile::size
  status,
  create_file,
  file_truncate,  // RandomAccessFile::truncate
  target_status,
};
inline constexpr std::size_t kFsOpCount = 19;

const char* fs_op_name(FsOp op) noexcept;

// Passes every call to `base` after calling before(op, subject).
class InterposingFileSystem : public FileSystem {
 public:
  explicit InterposingFileSystem(FileSystem& base) : base_(base) {}

  bool make_dir(const std::filesystem::path& dir, mode_t mode) override;
  void sync_file(const std::filesystem::path& file) override;
  void sync_dir(const std::filesystem::path& dir) override;
  void rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  void exchange(const std::filesystem::path& a, const std::filesystem::path& b) override;
  void write_file(const std::filesystem::path& file, std::string_view bytes, mode_t mode) override;
  std::string read_file(const std::filesystem::path& file) override;
  std::vector<std::string> list_dir(const std::filesystem::path& dir) override;
  void remove_all(const std::filesystem::path& path) override;
  std::unique_ptr<RandomAccessFile> open_file(const std::filesystem::path& file, bool writable) override;
  std::unique_ptr<RandomAccessFile> create_file(const std::filesystem::path& file, mode_t mode) override;
  void set_mode(const std::filesystem::path& path, mode_t mode) override;
  FileStatus status(const std::filesystem::path& path) override;
  FileStatus target_status(const std::filesystem::path& path) override;

  // Called before each operation; may throw (the operation then does not happen).
  virtual void before(FsOp op, const std::string& subject) = 0;

 private:
  FileSystem& base_;
};

class FaultyFileSystem final : public InterposingFileSystem {
 public:
  explicit FaultyFileSystem(FileSystem& base = FileSystem::posix()) : InterposingFileSystem(base) {}

  // The n-th (1-based, counted from construction) call of `op` throws
  // errno_error(err, ...) instead of happening. One rule at a time.
  void fail_nth(FsOp op, std::uint64_t n, int err);
  // Every call of `op` from now on fails with `err` (a disk that stays full).
  void fail_all(FsOp op, int err);
  void disarm();

  std::uint64_t count(FsOp op) const;
  bool fired() const;
  // "rename(/x/.pending-step-2 -> /x/step-2)" of the call that failed.
  std::string fired_at() const;

  void before(FsOp op, const std::string& subject) override;

 private:
  struct Rule {
    FsOp op;
    std::uint64_t n;  // 0 = every call
    int err;
  };
  mutable std::mutex mutex_;
  std::array<std::uint64_t, kFsOpCount> counts_{};
  std::optional<Rule> rule_;
  bool fired_ = false;
  std::string fired_at_;
};

class KillingFileSystem final : public InterposingFileSystem {
 public:
  // die_at = 0: never die, only count (and trace to stderr when `trace`).
  KillingFileSystem(std::uint64_t die_at, bool trace, FileSystem& base = FileSystem::posix())
      : InterposingFileSystem(base), die_at_(die_at), trace_(trace) {}

  std::uint64_t operations() const noexcept { return operations_.load(); }

  void before(FsOp op, const std::string& subject) override;

 private:
  std::uint64_t die_at_;
  bool trace_;
  std::atomic<std::uint64_t> operations_{0};
};

}  // namespace lull::test
