#include "lull/checkpoint/shard_report.h"

#include <nlohmann/json.hpp>

#include "checksum.h"
#include "format_fields.h"

namespace lull {

using nlohmann::json;

ShardReport ShardReport::failure(std::uint64_t step, int rank, int world_size, std::string why) {
  ShardReport report;
  report.step = step;
  report.rank = rank;
  report.world_size = world_size;
  report.error = why.empty() ? "unknown failure" : std::move(why);
  return report;
}

std::string ShardReport::to_json() const {
  json doc;
  doc["step"] = step;
  doc["rank"] = rank;
  doc["world_size"] = world_size;
  doc["error"] = error;
  doc["file"] = file;
  doc["file_bytes"] = file_bytes;
  json list = json::array();
  for (const auto& t : tensors) {
    list.push_back({{"name", t.name},
                    {"dtype", dtype_name(t.dtype)},
                    {"global_shape", t.global_shape},
                    {"offset", t.offset},
                    {"extent", t.extent},
                    {"bytes", t.bytes},
                    {"checksum", detail::checksum_text(t.checksum)},
                    {"file_offset", t.file_offset}});
  }
  doc["tensors"] = std::move(list);
  json blob_list = json::array();
  for (const auto& b : blobs) {
    blob_list.push_back({{"name", b.name},
                         {"bytes", b.bytes},
                         {"checksum", detail::checksum_text(b.checksum)},
                         {"file_offset", b.file_offset}});
  }
  doc["blobs"] = std::move(blob_list);
  doc["metadata"] = metadata;
  return doc.dump();
}

ShardReport ShardReport::from_json(std::string_view text) {
  static const std::string kWhat = "shard report";
  const json doc = JsonFields::parse_object(text, kWhat, ErrorCode::invalid_argument);
  const JsonFields in(doc, kWhat, ErrorCode::invalid_argument);
  ShardReport r;
  r.step = in.integer<std::uint64_t>("step");
  r.rank = detail::int_field(in, "rank");
  r.world_size = detail::int_field(in, "world_size");
  r.error = in.text("error");
  r.file = in.text("file");
  r.file_bytes = in.integer<std::uint64_t>("file_bytes");
  for (const auto& tensor : in.array("tensors")) {
    const JsonFields t(tensor, kWhat, ErrorCode::invalid_argument);
    r.tensors.push_back({t.text("name"), detail::dtype_field(t, "dtype"), detail::shape_field(t, "global_shape"),
                         detail::shape_field(t, "offset"), detail::shape_field(t, "extent"),
                         t.integer<std::uint64_t>("bytes"), detail::checksum_field(t, "checksum"),
                         t.integer_or<std::uint64_t>("file_offset", 0)});
  }
  for (const auto& blob : in.array("blobs")) {
    const JsonFields b(blob, kWhat, ErrorCode::invalid_argument);
    r.blobs.push_back({b.text("name"), b.integer<std::uint64_t>("bytes"), detail::checksum_field(b, "checksum"),
                       b.integer_or<std::uint64_t>("file_offset", 0)});
  }
  r.metadata = in.text_map("metadata");
  return r;
}

}  // namespace lull
