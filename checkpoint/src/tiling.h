#pragma once
// Box arithmetic on global tensor coordinates: the check that shards tile a
// tensor, and the intersection of a read request with a shard.

#include <optional>
#include <string>
#include <vector>

#include "lull/checkpoint/dtype.h"

namespace lull::detail {

struct Box {
  Shape offset;
  Shape extent;
};

// The intersection of two boxes of the same rank; nullopt when empty.
std::optional<Box> intersect(const Box& a, const Box& b);

// True when `box` lies inside a tensor of `shape` (same rank).
bool inside(const Box& box, const Shape& shape) noexcept;

// Empty when `pieces` cover a tensor of `shape` exactly once; otherwise
// says what is wrong ("pieces 0 and 2 overlap", "N elements uncovered").
std::string tiling_problem(const Shape& shape, const std::vector<Box>& pieces);

// Copies the part `region` (global coordinates, inside both) from a C-order
// buffer holding box `from` to a C-order buffer holding box `to`.
void copy_region(const void* src, const Box& from, void* dst, const Box& to, const Box& region,
                 std::size_t element_size);

// "[0:4, 8:16]"; "offset [0, 8] extent [4]" when the two differ in length
// (a caller's request or a manifest may give such a box).
std::string describe(const Box& box);

}  // namespace lull::detail
