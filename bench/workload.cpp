#include "workload.h"

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace lull::bench {

namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kBigColumns = 1024;  // f32 columns of a sharded tensor
constexpr std::uint64_t kSmallColumns = 64;  // columns of a small tensor

struct SizeClass {
  const char* stem;
  std::uint64_t bytes;
  int count;
};

void add_sharded(Workload& w, const std::string& name, std::uint64_t bytes) {
  const std::uint64_t rows = bytes / (kBigColumns * dtype_size(DType::f32));
  if (rows < static_cast<std::uint64_t>(w.world_size)) {
    throw std::invalid_argument("tensor " + name + " has fewer rows than ranks; use a larger total");
  }
  w.tensors.push_back({name, DType::f32, {rows, kBigColumns}, rows * kBigColumns * 4, true, 0});
}

void add_small(Workload& w, const std::string& name, std::uint64_t bytes, DType dtype, int owner) {
  const std::uint64_t elements = bytes / dtype_size(dtype);
  w.tensors.push_back({name, dtype, {elements / kSmallColumns, kSmallColumns}, bytes, false, owner});
}

// splitmix64: cheap, incompressible-looking bytes.
void fill_pseudo_random(std::byte* out, std::size_t bytes, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    x += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(out + i, &z, sizeof z);
  }
  for (; i < bytes; ++i) out[i] = static_cast<std::byte>(i * 31 + seed);
}

}  // namespace

Workload make_workload(int world_size, std::uint64_t total_mib) {
  if (world_size < 1) throw std::invalid_argument("world_size must be >= 1");
  if (total_mib < 4) throw std::invalid_argument("total must be >= 4 MiB");
  Workload w;
  w.world_size = world_size;
  const std::uint64_t total = total_mib * kMiB;

  add_sharded(w, "embed.weight", total / 4);
  for (int i = 0; i < 9; ++i) add_sharded(w, "block" + std::to_string(i) + ".mlp.weight", total / 16);
  for (int i = 0; i < 8; ++i) add_sharded(w, "block" + std::to_string(i) + ".attn.weight", total / 64);
  for (int i = 0; i < 8; ++i) add_sharded(w, "block" + std::to_string(i) + ".proj.weight", total / 256);

  const SizeClass small[] = {{"norm1m", 1 * kMiB, 16},   {"norm256k", 256 * kKiB, 32},
                             {"norm64k", 64 * kKiB, 64}, {"norm16k", 16 * kKiB, 128},
                             {"bias4k", 4 * kKiB, 256}};
  const DType small_types[] = {DType::f32, DType::bf16, DType::i64, DType::u8};
  int next_owner = 0;
  std::size_t type_index = 0;
  for (const auto& c : small) {
    for (int i = 0; i < c.count; ++i) {
      add_small(w, std::string(c.stem) + "." + std::to_string(i), c.bytes,
                small_types[type_index++ % std::size(small_types)], next_owner);
      next_owner = (next_owner + 1) % world_size;
    }
  }

  w.pieces.resize(static_cast<std::size_t>(world_size));
  for (std::size_t t = 0; t < w.tensors.size(); ++t) {
    const TensorSpec& spec = w.tensors[t];
    const std::uint64_t row_bytes = spec.bytes / spec.shape[0];
    if (!spec.sharded) {
      w.pieces[static_cast<std::size_t>(spec.owner)].push_back({t, Shape(spec.shape.size(), 0), spec.shape, spec.bytes});
      continue;
    }
    const auto ranks = static_cast<std::uint64_t>(world_size);
    const std::uint64_t base = spec.shape[0] / ranks;
    const std::uint64_t extra = spec.shape[0] % ranks;
    std::uint64_t row = 0;
    for (std::uint64_t r = 0; r < ranks; ++r) {
      const std::uint64_t rows = base + (r < extra ? 1 : 0);
      w.pieces[r].push_back({t, {row, 0}, {rows, spec.shape[1]}, rows * row_bytes});
      row += rows;
    }
  }
  return w;
}

std::uint64_t Workload::total_bytes() const {
  std::uint64_t sum = 0;
  for (const auto& t : tensors) sum += t.bytes;
  return sum;
}

std::uint64_t Workload::rank_bytes(int rank) const {
  std::uint64_t sum = 0;
  for (const auto& p : pieces.at(static_cast<std::size_t>(rank))) sum += p.bytes;
  return sum;
}

std::string Workload::to_json() const {
  nlohmann::json doc;
  doc["world_size"] = world_size;
  doc["total_bytes"] = total_bytes();
  auto& list = doc["tensors"] = nlohmann::json::array();
  for (const auto& t : tensors) {
    list.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"bytes", t.bytes}});
  }
  auto& per_rank = doc["pieces"] = nlohmann::json::array();
  for (const auto& rank_pieces : pieces) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& p : rank_pieces) {
      items.push_back({{"tensor", p.tensor},
                       {"name", tensors[p.tensor].name},
                       {"dtype", dtype_name(tensors[p.tensor].dtype)},
                       {"offset", p.offset},
                       {"extent", p.extent},
                       {"bytes", p.bytes}});
    }
    per_rank.push_back(std::move(items));
  }
  return doc.dump();
}

void AlignedBuffer::Free::operator()(std::byte* p) const noexcept { std::free(p); }

AlignedBuffer::AlignedBuffer(std::size_t bytes) : size_(bytes) {
  constexpr std::size_t kAlign = 4096;
  const std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(static_cast<std::byte*>(p));
}

std::uint64_t RankState::bytes() const {
  std::uint64_t sum = 0;
  for (const auto& p : pieces) sum += p.bytes;
  return sum;
}

void RankState::clear_targets() {
  for (auto& t : target) std::memset(t.data(), 0, t.size());
}

long RankState::first_mismatch() const {
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (std::memcmp(source[i].data(), target[i].data(), source[i].size()) != 0) return static_cast<long>(i);
  }
  return -1;
}

RankState make_rank_state(const Workload& workload, int rank) {
  RankState state;
  state.pieces = workload.pieces.at(static_cast<std::size_t>(rank));
  state.source.reserve(state.pieces.size());
  state.target.reserve(state.pieces.size());
  for (const auto& p : state.pieces) {
    const auto bytes = static_cast<std::size_t>(p.bytes);
    state.source.emplace_back(bytes);
    fill_pseudo_random(state.source.back().data(), bytes,
                       p.tensor * 1000003ull + static_cast<std::uint64_t>(rank) * 7919ull + p.offset[0]);
    state.target.emplace_back(bytes);
  }
  state.clear_targets();
  return state;
}

}  // namespace lull::bench
