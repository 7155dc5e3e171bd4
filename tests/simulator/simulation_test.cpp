// simulate() on hand-built traces whose figures follow from the job model in
// simulation.h: a job alone, a notice whose snapshot fits the grace period, a
// kill at the deadline, bad rows, the include mask, and the accounting
// invariants on a generated trace; the delay tenants cause internal jobs.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../policy/policy_test_support.h"
#include "../policy/small_node_policy.h"
#include "lull/base/error.h"
#include "lull/simulator/internal_delay.h"
#include "lull/simulator/simulation.h"
#include "lull/simulator/trace_generator.h"

namespace lull::simulator {
namespace {

using namespace std::chrono_literals;
using policy::Duration;
using policy::test::policy_from;

// Slot-milliseconds of `time` on `slots` slots, as the figures count them.
double slot_ms(Duration time, int slots) { return static_cast<double>(time.count()) * slots; }

TraceJob job(Duration submit, const std::string& job_class, const std::string& tenant, int ranks, Duration duration,
             Duration checkpoint_cost) {
  return {submit, job_class, tenant, ranks, ranks, ranks, duration, checkpoint_cost};
}

// The tenant (25 minutes of compute on 4 ranks, snapshots costing
// `checkpoint_cost`) at 0, then an internal job wanting the whole node for 10
// minutes at minute 15.
std::vector<TraceJob> tenant_then_internal(Duration checkpoint_cost) {
  return {job(0min, "spot", "guest", 4, 25min, checkpoint_cost), job(15min, "internal", "lab", 4, 10min, 0min)};
}

TEST(Simulate, ATenantAloneRunsToTheEndPausingForEachPeriodicSnapshot) {
  // 25 minutes of compute: snapshots after 10 and 20 (none at the end), 1 minute each.
  const std::vector<TraceJob> trace = {job(0min, "spot", "guest", 4, 25min, 1min)};
  const SimulationFigures f = simulate(policy_from(test::kSmallNodePolicy), trace, 4);
  EXPECT_EQ(f.finished_jobs, 1u);
  EXPECT_EQ(f.failed_jobs, 0u);
  EXPECT_EQ(f.notices, 0u);
  EXPECT_EQ(f.makespan, Duration(27min));
  ASSERT_TRUE(f.first_start[0].has_value());
  EXPECT_EQ(f.first_start[0]->time_since_epoch(), Duration(0));
  EXPECT_DOUBLE_EQ(f.tenant_useful, slot_ms(25min, 4));
  EXPECT_DOUBLE_EQ(f.tenant_held, slot_ms(27min, 4));
  EXPECT_DOUBLE_EQ(f.tenant_checkpointing, slot_ms(2min, 4));
  EXPECT_DOUBLE_EQ(f.tenant_lost, 0);
}

TEST(Simulate, ANoticeWhoseSnapshotFitsTheGraceLosesNoWork) {
  // The tenant has computed 14 minutes at minute 15 (10, a 1-minute snapshot,
  // 4 more); noticed, it writes a snapshot and exits at 16. The internal job
  // runs 16..26; the tenant resumes at 26 with 11 minutes left (one periodic
  // snapshot on the way) and ends at 38.
  const SimulationFigures f = simulate(policy_from(test::kSmallNodePolicy), tenant_then_internal(1min), 4);
  EXPECT_EQ(f.notices, 1u);
  EXPECT_EQ(f.kills_at_deadline, 0u);
  EXPECT_EQ(f.finished_jobs, 2u);
  ASSERT_TRUE(f.first_start[1].has_value());
  EXPECT_EQ(f.first_start[1]->time_since_epoch(), Duration(16min));
  EXPECT_EQ(f.makespan, Duration(38min));
  EXPECT_DOUBLE_EQ(f.tenant_lost, 0);
  EXPECT_DOUBLE_EQ(f.tenant_useful, slot_ms(25min, 4));  // every minute of compute counted once
}

TEST(Simulate, ASnapshotLongerThanTheGraceIsKilledAndLosesWhatFollowedItsLastSnapshot) {
  // 3-minute snapshots, 2 minutes of grace: noticed at 15, killed at the
  // deadline (17) having computed 14 minutes of which 10 were committed.
  const SimulationFigures f = simulate(policy_from(test::kSmallNodePolicy), tenant_then_internal(3min), 4);
  EXPECT_EQ(f.notices, 1u);
  EXPECT_EQ(f.kills_at_deadline, 1u);
  EXPECT_DOUBLE_EQ(f.tenant_lost, slot_ms(4min, 4));
  EXPECT_EQ(f.finished_jobs, 2u);
  EXPECT_DOUBLE_EQ(f.tenant_useful, slot_ms(25min, 4));  // the lost 4 minutes were computed again
  // Internal 17..27; the tenant resumes at 27 from 10 minutes: 15 left, one 3-minute snapshot.
  EXPECT_EQ(f.makespan, Duration(45min));
}

TEST(Simulate, ARowNamingATenantThePolicyLacksIsRefusedWithItsRowNumber) {
  const std::vector<TraceJob> trace = {job(0min, "spot", "guest", 1, 1min, 0min),
                                       job(1min, "spot", "nobody", 1, 1min, 0min)};
  try {
    simulate(policy_from(test::kSmallNodePolicy), trace, 4);
    FAIL() << "a trace with an unknown tenant was simulated";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("trace job 2: no tenant \"nobody\""), std::string::npos) << e.what();
  }
}

TEST(Simulate, ARowWhoseClassIsNotItsTenantsIsRefused) {
  const std::vector<TraceJob> trace = {job(0min, "internal", "guest", 1, 1min, 0min)};
  try {
    simulate(policy_from(test::kSmallNodePolicy), trace, 4);
    FAIL() << "a trace with a wrong class was simulated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trace job 1: class \"internal\" is not tenant guest's (\"spot\")"),
              std::string::npos)
        << e.what();
  }
}

