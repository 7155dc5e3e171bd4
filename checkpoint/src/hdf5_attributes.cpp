#include "hdf5_attributes.h"

#include <vector>

#include "hdf5_error.h"

namespace lull::detail {

namespace {

void write_scalar(hid_t object, const char* name, hid_t type, const void* value) {
  Hid space(check_id(H5Screate(H5S_SCALAR), "H5Screate", name));
  Hid attr(check_id(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", name));
  check_status(H5Awrite(attr, type, value), "H5Awrite", name);
}

}  // namespace

void write_attribute(hid_t object, const char* name, std::uint64_t value) {
  write_scalar(object, name, H5T_STD_U64LE, &value);
}

void write_attribute(hid_t object, const char* name, std::int64_t value) {
  write_scalar(object, name, H5T_STD_I64LE, &value);
}

// Variable-length UTF-8, which h5py reads as str (fixed-length reads as bytes).
void write_attribute(hid_t object, const char* name, const std::string& value) {
  Hid type(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", name));
  check_status(H5Tset_size(type, H5T_VARIABLE), "H5Tset_size", name);
  check_status(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset", name);
  const char* text = value.c_str();
  write_scalar(object, name, type, &text);
}

namespace {

// The attribute `name` of `object` when it holds exactly one value (its
// type and space come from the file: reading an array of them into one
// value would write past it).
Hid open_single_valued(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return Hid();
  }
  Hid attr(H5Aopen(object, name, H5P_DEFAULT));
  if (!attr.valid()) return Hid();
  Hid space(H5Aget_space(attr));
  if (!space.valid() || H5Sget_simple_extent_npoints(space) != 1) return Hid();
  return attr;
}

// Fixed-length strings longer than this are not lull's attributes.
constexpr std::size_t kMaxFixedStringBytes = 1 << 16;

}  // namespace

std::optional<std::uint64_t> read_u64_attribute(hid_t object, const char* name) {
  Hid attr = open_single_valued(object, name);
  if (!attr.valid()) return std::nullopt;
  Hid type(H5Aget_type(attr));
  if (!type.valid() || H5Tget_class(type) != H5T_INTEGER) return std::nullopt;
  std::uint64_t value = 0;
  if (H5Aread(attr, H5T_NATIVE_UINT64, &value) < 0) return std::nullopt;
  return value;
}

std::optional<std::string> read_string_attribute(hid_t object, const char* name) {
  Hid attr = open_single_valued(object, name);
  if (!attr.valid()) return std::nullopt;
  Hid type(H5Aget_type(attr));
  if (!type.valid() || H5Tget_class(type) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(type) > 0) {
    char* text = nullptr;
    if (H5Aread(attr, type, &text) < 0 || text == nullptr) return std::nullopt;
    std::string out(text);
    H5free_memory(text);
    return out;
  }
  std::size_t size = H5Tget_size(type);
  if (size == 0 || size > kMaxFixedStringBytes) return std::nullopt;
  std::vector<char> buf(size + 1, '\0');
  if (H5Aread(attr, type, buf.data()) < 0) return std::nullopt;
  return std::string(buf.data());
}

Hid make_dataspace(const Shape& shape) {
  if (shape.empty()) return Hid(check_id(H5Screate(H5S_SCALAR), "H5Screate", "scalar dataspace"));
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Hid(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple",
                      "dataspace"));
}

Shape dataspace_shape(hid_t dataset, const std::string& subject) {
  Hid space(check_id(H5Dget_space(dataset), "H5Dget_space", subject));
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) throw hdf5_error("H5Sget_simple_extent_ndims", subject);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) check_status(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "H5Sget_simple_extent_dims", subject);
  return Shape(dims.begin(), dims.end());
}

void select_box(hid_t space, const Shape& offset, const Shape& extent, const std::string& subject) {
  std::vector<hsize_t> start(offset.begin(), offset.end());
  std::vector<hsize_t> count(extent.begin(), extent.end());
  check_status(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
               "H5Sselect_hyperslab", subject);
}

}  // namespace lull::detail
