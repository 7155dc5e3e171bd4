#include "support/snapshot_editor.h"

#include <hdf5.h>
#include <xxhash.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace lull::test {

namespace {

using nlohmann::json;

constexpr const char* kManifest = "/lull/manifest";

// An hid_t closed by `close` at scope exit.
class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Id() {
    if (id_ >= 0) close_(id_);
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  operator hid_t() const { return id_; }  // NOLINT: a handle used where the C API wants hid_t

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5 failed: " + what);
  return id;
}

void checked_status(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5 failed: " + what);
}

hid_t file_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return H5T_IEEE_F32LE;
    case DType::f64: return H5T_IEEE_F64LE;
    case DType::u8: return H5T_STD_U8LE;
    case DType::i8: return H5T_STD_I8LE;
    case DType::i32: return H5T_STD_I32LE;
    case DType::i64: return H5T_STD_I64LE;
    default: throw std::runtime_error("snapshot_editor: no HDF5 type for " + std::string(dtype_name(dtype)));
  }
}

std::string checksum_text(const void* data, std::size_t size) {
  char text[32];
  std::snprintf(text, sizeof text, "xxh3:%016llx", static_cast<unsigned long long>(XXH3_64bits(data, size)));
  return text;
}

// The file opened for writing, HDF5's error printing off.
hid_t open_rw(const std::filesystem::path& file) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return checked(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen " + file.string());
}

std::vector<hsize_t> dims_of(const Shape& shape) { return {shape.begin(), shape.end()}; }

// The manifest's "checksum" attribute as lull writes it: a variable-length UTF-8 string.
void write_checksum_attribute(hid_t dataset, const std::string& checksum) {
  const H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const H5Id scalar(H5Screate(H5S_SCALAR), H5Sclose);
  const H5Id attr(checked(H5Acreate2(dataset, "checksum", type, scalar, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"),
                  H5Aclose);
  const char* value = checksum.c_str();
  checked_status(H5Awrite(attr, type, &value), "H5Awrite checksum");
}

// Unlinks `object` from `file` when it is there.
void unlink_if_present(hid_t file, const std::string& object) {
  if (H5Lexists(file, object.c_str(), H5P_DEFAULT) > 0) {
    checked_status(H5Ldelete(file, object.c_str(), H5P_DEFAULT), "H5Ldelete " + object);
  }
}

hid_t simple_space(const Shape& shape) {
  const auto dims = dims_of(shape);
  return shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
}

}  // namespace

json read_manifest(const std::filesystem::path& root) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const H5Id file(checked(H5Fopen(root.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen " + root.string()), H5Fclose);
  const H5Id dataset(checked(H5Dopen2(file, kManifest, H5P_DEFAULT), "H5Dopen2 manifest"), H5Dclose);
  const H5Id space(H5Dget_space(dataset), H5Sclose);
  std::string text(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)), '\0');
  checked_status(H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()), "H5Dread manifest");
  return json::parse(text);
}

