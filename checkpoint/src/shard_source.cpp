#include "shard_source.h"

#include <algorithm>

#include "checksum.h"
#include "checksum_pipeline.h"
#include "hdf5_attributes.h"
#include "hdf5_error.h"
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

ShardSource::ShardSource(FileSystem& fs, std::filesystem::path path, int rank, std::uint64_t file_bytes)
    : fs_(fs), path_(std::move(path)), rank_(rank), file_bytes_(file_bytes) {}

RawLocation ShardSource::recorded(const std::string& object, std::uint64_t offset, std::uint64_t bytes) const {
  if (offset > file_bytes_ || bytes > file_bytes_ - offset) {
    throw Error(ErrorCode::corrupt, "rank " + std::to_string(rank_) + "'s " + object + " is recorded at bytes [" +
                                        std::to_string(offset) + ", +" + std::to_string(bytes) + ") of " +
                                        path_.string() + ", which has " + std::to_string(file_bytes_));
  }
  return {offset, bytes};
}

hid_t ShardSource::hdf5_file() {
  if (!file_.valid()) {
    hid_t id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) {
      H5Eclear2(H5E_DEFAULT);
      throw Error(ErrorCode::corrupt, "shard file " + path_.string() + " of rank " + std::to_string(rank_) +
                                          " is missing or not a readable HDF5 file");
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
  if (H5Lexists(file, object_path.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw corrupt("is missing");
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
  Hid dcpl(check_id(H5Dget_create_plist(dataset), "H5Dget_create_plist", subject));
  if (H5Pget_layout(dcpl) != H5D_CONTIGUOUS) throw corrupt("is not contiguous");
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
