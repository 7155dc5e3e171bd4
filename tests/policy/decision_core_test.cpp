// The decision core: preemption, protections, lulls, starvation, quotas,
// elastic resume, cancel, slot changes, determinism.
#include <algorithm>
#include <deque>
#include <random>

#include "policy_test_support.h"

namespace lull::policy::test {
namespace {

// 8 slots, no lull delay; internal may preempt spot and reserved; reserved may preempt spot.
const std::string kPolicy = R"(
[node]
slots = 8
idle_before_lull = "0s"
[scheduling]
reserve_after = "30m"
[classes.internal]
priority = 100
preemptible = false
[classes.reserved]
priority = 20
preemptible = true
grace = "5m"
[classes.spot]
priority = 10
preemptible = true
grace = "2m"
[tenants.frontier]
class = "internal"
slots = 8
[tenants.acme]
class = "reserved"
slots = 8
[tenants.globex]
class = "spot"
slots = 8
[tenants.small]
class = "spot"
slots = 2
)";

std::string with(const std::string& base, const std::string& extra) { return base + extra; }

TEST(DecisionCore, StartsAJobOnFreeSlots) {
  Scenario s(kPolicy);
  const Decision d = s.submit(0, 1, "globex", 3);
  const auto starts = actions_of<StartAction>(d);
  ASSERT_EQ(starts.size(), 1u) << describe_all(d);
  EXPECT_EQ(starts[0].job, 1u);
  EXPECT_EQ(starts[0].slots, (std::vector<SlotId>{0, 1, 2}));
  EXPECT_EQ(s.state(1), JobState::running);
}

TEST(DecisionCore, InternalJobPreemptsTheRightVictimAndOnlyAsManySlotsAsItNeeds) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 2);   // would lose 2 x 60 min
  s.submit(10, 2, "globex", 2);  // 2 x 50 min: least work lost
  s.submit(20, 3, "globex", 4);  // 4 x 40 min
  const Decision d = s.submit(60, 10, "frontier", 2);
  const auto notices = actions_of<NotifyAction>(d);
  ASSERT_EQ(notices.size(), 1u) << describe_all(d);
  EXPECT_EQ(notices[0].job, 2u);
  EXPECT_EQ(notices[0].preempted_for, 10u);
  EXPECT_EQ(notices[0].deadline, minutes(62));  // spot grace 2m
  const auto waits = actions_of<WaitAction>(d);
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0].reason, WaitReason::victims_draining);
  EXPECT_TRUE(actions_of<StartAction>(d).empty());

  // The victim checkpoints and exits 75: the internal job starts on its slots.
  const Decision after = s.exit(61, 2, 75);
  const auto starts = actions_of<StartAction>(after);
  ASSERT_EQ(starts.size(), 1u) << describe_all(after);
  EXPECT_EQ(starts[0].job, 10u);
  EXPECT_EQ(starts[0].slots, (std::vector<SlotId>{2, 3}));
  EXPECT_EQ(s.state(2), JobState::resumable);
  EXPECT_EQ(s.core().job(2)->preemptions, 1);
}

TEST(DecisionCore, SparesVictimsWhoseSlotsAreNotNeeded) {
  Scenario s(with(kPolicy, "[victims]\norder = [\"fewest_slots\"]\n"));
  s.submit(0, 1, "globex", 1);
  s.submit(0, 2, "globex", 1);
  s.submit(0, 3, "globex", 6);
  // Needs 4: the two 1-slot jobs are not enough and the 6-slot job alone is.
  const Decision d = s.submit(60, 10, "frontier", 4);
  const auto notices = actions_of<NotifyAction>(d);
  ASSERT_EQ(notices.size(), 1u) << describe_all(d);
  EXPECT_EQ(notices[0].job, 3u);
}

TEST(DecisionCore, FreeSlotsAndDrainingVictimsCountBeforeNewPreemptions) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 3);
  s.submit(0, 2, "globex", 3);  // 2 slots stay free
  Decision d = s.submit(60, 10, "frontier", 4);
  ASSERT_EQ(actions_of<NotifyAction>(d).size(), 1u) << describe_all(d);  // 2 free + one 3-slot victim
  // A second event before the victim exits preempts nobody else.
  d = s.tick(61);
  EXPECT_TRUE(actions_of<NotifyAction>(d).empty()) << describe_all(d);
}

