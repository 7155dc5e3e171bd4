#pragma once
// Element types and shapes of protected tensors.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace lull {

// The element types a snapshot stores natively. f16 is IEEE half; bf16 is
// bfloat16 (8-bit exponent, 7-bit mantissa); boolean is one byte, 0 or 1.
enum class DType : std::uint8_t { f16, bf16, f32, f64, i8, u8, i32, i64, boolean };

inline constexpr DType kAllDTypes[] = {DType::f16, DType::bf16, DType::f32,
                                       DType::f64, DType::i8,   DType::u8,
                                       DType::i32, DType::i64,  DType::boolean};

// A tensor has at most this many dimensions (0 = a scalar).
inline constexpr std::size_t kMaxDims = 8;

// Dimensions, outermost first (C order), in elements.
using Shape = std::vector<std::uint64_t>;

// Bytes per element: 2 for f16/bf16, 1 for i8/u8/boolean, ...
std::size_t dtype_size(DType type) noexcept;

// "f16", "bf16", "f32", "f64", "i8", "u8", "i32", "i64", "bool".
std::string_view dtype_name(DType type) noexcept;

// The inverse of dtype_name; nullopt for anything else.
std::optional<DType> parse_dtype(std::string_view name) noexcept;

// Number of elements of a shape (1 for a scalar).
std::uint64_t element_count(const Shape& shape) noexcept;

}  // namespace lull
