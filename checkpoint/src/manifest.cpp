#include "manifest.h"

#include <nlohmann/json.hpp>

#include "checksum.h"
#include "format_fields.h"

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
  static const std::string kWhat = "snapshot manifest";
  const json doc = JsonFields::parse_object(text, kWhat, ErrorCode::corrupt);
  const JsonFields in(doc, kWhat, ErrorCode::corrupt);
  Manifest m;
  if (in.text("format") != "lull") in.fail("format is not \"lull\"");
  m.format_version = int_field(in, "format_version");
  m.step = in.integer<std::uint64_t>("step");
  m.world_size = int_field(in, "world_size");
  m.created_unix = in.integer<std::int64_t>("created_unix");
  m.metadata = in.text_map("metadata");
  for (const auto& tensor : in.array("tensors")) {
    const JsonFields t(tensor, kWhat, ErrorCode::corrupt);
    TensorEntry entry;
    entry.name = t.text("name");
    entry.dtype = dtype_field(t, "dtype");
    entry.shape = shape_field(t, "shape");
    for (const auto& shard_object : t.array("shards")) {
      const JsonFields s(shard_object, kWhat, ErrorCode::corrupt);
      ShardEntry shard;
      shard.rank = int_field(s, "rank");
      shard.box = {shape_field(s, "offset"), shape_field(s, "extent")};
      shard.bytes = s.integer<std::uint64_t>("bytes");
      shard.checksum = checksum_field(s, "checksum");
      shard.file_offset = s.integer_or<std::uint64_t>("file_offset", 0);
      if (!inside(shard.box, entry.shape)) in.fail("a shard of tensor \"" + entry.name + "\" lies outside it");
      entry.shards.push_back(std::move(shard));
    }
    m.tensors.push_back(std::move(entry));
  }
  for (const auto& blob : in.array("blobs")) {
    const JsonFields b(blob, kWhat, ErrorCode::corrupt);
    m.blobs.push_back({int_field(b, "rank"), b.text("name"), b.integer<std::uint64_t>("bytes"),
                       checksum_field(b, "checksum"), b.integer_or<std::uint64_t>("file_offset", 0)});
  }
  for (const auto& file : in.array("files")) {
    const JsonFields f(file, kWhat, ErrorCode::corrupt);
    m.files.push_back({int_field(f, "rank"), f.text("name"), f.integer<std::uint64_t>("bytes")});
  }
  return m;
}

}  // namespace lull::detail