TEST(DecisionCore, VictimOrderIsConfigurable) {
  Scenario s(with(kPolicy, "[victims]\norder = [\"lowest_priority\", \"oldest\"]\n"));
  s.submit(0, 1, "acme", 4);     // reserved, priority 20
  s.submit(10, 2, "globex", 2);  // spot, oldest
  s.submit(20, 3, "globex", 2);  // spot, newest
  const Decision d = s.submit(60, 10, "frontier", 2);
  const auto notices = actions_of<NotifyAction>(d);
  ASSERT_EQ(notices.size(), 1u) << describe_all(d);
  EXPECT_EQ(notices[0].job, 2u);
}

TEST(DecisionCore, OnlyStrictlyHigherPriorityPreempts) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 8);
  Decision d = s.submit(30, 2, "small", 2);  // the same priority: waits
  EXPECT_TRUE(actions_of<NotifyAction>(d).empty());
  EXPECT_EQ(actions_of<WaitAction>(d).at(0).reason, WaitReason::no_free_slots);
  d = s.submit(31, 3, "acme", 2);  // reserved preempts spot
  ASSERT_EQ(actions_of<NotifyAction>(d).size(), 1u) << describe_all(d);
  EXPECT_EQ(actions_of<NotifyAction>(d)[0].deadline, minutes(33));
}

TEST(DecisionCore, MinimumRuntimeHoldsAndTheWaitIsReported) {
  Scenario s(with(kPolicy, "").replace(kPolicy.find("grace = \"2m\""), 12, "grace = \"2m\"\nmin_runtime = \"30m\""));
  s.submit(0, 1, "globex", 8);
  Decision d = s.submit(10, 10, "frontier", 2);
  EXPECT_TRUE(actions_of<NotifyAction>(d).empty()) << describe_all(d);
  auto waits = actions_of<WaitAction>(d);
  ASSERT_EQ(waits.size(), 1u) << describe_all(d);
  EXPECT_EQ(waits[0].reason, WaitReason::victims_protected);
  EXPECT_EQ(waits[0].until, minutes(30));
  EXPECT_EQ(d.next_tick, minutes(30));

  d = s.tick(29);
  EXPECT_TRUE(d.actions.empty()) << describe_all(d);  // same reason: not repeated
  d = s.tick(30);
  ASSERT_EQ(actions_of<NotifyAction>(d).size(), 1u) << describe_all(d);
}

TEST(DecisionCore, PreemptionLimitHoldsAndTheWaitIsReported) {
  const std::string policy = std::string(kPolicy).replace(kPolicy.find("grace = \"2m\""), 12,
                                                          "grace = \"2m\"\nmax_preemptions_per_hour = 2");
  Scenario s(policy);
  s.submit(0, 1, "globex", 8);
  int notices = 0;
  // Internal jobs of 8 slots keep coming every 10 minutes, each running 5 minutes.
  for (int round = 0; round < 5; ++round) {
    const long long t = 10 + round * 10;
    Decision d = s.submit(t, 100 + round, "frontier", 8);
    notices += static_cast<int>(actions_of<NotifyAction>(d).size());
    if (s.state(1) == JobState::noticed) s.exit(t + 1, 1, 75);
    s.exit(t + 5, 100 + round, 0);
  }
  EXPECT_EQ(notices, 2);  // at most 2 in any hour
  const auto status = s.core().job(1);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, JobState::resumable);
  EXPECT_EQ(status->waiting_for, WaitReason::preemption_limit);  // not resumed while it could not be preempted
  // An hour after its first preemption it may run again.
  const Decision d = s.tick(70);
  EXPECT_EQ(actions_of<ResumeAction>(d).size(), 1u) << describe_all(d);
}

