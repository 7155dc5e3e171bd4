#pragma once
// Validation of names that come from users (tensor, blob, job, metadata key).
//
// Such names end up as HDF5 object names and, for jobs, as file-system path
// parts, so they are checked before use: 1..255 bytes, no '/', no '\\', no
// "..", not ".", no NUL or other control character, no leading or trailing
// space. Everything else (dots, dashes, UTF-8) is allowed: "layer1.weight" is
// fine.

#include <string_view>

namespace lull {

// Throws Error(invalid_argument) naming `what` ("tensor name") and saying what
// is wrong with `name`. Thread-safe, pure.
void validate_name(std::string_view what, std::string_view name);

// The same check, answering instead of throwing.
bool is_valid_name(std::string_view name) noexcept;

}  // namespace lull
