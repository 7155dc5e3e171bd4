#pragma once
// Small typed helpers for HDF5 attributes and dataspaces (throwing lull::Error).

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>

#include "hdf5_handle.h"
#include "lull/checkpoint/dtype.h"

namespace lull::detail {

void write_attribute(hid_t object, const char* name, std::uint64_t value);
void write_attribute(hid_t object, const char* name, std::int64_t value);
void write_attribute(hid_t object, const char* name, const std::string& value);

// nullopt when the attribute is absent or of another type.
std::optional<std::uint64_t> read_u64_attribute(hid_t object, const char* name);
std::optional<std::string> read_string_attribute(hid_t object, const char* name);

// A simple dataspace of `shape`, or a scalar one for a 0-d shape.
Hid make_dataspace(const Shape& shape);
// The dimensions of a dataset's dataspace ({} for scalar).
Shape dataspace_shape(hid_t dataset, const std::string& subject);
// Selects the box (offset, extent) in a simple dataspace.
void select_box(hid_t space, const Shape& offset, const Shape& extent, const std::string& subject);

}  // namespace lull::detail