TEST(DecisionCore, GraceExpiredKillsAndTheJobIsResumedLater) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 8);
  s.submit(60, 10, "frontier", 8);
  Decision d = s.at(61, GraceExpiredEvent{1});
  EXPECT_TRUE(d.actions.empty()) << "an early timer is ignored";
  d = s.at(62, GraceExpiredEvent{1});
  const auto kills = actions_of<KillAction>(d);
  ASSERT_EQ(kills.size(), 1u) << describe_all(d);
  EXPECT_EQ(kills[0].reason, KillReason::grace_expired);
  d = s.exit(62, 1, 137);
  EXPECT_EQ(actions_of<StartAction>(d).size(), 1u) << describe_all(d);
  EXPECT_EQ(s.state(1), JobState::resumable);  // killed, not failed: resumes from its last snapshot
  d = s.exit(120, 10, 0);
  const auto resumes = actions_of<ResumeAction>(d);
  ASSERT_EQ(resumes.size(), 1u) << describe_all(d);
  EXPECT_EQ(resumes[0].previous_ranks, 8);
}

TEST(DecisionCore, TenantsGetSlotsBackInALull) {
  Scenario s(std::string(kPolicy).replace(kPolicy.find("\"0s\""), 4, "\"10m\""));
  s.submit(0, 10, "frontier", 8);
  Decision d = s.submit(5, 1, "globex", 4);
  EXPECT_EQ(actions_of<WaitAction>(d).at(0).reason, WaitReason::no_free_slots);
  d = s.exit(60, 10, 0);
  auto waits = actions_of<WaitAction>(d);
  ASSERT_EQ(waits.size(), 1u) << describe_all(d);
  EXPECT_EQ(waits[0].reason, WaitReason::lull_not_begun);
  EXPECT_EQ(waits[0].until, minutes(70));
  EXPECT_EQ(d.next_tick, minutes(70));
  // Internal work may still use the cooling slots at once.
  d = s.submit(65, 11, "frontier", 2);
  EXPECT_EQ(actions_of<StartAction>(d).size(), 1u) << describe_all(d);
  d = s.tick(69);
  EXPECT_TRUE(actions_of<StartAction>(d).empty());
  d = s.tick(70);
  const auto starts = actions_of<StartAction>(d);
  ASSERT_EQ(starts.size(), 1u) << describe_all(d);
  EXPECT_EQ(starts[0].job, 1u);
}

TEST(DecisionCore, QuotasHold) {
  Scenario s(kPolicy);
  s.submit(0, 1, "small", 1);
  s.submit(0, 2, "small", 1);
  Decision d = s.submit(0, 3, "small", 1);
  EXPECT_TRUE(actions_of<StartAction>(d).empty());
  EXPECT_EQ(actions_of<WaitAction>(d).at(0).reason, WaitReason::tenant_quota);
  EXPECT_EQ(s.core().summary().busy_slots, 2);
  d = s.exit(10, 1, 0);
  ASSERT_EQ(actions_of<StartAction>(d).size(), 1u);
  EXPECT_EQ(actions_of<StartAction>(d)[0].job, 3u);
  d = s.submit(11, 4, "small", 3);
  EXPECT_EQ(actions_of<RejectAction>(d).size(), 1u) << "more ranks than the quota can never run";
}

TEST(DecisionCore, NoJobStarves) {
  // A 4-slot job against a stream of 1-slot jobs of the same priority on 4 slots:
  // without reserve_after the small jobs would always fit first.
  std::string four_slots = kPolicy;
  for (auto at = four_slots.find("slots = 8"); at != std::string::npos; at = four_slots.find("slots = 8")) {
    four_slots.replace(at, 9, "slots = 4");
  }
  Scenario s(four_slots);
  JobId next = 100;
  std::deque<JobId> small_running;
  for (int i = 0; i < 4; ++i) {
    s.submit(0, next, "globex", 1);
    small_running.push_back(next++);
  }
  s.submit(1, 1, "globex", 4);
  long long started_at = -1;
  for (long long t = 10; t <= 300 && started_at < 0; t += 10) {
    // Every 10 minutes the oldest small job ends and a new one arrives.
    if (!small_running.empty()) {
      const Decision d = s.exit(t, small_running.front(), 0);
      small_running.pop_front();
      if (!actions_of<StartAction>(d).empty() && actions_of<StartAction>(d)[0].job == 1) started_at = t;
    }
    const JobId id = next++;
    const Decision d = s.submit(t, id, "globex", 1);
    if (!actions_of<StartAction>(d).empty()) small_running.push_back(id);
  }
  ASSERT_GE(started_at, 0) << "the 4-slot job never started";
  EXPECT_LE(started_at, 1 + 30 + 40) << "reserve_after (30m), then the running small jobs drain";
  EXPECT_GT(started_at, 1 + 30) << "before reserve_after the small jobs may go first";
}

