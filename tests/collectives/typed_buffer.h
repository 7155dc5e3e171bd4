#pragma once
// Buffers of any lull::DType built from doubles and read back as doubles,
// for checking collectives element by element.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "half_float.h"
#include "lull/base/dtype.h"

namespace lull::test {

inline std::vector<std::byte> encode(DType dtype, const std::vector<double>& values) {
  const std::size_t size = dtype_size(dtype);
  std::vector<std::byte> out(values.size() * size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::byte* p = out.data() + i * size;
    double v = values[i];
    auto put = [p](auto x) { std::memcpy(p, &x, sizeof x); };
    switch (dtype) {
      case DType::f16: put(detail::float_to_f16(static_cast<float>(v))); break;
      case DType::bf16: put(detail::float_to_bf16(static_cast<float>(v))); break;
      case DType::f32: put(static_cast<float>(v)); break;
      case DType::f64: put(v); break;
      case DType::i8: put(static_cast<std::int8_t>(v)); break;
      case DType::u8: put(static_cast<std::uint8_t>(v)); break;
      case DType::i32: put(static_cast<std::int32_t>(v)); break;
      case DType::i64: put(static_cast<std::int64_t>(v)); break;
      case DType::boolean: put(static_cast<std::uint8_t>(v != 0 ? 1 : 0)); break;
    }
  }
  return out;
}

inline std::vector<double> decode(DType dtype, const std::vector<std::byte>& bytes) {
  const std::size_t size = dtype_size(dtype);
  std::vector<double> out(bytes.size() / size);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::byte* p = bytes.data() + i * size;
    auto get = [p](auto x) {
      std::memcpy(&x, p, sizeof x);
      return x;
    };
    switch (dtype) {
      case DType::f16: out[i] = detail::f16_to_float(get(std::uint16_t{})); break;
      case DType::bf16: out[i] = detail::bf16_to_float(get(std::uint16_t{})); break;
      case DType::f32: out[i] = get(float{}); break;
      case DType::f64: out[i] = get(double{}); break;
      case DType::i8: out[i] = get(std::int8_t{}); break;
      case DType::u8: out[i] = get(std::uint8_t{}); break;
      case DType::i32: out[i] = get(std::int32_t{}); break;
      case DType::i64: out[i] = static_cast<double>(get(std::int64_t{})); break;
      case DType::boolean: out[i] = get(std::uint8_t{}); break;
    }
  }
  return out;
}

// Rank r's i-th input: small values every dtype holds exactly, whose sums
// over 4 ranks still fit (i8: |sum| <= 20; halves: multiples of 0.5).
inline double input_value(DType dtype, int rank, std::size_t i) {
  long k = (static_cast<long>(rank) * 7 + static_cast<long>(i) * 3) % 11;
  switch (dtype) {
    case DType::u8: return static_cast<double>(k);
    case DType::boolean: return (static_cast<std::size_t>(rank) + i) % 3 == 0 ? 1 : 0;
    case DType::f16:
    case DType::bf16: return static_cast<double>(k - 5) * 0.5;
    default: return static_cast<double>(k - 5);
  }
}

}  // namespace lull::test
