#include "layout.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>

namespace lull::detail {

std::string snapshot_dir_name(std::uint64_t step) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "step-%012llu", static_cast<unsigned long long>(step));
  return buf;
}

std::string pending_dir_name(std::uint64_t step) { return std::string(kPendingPrefix) + snapshot_dir_name(step); }

std::string shard_file_name(int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05d.h5", rank);
  return buf;
}

std::optional<std::uint64_t> parse_snapshot_dir_name(std::string_view name) noexcept {
  constexpr std::string_view prefix = "step-";
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  std::uint64_t step = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  // Only the name the committer gives: "step-42" or "step-0000000000042" is
  // not a snapshot lull wrote.
  if (snapshot_dir_name(step) != name) return std::nullopt;
  return step;
}

std::string trash_name(std::string_view name) {
  static std::atomic<unsigned> counter{0};
  return std::string(kTrashPrefix) + std::string(name) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++);
}

}  // namespace lull::detail