TEST(DecisionCore, ElasticResumeOnFewerRanksWhenAllowed) {
  for (bool fewer : {true, false}) {
    Scenario s(with(kPolicy, std::string("[resume]\nfewer_ranks = ") + (fewer ? "true" : "false") + "\n"));
    s.submit(0, 1, "globex", 4, 2, 8);
    s.submit(0, 10, "frontier", 4);
    s.submit(60, 11, "frontier", 2);  // preempts job 1
    const Decision d = s.exit(61, 1, 75);  // job 11 takes 2 of its 4 slots
    const auto resumes = actions_of<ResumeAction>(d);
    if (fewer) {
      ASSERT_EQ(resumes.size(), 1u) << describe_all(d);
      EXPECT_EQ(resumes[0].slots.size(), 2u);
      EXPECT_EQ(resumes[0].previous_ranks, 4);
    } else {
      EXPECT_TRUE(resumes.empty()) << describe_all(d);
      EXPECT_EQ(s.core().job(1)->waiting_for, WaitReason::no_free_slots);
    }
  }
}

TEST(DecisionCore, ElasticResumeOnMoreRanksWhenNothingElseWaits) {
  Scenario s(with(kPolicy, "[resume]\nmore_ranks = true\n"));
  s.submit(0, 1, "globex", 2, 1, 6);
  s.submit(10, 10, "frontier", 8);  // preempts it
  s.exit(11, 1, 75);
  const Decision d = s.exit(60, 10, 0);
  const auto resumes = actions_of<ResumeAction>(d);
  ASSERT_EQ(resumes.size(), 1u) << describe_all(d);
  EXPECT_EQ(resumes[0].slots.size(), 6u);  // its max_ranks, not the whole node
}

// The path of tests/arbiter/elastic_arbiter_test.py (there on 4 slots): shrunk to what an internal
// job leaves, then, preempted again and left fewer than its min_ranks, grown on what frees up.
TEST(DecisionCore, ElasticResumeShrinksThenGrows) {
  Scenario s(with(kPolicy, "[resume]\nfewer_ranks = true\nmore_ranks = true\n"));
  s.submit(0, 1, "globex", 8, 4);
  ASSERT_EQ(actions_of<NotifyAction>(s.submit(10, 2, "frontier", 4)).size(), 1u);
  Decision d = s.exit(11, 1, 75);
  ASSERT_EQ(actions_of<StartAction>(d).size(), 1u) << describe_all(d);
  ASSERT_EQ(actions_of<ResumeAction>(d).size(), 1u) << describe_all(d);
  EXPECT_EQ(actions_of<ResumeAction>(d)[0].slots.size(), 4u);
  EXPECT_EQ(actions_of<ResumeAction>(d)[0].previous_ranks, 8);

  ASSERT_EQ(actions_of<NotifyAction>(s.submit(20, 3, "frontier", 2)).size(), 1u);
  d = s.exit(21, 1, 75);  // job 3 takes 2 of its 4 slots; 2 are fewer than its min_ranks
  ASSERT_EQ(actions_of<StartAction>(d).size(), 1u) << describe_all(d);
  EXPECT_TRUE(actions_of<ResumeAction>(d).empty()) << describe_all(d);
  EXPECT_EQ(s.core().job(1)->waiting_for, WaitReason::no_free_slots);

  d = s.exit(30, 2, 0);  // 6 free, nothing else waits: more than its last 4, fewer than its 8
  ASSERT_EQ(actions_of<ResumeAction>(d).size(), 1u) << describe_all(d);
  EXPECT_EQ(actions_of<ResumeAction>(d)[0].slots.size(), 6u);
  EXPECT_EQ(actions_of<ResumeAction>(d)[0].previous_ranks, 4);
}

