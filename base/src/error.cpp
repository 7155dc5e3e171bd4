#include "lull/base/error.h"

#include <filesystem>

namespace lull {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::io: return "io";
    case ErrorCode::hdf5: return "hdf5";
    case ErrorCode::incomplete: return "incomplete";
    case ErrorCode::in_use: return "in_use";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

namespace {

std::string compose(const std::string& message, const std::string& call, const std::string& detail,
                    const std::string& hint, const SourceLocation& where) {
  std::string out = message;
  if (!call.empty()) {
    out += " [" + call + " at " + std::filesystem::path(where.file_name()).filename().string() +
           ":" + std::to_string(where.line()) + "]";
  }
  if (!detail.empty()) out += " (" + detail + ")";
  if (!hint.empty()) out += " — " + hint;
  return out;
}

}  // namespace

Error::Error(ErrorCode code, std::string message, std::string call, std::string detail,
             std::string hint, SourceLocation where)
    : std::runtime_error(compose(message, call, detail, hint, where)),
      code_(code),
      message_(std::move(message)),
      call_(std::move(call)),
      detail_(std::move(detail)),
      hint_(std::move(hint)) {}

}  // namespace lull
