#pragma once
// IEEE half (f16) and bfloat16 <-> float, rounding to nearest even.
// Used to reduce f16/bf16 in MPI, which has no such types.

#include <cstdint>

namespace lull::detail {

float f16_to_float(std::uint16_t bits) noexcept;
std::uint16_t float_to_f16(float value) noexcept;  // overflow -> inf; NaN stays NaN (quiet)
float bf16_to_float(std::uint16_t bits) noexcept;
std::uint16_t float_to_bf16(float value) noexcept;  // NaN stays NaN (quiet)

}  // namespace lull::detail
