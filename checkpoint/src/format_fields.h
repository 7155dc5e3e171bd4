#pragma once
// The snapshot format's own field types in its JSON documents (manifest,
// shard reports), read through base's JsonFields so that a bad one is
// refused like any other field: "<document>: field "<key>" must be ...".

#include <cstdint>

#include "lull/base/json_fields.h"
#include "lull/checkpoint/dtype.h"

namespace lull::detail {

// An array of at most kMaxDims non-negative integers.
Shape shape_field(const JsonFields& fields, const char* key);
// A dtype's name as dtype_name() spells it.
DType dtype_field(const JsonFields& fields, const char* key);
// A checksum as checksum_text() spells it.
std::uint64_t checksum_field(const JsonFields& fields, const char* key);
// The int fields of the format (ranks, world sizes, format version): -1 to 2^30.
int int_field(const JsonFields& fields, const char* key);

}  // namespace lull::detail
