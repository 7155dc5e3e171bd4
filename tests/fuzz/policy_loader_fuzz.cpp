// Fuzz target: the policy loader (policy/src/policy_loader.cpp, toml++
// behind it) and everything downstream of a policy it accepts.
//
// Any text either loads into a Policy within the documented limits, or gives
// issues that each name the source and carry a position (line 0 only for
// the whole-text limits). An accepted policy, scaled to a small node, is
// then run through the decision core (tests/support/policy_workout: a busy
// node, from time 0 and from near both ends of the clock) and through the
// simulator (a generated trace and one at the trace limits), so that every
// sum of accepted values meets UBSan, and is exported for Slurm: files or
// issues, each issue at a place in the text (locate_policy_keys, which any
// text goes through too).
//
// The nesting bound (policy/src/toml_nesting.h) is checked against toml++'s
// own tree: text the bound lets through at a small depth must parse, if at
// all, into a tree at most twice that deep (an array of tables in a header's
// path is a level the text does not show). A scanner that lost its place in
// the text (a string it ended too early) would let an unbounded key through
// to toml++, which overflowed the stack at 40,000 levels.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "fuzz_check.h"
#include "lull/base/error.h"
#include "lull/policy/policy_loader.h"
#include "lull/policy/slurm_export.h"
#include "lull/simulator/job_trace.h"
#include "lull/simulator/simulation.h"
#include "lull/simulator/trace_generator.h"
#include "support/policy_workout.h"
#include "toml_nesting.h"

