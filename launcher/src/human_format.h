#pragma once
// How the `lull` command writes sizes, times and shapes for people.

#include <cstdint>
#include <string>

#include "lull/checkpoint/dtype.h"

namespace lull::cli {

// "512 B", "4.0 KiB", "1.5 GiB" (binary units, one decimal past bytes).
std::string format_bytes(std::uint64_t bytes);

// ISO 8601 in UTC, to the second: "2024-05-01T12:34:56Z".
std::string format_utc(std::int64_t unix_seconds);

// "[1024, 256]"; a scalar is "[]".
std::string format_shape(const Shape& shape);

}  // namespace lull::cli
