#include "manifest.h"

#include <nlohmann/json.hpp>

#include "checksum.h"
#include "json_fields.h"

namespace lull::detail {

using nlohmann::json;

const FileEntry* Manifest::file_of(int rank) const noexcept {
  for (const auto& f : files) {
    if (f.rank == rank) return &f;
  }
  return nullptr;
}

std::string manifest_to_json(const Manifest& m) {
  json doc;
  doc["format"] = "lull";
  doc["format_version"] = m.format_version;
  doc["step"] = m.step;
  doc["world_size"] = m.world_size;
  doc["created_unix"] = m.created_unix;
  doc["metadata"] = m.metadata;
  json tensors = json::array();
  for (const auto& t : m.tensors) {
    json shards = json::array();
    for (const auto& s : t.shards) {
      shards.push_back({{"rank", s.rank},
                        {"offset", s.box.offset},
                        {"extent", s.box.extent},
                        {"bytes", s.bytes},
                        {"checksum", checksum_text(s.checksum)},
                        {"file_offset", s.file_offset}});
    }
    tensors.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"shards", shards}});
  }
  doc["tensors"] = std::move(tensors);
  json blobs = json::array();
  for (const auto& b : m.blobs) {
    blobs.push_back({{"rank", b.rank},
                     {"name", b.name},
                     {"bytes", b.bytes},
                     {"checksum", checksum_text(b.checksum)},
                     {"file_offset", b.file_offset}});
  }
  doc["blobs"] = std::move(blobs);
  json files = json::array();
  for (const auto& f : m.files) files.push_back({{"rank", f.rank}, {"name", f.name}, {"bytes", f.bytes}});
  doc["files"] = std::move(files);
  return doc.dump();
}

Manifest manifest_from_json(std::string_view text) {
  JsonFields in("snapshot manifest", ErrorCode::corrupt);
  json doc = in.parse(text);
  Manifest m;
  if (in.string(doc, "format") != "lull") in.fail("format is not \"lull\"");
  m.format_version = in.int32(doc, "format_version");
  m.step = in.u64(doc, "step");
  m.world_size = in.int32(doc, "world_size");
  m.created_unix = in.i64(doc, "created_unix");
  const auto& meta = in.field(doc, "metadata");
  if (!meta.is_object()) in.fail("field \"metadata\" is not an object");
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) in.fail("metadata \"" + key + "\" is not a string");
    m.metadata[key] = value.get<std::string>();
  }
  for (const auto& t : in.array(doc, "tensors")) {
    TensorEntry entry;
    entry.name = in.string(t, "name");
    entry.dtype = in.dtype(t, "dtype");
    entry.shape = in.shape(t, "shape");
    for (const auto& s : in.array(t, "shards")) {
      ShardEntry shard;
      shard.rank = in.int32(s, "rank");
      shard.box = {in.shape(s, "offset"), in.shape(s, "extent")};
      shard.bytes = in.u64(s, "bytes");
      shard.checksum = in.checksum(s, "checksum");
      shard.file_offset = in.u64_or(s, "file_offset", 0);
      if (!inside(shard.box, entry.shape)) in.fail("a shard of tensor \"" + entry.name + "\" lies outside it");
      entry.shards.push_back(std::move(shard));
    }
    m.tensors.push_back(std::move(entry));
  }
  for (const auto& b : in.array(doc, "blobs")) {
    m.blobs.push_back({in.int32(b, "rank"), in.string(b, "name"), in.u64(b, "bytes"), in.checksum(b, "checksum"),
                       in.u64_or(b, "file_offset", 0)});
  }
  for (const auto& f : in.array(doc, "files")) {
    m.files.push_back({in.int32(f, "rank"), in.string(f, "name"), in.u64(f, "bytes")});
  }
  return m;
}

}  // namespace lull::detail