TEST(Simulate, RowsLeftOutByTheMaskNeverStart) {
  const std::vector<bool> tenant_alone = {true, false};
  const SimulationFigures f =
      simulate(policy_from(test::kSmallNodePolicy), tenant_then_internal(1min), 4, &tenant_alone);
  EXPECT_EQ(f.internal_jobs, 0u);
  EXPECT_EQ(f.tenant_jobs, 1u);
  EXPECT_EQ(f.notices, 0u);
  EXPECT_FALSE(f.first_start[1].has_value());
  EXPECT_EQ(f.makespan, Duration(27min));
}

TEST(Simulate, AGeneratedTraceIsDeterministicAndItsFiguresAddUp) {
  const policy::Policy policy = policy_from(test::kSmallNodePolicy);
  TraceShape shape;
  shape.jobs = 300;
  shape.seed = 7;
  const std::vector<TraceJob> trace = generate_trace(policy, shape);
  const SimulationFigures a = simulate(policy, trace, 4);
  const SimulationFigures b = simulate(policy, trace, 4);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.notices, b.notices);
  EXPECT_EQ(a.makespan, b.makespan);
  EXPECT_EQ(a.first_start, b.first_start);
  EXPECT_DOUBLE_EQ(a.tenant_lost, b.tenant_lost);

  EXPECT_EQ(a.internal_jobs + a.tenant_jobs, trace.size());
  EXPECT_EQ(a.finished_jobs + a.failed_jobs, trace.size());
  EXPECT_GT(a.notices, 0u) << "the generated trace should preempt tenants";
  EXPECT_LE(a.internal_used + a.tenant_used, a.capacity * (1 + 1e-12));
  // Every slot-millisecond a tenant held went to compute that counted, compute lost, or snapshots.
  EXPECT_NEAR(a.tenant_useful + a.tenant_lost + a.tenant_checkpointing, a.tenant_held, a.tenant_held * 1e-9);
}

TEST(ScalePolicyToSlots, QuotasKeepTheirShareAndNeverDropBelowOneSlot) {
  policy::Policy policy = policy_from(test::kSmallNodePolicy);
  ASSERT_EQ(policy.slots, 4);
  const policy::Policy larger = scale_policy_to_slots(policy, 64);
  EXPECT_EQ(larger.slots, 64);
  for (const policy::Tenant& tenant : larger.tenants) EXPECT_EQ(tenant.slot_quota, 64) << tenant.name;

  policy.tenants[1].slot_quota = 1;  // a quarter of the node
  const policy::Policy smaller = scale_policy_to_slots(policy, 2);
  EXPECT_EQ(smaller.tenants[0].slot_quota, 2);
  EXPECT_EQ(smaller.tenants[1].slot_quota, 1);  // half a slot rounds to 1, and 1 is the least
}

TEST(InternalDelay, AnInternalJobWaitingForATenantsSnapshotIsDelayedByIt) {
  // As in ANoticeWhoseSnapshotFitsTheGraceLosesNoWork: beside the tenant the
  // internal job starts at 16, alone at 15.
  const policy::Policy policy = policy_from(test::kSmallNodePolicy);
  const std::vector<TraceJob> trace = tenant_then_internal(1min);
  const std::vector<bool> internal = internal_rows(policy, trace);
  EXPECT_EQ(internal, (std::vector<bool>{false, true}));
  const InternalDelay delay =
      internal_delay(simulate(policy, trace, 4), simulate(policy, trace, 4, &internal), internal);
  EXPECT_EQ(delay.compared, 1u);
  EXPECT_EQ(delay.delayed, 1u);
  EXPECT_EQ(delay.mean, Duration(1min));
  EXPECT_EQ(delay.p99, Duration(1min));
  EXPECT_EQ(delay.max, Duration(1min));
}

TEST(InternalDelay, OnlyInternalJobsThatStartedInBothRunsCountAndNoneIsEverEarlier) {
  const auto at = [](Duration since_zero) { return std::optional<policy::TimePoint>(policy::TimePoint(since_zero)); };
  SimulationFigures with_tenants, alone;
  // Rows: a tenant's; internal delayed 4 min; internal earlier beside tenants
  // (counts as 0); internal that never started beside tenants; internal delayed 2 min.
  with_tenants.first_start = {at(0min), at(9min), at(1min), std::nullopt, at(7min)};
  alone.first_start = {at(5min), at(5min), at(3min), at(1min), at(5min)};
  const InternalDelay delay = internal_delay(with_tenants, alone, {false, true, true, true, true});
  EXPECT_EQ(delay.compared, 3u);
  EXPECT_EQ(delay.delayed, 2u);
  EXPECT_EQ(delay.mean, Duration(2min));
  EXPECT_EQ(delay.p99, Duration(4min));
  EXPECT_EQ(delay.max, Duration(4min));
  EXPECT_EQ(internal_delay(with_tenants, alone, {true, false, false, false, false}).delayed, 0u);
  EXPECT_EQ(internal_delay(with_tenants, alone, {false, false, false, false, false}).compared, 0u);
}

}  // namespace
}  // namespace lull::simulator
