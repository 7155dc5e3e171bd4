#include "lull/simulator/job_trace.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <sstream>

#include "lull/base/error.h"
#include "lull/base/regular_file.h"

namespace lull::simulator {

namespace {

constexpr std::array<const char*, 6> kRequiredColumns{"submit", "class", "tenant", "ranks", "duration",
                                                      "checkpoint_cost"};

std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream row(line);
  for (std::string cell; std::getline(row, cell, ',');) {
    const auto first = cell.find_first_not_of(" \t\r");
    const auto last = cell.find_last_not_of(" \t\r");
    cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
  }
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

// nullopt: not a time; a value over kMaxTraceTime is returned for the caller to refuse.
std::optional<policy::Duration> parse_time(const std::string& text) {
  std::int64_t seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error == std::errc() && end == text.data() + text.size() && !text.empty()) {
    if (seconds < 0) return std::nullopt;
    // Capped just past the limit before the conversion to milliseconds, which
    // a huge count would overflow: the caller refuses it as out of range.
    const auto limit = std::chrono::duration_cast<std::chrono::seconds>(kMaxTraceTime);
    return std::chrono::seconds(std::min<std::int64_t>(seconds, limit.count() + 1));
  }
  return policy::parse_duration(text);
}

std::optional<int> parse_count(const std::string& text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::vector<TraceJob> read_trace(const std::filesystem::path& path) {
  // Through a stream over the bytes read: std::ifstream would block on a FIFO and never end on /dev/zero.
  std::istringstream in(read_regular_file(path, kMaxTraceBytes, "the trace").bytes);
  std::vector<TraceJob> jobs;
  std::map<std::string, std::size_t> columns;
  int line_number = 0;
  auto fail = [&](const std::string& column, const std::string& message) {
    throw Error(ErrorCode::invalid_argument, path.string() + ":" + std::to_string(line_number) + ": " +
                                                 (column.empty() ? "" : column + ": ") + message);
  };
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    const std::vector<std::string> cells = split_row(line);
    if (columns.empty()) {
      for (std::size_t i = 0; i < cells.size(); ++i) columns[cells[i]] = i;
      for (const char* required : kRequiredColumns) {
        if (columns.count(required) == 0) fail("", std::string("the header lacks the column \"") + required + "\"");
      }
      continue;
    }
    auto cell = [&](const std::string& column) -> const std::string* {
      const auto found = columns.find(column);
      if (found == columns.end()) return nullptr;
      if (found->second >= cells.size()) fail(column, "missing value");
      return &cells[found->second];
    };
    auto time = [&](const std::string& column) {
      const std::optional<policy::Duration> value = parse_time(*cell(column));
      if (!value) fail(column, "\"" + *cell(column) + "\" is not a time (seconds, or 30s, 5m, 1h)");
      if (*value > kMaxTraceTime) {
        fail(column, "\"" + *cell(column) + "\" is out of range (0s.." + policy::format_duration(kMaxTraceTime) + ")");
      }
      return *value;
    };
    auto count = [&](const std::string& column, int fallback) {
      const std::string* text = cell(column);
      if (text == nullptr || text->empty()) return fallback;
      const std::optional<int> value = parse_count(*text);
      if (!value || *value < 1) fail(column, "\"" + *text + "\" is not a positive integer");
      return *value;
    };
    TraceJob job;
    job.submit = time("submit");
    job.job_class = *cell("class");
    job.tenant = *cell("tenant");
    job.ranks = count("ranks", 0);
    job.min_ranks = count("min_ranks", job.ranks);
    job.max_ranks = count("max_ranks", job.ranks);
    job.duration = time("duration");
    job.checkpoint_cost = time("checkpoint_cost");
    if (job.min_ranks > job.ranks || job.max_ranks < job.ranks) fail("ranks", "needs min_ranks <= ranks <= max_ranks");
    if (!jobs.empty() && job.submit < jobs.back().submit) fail("submit", "rows must be in submit order");
    jobs.push_back(std::move(job));
  }
  if (columns.empty()) throw Error(ErrorCode::invalid_argument, path.string() + ": empty trace (no header)");
  return jobs;
}

void write_trace(const std::vector<TraceJob>& jobs, std::ostream& out) {
  out << "submit,class,tenant,ranks,min_ranks,max_ranks,duration,checkpoint_cost\n";
  for (const TraceJob& job : jobs) {
    out << policy::format_duration(job.submit) << ',' << job.job_class << ',' << job.tenant << ',' << job.ranks << ','
        << job.min_ranks << ',' << job.max_ranks << ',' << policy::format_duration(job.duration) << ','
        << policy::format_duration(job.checkpoint_cost) << '\n';
  }
}

}  // namespace lull::simulator
