#include "policy_workout.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace lull::policy::test {

namespace {

enum class Happening { submit, finish, answer_notice, killed, grace_timer, tick, cancel, shrink, grow };

struct Scheduled {
  TimePoint when;
  std::uint64_t sequence = 0;  // ties in the order scheduled
  Happening what = Happening::tick;
  JobId job = 0;
  std::uint64_t run = 0;  // finish, answer_notice, killed: of which run of the job
};

struct LaterFirst {
  bool operator()(const Scheduled& a, const Scheduled& b) const {
    return std::tie(a.when, a.sequence) > std::tie(b.when, b.sequence);
  }
};

struct ModelJob {
  std::string tenant;
  int ranks = 1;
  int min_ranks = 1;
  int max_ranks = 1;
  Duration runs_for{0};
  bool answers_notices = true;  // exits 75 when noticed; otherwise waits to be killed
  bool waiting = true;
  bool noticed = false;
  bool has_run = false;
  std::uint64_t run = 0;  // bumped per run, so a stale finish is ignored
  std::vector<SlotId> slots;
};

// Run lengths from a millisecond to past every policy limit (30 days).
const Duration kRunLengths[] = {Duration(1), std::chrono::minutes(7), std::chrono::hours(24 * 45)};

class Workout {
 public:
  Workout(const Policy& policy, TimePoint start, std::size_t max_decisions)
      : policy_(policy), core_(policy), start_(start), max_decisions_(max_decisions), node_slots_(policy.slots) {}

  WorkoutReport run() {
    plan();
    while (!agenda_.empty() && report_.decisions < max_decisions_) {
      const Scheduled next = agenda_.top();
      agenda_.pop();
      happen(next);
    }
    return std::move(report_);
  }

 private:
  void plan() {
    const std::size_t tenants = std::min<std::size_t>(policy_.tenants.size(), 8);
    JobId id = 1;
    for (std::size_t t = 0; t < tenants; ++t) {
      const Tenant& tenant = policy_.tenants[t];
      const int quota = std::min(tenant.slot_quota, policy_.slots);
      const int shapes[3][3] = {{1, 0, 0}, {quota, 0, 0}, {std::max(1, quota / 2), 1, quota}};
      for (int shape = 0; shape < 3; ++shape, ++id) {
        ModelJob job;
        job.tenant = tenant.name;
        job.ranks = shapes[shape][0];
        job.min_ranks = shapes[shape][1] == 0 ? job.ranks : shapes[shape][1];
        job.max_ranks = shapes[shape][2] == 0 ? job.ranks : shapes[shape][2];
        job.runs_for = kRunLengths[(t + static_cast<std::size_t>(shape)) % 3];
        job.answers_notices = (id % 2) == 0;
        jobs_[id] = job;
        schedule(saturating_add(start_, std::chrono::minutes(static_cast<int>(id) * 3)), Happening::submit, id);
      }
    }
    if (id > 2) schedule(saturating_add(start_, std::chrono::minutes(20)), Happening::cancel, 2);
    schedule(saturating_add(start_, std::chrono::minutes(10)), Happening::shrink, 0);
    schedule(saturating_add(start_, std::chrono::hours(2)), Happening::grow, 0);
  }

  void schedule(TimePoint when, Happening what, JobId job, std::uint64_t run = 0) {
    agenda_.push({when, sequence_++, what, job, run});
  }

  // The job's current run, when `run` is still it.
  ModelJob* running(JobId id, std::uint64_t run) {
    const auto found = jobs_.find(id);
    return found != jobs_.end() && !found->second.waiting && found->second.run == run ? &found->second : nullptr;
  }

  void happen(const Scheduled& next) {
    now_ = std::max(now_.value_or(next.when), next.when);
    switch (next.what) {
      case Happening::submit: {
        const ModelJob& job = jobs_.at(next.job);
        decide(SubmitEvent{next.job, job.tenant, job.ranks, job.min_ranks, job.max_ranks});
        return;
      }
      // Each ends the run it was scheduled for, if that run is still going.
      case Happening::finish:
        if (running(next.job, next.run) != nullptr) end_run(next.job, 0);
        return;
      case Happening::answer_notice:
        if (running(next.job, next.run) != nullptr) end_run(next.job, 75);
        return;
      case Happening::killed:
        if (running(next.job, next.run) != nullptr) end_run(next.job, 137);
        return;
      case Happening::grace_timer:
        decide(GraceExpiredEvent{next.job});
        return;
      case Happening::tick:
        ticks_.erase(*now_);
        decide(TickEvent{});
        return;
      case Happening::cancel:
        decide(CancelEvent{next.job});
        return;
      case Happening::shrink:
        node_slots_ = std::max(1, policy_.slots / 2);
        decide(SlotsChangedEvent{node_slots_});
        return;
      case Happening::grow:
        node_slots_ = policy_.slots;
        decide(SlotsChangedEvent{node_slots_});
        return;
    }
  }

  void end_run(JobId id, int code) {
    ModelJob& job = jobs_[id];
    for (SlotId slot : job.slots) held_.erase(slot);
    job.slots.clear();
    job.waiting = true;
    job.noticed = false;
    ++job.run;
    decide(JobExitEvent{id, code});
  }

