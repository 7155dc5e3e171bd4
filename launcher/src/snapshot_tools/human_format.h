#pragma once
// How the snapshot tools write sizes and shapes for people (times:
// lull/base/utc_time.h).

#include <cstdint>
#include <string>

#include "lull/checkpoint/dtype.h"

namespace lull::snapshot_tools {

// "512 B", "4.0 KiB", "1.5 GiB" (binary units, one decimal past bytes).
std::string format_bytes(std::uint64_t bytes);

// "[1024, 256]"; a scalar is "[]".
std::string format_shape(const Shape& shape);

}  // namespace lull::snapshot_tools
