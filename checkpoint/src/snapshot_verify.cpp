// SnapshotReader::verify(): every shard and blob, read through the root
// file's global view, against the manifest's checksums.

#include <algorithm>
#include <string>
#include <vector>

#include "checksum.h"
#include "hdf5_attributes.h"
#include "hdf5_error.h"
#include "hdf5_types.h"
#include "lull/base/error.h"
#include "shard_file.h"
#include "snapshot_reader_impl.h"
#include "tiling.h"

namespace lull {

using namespace detail;

namespace {

// Reads box `box` of the global dataset at `path` in `root` and checksums it.
std::uint64_t checksum_through_root(hid_t root, const std::string& path, DType dtype, const Shape& shape,
                                    const Box& box, std::uint64_t bytes) {
  std::string subject = "root file:" + path;
  Hid dataset(check_id(H5Dopen2(root, path.c_str(), H5P_DEFAULT), "H5Dopen2", subject));
  if (dataspace_shape(dataset, subject) != shape) {
    throw Error(ErrorCode::corrupt, subject + " has another shape than its manifest entry");
  }
  Hid type = make_hdf5_type(dtype);
  std::vector<unsigned char> buffer(bytes);
  if (shape.empty()) {
    check_status(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), "H5Dread", subject);
  } else {
    Hid file_space(check_id(H5Dget_space(dataset), "H5Dget_space", subject));
    select_box(file_space, box.offset, box.extent, subject);
    Hid memory_space = make_dataspace(box.extent);
    check_status(H5Dread(dataset, type, memory_space, file_space, H5P_DEFAULT, buffer.data()), "H5Dread", subject);
  }
  return checksum(buffer.data(), buffer.size());
}

}  // namespace

VerifyReport SnapshotReader::Impl::verify() {
  VerifyReport report;
  // Missing or truncated shard files first: through a virtual dataset they
  // would read as fill values, which only the checksums below would catch.
  std::vector<int> unusable_ranks;
  for (const auto& f : manifest_.files) {
    auto path = dir_ / f.name;
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) {
      report.problems.push_back({"missing shard file", path.string(), f.rank, {}, {}});
      unusable_ranks.push_back(f.rank);
    } else if (size != f.bytes) {
      report.problems.push_back({size < f.bytes ? "truncated shard file" : "shard file of the wrong size",
                                 path.string(), f.rank, std::to_string(f.bytes) + " bytes",
                                 std::to_string(size) + " bytes"});
      unusable_ranks.push_back(f.rank);
    }
  }
  auto unusable = [&](int rank) {
    return std::find(unusable_ranks.begin(), unusable_ranks.end(), rank) != unusable_ranks.end();
  };
  auto check = [&](const std::string& object, int rank, const std::string& path, DType dtype, const Shape& shape,
                   const Box& box, std::uint64_t bytes, std::uint64_t expected) {
    if (unusable(rank)) return;
    try {
      std::uint64_t actual = checksum_through_root(root_file_, path, dtype, shape, box, bytes);
      report.bytes_checked += bytes;
      if (actual != expected) {
        report.problems.push_back({"checksum mismatch", object, rank, checksum_text(expected), checksum_text(actual)});
      }
    } catch (const Error& e) {
      report.problems.push_back({"unreadable", object, rank, {}, e.what()});
    }
  };
  // Reads go to the offset the manifest recorded, not through the global
  // view checked above: the two must be the same bytes, or a snapshot that
  // passes would fail every read. A cheap HDF5 lookup, no data read.
  auto check_recorded = [&](const std::string& object, int rank, const std::string& path, DType dtype,
                            const Shape& extent, std::uint64_t bytes, std::uint64_t recorded) {
    if (recorded == 0 || unusable(rank)) return;
    try {
      const std::uint64_t actual = source(rank).locate(path, dtype, extent, bytes).offset;
      if (actual != recorded) {
        report.problems.push_back({"recorded offset is not the dataset's", object, rank,
                                   "byte " + std::to_string(actual), "byte " + std::to_string(recorded)});
      }
    } catch (const Error& e) {
      report.problems.push_back({"unreadable", object, rank, {}, e.what()});
    }
  };
  for (const auto& t : manifest_.tensors) {
    for (const auto& s : t.shards) {
      const std::string object = "tensor \"" + t.name + "\" box " + describe(s.box);
      check(object, s.rank, tensor_path(t.name), t.dtype, t.shape, s.box, s.bytes, s.checksum);
      check_recorded(object, s.rank, tensor_path(t.name), t.dtype, s.box.extent, s.bytes, s.file_offset);
    }
  }
  for (const auto& b : manifest_.blobs) {
    if (b.bytes == 0) continue;
    const std::string object = "blob \"" + b.name + "\"";
    check(object, b.rank, blob_path(b.rank, b.name), DType::u8, Shape{b.bytes}, Box{{0}, {b.bytes}}, b.bytes,
          b.checksum);
    check_recorded(object, b.rank, blob_path(b.rank, b.name), DType::u8, Shape{b.bytes}, b.bytes, b.file_offset);
  }
  return report;
}

}  // namespace lull
