#include "lull/base/bounded_text.h"

#include <algorithm>

namespace lull {

namespace {

bool continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The length of the valid UTF-8 character at text[at] (1..4), or 0 when the
// bytes there are not one (a stray, overlong or surrogate sequence).
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!continuation(byte(i))) return 0;
  }
  return length;
}

// U+0080..U+009F (C1 controls: CSI and friends act on terminals like ESC does).
bool c1_control(std::string_view text, std::size_t at, std::size_t length) {
  return length == 2 && static_cast<unsigned char>(text[at]) == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
}

}  // namespace

std::string bounded_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t length = utf8_length(text, at);
    const auto byte = static_cast<unsigned char>(text[at]);
    const bool escape = length == 0 || byte < 0x20 || byte == 0x7F || c1_control(text, at, length);
    if (length == 0) length = 1;  // one bad byte at a time
    const std::size_t cost = escape ? 4 * length : length;
    if (out.size() + cost > max_bytes) break;
    if (escape) {
      append_escaped(out, text.substr(at, length));
    } else {
      out.append(text.substr(at, length));
    }
    at += length;
  }
  if (at < text.size()) out += "...(" + std::to_string(text.size() - at) + " more bytes)";
  return out;
}

std::string quoted_text(std::string_view text, std::size_t max_bytes) {
  return "\"" + bounded_text(text, max_bytes) + "\"";
}

}  // namespace lull
