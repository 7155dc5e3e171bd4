#include "lull/base/names.h"

#include <string>

#include "lull/base/bounded_text.h"
#include "lull/base/error.h"

namespace lull {

namespace {

constexpr std::size_t kMaxNameBytes = 255;

// Returns what is wrong with `name`, or nullptr when it is acceptable.
const char* name_problem(std::string_view name) noexcept {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes) return "is longer than 255 bytes";
  if (name == ".") return "is \".\"";
  if (name.find("..") != std::string_view::npos) return "contains \"..\"";
  if (name.front() == ' ' || name.back() == ' ') return "starts or ends with a space";
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '/') return "contains '/'";
    if (c == '\\') return "contains '\\'";
    if (byte < 0x20 || byte == 0x7f) return "contains a NUL or control character";
  }
  return nullptr;
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept { return name_problem(name) == nullptr; }

void validate_name(std::string_view what, std::string_view name) {
  if (const char* problem = name_problem(name)) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + " " + quoted_text(name, 80) + " " + problem, {}, {},
                "use 1-255 printable characters without '/', '\\' or \"..\"");
  }
}

}  // namespace lull