void write_manifest(const std::filesystem::path& root, const json& doc) {
  const std::string text = doc.dump();
  const H5Id file(open_rw(root), H5Fclose);
  checked_status(H5Ldelete(file, kManifest, H5P_DEFAULT), "H5Ldelete manifest");
  const hsize_t size = text.size();
  const H5Id space(H5Screate_simple(1, &size, nullptr), H5Sclose);
  const H5Id dataset(checked(H5Dcreate2(file, kManifest, H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                             "H5Dcreate2 manifest"),
                     H5Dclose);
  checked_status(H5Dwrite(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()), "H5Dwrite manifest");
  write_checksum_attribute(dataset, checksum_text(text.data(), text.size()));
}

void edit_manifest(const std::filesystem::path& root, const std::function<void(json&)>& edit) {
  json doc = read_manifest(root);
  edit(doc);
  write_manifest(root, doc);
}

void declare_manifest_bytes(const std::filesystem::path& root, std::uint64_t bytes) {
  const std::string checksum = checksum_text("", 0);
  const H5Id file(open_rw(root), H5Fclose);
  checked_status(H5Ldelete(file, kManifest, H5P_DEFAULT), "H5Ldelete manifest");
  const hsize_t size = bytes;
  const H5Id space(H5Screate_simple(1, &size, nullptr), H5Sclose);
  const H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  checked_status(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE), "H5Pset_alloc_time");
  const H5Id dataset(
      checked(H5Dcreate2(file, kManifest, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2 manifest"),
      H5Dclose);
  write_checksum_attribute(dataset, checksum);
}

void replace_with_external_link(const std::filesystem::path& file, const std::string& object,
                                const std::string& target_file, const std::string& target_object) {
  const H5Id f(open_rw(file), H5Fclose);
  unlink_if_present(f, object);
  checked_status(H5Lcreate_external(target_file.c_str(), target_object.c_str(), f, object.c_str(), H5P_DEFAULT,
                                    H5P_DEFAULT),
                 "H5Lcreate_external " + object);
}

void move_object(const std::filesystem::path& file, const std::string& from, const std::string& to) {
  const H5Id f(open_rw(file), H5Fclose);
  checked_status(H5Lmove(f, from.c_str(), f, to.c_str(), H5P_DEFAULT, H5P_DEFAULT), "H5Lmove " + from);
}

void replace_with_virtual_dataset(const std::filesystem::path& file, const std::string& object, DType dtype,
                                  const Shape& shape, const std::vector<VirtualPiece>& pieces) {
  const H5Id f(open_rw(file), H5Fclose);
  unlink_if_present(f, object);
  const H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  for (const auto& piece : pieces) {
    const H5Id vspace(simple_space(shape), H5Sclose);
    const auto start = dims_of(piece.offset);
    const auto count = dims_of(piece.extent);
    checked_status(H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                   "H5Sselect_hyperslab");
    const H5Id srcspace(simple_space(piece.extent), H5Sclose);
    checked_status(H5Pset_virtual(dcpl, vspace, piece.file.c_str(), piece.dataset.c_str(), srcspace),
                   "H5Pset_virtual " + piece.file);
  }
  const H5Id space(simple_space(shape), H5Sclose);
  const H5Id dataset(
      checked(H5Dcreate2(f, object.c_str(), file_type(dtype), space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2"),
      H5Dclose);
}

void replace_with_external_storage(const std::filesystem::path& file, const std::string& object, DType dtype,
                                   const Shape& shape, const std::string& external) {
  const H5Id f(open_rw(file), H5Fclose);
  unlink_if_present(f, object);
  const H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  checked_status(H5Pset_external(dcpl, external.c_str(), 0, H5F_UNLIMITED), "H5Pset_external");
  const H5Id space(simple_space(shape), H5Sclose);
  const H5Id dataset(
      checked(H5Dcreate2(f, object.c_str(), file_type(dtype), space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2"),
      H5Dclose);
}

void damage_external_file_list(const std::filesystem::path& file, const std::string& object, DType dtype,
                               const Shape& shape) {
  const std::string name = "lull-external-name-to-damage";
  replace_with_external_storage(file, object, dtype, shape, name);
  std::fstream bytes(file, std::ios::binary | std::ios::in | std::ios::out);
  std::string content(std::filesystem::file_size(file), '\0');
  bytes.read(content.data(), static_cast<std::streamsize>(content.size()));
  const auto at = content.find(name);
  if (at == std::string::npos || content.find(name, at + 1) != std::string::npos) {
    throw std::runtime_error("damage_external_file_list: the name is not in " + file.string() + " exactly once");
  }
  bytes.clear();
  bytes.seekp(static_cast<std::streamoff>(at));
  bytes.put('\0');
  if (!bytes) throw std::runtime_error("damage_external_file_list: cannot write " + file.string());
}

std::vector<VirtualPiece> virtual_pieces(const std::filesystem::path& file, const std::string& object) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const H5Id f(checked(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen " + file.string()), H5Fclose);
  const H5Id dataset(checked(H5Dopen2(f, object.c_str(), H5P_DEFAULT), "H5Dopen2 " + object), H5Dclose);
  const H5Id dcpl(H5Dget_create_plist(dataset), H5Pclose);
  std::size_t count = 0;
  checked_status(H5Pget_virtual_count(dcpl, &count), "H5Pget_virtual_count " + object);
  std::vector<VirtualPiece> pieces;
  for (std::size_t i = 0; i < count; ++i) {
    VirtualPiece piece;
    char name[4096];
    if (H5Pget_virtual_filename(dcpl, i, name, sizeof name) < 0) throw std::runtime_error("H5Pget_virtual_filename");
    piece.file = name;
    if (H5Pget_virtual_dsetname(dcpl, i, name, sizeof name) < 0) throw std::runtime_error("H5Pget_virtual_dsetname");
    piece.dataset = name;
    const H5Id vspace(H5Pget_virtual_vspace(dcpl, i), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(vspace);
    std::vector<hsize_t> start(static_cast<std::size_t>(rank)), end(static_cast<std::size_t>(rank));
    checked_status(H5Sget_select_bounds(vspace, start.data(), end.data()), "H5Sget_select_bounds");
    for (int d = 0; d < rank; ++d) {
      piece.offset.push_back(start[static_cast<std::size_t>(d)]);
      piece.extent.push_back(end[static_cast<std::size_t>(d)] - start[static_cast<std::size_t>(d)] + 1);
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

void replace_attribute_with_array(const std::filesystem::path& file, const std::string& object,
                                  const std::string& name, std::size_t count, bool strings) {
  const H5Id f(open_rw(file), H5Fclose);
  const H5Id target(checked(H5Oopen(f, object.c_str(), H5P_DEFAULT), "H5Oopen " + object), H5Oclose);
  H5Adelete(target, name.c_str());
  const hsize_t dims = count;
  const H5Id space(H5Screate_simple(1, &dims, nullptr), H5Sclose);
  if (strings) {
    const H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, 64);
    const std::string values(64 * count, 'x');
    const H5Id attr(checked(H5Acreate2(target, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"),
                    H5Aclose);
    checked_status(H5Awrite(attr, type, values.data()), "H5Awrite " + name);
    return;
  }
  const std::vector<std::uint64_t> values(count, 1);
  const H5Id attr(
      checked(H5Acreate2(target, name.c_str(), H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"),
      H5Aclose);
  checked_status(H5Awrite(attr, H5T_NATIVE_UINT64, values.data()), "H5Awrite " + name);
}

void fill_blob(const std::filesystem::path& snapshot_dir, int rank, const std::string& name, char fill) {
  const std::filesystem::path root = snapshot_dir / "root.h5";
  edit_manifest(root, [&](json& doc) {
    std::string file;
    for (const auto& f : doc["files"]) {
      if (f["rank"] == rank) file = f["name"].get<std::string>();
    }
    for (auto& b : doc["blobs"]) {
      if (b["rank"] != rank || b["name"] != name) continue;
      const auto bytes = b["bytes"].get<std::uint64_t>();
      const std::string content(bytes, fill);
      std::fstream out(snapshot_dir / file, std::ios::binary | std::ios::in | std::ios::out);
      out.seekp(static_cast<std::streamoff>(b["file_offset"].get<std::uint64_t>()));
      out.write(content.data(), static_cast<std::streamsize>(content.size()));
      if (!out) throw std::runtime_error("fill_blob: cannot write " + (snapshot_dir / file).string());
      b["checksum"] = checksum_text(content.data(), content.size());
      return;
    }
    throw std::runtime_error("fill_blob: no blob \"" + name + "\" of rank " + std::to_string(rank));
  });
}

}  // namespace lull::test
