#pragma once
// Helpers for the decision-core tests: a policy from TOML text, times in
// minutes, and filters over a Decision's actions.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lull/policy/decision_core.h"
#include "lull/policy/policy_loader.h"

namespace lull::policy::test {

inline Policy policy_from(const std::string& toml) {
  PolicyLoadResult result = load_policy_text(toml, "test.toml");
  std::string issues;
  for (const PolicyIssue& issue : result.issues) issues += issue.describe() + "\n";
  EXPECT_TRUE(result.policy.has_value()) << issues;
  return result.policy ? *result.policy : Policy{};
}

inline TimePoint minutes(long long m) { return TimePoint(std::chrono::minutes(m)); }

template <typename A>
std::vector<A> actions_of(const Decision& decision) {
  std::vector<A> out;
  for (const Action& action : decision.actions) {
    if (const A* a = std::get_if<A>(&action)) out.push_back(*a);
  }
  return out;
}

inline std::string describe_all(const Decision& decision) {
  std::string out;
  for (const Action& action : decision.actions) out += "  " + describe(action) + "\n";
  return out;
}

// The core plus the current time, for short scenario tests.
class Scenario {
 public:
  explicit Scenario(const std::string& toml) : core_(policy_from(toml)) {}

  Decision at(long long minute, EventKind what) {
    last_ = core_.decide({minutes(minute), std::move(what)});
    return last_;
  }
  Decision submit(long long minute, JobId job, const std::string& tenant, int ranks, int min_ranks = 0,
                  int max_ranks = 0) {
    return at(minute, SubmitEvent{job, tenant, ranks, min_ranks, max_ranks});
  }
  Decision exit(long long minute, JobId job, int code) { return at(minute, JobExitEvent{job, code}); }
  Decision tick(long long minute) { return at(minute, TickEvent{}); }

  DecisionCore& core() { return core_; }
  JobState state(JobId job) const {
    const auto status = core_.job(job);
    EXPECT_TRUE(status.has_value()) << "job " << job << " unknown";
    return status ? status->state : JobState::queued;
  }

 private:
  DecisionCore core_;
  Decision last_;
};

}  // namespace lull::policy::test
