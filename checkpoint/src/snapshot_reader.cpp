#include "lull/checkpoint/snapshot_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checksum.h"
#include "hdf5_error.h"
#include "hdf5_heap_guard.h"
#include "layout.h"
#include "lull/base/error.h"
#include "root_file_check.h"
#include "shard_file.h"
#include "snapshot_reader_impl.h"
#include "tiling.h"

namespace lull {

using namespace detail;

namespace {

// The last name of `path` as a person reads it: "step-…" for
// "/ckpt/job/step-…/", the working directory's own name for ".".
std::string last_name(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path normal = std::filesystem::absolute(path, ec).lexically_normal();
  if (ec) normal = path.lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();
  return normal.filename().string();
}

[[noreturn]] void refuse_kind(const std::filesystem::path& path, FileKind kind, const std::string& role) {
  std::string why = path.string() + " is " + std::string(file_kind_name(kind)) + ", not " + role;
  if (kind == FileKind::symlink) why += ": lull does not follow links in or to snapshots (it could lead to another job's)";
  throw Error(ErrorCode::corrupt, why, {}, {}, "a snapshot holds only the directories and regular files lull writes");
}

struct SnapshotPaths {
  std::filesystem::path dir;
  std::filesystem::path root;
};

// `path` as SnapshotReader::open takes it: a snapshot directory or its root
// file, neither of them a symbolic link.
SnapshotPaths resolve_snapshot_path(FileSystem& fs, const std::filesystem::path& given) {
  const std::filesystem::path path = given.has_filename() ? given : given.parent_path();
  const FileStatus status = fs.status(path);
  if (status.kind == FileKind::missing) throw Error(ErrorCode::not_found, "snapshot " + path.string() + " does not exist");
  if (status.kind == FileKind::directory) return {path, path / kRootFile};
  if (status.kind != FileKind::regular) refuse_kind(path, status.kind, "a snapshot directory or root file");
  SnapshotPaths paths{path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path(), path};
  const FileStatus dir = fs.status(paths.dir);
  if (dir.kind != FileKind::directory) refuse_kind(paths.dir, dir.kind, "a snapshot directory");
  return paths;
}

}  // namespace

SnapshotReader::Impl::Impl(FileSystem& fs, std::filesystem::path dir, std::filesystem::path root,
                           std::optional<std::uint64_t> named_step)
    : fs_(fs), dir_(std::move(dir)), root_(std::move(root)) {
  const std::string subject = root_.string();
  const FileStatus status = fs_.status(root_);
  if (status.kind == FileKind::missing) {
    throw Error(ErrorCode::not_found, "snapshot root file " + subject + " does not exist");
  }
  if (status.kind != FileKind::regular) refuse_kind(root_, status.kind, "a snapshot's root file");
  if (const std::string problem = global_heap_problem(fs_.read_file(root_)); !problem.empty()) {
    throw Error(ErrorCode::corrupt, subject + ": " + problem, {}, {},
                "the root file is damaged or was crafted; an older snapshot may still be intact");
  }
  hid_t id = H5Fopen(root_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(ErrorCode::corrupt, subject + " is not a readable HDF5 file");
  }
  root_file_ = Hid(id);
  // HDF5's view of the root file and lull's own, for what lull reads first.
  const std::unique_ptr<RandomAccessFile> root_bytes = fs_.open_file(root_, /*writable=*/false);
  manifest_ = read_checked_manifest(root_file_, *root_bytes, status.size, subject);
  if (named_step && *named_step != manifest_.step) {
    throw Error(ErrorCode::corrupt,
                "snapshot directory " + dir_.string() + " is named for step " + std::to_string(*named_step) +
                    " but holds the snapshot of step " + std::to_string(manifest_.step) + " (renamed?)",
                {}, {}, "a restore would report one step and load another's state; move it away");
  }
  for (const auto& t : manifest_.tensors) {
    // check_manifest() bounded every tensor's bytes by its shard files.
    const std::uint64_t bytes = element_count(t.shape) * dtype_size(t.dtype);
    tensor_infos_.push_back({t.name, t.dtype, t.shape, bytes, t.shards.size()});
    total_bytes_ += bytes;
  }
  for (const auto& b : manifest_.blobs) total_bytes_ += b.bytes;
  check_files_present();
  check_global_view(root_file_, *root_bytes, manifest_, subject);
}

void SnapshotReader::Impl::check_files_present() {
  for (const auto& f : manifest_.files) {
    const auto path = dir_ / f.name;
    const std::string what = "snapshot step " + std::to_string(manifest_.step) + ": shard file " + path.string() +
                             " of rank " + std::to_string(f.rank);
    const FileStatus status = fs_.status(path);
    if (status.kind == FileKind::missing) throw Error(ErrorCode::corrupt, what + " is missing");
    if (status.kind != FileKind::regular) {
      throw Error(ErrorCode::corrupt, what + " is " + std::string(file_kind_name(status.kind)) +
                                          ", not a regular file" +
                                          (status.kind == FileKind::symlink ? " (lull does not follow links)" : ""));
    }
    if (status.size != f.bytes) {
      throw Error(ErrorCode::corrupt, what + " has " + std::to_string(status.size) + " bytes, expected " +
                                          std::to_string(f.bytes) + (status.size < f.bytes ? " (truncated)" : ""));
    }
  }
}

const TensorEntry& SnapshotReader::Impl::tensor_entry(std::string_view name) const {
  for (const auto& t : manifest_.tensors) {
    if (t.name == name) return t;
  }
  std::vector<std::string> first_names;
  for (std::size_t i = 0; i < std::min<std::size_t>(manifest_.tensors.size(), 10); ++i) {
    first_names.push_back(manifest_.tensors[i].name);
  }
  const std::string known =
      fmt::format("{}{}", fmt::join(first_names, ", "), manifest_.tensors.size() > 10 ? ", ..." : "");
  throw Error(ErrorCode::not_found, "snapshot step " + std::to_string(manifest_.step) + " has no tensor \"" +
                                        std::string(name) + "\"" + (known.empty() ? "" : " (it has: " + known + ")"));
}

ShardSource& SnapshotReader::Impl::source(int rank) {
  auto& slot = sources_[rank];
  if (!slot) {
    const FileEntry* file = manifest_.file_of(rank);  // check_manifest(): every object's rank has one
    if (file == nullptr) throw Error(ErrorCode::internal, "no shard file of rank " + std::to_string(rank));
    slot = std::make_unique<ShardSource>(fs_, dir_ / file->name, rank);
  }
  return *slot;
}

SnapshotReader::Impl::StoredObject SnapshotReader::Impl::shard_object(const TensorEntry& tensor,
                                                                      std::size_t index) const {
  const ShardEntry& s = tensor.shards[index];
  return {"tensor \"" + tensor.name + "\" box " + describe(s.box), s.rank, tensor_path(tensor.name), tensor.dtype,
          s.box.extent, s.bytes, s.checksum, s.file_offset};
}

SnapshotReader::Impl::StoredObject SnapshotReader::Impl::blob_object(const BlobEntry& b) const {
  return {"blob \"" + b.name + "\"", b.rank, blob_path(b.rank, b.name), DType::u8, Shape{b.bytes}, b.bytes, b.checksum,
          b.file_offset};
}

std::optional<VerifyProblem> SnapshotReader::Impl::read_checked(const StoredObject& object, void* out) {
  ShardSource& src = source(object.rank);
  RawLocation where;
  try {
    where = src.locate(object.path, object.dtype, object.extent, object.bytes);
  } catch (const Error& e) {
    return VerifyProblem{"unreadable", object.label, object.rank, {}, e.message()};
  }
  // Reads go to the offset the manifest recorded; it must be the dataset's,
  // or h5py and lull would read different bytes.
  if (object.file_offset != 0 && where.offset != object.file_offset) {
    return VerifyProblem{"recorded offset is not the dataset's", object.label, object.rank,
                         "byte " + std::to_string(where.offset), "byte " + std::to_string(object.file_offset)};
  }
  std::uint64_t actual = 0;
  try {
    actual = src.read_checksummed(where, out);
  } catch (const Error& e) {
    return VerifyProblem{"unreadable", object.label, object.rank, {}, e.message()};
  }
  if (actual != object.checksum) {
    return VerifyProblem{"checksum mismatch", object.label, object.rank, checksum_text(object.checksum),
                         checksum_text(actual)};
  }
  verified_[{object.path, object.rank}] = where;
  return std::nullopt;
}

void SnapshotReader::Impl::failed(const VerifyProblem& problem) const {
  throw Error(ErrorCode::corrupt, "snapshot step " + std::to_string(manifest_.step) + ": " + problem.describe(), {},
              {}, "the snapshot is damaged; open the previous one");
}

void SnapshotReader::Impl::read_shard(const TensorEntry& tensor, std::size_t index, void* out) {
  const ShardEntry& shard = tensor.shards[index];
  auto known = verified_.find({tensor_path(tensor.name), shard.rank});
  if (known != verified_.end()) {
    source(shard.rank).read(known->second, out);
    return;
  }
  if (auto problem = read_checked(shard_object(tensor, index), out)) failed(*problem);
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
    std::vector<std::byte> out(b.bytes);  // check_manifest(): no more than its shard file holds
    if (b.bytes == 0) return out;
    if (auto problem = read_checked(blob_object(b), out.data())) failed(*problem);
    return out;
  }
  throw Error(ErrorCode::not_found, "snapshot step " + std::to_string(manifest_.step) + " has no blob \"" +
                                        std::string(name) + "\" of rank " + std::to_string(rank));
}

