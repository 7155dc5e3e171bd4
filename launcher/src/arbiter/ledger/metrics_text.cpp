#include "metrics_text.h"

#include <cstdio>
#include <functional>
#include <sstream>

namespace lull::arbiter {

namespace {

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// Class names are validated lull names (no control characters); escape what
// the format requires anyway.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

std::string metrics_text(const NodeLedger& ledger, bool draining) {
  std::ostringstream out;
  const policy::ClusterSummary summary = ledger.core().summary();
  header(out, "lull_arbiter_slots", "gauge", "Slots (GPUs) the arbiter schedules on this node.");
  out << "lull_arbiter_slots " << summary.slots << "\n";
  header(out, "lull_arbiter_slots_busy", "gauge", "Slots held by running or draining jobs, by class.");
  for (const auto& [job_class, busy] : ledger.busy_slots_by_class()) {
    out << "lull_arbiter_slots_busy{class=\"" << label(job_class) << "\"} " << busy << "\n";
  }
  header(out, "lull_arbiter_jobs", "gauge", "Jobs by state.");
  out << "lull_arbiter_jobs{state=\"running\"} " << summary.running_jobs << "\n";
  out << "lull_arbiter_jobs{state=\"draining\"} " << summary.draining_jobs << "\n";
  out << "lull_arbiter_jobs{state=\"waiting\"} " << summary.waiting_jobs << "\n";
  header(out, "lull_arbiter_draining", "gauge", "1 while the arbiter drains (lull drain).");
  out << "lull_arbiter_draining " << (draining ? 1 : 0) << "\n";

  const auto& classes = ledger.counters().by_class;
  const auto counter = [&](const char* name, const char* help, const std::function<double(const ClassCounters&)>& get) {
    header(out, name, "counter", help);
    for (const auto& job_class : ledger.policy().classes) {
      const auto found = classes.find(job_class.name);
      const double value = found == classes.end() ? 0.0 : get(found->second);
      out << name << "{class=\"" << label(job_class.name) << "\"} " << number(value) << "\n";
    }
  };
  const auto as_double = [](std::uint64_t value) { return static_cast<double>(value); };
  counter("lull_arbiter_jobs_submitted_total", "Jobs submitted.", [&](const ClassCounters& c) { return as_double(c.submitted); });
  counter("lull_arbiter_jobs_started_total", "First runs started.", [&](const ClassCounters& c) { return as_double(c.started); });
  counter("lull_arbiter_jobs_resumed_total", "Runs resumed after a preemption.", [&](const ClassCounters& c) { return as_double(c.resumed); });
  counter("lull_arbiter_jobs_finished_total", "Jobs that finished (exit 0).", [&](const ClassCounters& c) { return as_double(c.finished); });
  counter("lull_arbiter_jobs_failed_total", "Jobs that failed.", [&](const ClassCounters& c) { return as_double(c.failed); });
  counter("lull_arbiter_jobs_cancelled_total", "Jobs cancelled.", [&](const ClassCounters& c) { return as_double(c.cancelled); });
  counter("lull_arbiter_jobs_rejected_total", "Submissions the policy refused.", [&](const ClassCounters& c) { return as_double(c.rejected); });
  counter("lull_arbiter_preemptions_total", "Preemption notices sent.", [&](const ClassCounters& c) { return as_double(c.preemptions); });
  counter("lull_arbiter_kills_total", "Runs killed (grace expired or cancelled).", [&](const ClassCounters& c) { return as_double(c.kills); });
  counter("lull_arbiter_work_lost_seconds_total",
          "Wall seconds runs computed after their last committed snapshot, for runs that did not finish.",
          [&](const ClassCounters& c) { return c.work_lost_seconds; });
  counter("lull_arbiter_run_seconds_total", "Wall seconds of runs that ended (per run ended by a notice: what jobs are told).",
          [&](const ClassCounters& c) { return c.run_seconds; });

  const NoticeToExitHistogram& h = ledger.counters().notice_to_exit;
  header(out, "lull_arbiter_notice_to_exit_seconds", "histogram", "From a preemption notice to the job's exit.");
  for (std::size_t i = 0; i < kNoticeToExitBuckets.size(); ++i) {
    out << "lull_arbiter_notice_to_exit_seconds_bucket{le=\"" << number(kNoticeToExitBuckets[i]) << "\"} "
        << h.cumulative[i] << "\n";
  }
  out << "lull_arbiter_notice_to_exit_seconds_bucket{le=\"+Inf\"} " << h.count << "\n";
  out << "lull_arbiter_notice_to_exit_seconds_sum " << number(h.sum) << "\n";
  out << "lull_arbiter_notice_to_exit_seconds_count " << h.count << "\n";
  return out.str();
}

}  // namespace lull::arbiter
