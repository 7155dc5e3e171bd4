#pragma once
// Reading typed fields out of a JSON object, with one clear error per
// missing, mistyped or out-of-range field: for the journal (Error(corrupt))
// and the socket protocol (Error(invalid_argument)). Every reader throws
// lull::Error(code) naming the object and `key`:
//   submit request: field "ranks" must be an integer from 1 to 1048576 (got 4294967297)

#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lull/base/error.h"

namespace lull::arbiter {

class JsonFields {
 public:
  // `what` names the object in messages ("journal record", "submit request").
  JsonFields(const nlohmann::json& object, std::string what, ErrorCode code);

  // Present and not null.
  bool has(const char* key) const;
  std::string text(const char* key) const;
  std::vector<std::string> texts(const char* key) const;
  bool boolean_or(const char* key, bool fallback) const;
  // The field's value, which must be a JSON object.
  const nlohmann::json& object(const char* key) const;

  // An integer from `min` to `max`. A float (even 4.0), a fraction or a
  // number outside the range (or outside T) is refused, never cut to fit.
  template <std::integral T>
  T integer(const char* key, T min = std::numeric_limits<T>::min(), T max = std::numeric_limits<T>::max()) const;
  template <std::integral T>
  T integer_or(const char* key, T fallback, T min = std::numeric_limits<T>::min(),
               T max = std::numeric_limits<T>::max()) const {
    return has(key) ? integer<T>(key, min, max) : fallback;
  }

 private:
  [[noreturn]] void fail(const char* key, const std::string& expected) const;
  const nlohmann::json& object_;
  std::string what_;
  ErrorCode code_;
};

template <std::integral T>
T JsonFields::integer(const char* key, T min, T max) const {
  const std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!has(key) || !object_[key].is_number_integer()) fail(key, expected);
  const nlohmann::json& value = object_[key];
  // nlohmann keeps a non-negative integer unsigned and a negative one signed.
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (std::cmp_greater_equal(number, min) && std::cmp_less_equal(number, max)) return static_cast<T>(number);
  } else {
    const auto number = value.get<std::int64_t>();
    if (std::cmp_greater_equal(number, min) && std::cmp_less_equal(number, max)) return static_cast<T>(number);
  }
  fail(key, expected);
}

}  // namespace lull::arbiter
