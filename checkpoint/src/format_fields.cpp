#include "format_fields.h"

#include "checksum.h"

namespace lull::detail {

Shape shape_field(const JsonFields& fields, const char* key) {
  const std::string expected = "an array of at most " + std::to_string(kMaxDims) + " non-negative integers";
  if (!fields.has(key)) fields.fail(key, expected);
  const nlohmann::json& dims = fields.array(key);
  if (dims.size() > kMaxDims) fields.fail(key, expected);
  Shape out;
  for (const auto& d : dims) {
    if (!d.is_number_unsigned()) fields.fail(key, expected);
    out.push_back(d.get<std::uint64_t>());
  }
  return out;
}

DType dtype_field(const JsonFields& fields, const char* key) {
  const auto type = parse_dtype(fields.text(key));
  if (!type) fields.fail(key, "the name of a dtype lull knows");
  return *type;
}

std::uint64_t checksum_field(const JsonFields& fields, const char* key) {
  std::uint64_t value = 0;
  if (!parse_checksum_text(fields.text(key), value)) fields.fail(key, "a checksum (\"xxh3:\" and 16 hex digits)");
  return value;
}

int int_field(const JsonFields& fields, const char* key) { return fields.integer<int>(key, -1, 1 << 30); }

}  // namespace lull::detail
