#pragma once
// Job traces for `lull simulate`: one CSV row per job.
//
//   submit,class,tenant,ranks,min_ranks,max_ranks,duration,checkpoint_cost
//   0s,internal,frontier,512,512,512,6h,0s
//   90s,tenant,acme,8,4,16,2h30m,45s
//
// The header names the columns (any order; min_ranks and max_ranks may be
// left out: equal to ranks). Times and durations are written like the policy's
// ("30s", "5m") or as plain seconds, each at most kMaxTraceTime (10 years,
// "3650d"; the simulator's arithmetic then cannot overflow). `duration` is the job's compute time on
// `ranks` ranks; `checkpoint_cost` is the time one snapshot takes. Lines
// starting with '#' and blank lines are ignored. Rows must be in submit order.
// Only a regular file of at most kMaxTraceBytes is read.

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "lull/policy/duration.h"

namespace lull::simulator {

inline constexpr policy::Duration kMaxTraceTime = std::chrono::hours(24 * 3650);
// 10 million generated rows (`--generate --jobs`'s maximum) take about 400 MB.
inline constexpr std::size_t kMaxTraceBytes = std::size_t{1} << 30;

struct TraceJob {
  policy::Duration submit{0};
  std::string job_class;
  std::string tenant;
  int ranks = 1;
  int min_ranks = 1;
  int max_ranks = 1;
  policy::Duration duration{0};
  policy::Duration checkpoint_cost{0};
};

// Throws lull::Error(invalid_argument) naming FILE:LINE and the column for
// the first bad row, or read_regular_file's Error when the file cannot be
// read (missing, not a regular file: a FIFO or /dev/zero is refused without
// waiting on it, or larger than kMaxTraceBytes).
std::vector<TraceJob> read_trace(const std::filesystem::path& path);

// Writes the header and one row per job, readable by read_trace.
void write_trace(const std::vector<TraceJob>& jobs, std::ostream& out);

}  // namespace lull::simulator
