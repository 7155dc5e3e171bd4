#pragma once
// Typed field access for the JSON that lull stores and exchanges (manifest,
// shard reports): one place that turns a missing or mistyped field into a
// lull::Error naming the field.

#include <nlohmann/json.hpp>

#include <string>

#include "lull/base/error.h"
#include "lull/checkpoint/dtype.h"

namespace lull::detail {

class JsonFields {
 public:
  // `what` names the document in messages ("manifest", "shard report");
  // `code` is the ErrorCode thrown for a bad field.
  JsonFields(std::string what, ErrorCode code) : what_(std::move(what)), code_(code) {}

  const nlohmann::json& field(const nlohmann::json& object, const char* key) const;
  std::uint64_t u64(const nlohmann::json& object, const char* key) const;
  // u64(), or `fallback` when the field is absent (added in a later version).
  std::uint64_t u64_or(const nlohmann::json& object, const char* key, std::uint64_t fallback) const;
  std::int64_t i64(const nlohmann::json& object, const char* key) const;
  int int32(const nlohmann::json& object, const char* key) const;
  std::string string(const nlohmann::json& object, const char* key) const;
  Shape shape(const nlohmann::json& object, const char* key) const;
  DType dtype(const nlohmann::json& object, const char* key) const;
  std::uint64_t checksum(const nlohmann::json& object, const char* key) const;
  const nlohmann::json& array(const nlohmann::json& object, const char* key) const;
  [[noreturn]] void fail(const std::string& problem) const;

  nlohmann::json parse(std::string_view text) const;

 private:
  std::string what_;
  ErrorCode code_;
};

}  // namespace lull::detail
