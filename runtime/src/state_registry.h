#pragma once
// StateRegistry — what a rank has asked lull to protect, and how it goes
// into and comes out of a snapshot.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "device_staging.h"
#include "lull/base/dtype.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_writer.h"

namespace lull::detail {

struct ProtectedTensor {
  std::string name;
  DType dtype = DType::u8;
  Shape global_shape;
  Shape offset;
  Shape extent;
  void* data = nullptr;
  bool replicated = false;
  bool on_device = false;
  std::uint64_t bytes() const noexcept { return element_count(extent) * dtype_size(dtype); }
};

struct ProtectedBlob {
  std::string name;
  std::function<std::vector<std::byte>()> save;
  std::function<void(std::span<const std::byte>)> load;
};

class StateRegistry {
 public:
  explicit StateRegistry(DeviceStaging& staging) : staging_(staging) {}

  // Validates (names, boxes) and records. Throws Error(invalid_argument).
  void add_tensor(ProtectedTensor tensor);
  void add_blob(ProtectedBlob blob);

  // Writes every protected item into `writer` (this rank's part).
  void write_to(SnapshotWriter& writer) const;
  // Fills every protected item from `reader`: tensors by their global box
  // (so the snapshot may come from another world size), and blobs from
  // those of `blobs_of_rank` when given (none are loaded otherwise).
  // Throws Error(corrupt) on a checksum failure, Error(invalid_argument)
  // when the snapshot does not match what is protected (missing tensor,
  // other dtype or shape): the message names the tensor.
  void read_from(SnapshotReader& reader, std::optional<int> blobs_of_rank) const;

  std::vector<std::string> blob_names() const;

  // Bytes this rank writes per snapshot.
  std::uint64_t bytes() const noexcept;
  // A fingerprint of names, dtypes and global shapes: equal on every rank
  // when all registered the same state.
  std::uint64_t fingerprint() const;

 private:
  DeviceStaging& staging_;
  std::vector<ProtectedTensor> tensors_;
  std::vector<ProtectedBlob> blobs_;
};

}  // namespace lull::detail
