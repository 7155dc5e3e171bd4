#include "lull/base/json_fields.h"

namespace lull {

nlohmann::json JsonFields::parse_object(std::string_view text, const std::string& what, ErrorCode code) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
    throw Error(code, what + ": malformed JSON (" + e.what() + ")");
  }
  if (!doc.is_object()) throw Error(code, what + ": not a JSON object");
  return doc;
}

JsonFields::JsonFields(const nlohmann::json& object, std::string what, ErrorCode code)
    : object_(object), what_(std::move(what)), code_(code) {
  if (!object_.is_object()) throw Error(code_, what_ + " is not a JSON object");
}

bool JsonFields::has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

void JsonFields::fail(const char* key, const std::string& expected) const {
  std::string message = what_ + ": field \"" + key + "\" " + (has(key) ? "must be " : "is missing: expected ") + expected;
  // Numbers are short; other values are not echoed (they can be as long as the document).
  if (has(key) && object_[key].is_number()) message += " (got " + object_[key].dump() + ")";
  throw Error(code_, message);
}

void JsonFields::fail(const std::string& problem) const { throw Error(code_, what_ + ": " + problem); }

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

std::map<std::string, std::string> JsonFields::text_map(const char* key) const {
  if (!has(key) || !object_[key].is_object()) fail(key, "a JSON object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : object_[key].items()) {
    if (!value.is_string()) fail(key, "a JSON object of strings");
    out.emplace(name, value.get<std::string>());
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

const nlohmann::json& JsonFields::array(const char* key) const {
  if (!has(key) || !object_[key].is_array()) fail(key, "an array");
  return object_[key];
}

}  // namespace lull