// ---- SnapshotReader ----

SnapshotReader SnapshotReader::open(const std::filesystem::path& path, FileSystem* chosen) {
  quiet_hdf5();
  FileSystem& fs = FileSystem::or_posix(chosen);
  SnapshotPaths paths = resolve_snapshot_path(fs, path);
  const auto named_step = parse_snapshot_dir_name(last_name(paths.dir));
  return SnapshotReader(std::make_unique<Impl>(fs, std::move(paths.dir), std::move(paths.root), named_step));
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

std::string SnapshotReader::job() const {
  const auto& metadata = impl_->manifest_.metadata;
  const auto it = metadata.find(std::string(kJobMetadataKey));
  return it == metadata.end() ? std::string() : it->second;
}

void SnapshotReader::check_job(std::string_view expected) const {
  const std::string written_by = job();
  if (written_by == expected) return;
  throw Error(ErrorCode::corrupt,
              "snapshot step " + std::to_string(step()) + " (" + dir().string() + ") was written by " +
                  (written_by.empty() ? std::string("a program that recorded no job name")
                                      : "job \"" + written_by + "\"") +
                  ", not by job \"" + std::string(expected) + "\"",
              {}, {},
              "one snapshot directory per job: if this is its job under another name, run it with that name "
              "(LULL_JOB, lull run --job)");
}
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
