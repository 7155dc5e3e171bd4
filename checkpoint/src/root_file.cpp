#include "root_file.h"

#include <string>
#include <vector>

#include "checksum.h"
#include "hdf5_attributes.h"
#include "hdf5_error.h"
#include "hdf5_handle.h"
#include "hdf5_output_file.h"
#include "hdf5_types.h"
#include "lull/base/utc_time.h"
#include "shard_file.h"

namespace lull::detail {

std::string escape_vds_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += c;
    if (c == '%') out += '%';
  }
  return out;
}

namespace {

class RootWriter {
 public:
  RootWriter(FileSystem& fs, const std::filesystem::path& path, mode_t mode, const Manifest& manifest)
      : path_(path.string()), m_(manifest) {
    Hid fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path_));
    check_status(H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110), "H5Pset_libver_bounds", path_);
    file_ = Hdf5OutputFile(fs, path, mode, fapl);
  }

  // Throws on failure; the file is then abandoned (by file_'s destructor).
  void write() {
    write_objects();
    file_.close();
  }

 private:
  void write_objects() {
    write_attribute(file_, "format", std::string("lull"));
    write_attribute(file_, "format_version", static_cast<std::int64_t>(m_.format_version));
    write_attribute(file_, "step", m_.step);
    write_attribute(file_, "world_size", static_cast<std::int64_t>(m_.world_size));
    write_attribute(file_, "created_unix", m_.created_unix);
    write_attribute(file_, "created", iso8601_utc(m_.created_unix));

    Hid tensors = group(file_, kTensorsGroup);
    for (const auto& t : m_.tensors) write_tensor(tensors, t);

    Hid ranks = group(file_, kRanksGroup);
    std::vector<Hid> rank_groups(static_cast<std::size_t>(m_.world_size));
    for (const auto& b : m_.blobs) {
      auto& g = rank_groups.at(static_cast<std::size_t>(b.rank));
      if (!g.valid()) g = group(ranks, std::to_string(b.rank).c_str());
      write_global(g, b.name, DType::u8, Shape{b.bytes},
                   {ShardEntry{b.rank, Box{{0}, {b.bytes}}, b.bytes, b.checksum, b.file_offset}},
                   blob_path(b.rank, b.name));
    }

    Hid metadata = group(file_, "metadata");
    for (const auto& [key, value] : m_.metadata) write_attribute(metadata, key.c_str(), value);

    Hid lull_group = group(file_, "lull");
    std::string json = manifest_to_json(m_);
    Hid space = make_dataspace(Shape{json.size()});
    Hid dataset(check_id(H5Dcreate2(lull_group, "manifest", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT),
                         "H5Dcreate2", path_ + ":" + kManifestPath));
    check_status(H5Dwrite(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, json.data()), "H5Dwrite",
                 path_ + ":" + kManifestPath);
    write_attribute(dataset, "checksum", checksum_text(checksum(json.data(), json.size())));
  }

  Hid group(hid_t parent, const char* name) {
    return Hid(check_id(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2",
                        path_ + ":" + name));
  }

  void write_tensor(hid_t tensors, const TensorEntry& t) {
    write_global(tensors, t.name, t.dtype, t.shape, t.shards, tensor_path(t.name));
  }

  // One global dataset `name` in `parent` whose boxes live in shard files
  // at `source_path`.
  void write_global(hid_t parent, const std::string& name, DType dtype, const Shape& shape,
                    const std::vector<ShardEntry>& shards, const std::string& source_path) {
    std::string subject = path_ + ":" + source_path;
    if (shards.size() == 1 && shards[0].box.extent == shape) {
      // Stored whole by one rank (replicated, small, or a scalar, which
      // cannot be virtual): an external link to that dataset reads the same
      // in h5py and h5dump and costs a fraction of a virtual dataset.
      std::string file = m_.file_of(shards[0].rank)->name;
      check_status(H5Lcreate_external(file.c_str(), source_path.c_str(), parent, name.c_str(), H5P_DEFAULT,
                                      H5P_DEFAULT),
                   "H5Lcreate_external", subject);
      return;
    }
    Hid type = make_hdf5_type(dtype);
    Hid space = make_dataspace(shape);
    Hid dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", subject));
    std::string source = escape_vds_name(source_path);
    for (const auto& s : shards) {
      if (s.bytes == 0) continue;
      Hid virtual_space = make_dataspace(shape);
      select_box(virtual_space, s.box.offset, s.box.extent, subject);
      Hid source_space = make_dataspace(s.box.extent);
      const std::string& file = m_.file_of(s.rank)->name;
      check_status(H5Pset_virtual(dcpl, virtual_space, file.c_str(), source.c_str(), source_space),
                   "H5Pset_virtual", subject);
    }
    Hid dataset(check_id(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                         "H5Dcreate2", subject));
  }

  std::string path_;
  const Manifest& m_;
  Hdf5OutputFile file_;
};

}  // namespace

void write_root_file(FileSystem& fs, const std::filesystem::path& path, mode_t mode, const Manifest& manifest) {
  RootWriter(fs, path, mode, manifest).write();
}

}  // namespace lull::detail
