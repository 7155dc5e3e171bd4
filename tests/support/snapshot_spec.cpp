#include "support/snapshot_spec.h"

#include <exception>

#include "support/pattern.h"

namespace lull::test {

std::uint64_t tensor_seed(std::uint64_t step, std::size_t tensor_index) noexcept {
  return step * 1000u + tensor_index;
}

std::uint64_t blob_seed(std::uint64_t step, int rank, std::size_t blob_index) noexcept {
  return step * 1000u + 500u + static_cast<std::uint64_t>(rank) * 16u + blob_index;
}

Box split_box(const Shape& shape, int dim, int parts, int part) {
  Box box{Shape(shape.size(), 0), shape};
  if (dim < 0) return box;
  const auto d = static_cast<std::size_t>(dim);
  const std::uint64_t n = shape[d];
  const auto p = static_cast<std::uint64_t>(parts);
  const auto i = static_cast<std::uint64_t>(part);
  const std::uint64_t base = n / p;
  const std::uint64_t extra = n % p;
  box.offset[d] = i * base + (i < extra ? i : extra);
  box.extent[d] = base + (i < extra ? 1 : 0);
  return box;
}

void write_rank(SnapshotWriter& writer, const SnapshotSpec& spec, std::uint64_t step, int rank,
                int world_size) {
  for (std::size_t t = 0; t < spec.tensors.size(); ++t) {
    const TensorSpec& tensor = spec.tensors[t];
    const std::uint64_t seed = tensor_seed(step, t);
    if (tensor.split_dim < 0) {
      const auto data = pattern_tensor(tensor.dtype, tensor.shape, seed);
      writer.write_replicated(tensor.name, tensor.dtype, tensor.shape, data.data());
    } else {
      const Box box = split_box(tensor.shape, tensor.split_dim, world_size, rank);
      const auto data = pattern_box(tensor.dtype, tensor.shape, box.offset, box.extent, seed);
      writer.write_tensor(tensor.name, tensor.dtype, tensor.shape, box.offset, box.extent, data.data());
    }
  }
  for (std::size_t b = 0; b < spec.blobs.size(); ++b) {
    const auto bytes = pattern_blob(spec.blobs[b].bytes + static_cast<std::size_t>(rank),
                                    blob_seed(step, rank, b));
    writer.write_blob(spec.blobs[b].name, bytes);
  }
  writer.set_metadata("spec-step", std::to_string(step));
}

std::vector<ShardReport> write_all_ranks(const SnapshotStore& store, const SnapshotSpec& spec,
                                         std::uint64_t step, int world_size) {
  std::vector<ShardReport> reports;
  for (int rank = 0; rank < world_size; ++rank) {
    try {
      SnapshotWriter writer = store.writer(step, rank, world_size);
      write_rank(writer, spec, step, rank, world_size);
      reports.push_back(writer.finish());
    } catch (const std::exception& e) {
      reports.push_back(ShardReport::failure(step, rank, world_size, e.what()));
    }
  }
  return reports;
}

namespace {

void check_box(SnapshotReader& reader, const TensorSpec& tensor, std::uint64_t seed, const Box& box,
               const std::string& what, std::vector<std::string>& problems) {
  const auto expected = pattern_box(tensor.dtype, tensor.shape, box.offset, box.extent, seed);
  std::vector<std::byte> actual(expected.size() + 1);  // +1: never a null buffer
  try {
    reader.read(tensor.name, tensor.dtype, box.offset, box.extent, actual.data());
  } catch (const std::exception& e) {
    problems.push_back("tensor " + tensor.name + " " + what + ": read threw: " + e.what());
    return;
  }
  actual.pop_back();
  if (auto diff = compare_bytes(tensor.dtype, expected, actual); !diff.empty()) {
    problems.push_back("tensor " + tensor.name + " " + what + " offset " + shape_string(box.offset) +
                       " extent " + shape_string(box.extent) + ": " + diff);
  }
}

void check_blob(SnapshotReader& reader, const BlobSpec& blob, std::size_t index, std::uint64_t step,
                int rank, std::vector<std::string>& problems) {
  const auto expected = pattern_blob(blob.bytes + static_cast<std::size_t>(rank), blob_seed(step, rank, index));
  try {
    const auto actual = reader.read_blob(rank, blob.name);
    if (auto diff = compare_bytes(DType::u8, expected, actual); !diff.empty()) {
      problems.push_back("blob " + blob.name + " of rank " + std::to_string(rank) + ": " + diff);
    }
  } catch (const std::exception& e) {
    problems.push_back("blob " + blob.name + " of rank " + std::to_string(rank) + ": read threw: " + e.what());
  }
}

}  // namespace

std::vector<std::string> check_snapshot(SnapshotReader& reader, const SnapshotSpec& spec,
                                        std::uint64_t step) {
  std::vector<std::string> problems;
  if (reader.step() != step) {
    problems.push_back("step is " + std::to_string(reader.step()) + ", expected " + std::to_string(step));
  }
  for (std::size_t t = 0; t < spec.tensors.size(); ++t) {
    const TensorSpec& tensor = spec.tensors[t];
    if (!reader.has_tensor(tensor.name)) {
      problems.push_back("tensor " + tensor.name + " is missing");
      continue;
    }
    const TensorInfo& info = reader.tensor(tensor.name);
    if (info.dtype != tensor.dtype || info.shape != tensor.shape) {
      problems.push_back("tensor " + tensor.name + " is " + std::string(dtype_name(info.dtype)) +
                         shape_string(info.shape) + ", expected " + std::string(dtype_name(tensor.dtype)) +
                         shape_string(tensor.shape));
      continue;
    }
    check_box(reader, tensor, tensor_seed(step, t), Box{Shape(tensor.shape.size(), 0), tensor.shape},
              "(whole)", problems);
  }
  for (int rank = 0; rank < reader.world_size(); ++rank) {
    for (std::size_t b = 0; b < spec.blobs.size(); ++b) check_blob(reader, spec.blobs[b], b, step, rank, problems);
  }
  return problems;
}

std::vector<std::string> check_resharded_part(SnapshotReader& reader, const SnapshotSpec& spec,
                                              std::uint64_t step, int rank, int world_size) {
  std::vector<std::string> problems;
  for (std::size_t t = 0; t < spec.tensors.size(); ++t) {
    const TensorSpec& tensor = spec.tensors[t];
    const std::uint64_t seed = tensor_seed(step, t);
    const int dims = static_cast<int>(tensor.shape.size());
    if (dims == 0) {
      check_box(reader, tensor, seed, Box{{}, {}}, "(scalar)", problems);
      continue;
    }
    const int written_dim = tensor.split_dim < 0 ? 0 : tensor.split_dim;
    const int read_dim = dims > 1 ? (written_dim + 1) % dims : 0;
    check_box(reader, tensor, seed, split_box(tensor.shape, read_dim, world_size, rank),
              "(new shard of rank " + std::to_string(rank) + "/" + std::to_string(world_size) + ")", problems);
    // A box that starts inside the first written shard and ends inside the
    // last one, so it crosses every written boundary.
    Box crossing{Shape(tensor.shape.size(), 0), tensor.shape};
    const auto d = static_cast<std::size_t>(written_dim);
    if (tensor.shape[d] > 2) {
      crossing.offset[d] = 1;
      crossing.extent[d] = tensor.shape[d] - 2;
    }
    check_box(reader, tensor, seed, crossing, "(box crossing shard boundaries)", problems);
  }
  for (int old_rank = rank; old_rank < reader.world_size(); old_rank += world_size) {
    for (std::size_t b = 0; b < spec.blobs.size(); ++b) check_blob(reader, spec.blobs[b], b, step, old_rank, problems);
  }
  return problems;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace lull::test
