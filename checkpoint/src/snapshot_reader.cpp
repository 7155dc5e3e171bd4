#include "lull/checkpoint/snapshot_reader.h"

#include <algorithm>
#include <cstring>

#include "checksum.h"
#include "hdf5_attributes.h"
#include "hdf5_error.h"
#include "layout.h"
#include "lull/base/error.h"
#include "root_file.h"
#include "shard_file.h"
#include "snapshot_reader_impl.h"
#include "tiling.h"

namespace lull {

using namespace detail;

namespace {

std::string read_manifest_json(hid_t root, const std::string& subject) {
  auto corrupt = [&](const std::string& what) {
    return Error(ErrorCode::corrupt, subject + ": " + what, {}, {}, "the root file is damaged; an older snapshot may still be intact");
  };
  if (H5Lexists(root, "/lull", H5P_DEFAULT) <= 0 || H5Lexists(root, kManifestPath, H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw corrupt("no manifest (/lull/manifest)");
  }
  Hid dataset(H5Dopen2(root, kManifestPath, H5P_DEFAULT));
  if (!dataset.valid()) throw corrupt("the manifest cannot be opened");
  Shape shape = dataspace_shape(dataset, subject);
  if (shape.size() != 1) throw corrupt("the manifest is not a byte array");
  std::string json(shape[0], '\0');
  if (H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, json.data()) < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw corrupt("the manifest cannot be read");
  }
  auto stored = read_string_attribute(dataset, "checksum");
  std::uint64_t expected = 0;
  if (!stored || !parse_checksum_text(*stored, expected)) throw corrupt("the manifest has no checksum");
  std::uint64_t actual = checksum(json.data(), json.size());
  if (actual != expected) {
    throw corrupt("the manifest fails its checksum (expected " + checksum_text(expected) + ", actual " +
                  checksum_text(actual) + ")");
  }
  return json;
}

}  // namespace

SnapshotReader::Impl::Impl(std::filesystem::path dir, std::filesystem::path root)
    : dir_(std::move(dir)), root_(std::move(root)) {
  const std::string subject = root_.string();
  std::error_code ec;
  if (!std::filesystem::exists(root_, ec)) {
    throw Error(ErrorCode::not_found, "snapshot root file " + subject + " does not exist");
  }
  hid_t id = H5Fopen(root_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(ErrorCode::corrupt, subject + " is not a readable HDF5 file");
  }
  root_file_ = Hid(id);
  auto format = read_string_attribute(root_file_, "format");
  if (!format || *format != "lull") {
    throw Error(ErrorCode::corrupt, subject + " is an HDF5 file but not a lull snapshot (no format=\"lull\" attribute)");
  }
  auto version = read_u64_attribute(root_file_, "format_version");
  if (!version) throw Error(ErrorCode::corrupt, subject + ": format_version attribute missing");
  if (*version > static_cast<std::uint64_t>(kFormatVersion)) {
    throw Error(ErrorCode::unsupported, subject + " has format version " + std::to_string(*version) +
                                            "; this lull reads up to " + std::to_string(kFormatVersion),
                {}, {}, "upgrade lull");
  }
  manifest_ = manifest_from_json(read_manifest_json(root_file_, subject));
  if (read_u64_attribute(root_file_, "step") != manifest_.step) {
    throw Error(ErrorCode::corrupt, subject + ": step attribute disagrees with the manifest");
  }
  for (const auto& t : manifest_.tensors) {
    std::uint64_t bytes = element_count(t.shape) * dtype_size(t.dtype);
    tensor_infos_.push_back({t.name, t.dtype, t.shape, bytes, t.shards.size()});
    total_bytes_ += bytes;
  }
  for (const auto& b : manifest_.blobs) total_bytes_ += b.bytes;
  check_files_present();
}

void SnapshotReader::Impl::check_files_present() {
  for (const auto& f : manifest_.files) {
    if (f.rank < 0 || f.rank >= manifest_.world_size || f.name != shard_file_name(f.rank)) {
      throw Error(ErrorCode::corrupt, root_.string() + ": manifest names an invalid shard file \"" + f.name + "\"");
    }
    auto path = dir_ / f.name;
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) {
      throw Error(ErrorCode::corrupt, "snapshot step " + std::to_string(manifest_.step) + ": shard file " +
                                          path.string() + " of rank " + std::to_string(f.rank) + " is missing");
    }
    if (size != f.bytes) {
      throw Error(ErrorCode::corrupt, "snapshot step " + std::to_string(manifest_.step) + ": shard file " +
                                          path.string() + " of rank " + std::to_string(f.rank) + " has " +
                                          std::to_string(size) + " bytes, expected " + std::to_string(f.bytes) +
                                          (size < f.bytes ? " (truncated)" : ""));
    }
  }
}

