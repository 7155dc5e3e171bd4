#pragma once
// SnapshotReader::Impl, shared by snapshot_reader.cpp (open, read) and
// snapshot_verify.cpp (verify).

#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "hdf5_handle.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "manifest.h"
#include "shard_source.h"

namespace lull {

class SnapshotReader::Impl {
 public:
  Impl(std::filesystem::path dir, std::filesystem::path root);

  void read(std::string_view name, DType dtype, const Shape& offset, const Shape& extent, void* out);
  std::vector<std::byte> read_blob(int rank, std::string_view name);
  VerifyReport verify();

  std::filesystem::path dir_;
  std::filesystem::path root_;
  detail::Hid root_file_;
  detail::Manifest manifest_;
  std::vector<TensorInfo> tensor_infos_;
  std::uint64_t total_bytes_ = 0;

 private:
  void check_files_present();
  const detail::TensorEntry& tensor_entry(std::string_view name) const;
  detail::ShardSource& source(int rank);
  // Reads one whole shard into `out`, verifying it the first time.
  void read_shard(const detail::TensorEntry& tensor, std::size_t shard_index, void* out);
  [[noreturn]] void checksum_failed(const std::string& object, int rank, std::uint64_t expected,
                                    std::uint64_t actual) const;

  std::map<int, std::unique_ptr<detail::ShardSource>> sources_;
  std::set<std::pair<std::string, std::size_t>> verified_;  // (tensor, shard index)
};

}  // namespace lull
