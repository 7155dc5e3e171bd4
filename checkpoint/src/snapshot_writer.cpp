#include "lull/checkpoint/snapshot_writer.h"

#include <optional>
#include <set>
#include <string>

#include "checksum.h"
#include "hdf5_attributes.h"
#include "hdf5_error.h"
#include "hdf5_handle.h"
#include "hdf5_output_file.h"
#include "hdf5_types.h"
#include "layout.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/names.h"
#include "pending_lock.h"
#include "shard_sink.h"
#include "shard_file.h"
#include "snapshot_directory.h"
#include "tiling.h"

namespace lull {

using namespace detail;

namespace {

// Big datasets start on a page boundary so the raw writes are page-aligned.
constexpr hsize_t kAlignThreshold = 64 * 1024;
constexpr hsize_t kAlignment = 4096;

Hid shard_file_access() {
  Hid fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", "file access list"));
  check_status(H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110), "H5Pset_libver_bounds", "shard file");
  check_status(H5Pset_alignment(fapl, kAlignThreshold, kAlignment), "H5Pset_alignment", "shard file");
  return fapl;
}

// Contiguous, allocated now, never filled: the bytes are ours to write.
Hid raw_dataset_creation() {
  Hid dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", "dataset creation list"));
  check_status(H5Pset_layout(dcpl, H5D_CONTIGUOUS), "H5Pset_layout", "dataset");
  check_status(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", "dataset");
  check_status(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "H5Pset_fill_time", "dataset");
  return dcpl;
}

void check_box(std::string_view name, const Shape& global_shape, const Shape& offset, const Shape& extent) {
  std::string subject = "tensor \"" + std::string(name) + "\"";
  if (global_shape.size() > kMaxDims) {
    throw Error(ErrorCode::invalid_argument, subject + " has " + std::to_string(global_shape.size()) +
                                                 " dimensions; at most 8 are supported");
  }
  if (offset.size() != global_shape.size() || extent.size() != global_shape.size()) {
    throw Error(ErrorCode::invalid_argument,
                subject + ": offset and extent must have as many dimensions as the global shape (" +
                    std::to_string(global_shape.size()) + ")");
  }
  if (!inside(Box{offset, extent}, global_shape)) {
    throw Error(ErrorCode::invalid_argument, subject + ": box " + describe(Box{offset, extent}) +
                                                 " lies outside the global shape " +
                                                 describe(Box{Shape(global_shape.size(), 0), global_shape}));
  }
}

}  // namespace

class SnapshotWriter::Impl {
 public:
  Impl(std::filesystem::path dir, std::uint64_t step, int rank, int world_size, WriterOptions options)
      : fs_(FileSystem::or_posix(options.fs)), options_(options) {
    quiet_hdf5();
    if (world_size < 1 || rank < 0 || rank >= world_size) {
      throw Error(ErrorCode::invalid_argument, "rank " + std::to_string(rank) + " is not in a world of " +
                                                   std::to_string(world_size) + " ranks");
    }
    report_.step = step;
    report_.rank = rank;
    report_.world_size = world_size;
    report_.file = shard_file_name(rank);
    make_dirs(fs_, dir, options_.dir_mode);
    pending_ = dir / pending_dir_name(step);
    lock_ = PendingLock::join(fs_, pending_, options_.dir_mode);
    partial_ = pending_ / (report_.file + std::string(kPartialSuffix));
    io([&] {
      file_ = Hdf5OutputFile(fs_, partial_, options_.file_mode, shard_file_access());
      fs_.set_mode(partial_, options_.file_mode);
      write_attribute(file_, "format", std::string(kShardFormat));
      write_attribute(file_, "step", step);
      write_attribute(file_, "rank", static_cast<std::int64_t>(rank));
      tensors_ = make_group(file_, kTensorsGroup);
      Hid ranks = make_group(file_, kRanksGroup);
      blobs_ = make_group(ranks, std::to_string(rank).c_str());
      sink_ = std::make_unique<ShardSink>(fs_.open_file(partial_, /*writable=*/true));
    });
  }

  ~Impl() {
    if (!done_) abandon();
  }

  void write_tensor(std::string_view name, DType dtype, const Shape& global_shape, const Shape& offset,
                    const Shape& extent, const void* data) {
    validate_name("tensor name", name);
    check_box(name, global_shape, offset, extent);
    claim(tensor_names_, "tensor", name);
    TensorShard shard{std::string(name), dtype, global_shape, offset, extent, 0, 0, 0};
    shard.bytes = element_count(extent) * dtype_size(dtype);
    if (shard.bytes > 0) {
      if (data == nullptr) throw Error(ErrorCode::invalid_argument, "tensor \"" + shard.name + "\": data is null");
      const RawWrite raw = io([&] { return write_dataset(tensors_, shard.name, dtype, extent, data, shard.bytes); });
      shard.checksum = raw.checksum;
      shard.file_offset = raw.file_offset;
    }
    report_.tensors.push_back(std::move(shard));
  }

  void write_replicated(std::string_view name, DType dtype, const Shape& shape, const void* data) {
    if (report_.rank == 0) {
      write_tensor(name, dtype, shape, Shape(shape.size(), 0), shape, data);
    } else {
      validate_name("tensor name", name);
      check_box(name, shape, Shape(shape.size(), 0), shape);
      claim(tensor_names_, "tensor", name);
    }
  }

