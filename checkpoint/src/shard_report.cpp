#include "lull/checkpoint/shard_report.h"

#include <nlohmann/json.hpp>

#include "checksum.h"
#include "json_fields.h"

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
  detail::JsonFields in("shard report", ErrorCode::invalid_argument);
  json doc = in.parse(text);
  ShardReport r;
  r.step = in.u64(doc, "step");
  r.rank = in.int32(doc, "rank");
  r.world_size = in.int32(doc, "world_size");
  r.error = in.string(doc, "error");
  r.file = in.string(doc, "file");
  r.file_bytes = in.u64(doc, "file_bytes");
  for (const auto& t : in.array(doc, "tensors")) {
    r.tensors.push_back({in.string(t, "name"), in.dtype(t, "dtype"), in.shape(t, "global_shape"),
                         in.shape(t, "offset"), in.shape(t, "extent"), in.u64(t, "bytes"),
                         in.checksum(t, "checksum"), in.u64_or(t, "file_offset", 0)});
  }
  for (const auto& b : in.array(doc, "blobs")) {
    r.blobs.push_back(
        {in.string(b, "name"), in.u64(b, "bytes"), in.checksum(b, "checksum"), in.u64_or(b, "file_offset", 0)});
  }
  const auto& meta = in.field(doc, "metadata");
  if (!meta.is_object()) in.fail("field \"metadata\" is not an object");
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) in.fail("metadata \"" + key + "\" is not a string");
    r.metadata[key] = value.get<std::string>();
  }
  return r;
}

}  // namespace lull
