#include "manifest_check.h"

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "layout.h"
#include "lull/base/error.h"
#include "lull/base/names.h"
#include "tiling.h"

namespace lull::detail {

namespace {

class ManifestCheck {
 public:
  ManifestCheck(const Manifest& m, const std::string& subject) : m_(m), subject_(subject) {}

  void run() {
    if (m_.format_version < 1 || m_.format_version > kFormatVersion) {
      fail("format_version " + std::to_string(m_.format_version) + " is not one this lull reads (1.." +
           std::to_string(kFormatVersion) + ")");
    }
    if (m_.world_size < 1) fail("world_size " + std::to_string(m_.world_size) + " is not a number of ranks");
    check_files();
    for (const auto& t : m_.tensors) check_tensor(t);
    std::set<std::pair<int, std::string>> blobs;
    for (const auto& b : m_.blobs) {
      const std::string object = "blob \"" + printable(b.name) + "\" of rank " + std::to_string(b.rank);
      if (!is_valid_name(b.name)) fail(object + ": not a valid blob name");
      if (!blobs.emplace(b.rank, b.name).second) fail(object + " is listed twice");
      place(object, b.rank, b.bytes, b.file_offset);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::corrupt, subject_ + ": manifest: " + what, {}, {},
                "the snapshot was damaged or rewritten; an older snapshot may still be intact");
  }

  // Names from the manifest go into messages; control characters do not.
  static std::string printable(const std::string& name) {
    std::string out;
    for (char c : name.substr(0, 256)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return name.size() > 256 ? out + "..." : out;
  }

  void check_files() {
    for (const auto& f : m_.files) {
      const std::string object = "shard file \"" + printable(f.name) + "\"";
      if (f.rank < 0 || f.rank >= m_.world_size) {
        fail(object + " belongs to rank " + std::to_string(f.rank) + ", outside the " +
             std::to_string(m_.world_size) + " ranks that wrote the snapshot");
      }
      if (f.name != shard_file_name(f.rank)) {
        fail(object + " of rank " + std::to_string(f.rank) + " is not named " + shard_file_name(f.rank));
      }
      if (!room_.emplace(f.rank, f.bytes).second) fail("rank " + std::to_string(f.rank) + " has two shard files");
    }
  }

  // Claims `bytes` at `offset` (0: not recorded) of `rank`'s shard file.
  void place(const std::string& object, int rank, std::uint64_t bytes, std::uint64_t offset) {
    auto file = room_.find(rank);
    if (file == room_.end()) {
      fail(object + " belongs to rank " + std::to_string(rank) + ", which has no shard file");
    }
    const std::uint64_t file_bytes = m_.file_of(rank)->bytes;
    if (bytes > file->second) {
      fail(object + " declares " + std::to_string(bytes) + " bytes, more than is left of its shard file " +
           shard_file_name(rank) + " (" + std::to_string(file_bytes) + " bytes)");
    }
    file->second -= bytes;
    if (offset != 0 && (offset > file_bytes || bytes > file_bytes - offset)) {
      fail(object + " is recorded at bytes [" + std::to_string(offset) + ", +" + std::to_string(bytes) + ") of " +
           shard_file_name(rank) + ", which has " + std::to_string(file_bytes));
    }
  }

  void check_tensor(const TensorEntry& t) {
    const std::string object = "tensor \"" + printable(t.name) + "\"";
    if (!is_valid_name(t.name)) fail(object + ": not a valid tensor name");
    if (!tensors_.insert(t.name).second) fail(object + " is listed twice");
    if (!byte_count(t.shape, t.dtype)) fail(object + ": its shape holds more than 2^64 bytes");
    std::set<int> ranks;
    std::vector<Box> boxes;
    for (const auto& s : t.shards) {
      const std::string shard = object + " box " + describe(s.box) + " of rank " + std::to_string(s.rank);
      if (!ranks.insert(s.rank).second) fail(object + " has two shards of rank " + std::to_string(s.rank));
      const auto bytes = byte_count(s.box.extent, t.dtype);
      if (!bytes || *bytes != s.bytes || s.bytes == 0) {
        fail(shard + " declares " + std::to_string(s.bytes) + " bytes; the box holds " +
             (bytes ? std::to_string(*bytes) : std::string("more than 2^64")));
      }
      place(shard, s.rank, s.bytes, s.file_offset);
      boxes.push_back(s.box);
    }
    if (auto problem = tiling_problem(t.shape, boxes); !problem.empty()) {
      fail(object + " is not tiled by its shards: " + problem);
    }
  }

  // Elements x element size, or nullopt past 2^64.
  static std::optional<std::uint64_t> byte_count(const Shape& shape, DType dtype) {
    std::uint64_t total = dtype_size(dtype);
    for (std::uint64_t d : shape) {
      if (__builtin_mul_overflow(total, d, &total)) return std::nullopt;
    }
    return total;
  }

  const Manifest& m_;
  const std::string& subject_;
  std::map<int, std::uint64_t> room_;  // rank -> bytes of its shard file not yet claimed
  std::set<std::string> tensors_;
};

}  // namespace

void check_manifest(const Manifest& manifest, const std::string& subject) { ManifestCheck(manifest, subject).run(); }

}  // namespace lull::detail
