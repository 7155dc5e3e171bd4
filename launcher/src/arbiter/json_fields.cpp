#include "json_fields.h"

namespace lull::arbiter {

JsonFields::JsonFields(const nlohmann::json& object, std::string what, ErrorCode code)
    : object_(object), what_(std::move(what)), code_(code) {
  if (!object_.is_object()) throw Error(code_, what_ + " is not a JSON object");
}

bool JsonFields::has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

void JsonFields::fail(const char* key, const char* expected) const {
  throw Error(code_, what_ + ": field \"" + key + "\" " + (has(key) ? "must be " : "is missing: expected ") + expected);
}

std::string JsonFields::text(const char* key) const {
  if (!has(key) || !object_[key].is_string()) fail(key, "a string");
  return object_[key].get<std::string>();
}

std::int64_t JsonFields::integer(const char* key) const {
  if (!has(key) || !object_[key].is_number_integer()) fail(key, "an integer");
  return object_[key].get<std::int64_t>();
}

std::int64_t JsonFields::integer_or(const char* key, std::int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
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

std::vector<int> JsonFields::integers(const char* key) const {
  if (!has(key) || !object_[key].is_array()) fail(key, "an array of integers");
  std::vector<int> out;
  for (const auto& item : object_[key]) {
    if (!item.is_number_integer()) fail(key, "an array of integers");
    out.push_back(item.get<int>());
  }
  return out;
}

}  // namespace lull::arbiter
