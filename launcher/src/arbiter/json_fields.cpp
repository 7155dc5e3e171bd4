#include "json_fields.h"

namespace lull::arbiter {

JsonFields::JsonFields(const nlohmann::json& object, std::string what, ErrorCode code)
    : object_(object), what_(std::move(what)), code_(code) {
  if (!object_.is_object()) throw Error(code_, what_ + " is not a JSON object");
}

bool JsonFields::has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

void JsonFields::fail(const char* key, const std::string& expected) const {
  std::string message = what_ + ": field \"" + key + "\" " + (has(key) ? "must be " : "is missing: expected ") + expected;
  // Numbers are short; other values are not echoed (they can be as long as the request).
  if (has(key) && object_[key].is_number()) message += " (got " + object_[key].dump() + ")";
  throw Error(code_, message);
}

std::string JsonFields::text(const char* key) const {
  if (!has(key) || !object_[key].is_string()) fail(key, "a string");
  return object_[key].get<std::string>();
}

std::vector<std::string> JsonFields::texts(const char* key) const {
  if (!has(key) || !object_[key].is_array()) fail(key, "an array of strings");
  std::vector<std::string> out;
  for (const auto& item : object_[key]) {
    if (!item.is_string()) fail(key, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool JsonFields::boolean_or(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  if (!object_[key].is_boolean()) fail(key, "true or false");
  return object_[key].get<bool>();
}

const nlohmann::json& JsonFields::object(const char* key) const {
  if (!has(key) || !object_[key].is_object()) fail(key, "a JSON object");
  return object_[key];
}

}  // namespace lull::arbiter
