#pragma once
// SnapshotReader — read one committed snapshot, any slab of any tensor.
//
// open() checks the structure (root file, manifest, every shard file present
// with its recorded size); every read then verifies the XXH3 checksum of each
// shard it touches, the first time it touches it, and throws
// Error(corrupt) naming the tensor, rank, expected and actual checksum on a
// mismatch. Reads take global coordinates, so a job restarted on a different
// number of ranks reads its new shards from however many old ones cover them.
//
// Thread-safety: one thread at a time (HDF5 is not thread-safe here).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lull/checkpoint/dtype.h"
#include "lull/base/file_system.h"

namespace lull {

struct TensorInfo {
  std::string name;
  DType dtype = DType::u8;
  Shape shape;              // global shape
  std::uint64_t bytes = 0;  // bytes of the global tensor
  std::size_t shards = 0;   // pieces it is stored in
};

struct BlobInfo {
  int rank = 0;
  std::string name;
  std::uint64_t bytes = 0;
};

// One thing verify() found wrong. `rank` is -1 when not about one rank.
struct VerifyProblem {
  std::string what;     // "checksum mismatch", "missing shard file", ...
  std::string object;   // "tensor w", "blob rng of rank 2", "root file"
  int rank = -1;
  std::string expected;
  std::string actual;
  std::string describe() const;  // one line for humans
};

struct VerifyReport {
  std::vector<VerifyProblem> problems;
  std::uint64_t bytes_checked = 0;
  bool ok() const noexcept { return problems.empty(); }
};

// The metadata key under which the runtime records the job that wrote a
// snapshot (its LULL_JOB).
inline constexpr std::string_view kJobMetadataKey = "job";

class SnapshotReader {
 public:
  // `path` is a committed snapshot directory (…/step-00000042) or its root
  // file. Throws Error(not_found) when absent, Error(corrupt) when it is not
  // a complete lull snapshot whose every part is what it claims:
  //   - the path, its root file and its shard files are a real directory and
  //     regular files: a symbolic link is not followed, a FIFO, socket or
  //     device not opened (nothing blocks);
  //   - a directory named like a committed snapshot (step-<N>) holds the
  //     snapshot of step N;
  //   - the root file is a lull root file whose manifest passes its checksum
  //     and whose every declared size is bounded by the bytes on disk
  //     before anything is allocated (a size or shape read from a file is
  //     never trusted);
  //   - the root file's global view is exactly the manifest's: each tensor
  //     and blob links or maps only into its own rank's shard file of this
  //     snapshot, and nothing else in the file names another file (no other
  //     external link, virtual dataset or external storage);
  //   - every shard file is present with its recorded size.
  // Nothing outside the snapshot's directory is opened. Every way into a
  // snapshot (SnapshotStore::open_latest/open_step, the runtime's restore,
  // `lull verify` and `lull inspect`) goes through this one check, so they
  // all make the same choice. Error(unsupported) for a newer format.
  // Every file-system call goes through `fs` (null: FileSystem::posix();
  // SnapshotStore passes its own).
  static SnapshotReader open(const std::filesystem::path& path, FileSystem* fs = nullptr);

  SnapshotReader(SnapshotReader&&) noexcept;
  SnapshotReader& operator=(SnapshotReader&&) noexcept;
  ~SnapshotReader();

  std::uint64_t step() const;
  int world_size() const;                 // ranks that wrote it
  std::int64_t created_unix() const;      // commit time, seconds since the epoch
  std::uint64_t total_bytes() const;      // tensor and blob bytes
  const std::filesystem::path& dir() const;
  const std::filesystem::path& root_file() const;
  const std::map<std::string, std::string>& metadata() const;
  // The job that wrote it (metadata "job"); empty when none was recorded.
  std::string job() const;
  // Throws Error(corrupt) naming both jobs unless job() == `expected`: a
  // restore never loads another job's state.
  void check_job(std::string_view expected) const;

  const std::vector<TensorInfo>& tensors() const;
  bool has_tensor(std::string_view name) const;
  // Throws Error(not_found) listing nothing when `name` is absent.
  const TensorInfo& tensor(std::string_view name) const;
  std::vector<BlobInfo> blobs() const;

  // Reads the box [offset, offset+extent) of tensor `name` into `out`
  // (extent's elements, C order). Throws Error(invalid_argument) when
  // `dtype` is not the stored type or the box leaves the tensor,
  // Error(corrupt) when a touched shard fails the check verify() makes of
  // it (its dataset in the shard file, its checksum) the first time.
  void read(std::string_view name, DType dtype, const Shape& offset, const Shape& extent, void* out);
  // The whole tensor.
  void read_all(std::string_view name, DType dtype, void* out);
  // A rank-local blob, verified. Throws Error(not_found) when absent.
  std::vector<std::byte> read_blob(int rank, std::string_view name);

  // Checks every shard and blob as a read does the first time it touches
  // one: its dataset in its shard file is the manifest's (type, shape,
  // contiguous bytes at the recorded offset, reached through hard links
  // only) and its bytes match their checksum. With the global view checked
  // by open(), this is every byte h5py would read through the root file.
  // Never throws for a problem it finds; lists them all.
  VerifyReport verify();

 private:
  class Impl;
  explicit SnapshotReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lull
