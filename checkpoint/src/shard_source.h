#pragma once
// ShardSource — the reading side of one rank's shard file: finds a dataset
// (at the offset the manifest recorded, or through HDF5 for manifests that
// did not record it) and reads its raw bytes while checksumming them.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "checksum_pipeline.h"
#include "hdf5_handle.h"
#include "lull/checkpoint/dtype.h"
#include "lull/base/file_system.h"

namespace lull::detail {

// Where a dataset's raw bytes are in its file.
struct RawLocation {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
};

class ShardSource {
 public:
  // Opens lazily: nothing touches the file until the first call.
  ShardSource(FileSystem& fs, std::filesystem::path path, int rank);

  // The dataset at `object_path` (e.g. "/tensors/w"), checked to be
  // reached through hard links only and to have `dtype`, `extent` and
  // `bytes` of contiguous storage in this file (not in external files).
  // Throws Error(corrupt) saying what differs. The shard file is opened by
  // HDF5 only when it is a regular file, never through a symbolic link.
  RawLocation locate(const std::string& object_path, DType dtype, const Shape& extent, std::uint64_t bytes);

  // Reads `where` into `out` and returns the XXH3-64 of the bytes read;
  // a large dataset is checksummed on another thread, a piece behind the reads.
  std::uint64_t read_checksummed(const RawLocation& where, void* out);

  // Reads `where` into `out` without checksumming (already verified).
  void read(const RawLocation& where, void* out);

  const std::filesystem::path& path() const { return path_; }

 private:
  hid_t hdf5_file();
  RandomAccessFile& raw_file();

  FileSystem& fs_;
  std::filesystem::path path_;
  int rank_;
  Hid file_;
  std::unique_ptr<RandomAccessFile> raw_;
  ChecksumPipeline checksums_;
};

}  // namespace lull::detail
