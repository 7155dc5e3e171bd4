#pragma once
// FileSystem — the one seam through which lull touches the file system
// where durability is decided (the leveldb `Env` idea): the snapshot store
// makes every file-system call through it (directory creation, fsync of
// files and directories, renames, small whole-file writes such as LATEST,
// listing, status and removal), and so does every atomic file replacement
// (atomic_file.h) and the arbiter's journal.
//
// Not through it: the advisory locks (flock/fcntl) of the store's pending
// directories and writer lock (checkpoint/src/pending_lock.h,
// writer_lock.h). A lock is the kernel's record of a live process, not
// state on disk: it is dropped when its holder dies whatever the disk says,
// so there is nothing for a crash simulation to drop or a failing disk to
// fail, and a test file system cannot stand in for another process holding
// one. Their lock files hold no data: losing one in a crash only makes the
// cleaner wait out its grace period before it removes the directory.
//
// Tensor bytes go through open_file(): HDF5 lays out the file (metadata,
// contiguous datasets) and lull writes and reads the raw data at the
// dataset's offset itself, so checksumming overlaps the I/O. HDF5's own
// writes to the files lull creates go through create_file() too (lull's
// HDF5 file driver, hdf5_write_driver.h). Before HDF5 is handed a path to
// read, status() says it is a regular file: a symbolic link is never
// followed and a FIFO, socket or device never opened (a FIFO would block
// the reader). Tests wrap the default instance (FaultyFileSystem in tests/)
// to fail the n-th operation with ENOSPC/EIO or to kill the process at the
// n-th operation; a full file system is also tested for real on a small
// tmpfs. A test file system that remembers what was made durable
// (DurableStateFileSystem in tests/) drops at a simulated crash every byte
// and directory entry not yet synced, so the fsync order is tested too.
//
// What is durable, as every implementation must treat it: the bytes of a
// file once sync()/sync_file() of it returned; a directory entry (a
// creation, rename, exchange or removal in that directory) once sync_dir()
// of that directory returned. write_file() syncs the file it writes, not
// its directory.
//
// All methods throw lull::Error (through the errno mapper) on failure.
// Implementations must be thread-safe.

#include <sys/types.h>

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lull {

// What a path is, read without following a symbolic link at its end.
enum class FileKind : std::uint8_t {
  missing,
  regular,
  directory,
  symlink,
  fifo,
  socket,
  character_device,
  block_device,
};

// The kind of an st_mode (S_IFMT's bits).
FileKind file_kind_of(mode_t mode) noexcept;

// "a regular file", "a directory", "a symbolic link", "a FIFO", "a
// character device", ... for messages: lull's one namer of file types.
std::string_view file_kind_name(FileKind kind) noexcept;

struct FileStatus {
  FileKind kind = FileKind::missing;
  std::uint64_t size = 0;                          // bytes, for a regular file
  mode_t permissions = 0;                          // the mode's permission bits (07777)
  std::chrono::system_clock::time_point modified;  // last modification of the content
};

// An open file for positioned I/O. Closed by the destructor (which never
// throws; call sync() first when durability matters).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Writes all of `size` bytes at `offset` (retrying short writes).
  virtual void write_at(std::uint64_t offset, const void* data, std::size_t size) = 0;
  // Reads exactly `size` bytes at `offset`; a short file is Error(corrupt).
  virtual void read_at(std::uint64_t offset, void* data, std::size_t size) = 0;
  // fsync.
  virtual void sync() = 0;
  virtual std::uint64_t size() = 0;
  // Sets the file's size (ftruncate): shorter drops bytes, longer reads as zeros.
  virtual void truncate(std::uint64_t size) = 0;

  // Starts writing [offset, offset+size) to the device without waiting
  // (sync_file_range WRITE), so that sync() later has less left to do. A
  // hint, never needed for durability: the default does nothing, so a
  // decorating test file system may leave it out.
  virtual void start_writeback(std::uint64_t /*offset*/, std::uint64_t /*size*/) {}
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // mkdir with `mode`; returns false if it already existed as a directory.
  virtual bool make_dir(const std::filesystem::path& dir, mode_t mode) = 0;
  // fsync of a regular file's data and metadata.
  virtual void sync_file(const std::filesystem::path& file) = 0;
  // fsync of a directory, making renames and creations in it durable.
  virtual void sync_dir(const std::filesystem::path& dir) = 0;
  // rename(2); replaces `to` when it is a file or an empty directory.
  virtual void rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Atomically swaps two existing paths (renameat2 RENAME_EXCHANGE).
  virtual void exchange(const std::filesystem::path& a, const std::filesystem::path& b) = 0;
  // Creates or truncates `file` with `mode`, writes `bytes`, fsyncs it.
  virtual void write_file(const std::filesystem::path& file, std::string_view bytes, mode_t mode) = 0;
  // Whole content of a (small) regular file.
  virtual std::string read_file(const std::filesystem::path& file) = 0;
  // Names (not paths) of the entries of `dir`, unsorted, without "." and "..".
  virtual std::vector<std::string> list_dir(const std::filesystem::path& dir) = 0;
  // Removes a file or a directory tree; a missing path is not an error.
  virtual void remove_all(const std::filesystem::path& path) = 0;
  // Opens an existing regular file for positioned reads (and writes if
  // `writable`). read_file(), write_file() and open_file() refuse a symbolic
  // link, FIFO, socket, device or directory with Error(corrupt) naming what
  // it is, without blocking on it.
  virtual std::unique_ptr<RandomAccessFile> open_file(const std::filesystem::path& file, bool writable) = 0;
  // lstat(2): what `path` is, a symbolic link at its end reported, never
  // followed; FileKind::missing when nothing is there.
  virtual FileStatus status(const std::filesystem::path& path) = 0;
  // stat(2): what `path` names once symbolic links are followed, for a
  // path a user gave (a job's snapshot directory may be a link to where
  // the space is); FileKind::missing when nothing is there or a link
  // dangles. Never use it on a path found on disk: status() is for those.
  virtual FileStatus target_status(const std::filesystem::path& path) = 0;
  // Creates (or truncates) the regular file `file` with `mode` (less the
  // umask) and opens it for reads and writes.
  virtual std::unique_ptr<RandomAccessFile> create_file(const std::filesystem::path& file, mode_t mode) = 0;
  // Changes the mode of an existing path.
  virtual void set_mode(const std::filesystem::path& path, mode_t mode) = 0;

  // True when something is at `path`, as status() sees it (a dangling
  // symbolic link is something).
  bool exists(const std::filesystem::path& path) { return status(path).kind != FileKind::missing; }

  // The process-wide real POSIX file system. Never null.
  static FileSystem& posix();
  // The file system lull uses where a caller may name one: `chosen`, or
  // posix() when it is null (every `FileSystem* fs = nullptr` of an options
  // struct). The one place the default is chosen.
  static FileSystem& or_posix(FileSystem* chosen) noexcept { return chosen != nullptr ? *chosen : posix(); }
};

}  // namespace lull
