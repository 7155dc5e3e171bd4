#pragma once
// Deterministic tensor and blob contents for the snapshot tests.
//
// Element `index` (its C-order position in the GLOBAL tensor) of a tensor
// written with `seed` always has the same bytes, so a test, a writer process
// and tests/python/check_h5py.py (which re-implements the formula with numpy)
// agree on every byte without exchanging data. Let k = index*131 + seed*17
// (mod 2^64) and v = k mod 251:
//   f16, bf16  the number v (exact in both formats)
//   f32        (index mod 1000003) * 0.5 + (seed mod 1000)
//   f64        index * 0.25 + (seed mod 1000000)
//   i8         v reinterpreted as int8;  u8  k mod 256
//   i32        low 32 bits of index*2654435761 + seed, as int32
//   i64        index*0x9E3779B97F4A7C15 + seed (mod 2^64), as int64
//   bool       1 when k mod 3 == 0, else 0
// Blob byte j is (j*31 + seed*7) mod 256.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lull/checkpoint/dtype.h"

namespace lull::test {

// Writes the dtype_size(type) bytes of element `index` to `out`.
void pattern_element(DType type, std::uint64_t index, std::uint64_t seed, std::byte* out) noexcept;

// The box [offset, offset+extent) of the global pattern tensor, C order.
std::vector<std::byte> pattern_box(DType type, const Shape& global_shape, const Shape& offset,
                                   const Shape& extent, std::uint64_t seed);

// The whole global pattern tensor.
std::vector<std::byte> pattern_tensor(DType type, const Shape& shape, std::uint64_t seed);

std::vector<std::byte> pattern_blob(std::size_t bytes, std::uint64_t seed);

// Empty when equal; otherwise says where the first difference is
// ("element 17 of 40: expected 0a00 got 0b00", or a size mismatch).
std::string compare_bytes(DType type, const std::vector<std::byte>& expected,
                          const std::vector<std::byte>& actual);

// "{3, 4, 5}"
std::string shape_string(const Shape& shape);

}  // namespace lull::test
