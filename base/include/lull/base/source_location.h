#pragma once
// lull::SourceLocation: where a lull::Error was raised (file and line).
//
// std::source_location where the standard library provides it (GCC 11+, or
// clang 15+ with libstdc++). Debian 12's clang 14, which `make fuzz` uses,
// lacks the builtin libstdc++'s version needs; there it is the same
// interface on the __builtin_FILE/__builtin_LINE both compilers have, so
// lull's headers compile with either.

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
namespace lull {
using SourceLocation = std::source_location;
}  // namespace lull
#else
#include <cstdint>
namespace lull {
class SourceLocation {
 public:
  // Default arguments are evaluated at the call site: the caller's location.
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
                                          std::uint_least32_t line = __builtin_LINE()) noexcept {
    SourceLocation where;
    where.file_ = file;
    where.function_ = function;
    where.line_ = line;
    return where;
  }
  constexpr SourceLocation() noexcept = default;
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
};
}  // namespace lull
#endif