  void decide(EventKind what) {
    const TimePoint now = *now_;
    const Decision decision = core_.decide({now, std::move(what)});
    ++report_.decisions;
    for (const Action& action : decision.actions) apply(action, now);
    if (decision.next_tick) {
      if (*decision.next_tick < now) broken("next_tick " + at(*decision.next_tick) + " is before now " + at(now));
      if (*decision.next_tick > now && ticks_.insert(*decision.next_tick).second) {
        schedule(*decision.next_tick, Happening::tick, 0);
      }
    }
    const int busy = core_.summary().busy_slots;
    int held = 0;
    for (const auto& [id, job] : jobs_) held += static_cast<int>(job.slots.size());
    if (busy != held) broken("the core counts " + std::to_string(busy) + " busy slots; its jobs hold " + std::to_string(held));
  }

  void apply(const Action& action, TimePoint now) {
    std::visit(
        [&](const auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, StartAction> || std::is_same_v<A, ResumeAction>) {
            run(a.job, a.slots, std::is_same_v<A, ResumeAction>, now);
          } else if constexpr (std::is_same_v<A, NotifyAction>) {
            notice(a, now);
          } else if constexpr (std::is_same_v<A, KillAction>) {
            ++report_.kills;
            ModelJob* job = find(a.job, "kill");
            if (job != nullptr && job->waiting) broken("kill of job " + std::to_string(a.job) + ", which is not running");
            // Its exit comes as an event of its own, as the arbiter sees it.
            if (job != nullptr && !job->waiting) schedule(now, Happening::killed, a.job, job->run);
          } else if constexpr (std::is_same_v<A, RejectAction>) {
            if (ModelJob* job = find(a.job, "reject")) {
              if (job->has_run) broken("reject of job " + std::to_string(a.job) + " after it ran");
              jobs_.erase(a.job);
            }
          }
        },
        action);
  }

  ModelJob* find(JobId id, const char* what) {
    const auto found = jobs_.find(id);
    if (found == jobs_.end()) {
      broken(std::string(what) + " of job " + std::to_string(id) + ", which was never submitted");
      return nullptr;
    }
    return &found->second;
  }

  void run(JobId id, const std::vector<SlotId>& slots, bool resume, TimePoint now) {
    ++report_.starts;
    ModelJob* job = find(id, resume ? "resume" : "start");
    if (job == nullptr) return;
    const std::string name = (resume ? "resume of job " : "start of job ") + std::to_string(id);
    if (!job->waiting) broken(name + ", which is not waiting");
    if (resume != job->has_run) broken(name + (resume ? " that never ran" : " that ran before"));
    const int ranks = static_cast<int>(slots.size());
    if (!resume && ranks != job->ranks) broken(name + " on " + std::to_string(ranks) + " slots, not its ranks");
    if (resume && (ranks < job->min_ranks || ranks > job->max_ranks)) {
      broken(name + " on " + std::to_string(ranks) + " slots, outside " + std::to_string(job->min_ranks) + ".." +
             std::to_string(job->max_ranks));
    }
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (slots[i] < 0 || slots[i] >= node_slots_) broken(name + " on slot " + std::to_string(slots[i]) + ", not a slot of the node");
      if (i > 0 && slots[i] <= slots[i - 1]) broken(name + ": slots not ascending and distinct");
      if (!held_.insert(slots[i]).second) broken(name + " on slot " + std::to_string(slots[i]) + ", held by another job");
    }
    job->slots = slots;
    job->waiting = false;
    job->noticed = false;
    job->has_run = true;
    schedule(saturating_add(now, job->runs_for), Happening::finish, id, job->run);
  }

  void notice(const NotifyAction& action, TimePoint now) {
    ++report_.notices;
    ModelJob* job = find(action.job, "notice");
    if (job == nullptr) return;
    if (job->waiting || job->noticed) broken("notice to job " + std::to_string(action.job) + ", which is not running");
    const Tenant* tenant = policy_.find_tenant(job->tenant);
    const Duration grace = tenant != nullptr ? policy_.class_of(*tenant).grace : Duration(0);
    if (action.deadline != saturating_add(now, grace)) {
      broken("notice deadline " + at(action.deadline) + " is not now + grace (" + at(now) + " + " +
             format_duration(grace) + ")");
    }
    job->noticed = true;
    schedule(action.deadline, Happening::grace_timer, action.job);
    if (job->answers_notices) {
      schedule(saturating_add(now, std::chrono::seconds(1)), Happening::answer_notice, action.job, job->run);
    }
  }

  void broken(const std::string& what) {
    if (report_.broken.size() < 20) report_.broken.push_back("at " + at(now_.value_or(start_)) + ": " + what);
  }

  static std::string at(TimePoint time) { return std::to_string(time.time_since_epoch().count()) + " ms"; }

  const Policy& policy_;
  DecisionCore core_;
  TimePoint start_;
  std::size_t max_decisions_;
  int node_slots_;
  std::optional<TimePoint> now_;
  std::map<JobId, ModelJob> jobs_;
  std::set<SlotId> held_;
  std::set<TimePoint> ticks_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, LaterFirst> agenda_;
  std::uint64_t sequence_ = 0;
  WorkoutReport report_;
};

}  // namespace

WorkoutReport work_out(const Policy& policy, TimePoint start, std::size_t max_decisions) {
  return Workout(policy, start, max_decisions).run();
}

}  // namespace lull::policy::test