const TensorEntry& SnapshotReader::Impl::tensor_entry(std::string_view name) const {
  for (const auto& t : manifest_.tensors) {
    if (t.name == name) return t;
  }
  std::string known;
  for (std::size_t i = 0; i < manifest_.tensors.size() && i < 10; ++i) {
    known += (i ? ", " : "") + manifest_.tensors[i].name;
  }
  if (manifest_.tensors.size() > 10) known += ", ...";
  throw Error(ErrorCode::not_found, "snapshot step " + std::to_string(manifest_.step) + " has no tensor \"" +
                                        std::string(name) + "\"" + (known.empty() ? "" : " (it has: " + known + ")"));
}

ShardSource& SnapshotReader::Impl::source(int rank) {
  auto& slot = sources_[rank];
  if (!slot) {
    const FileEntry* file = manifest_.file_of(rank);
    if (file == nullptr) {
      throw Error(ErrorCode::corrupt, root_.string() + ": manifest has data of rank " + std::to_string(rank) +
                                          " but no shard file for it");
    }
    slot = std::make_unique<ShardSource>(FileSystem::posix(), dir_ / file->name, rank, file->bytes);
  }
  return *slot;
}

void SnapshotReader::Impl::checksum_failed(const std::string& object, int rank, std::uint64_t expected,
                                           std::uint64_t actual) const {
  throw Error(ErrorCode::corrupt,
              "snapshot step " + std::to_string(manifest_.step) + ": " + object + " of rank " + std::to_string(rank) +
                  " fails its checksum (expected " + checksum_text(expected) + ", actual " + checksum_text(actual) + ")",
              {}, {}, "the snapshot is damaged; open the previous one");
}

void SnapshotReader::Impl::read_shard(const TensorEntry& tensor, std::size_t index, void* out) {
  const ShardEntry& shard = tensor.shards[index];
  ShardSource& src = source(shard.rank);
  const RawLocation where = shard.file_offset != 0
                                ? src.recorded(tensor_path(tensor.name), shard.file_offset, shard.bytes)
                                : src.locate(tensor_path(tensor.name), tensor.dtype, shard.box.extent, shard.bytes);
  auto key = std::make_pair(tensor.name, index);
  if (verified_.contains(key)) {
    src.read(where, out);
    return;
  }
  std::uint64_t actual = src.read_checksummed(where, out);
  if (actual != shard.checksum) {
    checksum_failed("tensor \"" + tensor.name + "\" box " + describe(shard.box), shard.rank, shard.checksum, actual);
  }
  verified_.insert(key);
}

void SnapshotReader::Impl::read(std::string_view name, DType dtype, const Shape& offset, const Shape& extent,
                                void* out) {
  const TensorEntry& tensor = tensor_entry(name);
  if (dtype != tensor.dtype) {
    throw Error(ErrorCode::invalid_argument, "tensor \"" + tensor.name + "\" holds " +
                                                 std::string(dtype_name(tensor.dtype)) + ", the read asked for " +
                                                 std::string(dtype_name(dtype)));
  }
  const Box request{offset, extent};
  if (!inside(request, tensor.shape)) {
    throw Error(ErrorCode::invalid_argument,
                "tensor \"" + tensor.name + "\": box " + describe(request) + " is not inside its shape " +
                    describe(Box{Shape(tensor.shape.size(), 0), tensor.shape}));
  }
  if (element_count(extent) == 0) return;
  const std::size_t element = dtype_size(dtype);
  std::vector<unsigned char> staging;
  for (std::size_t i = 0; i < tensor.shards.size(); ++i) {
    const ShardEntry& shard = tensor.shards[i];
    std::optional<Box> region = tensor.shape.empty() ? std::optional<Box>(Box{}) : intersect(request, shard.box);
    if (!region) continue;
    if (shard.box.offset == request.offset && shard.box.extent == request.extent) {
      read_shard(tensor, i, out);  // the common case: this rank's own shard, straight into place
      continue;
    }
    staging.resize(shard.bytes);
    read_shard(tensor, i, staging.data());
    copy_region(staging.data(), shard.box, out, request, *region, element);
  }
}

