#pragma once
// SnapshotReader::Impl, shared by snapshot_reader.cpp (open, read) and
// snapshot_verify.cpp (verify).

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "hdf5_handle.h"
#include "lull/base/file_system.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "manifest.h"
#include "shard_source.h"

namespace lull {

class SnapshotReader::Impl {
 public:
  // Opens and checks the snapshot whose root file is `root` in `dir`; see
  // SnapshotReader::open. `named_step` is the step `dir`'s name gives, when
  // it is named like a committed snapshot.
  Impl(FileSystem& fs, std::filesystem::path dir, std::filesystem::path root, std::optional<std::uint64_t> named_step);

  void read(std::string_view name, DType dtype, const Shape& offset, const Shape& extent, void* out);
  std::vector<std::byte> read_blob(int rank, std::string_view name);
  VerifyReport verify();

  FileSystem& fs_;
  std::filesystem::path dir_;
  std::filesystem::path root_;
  detail::Hid root_file_;
  detail::Manifest manifest_;
  std::vector<TensorInfo> tensor_infos_;
  std::uint64_t total_bytes_ = 0;

 private:
  // One tensor shard or blob, as the manifest lists it.
  struct StoredObject {
    std::string label;  // "tensor \"w\" box [0:4, 0:8]", "blob \"rng\""
    int rank = 0;
    std::string path;   // in the rank's shard file: "/tensors/w"
    DType dtype = DType::u8;
    Shape extent;
    std::uint64_t bytes = 0;
    std::uint64_t checksum = 0;
    std::uint64_t file_offset = 0;  // recorded; 0 when not
  };

  void check_files_present();
  const detail::TensorEntry& tensor_entry(std::string_view name) const;
  detail::ShardSource& source(int rank);
  StoredObject shard_object(const detail::TensorEntry& tensor, std::size_t index) const;
  StoredObject blob_object(const detail::BlobEntry& blob) const;
  // The one check of an object that restores and verify() both make: its
  // dataset in the shard file is what the manifest says (type, shape,
  // contiguous bytes at the recorded offset, reached through hard links
  // only) and its bytes, read into `out`, match their checksum. Returns what
  // is wrong, or nullopt when `out` holds verified bytes.
  std::optional<VerifyProblem> read_checked(const StoredObject& object, void* out);
  // Reads one whole shard into `out`, checked the first time it is read.
  void read_shard(const detail::TensorEntry& tensor, std::size_t shard_index, void* out);
  [[noreturn]] void failed(const VerifyProblem& problem) const;

  std::map<int, std::unique_ptr<detail::ShardSource>> sources_;
  std::map<std::pair<std::string, int>, detail::RawLocation> verified_;  // (object path, rank) -> its bytes
};

}  // namespace lull
