#include "checksum.h"

#include <xxhash.h>

#include <cstdio>

namespace lull::detail {

std::uint64_t checksum(const void* data, std::size_t size) noexcept { return XXH3_64bits(data, size); }

Checksummer::Checksummer() : state_(XXH3_createState()) { reset(); }
void Checksummer::reset() noexcept { XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_)); }
Checksummer::~Checksummer() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void Checksummer::update(const void* data, std::size_t size) noexcept {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, size);
}
std::uint64_t Checksummer::digest() const noexcept {
  return XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_));
}

std::string checksum_text(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "xxh3:%016llx", static_cast<unsigned long long>(value));
  return buf;
}

bool parse_checksum_text(const std::string& text, std::uint64_t& value) noexcept {
  if (text.size() != 21 || text.compare(0, 5, "xxh3:") != 0) return false;
  std::uint64_t v = 0;
  for (std::size_t i = 5; i < text.size(); ++i) {
    char c = text[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = (v << 4) | static_cast<std::uint64_t>(digit);
  }
  value = v;
  return true;
}

}  // namespace lull::detail