std::vector<std::byte> SnapshotReader::Impl::read_blob(int rank, std::string_view name) {
  for (const auto& b : manifest_.blobs) {
    if (b.rank != rank || b.name != name) continue;
    std::vector<std::byte> out(b.bytes);
    if (b.bytes == 0) return out;
    ShardSource& src = source(rank);
    const std::string path = blob_path(rank, b.name);
    const RawLocation where = b.file_offset != 0 ? src.recorded(path, b.file_offset, b.bytes)
                                                 : src.locate(path, DType::u8, Shape{b.bytes}, b.bytes);
    std::uint64_t actual = src.read_checksummed(where, out.data());
    if (actual != b.checksum) checksum_failed("blob \"" + b.name + "\"", rank, b.checksum, actual);
    return out;
  }
  throw Error(ErrorCode::not_found, "snapshot step " + std::to_string(manifest_.step) + " has no blob \"" +
                                        std::string(name) + "\" of rank " + std::to_string(rank));
}

// ---- SnapshotReader ----

SnapshotReader SnapshotReader::open(const std::filesystem::path& path) {
  quiet_hdf5();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return SnapshotReader(std::make_unique<Impl>(path, path / kRootFile));
  }
  if (!std::filesystem::exists(path, ec)) {
    throw Error(ErrorCode::not_found, "snapshot " + path.string() + " does not exist");
  }
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  return SnapshotReader(std::make_unique<Impl>(dir, path));
}

SnapshotReader::SnapshotReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SnapshotReader::SnapshotReader(SnapshotReader&&) noexcept = default;
SnapshotReader& SnapshotReader::operator=(SnapshotReader&&) noexcept = default;
SnapshotReader::~SnapshotReader() = default;

std::uint64_t SnapshotReader::step() const { return impl_->manifest_.step; }
int SnapshotReader::world_size() const { return impl_->manifest_.world_size; }
std::int64_t SnapshotReader::created_unix() const { return impl_->manifest_.created_unix; }
std::uint64_t SnapshotReader::total_bytes() const { return impl_->total_bytes_; }
const std::filesystem::path& SnapshotReader::dir() const { return impl_->dir_; }
const std::filesystem::path& SnapshotReader::root_file() const { return impl_->root_; }
const std::map<std::string, std::string>& SnapshotReader::metadata() const { return impl_->manifest_.metadata; }
const std::vector<TensorInfo>& SnapshotReader::tensors() const { return impl_->tensor_infos_; }

bool SnapshotReader::has_tensor(std::string_view name) const {
  return std::any_of(impl_->tensor_infos_.begin(), impl_->tensor_infos_.end(),
                     [&](const TensorInfo& t) { return t.name == name; });
}

const TensorInfo& SnapshotReader::tensor(std::string_view name) const {
  for (const auto& t : impl_->tensor_infos_) {
    if (t.name == name) return t;
  }
  throw Error(ErrorCode::not_found, "snapshot step " + std::to_string(step()) + " has no tensor \"" +
                                        std::string(name) + "\"");
}

std::vector<BlobInfo> SnapshotReader::blobs() const {
  std::vector<BlobInfo> out;
  for (const auto& b : impl_->manifest_.blobs) out.push_back({b.rank, b.name, b.bytes});
  return out;
}

void SnapshotReader::read(std::string_view name, DType dtype, const Shape& offset, const Shape& extent, void* out) {
  impl_->read(name, dtype, offset, extent, out);
}

void SnapshotReader::read_all(std::string_view name, DType dtype, void* out) {
  const Shape shape = tensor(name).shape;
  impl_->read(name, dtype, Shape(shape.size(), 0), shape, out);
}

std::vector<std::byte> SnapshotReader::read_blob(int rank, std::string_view name) {
  return impl_->read_blob(rank, name);
}

VerifyReport SnapshotReader::verify() { return impl_->verify(); }

std::string VerifyProblem::describe() const {
  std::string out = what;
  if (!object.empty()) out += ": " + object;
  if (rank >= 0) out += " (rank " + std::to_string(rank) + ")";
  if (!expected.empty() || !actual.empty()) out += ", expected " + expected + ", actual " + actual;
  return out;
}

}  // namespace lull
