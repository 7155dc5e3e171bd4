#include "half_float.h"

#include <bit>

namespace lull::detail {

float f16_to_float(std::uint16_t bits) noexcept {
  std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  std::uint32_t exponent = (bits >> 10) & 0x1fu;
  std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

std::uint16_t float_to_f16(float value) noexcept {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  std::uint32_t sign = bits & 0x80000000u;
  bits ^= sign;
  std::uint32_t out;
  if (bits >= 0x47800000u) {  // >= 2^16 (or inf/NaN): inf, or a quiet NaN
    out = bits > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (bits < 0x38800000u) {  // below 2^-14: a half subnormal or zero
    // Adding 0.5 puts the 10 wanted bits at the bottom of the float's
    // mantissa, rounded to nearest even by the FPU.
    float shifted = std::bit_cast<float>(bits) + 0.5f;
    out = std::bit_cast<std::uint32_t>(shifted) - 0x3f000000u;
  } else {
    std::uint32_t odd = (bits >> 13) & 1u;
    bits += 0xc8000fffu;  // rebias the exponent (15 - 127) << 23, plus the rounding bias
    bits += odd;
    out = bits >> 13;  // a carry out of the mantissa rounds up to the next exponent (or inf)
  }
  return static_cast<std::uint16_t>(out | (sign >> 16));
}

float bf16_to_float(std::uint16_t bits) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t float_to_bf16(float value) noexcept {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

}  // namespace lull::detail
