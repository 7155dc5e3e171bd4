#include "json_fields.h"

#include "checksum.h"

namespace lull::detail {

void JsonFields::fail(const std::string& problem) const {
  throw Error(code_, what_ + ": " + problem);
}

nlohmann::json JsonFields::parse(std::string_view text) const {
  try {
    auto doc = nlohmann::json::parse(text);
    if (!doc.is_object()) fail("not a JSON object");
    return doc;
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e99999
    fail(std::string("malformed JSON (") + e.what() + ")");
  }
}

const nlohmann::json& JsonFields::field(const nlohmann::json& object, const char* key) const {
  auto it = object.find(key);
  if (it == object.end()) fail(std::string("field \"") + key + "\" is missing");
  return *it;
}

std::uint64_t JsonFields::u64(const nlohmann::json& object, const char* key) const {
  const auto& value = field(object, key);
  if (!value.is_number_unsigned()) fail(std::string("field \"") + key + "\" is not an unsigned integer");
  return value.get<std::uint64_t>();
}

std::uint64_t JsonFields::u64_or(const nlohmann::json& object, const char* key, std::uint64_t fallback) const {
  return object.contains(key) ? u64(object, key) : fallback;
}

std::int64_t JsonFields::i64(const nlohmann::json& object, const char* key) const {
  const auto& value = field(object, key);
  if (!value.is_number_integer()) fail(std::string("field \"") + key + "\" is not an integer");
  return value.get<std::int64_t>();
}

int JsonFields::int32(const nlohmann::json& object, const char* key) const {
  std::int64_t value = i64(object, key);
  if (value < -1 || value > (1 << 30)) fail(std::string("field \"") + key + "\" is out of range");
  return static_cast<int>(value);
}

std::string JsonFields::string(const nlohmann::json& object, const char* key) const {
  const auto& value = field(object, key);
  if (!value.is_string()) fail(std::string("field \"") + key + "\" is not a string");
  return value.get<std::string>();
}

Shape JsonFields::shape(const nlohmann::json& object, const char* key) const {
  const auto& value = array(object, key);
  if (value.size() > kMaxDims) fail(std::string("field \"") + key + "\" has more than 8 dimensions");
  Shape out;
  for (const auto& d : value) {
    if (!d.is_number_unsigned()) fail(std::string("field \"") + key + "\" holds a non-integer");
    out.push_back(d.get<std::uint64_t>());
  }
  return out;
}

DType JsonFields::dtype(const nlohmann::json& object, const char* key) const {
  auto text = string(object, key);
  auto type = parse_dtype(text);
  if (!type) fail("unknown dtype \"" + text + "\" in field \"" + key + "\"");
  return *type;
}

std::uint64_t JsonFields::checksum(const nlohmann::json& object, const char* key) const {
  std::uint64_t value = 0;
  if (!parse_checksum_text(string(object, key), value)) fail(std::string("field \"") + key + "\" is not a checksum");
  return value;
}

const nlohmann::json& JsonFields::array(const nlohmann::json& object, const char* key) const {
  const auto& value = field(object, key);
  if (!value.is_array()) fail(std::string("field \"") + key + "\" is not an array");
  return value;
}

}  // namespace lull::detail
