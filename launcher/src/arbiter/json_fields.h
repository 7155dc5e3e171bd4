#pragma once
// Reading typed fields out of a JSON object, with one clear error per
// missing or mistyped field: for the journal (Error(corrupt)) and the socket
// protocol (Error(invalid_argument)). Throws lull::Error(code) naming `key`.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lull/base/error.h"

namespace lull::arbiter {

class JsonFields {
 public:
  // `what` names the object in messages ("journal record", "submit request").
  JsonFields(const nlohmann::json& object, std::string what, ErrorCode code);

  bool has(const char* key) const;
  std::string text(const char* key) const;
  std::int64_t integer(const char* key) const;
  std::int64_t integer_or(const char* key, std::int64_t fallback) const;
  std::vector<std::string> texts(const char* key) const;
  std::vector<int> integers(const char* key) const;

 private:
  [[noreturn]] void fail(const char* key, const char* expected) const;
  const nlohmann::json& object_;
  std::string what_;
  ErrorCode code_;
};

}  // namespace lull::arbiter
