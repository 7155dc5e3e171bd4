#pragma once
// XXH3-64 checksums of shard bytes, and their text form in the manifest.

#include <cstddef>
#include <cstdint>
#include <string>

namespace lull::detail {

std::uint64_t checksum(const void* data, std::size_t size) noexcept;

// Incremental form: feed pieces in order, digest equals checksum() of the
// concatenation.
class Checksummer {
 public:
  Checksummer();
  ~Checksummer();
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;
  void reset() noexcept;  // back to the checksum of nothing
  void update(const void* data, std::size_t size) noexcept;
  std::uint64_t digest() const noexcept;

 private:
  void* state_;  // XXH3_state_t*, kept opaque so xxhash.h stays private
};

// "xxh3:0123456789abcdef"
std::string checksum_text(std::uint64_t value);
// Inverse of checksum_text; false when malformed.
bool parse_checksum_text(const std::string& text, std::uint64_t& value) noexcept;

}  // namespace lull::detail
