#include "arbiter_counters.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace lull::arbiter {

std::optional<double> ClassCounters::mean_seconds_between_notices() const {
  if (noticed_runs == 0) return std::nullopt;
  return run_seconds / static_cast<double>(noticed_runs);
}

void NoticeToExitHistogram::observe(double seconds) {
  for (std::size_t i = 0; i < kNoticeToExitBuckets.size(); ++i) {
    if (seconds <= kNoticeToExitBuckets[i]) ++cumulative[i];
  }
  ++count;
  sum += seconds;
}

nlohmann::json to_json(const ArbiterCounters& counters) {
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [name, c] : counters.by_class) {
    classes[name] = {{"submitted", c.submitted}, {"started", c.started},     {"resumed", c.resumed},
                     {"finished", c.finished},   {"failed", c.failed},       {"cancelled", c.cancelled},
                     {"rejected", c.rejected},   {"preemptions", c.preemptions}, {"kills", c.kills},
                     {"work_lost_seconds", c.work_lost_seconds}, {"run_seconds", c.run_seconds},
                     {"noticed_runs", c.noticed_runs}};
  }
  const NoticeToExitHistogram& h = counters.notice_to_exit;
  return {{"classes", classes},
          {"notice_to_exit", {{"cumulative", h.cumulative}, {"count", h.count}, {"sum", h.sum}}}};
}

ArbiterCounters counters_from_json(const nlohmann::json& value) {
  ArbiterCounters counters;
  if (!value.is_object()) return counters;
  // Totals carried over from earlier journals: what is not a number of the
  // right kind counts as 0 (they are statistics; the jobs do not depend on them).
  const auto number = [](const nlohmann::json& object, const char* key) -> std::uint64_t {
    return object.is_object() && object.contains(key) && object[key].is_number_unsigned() ? object[key].get<std::uint64_t>() : 0;
  };
  const auto seconds = [](const nlohmann::json& object, const char* key) -> double {
    const double total =
        object.is_object() && object.contains(key) && object[key].is_number() ? object[key].get<double>() : 0.0;
    return std::isfinite(total) && total >= 0 ? total : 0.0;
  };
  if (value.contains("classes") && value["classes"].is_object()) {
    for (const auto& [name, c] : value["classes"].items()) {
      ClassCounters& out = counters.by_class[name];
      out.submitted = number(c, "submitted");
      out.started = number(c, "started");
      out.resumed = number(c, "resumed");
      out.finished = number(c, "finished");
      out.failed = number(c, "failed");
      out.cancelled = number(c, "cancelled");
      out.rejected = number(c, "rejected");
      out.preemptions = number(c, "preemptions");
      out.kills = number(c, "kills");
      out.work_lost_seconds = seconds(c, "work_lost_seconds");
      out.run_seconds = seconds(c, "run_seconds");
      out.noticed_runs = number(c, "noticed_runs");
    }
  }
  if (value.contains("notice_to_exit") && value["notice_to_exit"].is_object()) {
    const nlohmann::json& h = value["notice_to_exit"];
    NoticeToExitHistogram& out = counters.notice_to_exit;
    if (h.contains("cumulative") && h["cumulative"].is_array() && h["cumulative"].size() == out.cumulative.size()) {
      for (std::size_t i = 0; i < out.cumulative.size(); ++i) {
        const nlohmann::json& bucket = h["cumulative"][i];
        out.cumulative[i] = bucket.is_number_unsigned() ? bucket.get<std::uint64_t>() : 0;
      }
    }
    out.count = number(h, "count");
    out.sum = seconds(h, "sum");
  }
  return counters;
}

}  // namespace lull::arbiter
