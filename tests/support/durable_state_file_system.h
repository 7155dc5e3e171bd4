#pragma once
// DurableStateFileSystem — a power failure for tests (the idea of leveldb's
// FaultInjectionTestEnv): it passes every call to the real file system and
// remembers what has been made durable, so that at a simulated crash the
// disk below its root becomes exactly that, and nothing more:
//
//   - a file's bytes are what its last sync()/sync_file()/write_file() saw;
//     a file never synced is empty;
//   - a directory's entries are what its last sync_dir() saw: an entry
//     created, renamed in or out, exchanged or removed since is undone (a
//     file created in a directory never synced disappears, a rename not
//     followed by sync_dir of the directories involved is undone, a removal
//     not followed by it comes back).
//
// It is the strictest file system POSIX allows: one that writes nothing
// back by itself. kill -9 cannot show what it shows, because the page cache
// outlives the process.
//
// Everything below `root` when it starts (and after each crash) counts as
// durable. Entries made outside the seam (the store's lock files) are
// taken as they are when next seen, their links following their
// directory's syncs like any other.
//
// Operations are counted (every call, including those on open files);
// crash_before_operation(n) makes the n-th fail with a lull::Error (io) and
// every later one too, without touching the disk, as a machine that went
// down there would (lull's own error handling then runs into a dead file
// system, as it would in a real crash). crash() then turns the disk into
// its durable state and starts over: the file system is usable again, as
// after a reboot. Files opened before a crash refuse every call after it.
//
// Its syncs are the model's: they reach the base file system's disk as
// nothing (the real fsync would only cost time, hundreds of runs of it);
// a sync of a missing path fails with ENOENT as the real one would.
//
// Only paths below `root` may be changed through it (std::logic_error
// otherwise). Symbolic links are not modelled. Thread-safe.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lull/base/file_system.h"
#include "support/fault_file_systems.h"

namespace lull::test {

class DurableStateFileSystem final : public FileSystem {
 public:
  explicit DurableStateFileSystem(std::filesystem::path root, FileSystem& base = FileSystem::posix());
  ~DurableStateFileSystem() override;

  // The n-th operation (1-based, counted since construction or the last
  // crash()) and every one after it fail without happening; 0 disarms.
  void crash_before_operation(std::uint64_t n);
  // Operations counted since construction or the last crash().
  std::uint64_t operations() const;
  // Every operation so far, "rename(/x/a -> /x/b)", in order; the one that
  // failed for the crash last, marked "(not done: crashed)".
  std::vector<std::string> trace() const;
  // True once the armed operation was reached.
  bool crashed() const;
  // The power failure: the disk below root becomes its durable state, the
  // count starts again at 0, and everything on disk is durable.
  void crash();

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
  FileStatus status(const std::filesystem::path& path) override;
  FileStatus target_status(const std::filesystem::path& path) override;
  std::unique_ptr<RandomAccessFile> create_file(const std::filesystem::path& file, mode_t mode) override;
  void set_mode(const std::filesystem::path& path, mode_t mode) override;

 private:
  class TrackedFile;
  using NodeId = std::size_t;

  // A file or directory, followed across renames by its id (as an inode).
  struct Node {
    bool directory = false;
    mode_t mode = 0;
    std::optional<std::string> durable_bytes;  // file: as its last sync saw it
    std::map<std::string, NodeId> entries;     // directory: now
    std::optional<std::map<std::string, NodeId>> durable_entries;  // directory: at its last sync_dir
  };

  // Counts an operation; throws when it is (or comes after) the crash.
  void step(FsOp op, const std::string& subject);
  // A call that changes nothing: counted, then passed on.
  template <typename Call>
  auto counted(FsOp op, const std::filesystem::path& subject, Call&& call) {
    std::lock_guard lock(mutex_);
    step(op, subject.string());
    return call();
  }
  // The model's id of `path` (taken from the disk if made outside the
  // seam); nullopt when nothing is there.
  std::optional<NodeId> find(const std::filesystem::path& path);
  NodeId parent_of(const std::filesystem::path& path);
  // The model's id of `path` below root; Error(ENOENT) when nothing is there.
  NodeId existing(const std::filesystem::path& path);
  // Takes what is on disk at `path` into the model, all of it durable.
  NodeId adopt(const std::filesystem::path& path);
  NodeId new_node(bool directory, mode_t mode);
  // The file at `path` after a create or truncate: the same node when one
  // was there (O_TRUNC keeps the inode and what was synced of it).
  NodeId created_file(const std::filesystem::path& path);
  // Writes what is durable of node `id` at `path` (which does not exist).
  // `ancestors`: the directories above it, so that a cycle of renames
  // across directories cannot recurse for ever.
  void write_durable(NodeId id, const std::filesystem::path& path, std::vector<NodeId>& ancestors);
  std::unique_ptr<RandomAccessFile> track(std::unique_ptr<RandomAccessFile> file, NodeId id,
                                          const std::filesystem::path& path);

  std::filesystem::path root_;
  FileSystem& base_;
  mutable std::mutex mutex_;
  std::vector<Node> nodes_;  // [0] is root
  std::uint64_t generation_ = 0;  // crashes so far: files of an earlier one are dead
  std::uint64_t operations_ = 0;
  std::uint64_t crash_at_ = 0;
  bool crashed_ = false;
  std::vector<std::string> trace_;
};

}  // namespace lull::test