namespace {

using namespace lull::policy;

constexpr int kSmallNode = 12;
// Small, so that short inputs reach past it.
constexpr int kNestingProbe = 4;

// Depth of toml++'s tree: the root's values are at 1. Iterative, as the
// tree may be deep exactly when the property is broken.
int tree_depth(const toml::table& root) {
  int deepest = 0;
  std::vector<std::pair<const toml::node*, int>> unvisited{{&root, 0}};
  while (!unvisited.empty()) {
    const auto [node, depth] = unvisited.back();
    unvisited.pop_back();
    deepest = std::max(deepest, depth);
    if (const toml::table* table = node->as_table()) {
      for (const auto& entry : *table) unvisited.emplace_back(&entry.second, depth + 1);
    } else if (const toml::array* array = node->as_array()) {
      for (const toml::node& element : *array) unvisited.emplace_back(&element, depth + 1);
    }
  }
  return deepest;
}

void check_nesting_bound(std::string_view text) {
  if (text.size() > kMaxPolicyBytes || find_excess_nesting(text, kNestingProbe)) return;
  try {
    const toml::table parsed = toml::parse(text, std::string_view("fuzz.toml"));
    FUZZ_CHECK(tree_depth(parsed) <= 2 * kNestingProbe, "text the nesting bound let through is nested deeper");
  } catch (const toml::parse_error&) {
    // Malformed TOML: the loader reports it.
  }
}

void check_limits(const Policy& policy) {
  FUZZ_CHECK(policy.slots >= 1 && policy.slots <= kMaxNodeSlots, "node.slots out of range");
  FUZZ_CHECK(policy.idle_before_lull.count() >= 0 && policy.idle_before_lull <= kMaxPolicyDuration, "idle_before_lull");
  FUZZ_CHECK(policy.reserve_after.count() >= 0 && policy.reserve_after <= kMaxPolicyDuration, "reserve_after");
  FUZZ_CHECK(!policy.classes.empty() && !policy.tenants.empty(), "a policy without classes or tenants");
  for (const JobClass& job_class : policy.classes) {
    FUZZ_CHECK(job_class.priority >= 0 && job_class.priority <= kMaxPriority, "priority");
    FUZZ_CHECK(job_class.grace.count() >= 0 && job_class.grace <= kMaxGrace, "grace");
    FUZZ_CHECK(job_class.min_runtime.count() >= 0 && job_class.min_runtime <= kMaxPolicyDuration, "min_runtime");
    FUZZ_CHECK(job_class.checkpoint_interval.count() >= 0 && job_class.checkpoint_interval <= kMaxPolicyDuration,
               "checkpoint_interval");
    FUZZ_CHECK(!job_class.max_preemptions_per_hour ||
                   (*job_class.max_preemptions_per_hour >= 1 && *job_class.max_preemptions_per_hour <= kMaxPreemptionsPerHour),
               "max_preemptions_per_hour");
  }
  for (const Tenant& tenant : policy.tenants) {
    FUZZ_CHECK(tenant.class_index < policy.classes.size(), "a tenant's class index");
    FUZZ_CHECK(tenant.slot_quota >= 1 && tenant.slot_quota <= policy.slots, "a tenant's quota");
  }
}

void work_out_core(const Policy& small) {
  for (const TimePoint start : {TimePoint(Duration(0)), TimePoint::max() - std::chrono::hours(24 * 40),
                                TimePoint::min() + std::chrono::hours(1)}) {
    const lull::policy::test::WorkoutReport report = lull::policy::test::work_out(small, start, 300);
    for (const std::string& broken : report.broken) std::fprintf(stderr, "%s\n", broken.c_str());
    FUZZ_CHECK(report.broken.empty(), "the decision core broke its contract");
  }
}

void simulate(const Policy& small) {
  std::vector<lull::simulator::TraceJob> trace;
  try {
    lull::simulator::TraceShape shape;
    shape.jobs = 10;
    shape.slots = small.slots;
    trace = lull::simulator::generate_trace(small, shape);
  } catch (const lull::Error&) {
    // The generator needs a tenant of each kind; build a trace by hand instead.
  }
  // Jobs at the trace limits: the longest work, costliest snapshots, latest submits.
  for (std::size_t i = 0; i < std::min<std::size_t>(small.tenants.size(), 4); ++i) {
    lull::simulator::TraceJob job;
    job.tenant = small.tenants[i].name;
    job.job_class = small.class_of(small.tenants[i]).name;
    job.ranks = job.min_ranks = 1;
    job.max_ranks = small.tenants[i].slot_quota;
    job.duration = lull::simulator::kMaxTraceTime;
    job.checkpoint_cost = i % 2 == 0 ? lull::simulator::kMaxTraceTime : Duration(1);
    job.submit = trace.empty() ? Duration(0) : trace.back().submit;
    trace.push_back(job);
  }
  const lull::simulator::SimulationFigures figures = lull::simulator::simulate(small, trace, small.slots);
  FUZZ_CHECK(figures.finished_jobs + figures.failed_jobs == trace.size(), "jobs lost by the simulator");
}

// An issue's place: within the text, a column wherever there is a line.
bool in_text(int line, int column, int lines) { return line >= 0 && line <= lines && (line == 0 || column >= 1); }

void export_for_slurm(const Policy& policy, std::string_view text, int lines) {
  const SlurmExportResult result = export_to_slurm(policy, "fuzz.toml", text, "/usr/bin/lull");
  FUZZ_CHECK(result.exported.has_value() == result.issues.empty(), "an export with issues, or neither");
  for (const PolicyIssue& issue : result.issues) {
    FUZZ_CHECK(issue.source == "fuzz.toml" && !issue.field.empty(), "an export issue without its source or field");
    FUZZ_CHECK(in_text(issue.line, issue.column, lines), "an export issue past the end of the text");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_nesting_bound(text);
  const PolicyLoadResult result = load_policy_text(text, "fuzz.toml");
  FUZZ_CHECK(result.policy.has_value() == result.issues.empty(), "a policy with issues, or neither");
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const PolicyIssue& issue : result.issues) {
    FUZZ_CHECK(issue.source == "fuzz.toml", "an issue that does not name its source");
    FUZZ_CHECK(issue.line >= 0 && issue.line <= lines, "an issue past the end of the text");
    FUZZ_CHECK(issue.line == 0 || issue.column >= 1, "an issue with a line but no column");
    FUZZ_CHECK(!issue.message.empty(), "an issue without a message");
  }
  for (const auto& [line, column] : locate_policy_keys(text, {{"classes", "spot", "grace"}, {"node"}, {}})) {
    FUZZ_CHECK(in_text(line, column, lines), "locate_policy_keys past the end of the text");
  }
  if (!result.policy) return 0;
  check_limits(*result.policy);
  export_for_slurm(*result.policy, text, lines);
  const Policy small = lull::simulator::scale_policy_to_slots(*result.policy, std::min(result.policy->slots, kSmallNode));
  work_out_core(small);
  simulate(small);
  return 0;
}