  void write_blob(std::string_view name, std::span<const std::byte> bytes) {
    validate_name("blob name", name);
    claim(blob_names_, "blob", name);
    BlobRecord blob{std::string(name), bytes.size(), 0, 0};
    const RawWrite raw =
        io([&] { return write_dataset(blobs_, blob.name, DType::u8, Shape{bytes.size()}, bytes.data(), bytes.size()); });
    blob.checksum = raw.checksum;
    blob.file_offset = raw.file_offset;
    report_.blobs.push_back(std::move(blob));
  }

  void set_metadata(std::string_view key, std::string_view value) {
    validate_name("metadata key", key);
    report_.metadata[std::string(key)] = std::string(value);
  }

  ShardReport finish() {
    if (finish_called_) throw Error(ErrorCode::invalid_argument, "SnapshotWriter::finish called twice");
    finish_called_ = true;
    return io([&] {
      tensors_.close();
      blobs_.close();
      file_.close();
      report_.file_bytes = sink_->sync();
      sink_.reset();
      // Atomic within the pending directory: a shard file of a crashed earlier
      // attempt at this step is replaced whole or not at all.
      fs_.rename(partial_, pending_ / report_.file);
      done_ = true;
      lock_.release();
      return report_;
    });
  }

 private:
  // Runs a step that writes to the shard file. The first failure spends the
  // writer: everything it opened is released and its partial file removed
  // at once (a full disk gets its space back before the commit fails), and
  // later calls repeat that failure.
  template <typename Body>
  auto io(Body&& body) -> decltype(body()) {
    if (failure_) {
      throw Error(failure_->code(), "this snapshot writer failed earlier: " + failure_->message(), {},
                  failure_->detail(), failure_->hint());
    }
    try {
      return body();
    } catch (const Error& e) {
      failure_ = e;
      abandon();
      throw;
    } catch (const std::exception& e) {
      failure_ = Error(ErrorCode::internal, "writing shard file " + partial_.string() + " failed: " + e.what());
      abandon();
      throw *failure_;
    }
  }

  // Releases every HDF5 identifier and descriptor this writer holds, writes
  // nothing more, and removes the partial file. Never throws; idempotent.
  void abandon() noexcept {
    sink_.reset();
    file_.abandon();  // first: HDF5 writes nothing to disk when the groups close
    tensors_.close();
    blobs_.close();
    if (!partial_.empty()) {
      try {
        fs_.remove_all(partial_);
      } catch (const std::exception& e) {
        log::warn("could not remove the unfinished shard file " + partial_.string() + ": " + e.what());
      }
    }
    lock_.release();
  }

  static Hid make_group(hid_t parent, const char* name) {
    return Hid(check_id(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", name));
  }

  static void claim(std::set<std::string>& names, const char* kind, std::string_view name) {
    if (!names.emplace(name).second) {
      throw Error(ErrorCode::invalid_argument, std::string(kind) + " \"" + std::string(name) + "\" written twice");
    }
  }

  struct RawWrite {
    std::uint64_t checksum = 0;
    std::uint64_t file_offset = 0;  // 0 when there are no bytes
  };

  // Creates the dataset and writes its raw bytes directly at its offset.
  RawWrite write_dataset(hid_t group, const std::string& name, DType dtype, const Shape& extent,
                              const void* data, std::uint64_t bytes) {
    Hid type = make_hdf5_type(dtype);
    Hid space = make_dataspace(extent);
    Hid dcpl = raw_dataset_creation();
    Hid dataset(check_id(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2",
                         partial_.string() + ":" + name));
    if (bytes == 0) return {checksum(data, 0), 0};
    haddr_t offset = H5Dget_offset(dataset);
    if (offset == HADDR_UNDEF) throw hdf5_error("H5Dget_offset", partial_.string() + ":" + name);
    return {sink_->write_checksummed(offset, data, bytes), offset};
  }

  FileSystem& fs_;
  WriterOptions options_;
  ShardReport report_;
  std::filesystem::path pending_;
  std::filesystem::path partial_;
  PendingLock lock_;
  Hdf5OutputFile file_;
  Hid tensors_;
  Hid blobs_;
  std::unique_ptr<ShardSink> sink_;
  std::set<std::string> tensor_names_;
  std::set<std::string> blob_names_;
  bool finish_called_ = false;
  bool done_ = false;                // the shard file is durable under its final name
  std::optional<Error> failure_;     // the first I/O failure; the writer is spent
};

SnapshotWriter::SnapshotWriter(std::filesystem::path dir, std::uint64_t step, int rank, int world_size,
                               WriterOptions options)
    : impl_(std::make_unique<Impl>(std::move(dir), step, rank, world_size, options)) {}
SnapshotWriter::~SnapshotWriter() = default;
SnapshotWriter::SnapshotWriter(SnapshotWriter&&) noexcept = default;
SnapshotWriter& SnapshotWriter::operator=(SnapshotWriter&&) noexcept = default;

void SnapshotWriter::write_tensor(std::string_view name, DType dtype, const Shape& global_shape, const Shape& offset,
                                  const Shape& extent, const void* data) {
  impl_->write_tensor(name, dtype, global_shape, offset, extent, data);
}
void SnapshotWriter::write_replicated(std::string_view name, DType dtype, const Shape& shape, const void* data) {
  impl_->write_replicated(name, dtype, shape, data);
}
void SnapshotWriter::write_blob(std::string_view name, std::span<const std::byte> bytes) {
  impl_->write_blob(name, bytes);
}
void SnapshotWriter::set_metadata(std::string_view key, std::string_view value) { impl_->set_metadata(key, value); }
ShardReport SnapshotWriter::finish() { return impl_->finish(); }

}  // namespace lull
