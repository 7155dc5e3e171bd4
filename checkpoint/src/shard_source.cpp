#include "shard_source.h"

#include <algorithm>

#include "checksum.h"
#include "checksum_pipeline.h"
#include "hdf5_attributes.h"
#include "hdf5_error.h"
#include "hdf5_layout_guard.h"
#include "hdf5_links.h"
#include "hdf5_types.h"

namespace lull::detail {

namespace {

// Datasets are read in pieces of this size. A dataset of one piece is
// checksummed on this thread once read; a larger one on the pipeline's
// thread, a piece behind the reads. Checksumming on this thread would stall
// the device (measured: about a fifth of the read time, however large the
// pieces); handing a piece to another thread costs a wake-up, which in a VM
// is dear (0.1-0.4 ms), so pieces are large.
constexpr std::uint64_t kChunkBytes = 16u << 20;

}  // namespace

ShardSource::ShardSource(FileSystem& fs, std::filesystem::path path, int rank)
    : fs_(fs), path_(std::move(path)), rank_(rank) {}

hid_t ShardSource::hdf5_file() {
  if (!file_.valid()) {
    const std::string what = "shard file " + path_.string() + " of rank " + std::to_string(rank_);
    const FileStatus status = fs_.status(path_);
    if (status.kind != FileKind::regular) {
      throw Error(ErrorCode::corrupt, what + " is " + std::string(file_kind_name(status.kind)) + ", not a regular file");
    }
    hid_t id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) {
      H5Eclear2(H5E_DEFAULT);
      throw Error(ErrorCode::corrupt, what + " is not a readable HDF5 file");
    }
    file_ = Hid(id);
  }
  return file_;
}

RandomAccessFile& ShardSource::raw_file() {
  if (!raw_) raw_ = fs_.open_file(path_, /*writable=*/false);
  return *raw_;
}

RawLocation ShardSource::locate(const std::string& object_path, DType dtype, const Shape& extent,
                                std::uint64_t bytes) {
  std::string subject = path_.string() + ":" + object_path;
  auto corrupt = [&](const std::string& what) {
    return Error(ErrorCode::corrupt, "rank " + std::to_string(rank_) + "'s " + subject + " " + what);
  };
  hid_t file = hdf5_file();
  if (auto problem = hard_link_path_problem(file, object_path, path_.string()); !problem.empty()) {
    throw corrupt("cannot be read: " + problem);
  }
  if (has_external_file_list(file, object_path, path_.string())) throw corrupt("keeps its bytes in external files");
  if (auto problem = dataset_layout_problem(file, object_path, raw_file(), path_.string()); !problem.empty()) {
    throw corrupt("cannot be opened safely: " + problem);
  }
  Hid dataset(H5Dopen2(file, object_path.c_str(), H5P_DEFAULT));
  if (!dataset.valid()) {
    H5Eclear2(H5E_DEFAULT);
    throw corrupt("cannot be opened");
  }
  Hid type(check_id(H5Dget_type(dataset), "H5Dget_type", subject));
  Hid expected = make_hdf5_type(dtype);
  if (H5Tequal(expected, type) <= 0) throw corrupt("does not hold " + std::string(dtype_name(dtype)));
  if (dataspace_shape(dataset, subject) != extent) throw corrupt("has another shape than its manifest entry");
  const DatasetStorage storage = dataset_storage(dataset, subject);
  if (storage.layout != H5D_CONTIGUOUS) throw corrupt("is not contiguous");
  if (storage.external_files != 0) throw corrupt("keeps its bytes in external files");
  haddr_t offset = H5Dget_offset(dataset);
  if (offset == HADDR_UNDEF) {
    H5Eclear2(H5E_DEFAULT);
    throw corrupt("has no storage");
  }
  if (H5Dget_storage_size(dataset) != bytes) throw corrupt("holds another number of bytes than recorded");
  return {offset, bytes};
}

std::uint64_t ShardSource::read_checksummed(const RawLocation& where, void* out) {
  auto& file = raw_file();
  auto* dst = static_cast<unsigned char*>(out);
  if (where.bytes <= kChunkBytes) {
    file.read_at(where.offset, dst, where.bytes);
    return checksum(dst, where.bytes);
  }
  ChecksumPipeline::Run sum(checksums_);
  for (std::uint64_t done = 0; done < where.bytes;) {
    const std::uint64_t n = std::min(kChunkBytes, where.bytes - done);
    file.read_at(where.offset + done, dst + done, n);
    sum.feed(dst + done, n);
    done += n;
  }
  return sum.finish();
}

void ShardSource::read(const RawLocation& where, void* out) { raw_file().read_at(where.offset, out, where.bytes); }

}  // namespace lull::detail
