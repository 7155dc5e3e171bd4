#pragma once
// The arbiter's running totals, exported as Prometheus counters
// (metrics_text.h) and carried across restarts: rebuilt by replaying the
// journal, and saved in the journal's header when it is compacted.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace lull::arbiter {

struct ClassCounters {
  std::uint64_t submitted = 0;
  std::uint64_t started = 0;      // first runs
  std::uint64_t resumed = 0;      // runs after a preemption
  std::uint64_t finished = 0;     // ended with exit 0
  std::uint64_t failed = 0;       // ended with a failure
  std::uint64_t cancelled = 0;
  std::uint64_t rejected = 0;     // refused by the policy after it was recorded
  std::uint64_t preemptions = 0;  // notices sent
  std::uint64_t kills = 0;        // SIGKILLs (grace expired or cancelled)
  double work_lost_seconds = 0;   // wall time of runs since their last committed snapshot, when they did not finish
  double run_seconds = 0;         // wall time of runs that ended (any way)
  std::uint64_t noticed_runs = 0; // runs that ended after a notice

  // The observed mean time between notices of a run of this class: the
  // ended runs' wall time per noticed run; nullopt before a noticed run ended.
  std::optional<double> mean_seconds_between_notices() const;
};

// Upper bounds (seconds) of the notice-to-exit histogram's buckets; +Inf implied.
inline constexpr std::array<double, 9> kNoticeToExitBuckets = {0.5, 1, 2, 5, 10, 30, 60, 120, 300};

struct NoticeToExitHistogram {
  std::array<std::uint64_t, kNoticeToExitBuckets.size()> cumulative{};  // count <= bound
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds);
};

struct ArbiterCounters {
  std::map<std::string, ClassCounters> by_class;  // by class name
  NoticeToExitHistogram notice_to_exit;
};

nlohmann::json to_json(const ArbiterCounters& counters);
// Missing fields read as 0 (a header written by an older arbiter), and so do
// mistyped ones and negative or non-finite seconds (a damaged header).
ArbiterCounters counters_from_json(const nlohmann::json& value);

}  // namespace lull::arbiter
