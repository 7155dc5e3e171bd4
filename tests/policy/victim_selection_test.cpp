// Ranking victims and sparing the ones not needed (white box: policy/src).
#include <gtest/gtest.h>

#include "victim_selection.h"

namespace lull::policy {
namespace {

VictimCandidate candidate(JobId job, int ranks, int priority, long long started_minute, std::int64_t work_lost) {
  return {job, ranks, priority, TimePoint(std::chrono::minutes(started_minute)), work_lost};
}

std::vector<JobId> ids(const std::vector<VictimCandidate>& victims) {
  std::vector<JobId> out;
  for (const auto& v : victims) out.push_back(v.job);
  return out;
}

TEST(VictimSelection, FollowsTheOrderThenJobId) {
  const std::vector<VictimCandidate> candidates{candidate(3, 1, 10, 5, 100), candidate(1, 1, 10, 5, 100),
                                                candidate(2, 1, 5, 9, 300)};
  using C = VictimCriterion;
  EXPECT_EQ(ids(choose_victims(candidates, 1, {C::least_work_lost})), std::vector<JobId>{1});
  EXPECT_EQ(ids(choose_victims(candidates, 1, {C::lowest_priority})), std::vector<JobId>{2});
  EXPECT_EQ(ids(choose_victims(candidates, 1, {C::newest})), std::vector<JobId>{2});
  EXPECT_EQ(ids(choose_victims(candidates, 2, {C::least_work_lost})), (std::vector<JobId>{1, 3}));
}

TEST(VictimSelection, TakesNoMoreThanNeeded) {
  const std::vector<VictimCandidate> candidates{candidate(1, 2, 1, 0, 1), candidate(2, 1, 1, 0, 2),
                                                candidate(3, 8, 1, 0, 3)};
  EXPECT_EQ(ids(choose_victims(candidates, 4, {VictimCriterion::least_work_lost})), std::vector<JobId>{3});
  EXPECT_EQ(ids(choose_victims(candidates, 3, {VictimCriterion::least_work_lost})), (std::vector<JobId>{1, 2}));
  EXPECT_TRUE(choose_victims(candidates, 12, {VictimCriterion::least_work_lost}).empty());
}

TEST(VictimSelection, EstimatesWorkSinceTheLastSnapshot) {
  const TimePoint start(std::chrono::minutes(0));
  const TimePoint now(std::chrono::minutes(25));
  EXPECT_EQ(estimate_work_lost(2, start, std::chrono::minutes(10), now), 2 * 5 * 60'000);
  EXPECT_EQ(estimate_work_lost(2, start, Duration(0), now), 2 * 25 * 60'000);
}

}  // namespace
}  // namespace lull::policy
