#include "state_registry.h"

#include <xxhash.h>

#include <algorithm>
#include <iterator>

#include "lull/base/error.h"
#include "lull/base/names.h"

namespace lull::detail {

void StateRegistry::add_tensor(ProtectedTensor tensor) {
  validate_name("tensor name", tensor.name);
  auto same_name = [&](const ProtectedTensor& t) { return t.name == tensor.name; };
  if (std::any_of(tensors_.begin(), tensors_.end(), same_name)) {
    throw Error(ErrorCode::invalid_argument, "tensor \"" + tensor.name + "\" is protected twice");
  }
  if (std::find(std::begin(kAllDTypes), std::end(kAllDTypes), tensor.dtype) == std::end(kAllDTypes)) {
    throw Error(ErrorCode::invalid_argument,
                "tensor \"" + tensor.name + "\": unsupported element type (number " +
                    std::to_string(static_cast<unsigned>(tensor.dtype)) + ")",
                {}, {}, "lull stores f16, bf16, f32, f64, i8, u8, i32, i64 and bool");
  }
  if (tensor.global_shape.size() > kMaxDims || tensor.offset.size() != tensor.global_shape.size() ||
      tensor.extent.size() != tensor.global_shape.size()) {
    throw Error(ErrorCode::invalid_argument, "tensor \"" + tensor.name +
                                                 "\": global shape, offset and extent need the same number of "
                                                 "dimensions (at most 8)");
  }
  for (std::size_t d = 0; d < tensor.global_shape.size(); ++d) {
    if (tensor.offset[d] > tensor.global_shape[d] || tensor.extent[d] > tensor.global_shape[d] - tensor.offset[d]) {
      throw Error(ErrorCode::invalid_argument, "tensor \"" + tensor.name + "\": the box leaves the global shape in dimension " +
                                                   std::to_string(d));
    }
  }
  if (tensor.data == nullptr && tensor.bytes() > 0) {
    throw Error(ErrorCode::invalid_argument, "tensor \"" + tensor.name + "\": data is null");
  }
  tensor.on_device = tensor.data != nullptr && staging_.is_device_pointer(tensor.data);
  tensors_.push_back(std::move(tensor));
}

void StateRegistry::add_blob(ProtectedBlob blob) {
  validate_name("blob name", blob.name);
  if (!blob.save || !blob.load) throw Error(ErrorCode::invalid_argument, "blob \"" + blob.name + "\" needs save and load");
  auto same_name = [&](const ProtectedBlob& b) { return b.name == blob.name; };
  if (std::any_of(blobs_.begin(), blobs_.end(), same_name)) {
    throw Error(ErrorCode::invalid_argument, "blob \"" + blob.name + "\" is protected twice");
  }
  blobs_.push_back(std::move(blob));
}

void StateRegistry::write_to(SnapshotWriter& writer) const {
  for (const auto& t : tensors_) {
    const void* data = t.data;
    if (t.on_device && t.bytes() > 0) data = staging_.to_host(t.data, t.bytes());
    if (t.replicated) {
      writer.write_replicated(t.name, t.dtype, t.global_shape, data);
    } else {
      writer.write_tensor(t.name, t.dtype, t.global_shape, t.offset, t.extent, data);
    }
  }
  for (const auto& b : blobs_) {
    std::vector<std::byte> bytes = b.save();
    writer.write_blob(b.name, bytes);
  }
}

void StateRegistry::read_from(SnapshotReader& reader, std::optional<int> blobs_of_rank) const {
  for (const auto& t : tensors_) {
    if (!reader.has_tensor(t.name)) {
      throw Error(ErrorCode::invalid_argument, "snapshot step " + std::to_string(reader.step()) + " has no tensor \"" +
                                                   t.name + "\", which this program protects");
    }
    const TensorInfo& stored = reader.tensor(t.name);
    if (stored.dtype != t.dtype || stored.shape != t.global_shape) {
      throw Error(ErrorCode::invalid_argument,
                  "tensor \"" + t.name + "\" in snapshot step " + std::to_string(reader.step()) + " is " +
                      std::string(dtype_name(stored.dtype)) + " with another shape or type than protected (" +
                      std::string(dtype_name(t.dtype)) + ")",
                  {}, {}, "restore with the same model configuration it was saved with");
    }
    if (t.bytes() == 0) continue;
    void* target = t.on_device ? staging_.host_buffer(t.bytes()) : t.data;
    reader.read(t.name, t.dtype, t.offset, t.extent, target);
    if (t.on_device) staging_.commit_to_device(t.data, t.bytes());
  }
  if (!blobs_of_rank) return;
  for (const auto& b : blobs_) {
    std::vector<std::byte> bytes = reader.read_blob(*blobs_of_rank, b.name);
    b.load(bytes);
  }
}

std::vector<std::string> StateRegistry::blob_names() const {
  std::vector<std::string> names;
  for (const auto& b : blobs_) names.push_back(b.name);
  return names;
}

std::uint64_t StateRegistry::bytes() const noexcept {
  std::uint64_t total = 0;
  for (const auto& t : tensors_) total += t.bytes();
  return total;
}

std::uint64_t StateRegistry::fingerprint() const {
  std::string text;
  for (const auto& t : tensors_) {
    text += t.name + "|" + std::string(dtype_name(t.dtype));
    for (auto d : t.global_shape) text += "," + std::to_string(d);
    text += ";";
  }
  for (const auto& b : blobs_) text += "blob:" + b.name + ";";
  return XXH3_64bits(text.data(), text.size());
}

}  // namespace lull::detail