TEST(DecisionCore, CancelDropsQueuedAndKillsRunningJobs) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 8);
  s.submit(0, 2, "globex", 8);
  Decision d = s.at(1, CancelEvent{2});
  EXPECT_TRUE(d.actions.empty());
  EXPECT_FALSE(s.core().job(2).has_value());
  d = s.at(2, CancelEvent{1});
  ASSERT_EQ(actions_of<KillAction>(d).size(), 1u);
  EXPECT_EQ(actions_of<KillAction>(d)[0].reason, KillReason::cancelled);
  s.exit(2, 1, 137);
  EXPECT_FALSE(s.core().job(1).has_value()) << "a cancelled job is not resumed";
  EXPECT_EQ(s.core().summary().free_slots, 8);
}

TEST(DecisionCore, FailedJobsAreNotResumed) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 2);
  s.exit(5, 1, 1);
  EXPECT_FALSE(s.core().job(1).has_value());
}

TEST(DecisionCore, RejectsWhatCanNeverRun) {
  Scenario s(kPolicy);
  EXPECT_EQ(actions_of<RejectAction>(s.submit(0, 1, "nobody", 1)).size(), 1u);
  EXPECT_EQ(actions_of<RejectAction>(s.submit(0, 2, "globex", 9)).size(), 1u);
  EXPECT_EQ(actions_of<RejectAction>(s.submit(0, 3, "globex", 2, 3, 4)).size(), 1u);
  s.submit(0, 4, "globex", 1);
  EXPECT_EQ(actions_of<RejectAction>(s.submit(0, 4, "globex", 1)).size(), 1u);
}

TEST(DecisionCore, SlotsLeavingTheNodeNoticeTheirPreemptibleJobs) {
  Scenario s(kPolicy);
  s.submit(0, 1, "globex", 4);   // slots 0-3
  s.submit(0, 10, "frontier", 4);  // slots 4-7
  const Decision d = s.at(5, SlotsChangedEvent{2});
  const auto notices = actions_of<NotifyAction>(d);
  ASSERT_EQ(notices.size(), 1u) << describe_all(d);
  EXPECT_EQ(notices[0].job, 1u);
  EXPECT_TRUE(notices[0].slots_removed);
  s.exit(6, 10, 0);
  s.exit(6, 1, 75);
  EXPECT_EQ(s.core().summary().slots, 2);
  EXPECT_EQ(s.core().summary().free_slots, 2);
  EXPECT_EQ(s.state(1), JobState::resumable) << "it needs 4 slots, the node has 2 left";
}

TEST(DecisionCore, SameEventsGiveTheSameActions) {
  auto run = [] {
    Scenario s(kPolicy);
    std::mt19937 random(7);
    std::string log;
    std::vector<JobId> live;
    const char* tenants[] = {"frontier", "acme", "globex", "small"};
    for (int step = 0; step < 400; ++step) {
      const long long t = step;
      Decision d;
      if (live.empty() || random() % 2 == 0) {
        const JobId id = static_cast<JobId>(step + 1);
        d = s.submit(t, id, tenants[random() % 4], static_cast<int>(1 + random() % 4));
        live.push_back(id);
      } else {
        const JobId id = live[random() % live.size()];
        d = s.exit(t, id, random() % 3 == 0 ? 75 : 0);
        if (!s.core().job(id)) live.erase(std::find(live.begin(), live.end(), id));
      }
      log += describe_all(d);
    }
    return log;
  };
  const std::string first = run();
  EXPECT_EQ(first, run());
  EXPECT_NE(first.find("notify"), std::string::npos);
}

}  // namespace
}  // namespace lull::policy::test
