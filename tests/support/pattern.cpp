#include "support/pattern.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lull::test {

namespace {

// IEEE half of a small non-negative integer (exact below 2048).
std::uint16_t half_of_small_int(std::uint32_t v) noexcept {
  if (v == 0) return 0;
  const int exponent = 31 - std::countl_zero(v);
  const std::uint32_t mantissa = (v << (10 - exponent)) & 0x3ffu;
  return static_cast<std::uint16_t>((static_cast<std::uint32_t>(exponent + 15) << 10) | mantissa);
}

template <typename T>
void put(std::byte* out, T value) noexcept {
  std::memcpy(out, &value, sizeof value);
}

std::string hex(const std::byte* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    const auto b = std::to_integer<unsigned>(data[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

void pattern_element(DType type, std::uint64_t index, std::uint64_t seed, std::byte* out) noexcept {
  const std::uint64_t k = index * 131u + seed * 17u;
  const auto v = static_cast<std::uint32_t>(k % 251u);
  switch (type) {
    case DType::f16: put(out, half_of_small_int(v)); break;
    case DType::bf16: {
      const auto bits = std::bit_cast<std::uint32_t>(static_cast<float>(v));
      put(out, static_cast<std::uint16_t>(bits >> 16));
      break;
    }
    case DType::f32:
      put(out, static_cast<float>(static_cast<double>(index % 1000003u) * 0.5 +
                                  static_cast<double>(seed % 1000u)));
      break;
    case DType::f64:
      put(out, static_cast<double>(index) * 0.25 + static_cast<double>(seed % 1000000u));
      break;
    case DType::i8: put(out, static_cast<std::uint8_t>(v)); break;
    case DType::u8: put(out, static_cast<std::uint8_t>(k & 0xffu)); break;
    case DType::i32: put(out, static_cast<std::uint32_t>(index * 2654435761u + seed)); break;
    case DType::i64: put(out, index * 0x9E3779B97F4A7C15u + seed); break;
    case DType::boolean: put(out, static_cast<std::uint8_t>(k % 3 == 0 ? 1 : 0)); break;
  }
}

std::vector<std::byte> pattern_box(DType type, const Shape& global_shape, const Shape& offset,
                                   const Shape& extent, std::uint64_t seed) {
  const std::size_t width = dtype_size(type);
  const std::uint64_t count = element_count(extent);
  std::vector<std::byte> out(count * width);
  if (count == 0) return out;
  const std::size_t rank = extent.size();
  Shape position(rank, 0);
  for (std::uint64_t e = 0; e < count; ++e) {
    std::uint64_t linear = 0;
    for (std::size_t d = 0; d < rank; ++d) linear = linear * global_shape[d] + offset[d] + position[d];
    pattern_element(type, linear, seed, out.data() + e * width);
    for (std::size_t d = rank; d-- > 0;) {
      if (++position[d] < extent[d]) break;
      position[d] = 0;
    }
  }
  return out;
}

std::vector<std::byte> pattern_tensor(DType type, const Shape& shape, std::uint64_t seed) {
  return pattern_box(type, shape, Shape(shape.size(), 0), shape, seed);
}

std::vector<std::byte> pattern_blob(std::size_t bytes, std::uint64_t seed) {
  std::vector<std::byte> out(bytes);
  for (std::size_t j = 0; j < bytes; ++j) {
    out[j] = static_cast<std::byte>((j * 31u + seed * 7u) & 0xffu);
  }
  return out;
}

std::string compare_bytes(DType type, const std::vector<std::byte>& expected,
                          const std::vector<std::byte>& actual) {
  if (expected.size() != actual.size()) {
    return "size mismatch: expected " + std::to_string(expected.size()) + " bytes, got " +
           std::to_string(actual.size());
  }
  if (expected.empty() || std::memcmp(expected.data(), actual.data(), expected.size()) == 0) return {};
  const std::size_t width = dtype_size(type);
  std::size_t differing = 0;
  std::size_t first = expected.size();
  for (std::size_t i = 0; i < expected.size(); i += width) {
    if (std::memcmp(expected.data() + i, actual.data() + i, width) != 0) {
      if (first == expected.size()) first = i;
      ++differing;
    }
  }
  return std::string(dtype_name(type)) + " element " + std::to_string(first / width) + " of " +
         std::to_string(expected.size() / width) + ": expected " + hex(expected.data() + first, width) +
         " got " + hex(actual.data() + first, width) + " (" + std::to_string(differing) +
         " elements differ)";
}

std::string shape_string(const Shape& shape) { return fmt::format("{{{}}}", fmt::join(shape, ", ")); }

}  // namespace lull::test
