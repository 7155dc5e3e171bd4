#include "tiling.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lull::detail {

std::optional<Box> intersect(const Box& a, const Box& b) {
  Box out;
  for (std::size_t d = 0; d < a.offset.size(); ++d) {
    std::uint64_t lo = std::max(a.offset[d], b.offset[d]);
    std::uint64_t hi = std::min(a.offset[d] + a.extent[d], b.offset[d] + b.extent[d]);
    if (hi <= lo) return std::nullopt;
    out.offset.push_back(lo);
    out.extent.push_back(hi - lo);
  }
  return out;
}

bool inside(const Box& box, const Shape& shape) noexcept {
  if (box.offset.size() != shape.size() || box.extent.size() != shape.size()) return false;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (box.offset[d] > shape[d] || box.extent[d] > shape[d] - box.offset[d]) return false;
  }
  return true;
}

std::string tiling_problem(const Shape& shape, const std::vector<Box>& pieces) {
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (!inside(pieces[i], shape)) return "piece " + describe(pieces[i]) + " lies outside the tensor";
    covered += element_count(pieces[i].extent);
    for (std::size_t j = 0; j < i; ++j) {
      if (intersect(pieces[i], pieces[j])) {
        return "pieces " + describe(pieces[j]) + " and " + describe(pieces[i]) + " overlap";
      }
    }
  }
  std::uint64_t total = element_count(shape);
  if (covered != total) {
    return std::to_string(total - covered) + " of " + std::to_string(total) + " elements are covered by no rank";
  }
  return {};
}

namespace {

// Strides in bytes of a C-order buffer of `extent`.
std::vector<std::uint64_t> byte_strides(const Shape& extent, std::size_t element_size) {
  std::vector<std::uint64_t> strides(extent.size());
  std::uint64_t stride = element_size;
  for (std::size_t d = extent.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= extent[d];
  }
  return strides;
}

}  // namespace

void copy_region(const void* src, const Box& from, void* dst, const Box& to, const Box& region,
                 std::size_t element_size) {
  const std::size_t rank = region.extent.size();
  if (rank == 0) {
    std::memcpy(dst, src, element_size);
    return;
  }
  auto src_strides = byte_strides(from.extent, element_size);
  auto dst_strides = byte_strides(to.extent, element_size);
  // The innermost dimension is copied as one run.
  const std::size_t run = region.extent[rank - 1] * element_size;
  Shape index(rank - 1, 0);
  const auto* s = static_cast<const unsigned char*>(src);
  auto* t = static_cast<unsigned char*>(dst);
  while (true) {
    std::uint64_t src_off = 0, dst_off = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      std::uint64_t g = region.offset[d] + (d + 1 < rank ? index[d] : 0);
      src_off += (g - from.offset[d]) * src_strides[d];
      dst_off += (g - to.offset[d]) * dst_strides[d];
    }
    std::memcpy(t + dst_off, s + src_off, run);
    // Advance the odometer over the outer dimensions.
    std::size_t d = rank - 1;
    while (d > 0) {
      --d;
      if (++index[d] < region.extent[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (rank == 1) return;
  }
}

namespace {

std::string list_text(const Shape& values) { return fmt::format("[{}]", fmt::join(values, ", ")); }

}  // namespace

std::string describe(const Box& box) {
  if (box.offset.size() != box.extent.size()) {
    return "offset " + list_text(box.offset) + " extent " + list_text(box.extent);
  }
  std::vector<std::string> ranges;
  for (std::size_t d = 0; d < box.offset.size(); ++d) {
    ranges.push_back(fmt::format("{}:{}", box.offset[d], box.offset[d] + box.extent[d]));
  }
  return fmt::format("[{}]", fmt::join(ranges, ", "));
}

}  // namespace lull::detail
