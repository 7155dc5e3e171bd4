#pragma once
// JsonFields — the typed fields of one JSON object lull reads (a snapshot's
// manifest, a shard report, the arbiter's journal and socket requests, the
// notice file), with one clear lull::Error per missing, mistyped or
// out-of-range field, naming the document and the field:
//   submit request: field "ranks" must be an integer from 1 to 1048576 (got 4294967297)
//   snapshot manifest: field "step" is missing: expected an integer from 0 to 18446744073709551615
//
// Internal to lull's build (base/internal/, never installed): it exposes
// nlohmann::json, which lull's installed headers do not. Link
// lull_base_internals to use it.
//
// Whole numbers are read as integers only: a float (even 4.0), a fraction
// or a number outside the range asked for is refused, never cut to fit. A
// field that is null counts as absent. Other values than numbers are not
// echoed in messages (they can be as long as the document). Not
// thread-safe to share while the object it reads changes; it reads only.

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lull/base/error.h"

namespace lull {

class JsonFields {
 public:
  // `text` parsed as one JSON object. Throws Error(code)
  // "<what>: malformed JSON (<the parser's reason>)" or "<what>: not a JSON object".
  static nlohmann::json parse_object(std::string_view text, const std::string& what, ErrorCode code);

  // Reads `object`, which must outlive this reader. `what` names the
  // document in messages ("journal record", "snapshot manifest"); `code` is
  // the ErrorCode of every refusal. Throws "<what> is not a JSON object".
  JsonFields(const nlohmann::json& object, std::string what, ErrorCode code);

  // Present and not null.
  bool has(const char* key) const;
  std::string text(const char* key) const;
  std::vector<std::string> texts(const char* key) const;
  // A JSON object whose every value is a string.
  std::map<std::string, std::string> text_map(const char* key) const;
  bool boolean_or(const char* key, bool fallback) const;
  // The field's value, which must be a JSON object (array).
  const nlohmann::json& object(const char* key) const;
  const nlohmann::json& array(const char* key) const;

  // An integer from `min` to `max` (by default, any T).
  template <std::integral T>
  T integer(const char* key, T min = std::numeric_limits<T>::min(), T max = std::numeric_limits<T>::max()) const;
  // integer(), or `fallback` when the field is absent.
  template <std::integral T>
  T integer_or(const char* key, T fallback, T min = std::numeric_limits<T>::min(),
               T max = std::numeric_limits<T>::max()) const {
    return has(key) ? integer<T>(key, min, max) : fallback;
  }

  // Throws "<what>: field "<key>" must be <expected>" (with " (got N)" when
  // the value is a number), or "... is missing: expected <expected>".
  [[noreturn]] void fail(const char* key, const std::string& expected) const;
  // Throws "<what>: <problem>", for a rule across fields.
  [[noreturn]] void fail(const std::string& problem) const;

 private:
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

}  // namespace lull
