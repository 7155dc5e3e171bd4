#include "lull/simulator/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <queue>
#include <set>
#include <type_traits>
#include <utility>

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/policy/decision_core.h"

namespace lull::simulator {

namespace {

using policy::Duration;
using policy::TimePoint;

enum class SimEventKind : std::uint8_t { submit, finish, notice_exit, killed_exit, grace_expired, tick };

struct SimEvent {
  std::int64_t time = 0;  // ms
  std::uint64_t sequence = 0;
  SimEventKind kind = SimEventKind::tick;
  std::uint32_t job = 0;
  std::uint32_t generation = 0;
};

// Milliseconds as a Duration, saturating: a job that would take longer than
// Duration can hold (absurd traces: a year of work on 1 of 10M ranks with a
// snapshot every millisecond) ends at the end of time instead of overflowing.
Duration whole_milliseconds(double milliseconds) {
  constexpr double kLimit = 9.2e18;  // just below INT64_MAX
  if (!(milliseconds > 0)) return Duration(0);
  if (milliseconds >= kLimit) return Duration::max();
  return Duration(static_cast<Duration::rep>(std::ceil(milliseconds)));
}

struct LaterFirst {
  bool operator()(const SimEvent& a, const SimEvent& b) const {
    return a.time != b.time ? a.time > b.time : a.sequence > b.sequence;
  }
};

// One job of the trace as the simulator runs it. Work is in milliseconds of
// compute on the requested rank count.
struct SimJob {
  std::size_t row = 0;
  bool preemptible = false;
  int requested_ranks = 1;
  double total_work = 0;
  double saved_work = 0;  // committed: where the next run starts
  Duration checkpoint_interval{0};
  Duration checkpoint_cost{0};
  // Current run.
  bool running = false;
  std::uint32_t generation = 0;
  TimePoint run_start;
  int ranks = 0;
  std::optional<TimePoint> noticed_at;
};

class Simulator {
 public:
  Simulator(const policy::Policy& policy, const std::vector<TraceJob>& trace, int slots,
            const std::vector<bool>* include)
      : core_(with_slots(policy, slots)), trace_(trace) {
    figures_.slots = slots;
    figures_.first_start.resize(trace.size());
    for (std::size_t row = 0; row < trace.size(); ++row) {
      if (include != nullptr && !(*include)[row]) continue;
      const TraceJob& entry = trace[row];
      const policy::Tenant* tenant = policy.find_tenant(entry.tenant);
      if (tenant == nullptr) fail(row, "no tenant \"" + entry.tenant + "\" in the policy");
      const policy::JobClass& job_class = policy.class_of(*tenant);
      if (job_class.name != entry.job_class) {
        fail(row, "class \"" + entry.job_class + "\" is not tenant " + tenant->name + "'s (\"" + job_class.name + "\")");
      }
      SimJob job;
      job.row = row;
      job.preemptible = job_class.preemptible;
      job.requested_ranks = entry.ranks;
      job.total_work = static_cast<double>(entry.duration.count());
      job.checkpoint_interval = job_class.checkpoint_interval;
      job.checkpoint_cost = entry.checkpoint_cost;
      (job.preemptible ? figures_.tenant_jobs : figures_.internal_jobs)++;
      push(entry.submit.count(), SimEventKind::submit, static_cast<std::uint32_t>(jobs_.size()), 0);
      jobs_.push_back(job);
      figures_.window = std::max(figures_.window, entry.submit);
    }
    figures_.capacity = static_cast<double>(slots) * static_cast<double>(figures_.window.count());
  }

  SimulationFigures run() {
    while (!events_.empty()) {
      const SimEvent event = events_.top();
      events_.pop();
      handle(event);
    }
    figures_.failed_jobs = figures_.internal_jobs + figures_.tenant_jobs - figures_.finished_jobs;
    return std::move(figures_);
  }

 private:
  static policy::Policy with_slots(policy::Policy policy, int slots) {
    return scale_policy_to_slots(std::move(policy), slots);
  }

  [[noreturn]] void fail(std::size_t row, const std::string& message) const {
    throw Error(ErrorCode::invalid_argument, "trace job " + std::to_string(row + 1) + ": " + message);
  }

  void push(std::int64_t time, SimEventKind kind, std::uint32_t job, std::uint32_t generation) {
    events_.push({time, next_sequence_++, kind, job, generation});
  }

  void handle(const SimEvent& event) {
    const TimePoint now{Duration(event.time)};
    SimJob* job = event.kind == SimEventKind::tick ? nullptr : &jobs_[event.job];
    switch (event.kind) {
      case SimEventKind::submit: {
        const TraceJob& entry = trace_[job->row];
        decide(now, policy::SubmitEvent{event.job, entry.tenant, entry.ranks, entry.min_ranks, entry.max_ranks});
        return;
      }
      case SimEventKind::finish:
        if (!job->running || job->generation != event.generation) return;
        end_run(*job, now, job->total_work, kExitFinished);
        return;
      case SimEventKind::notice_exit:
        if (!job->running || job->generation != event.generation) return;
        end_run(*job, now, job->saved_work + work_done(*job, *job->noticed_at), kExitPreempted);
        return;
      case SimEventKind::killed_exit:
        if (!job->running || job->generation != event.generation) return;
        ++figures_.kills_at_deadline;
        end_run(*job, now, job->saved_work + committed_work(*job, now), kExitKilled);
        return;
      case SimEventKind::grace_expired:
        decide(now, policy::GraceExpiredEvent{event.job});
        return;
      case SimEventKind::tick:
        pending_ticks_.erase(event.time);
        decide(now, policy::TickEvent{});
        return;
    }
  }

  void decide(TimePoint now, policy::EventKind what) {
    ++figures_.events;
    const policy::Decision decision = core_.decide({now, std::move(what)});
    for (const policy::Action& action : decision.actions) apply(action, now);
    if (decision.next_tick && *decision.next_tick > now) {
      const std::int64_t tick = decision.next_tick->time_since_epoch().count();
      if (pending_ticks_.insert(tick).second) push(tick, SimEventKind::tick, 0, 0);
    }
  }

  void apply(const policy::Action& action, TimePoint now) {
    std::visit(
        [&](const auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, policy::StartAction> || std::is_same_v<A, policy::ResumeAction>) {
            begin_run(jobs_[a.job], static_cast<int>(a.slots.size()), now);
          } else if constexpr (std::is_same_v<A, policy::NotifyAction>) {
            notice(jobs_[a.job], a, now);
          } else if constexpr (std::is_same_v<A, policy::KillAction>) {
            SimJob& job = jobs_[a.job];
            if (job.running) {
              push(now.time_since_epoch().count(), SimEventKind::killed_exit, static_cast<std::uint32_t>(a.job), job.generation);
            }
          } else if constexpr (std::is_same_v<A, policy::RejectAction>) {
            ++figures_.rejected;
          }
        },
        action);
  }

  // Wall time the job needs from `run_start` to finish what is left.
  Duration time_to_finish(const SimJob& job) const {
    const double rate = static_cast<double>(job.ranks) / job.requested_ranks;
    const double compute = (job.total_work - job.saved_work) / rate;
    double pauses = 0;
    if (job.checkpoint_interval.count() > 0) {
      const double snapshots = std::max(0.0, std::ceil(compute / static_cast<double>(job.checkpoint_interval.count())) - 1);
      pauses = snapshots * static_cast<double>(job.checkpoint_cost.count());
    }
    return whole_milliseconds(compute + pauses);
  }

  // Compute time (wall) spent in this run by `when`, and the part of it committed by periodic snapshots.
  std::pair<double, double> compute_wall(const SimJob& job, TimePoint when) const {
    const double elapsed = static_cast<double>((when - job.run_start).count());
    if (job.checkpoint_interval.count() <= 0) return {elapsed, 0.0};
    const double interval = static_cast<double>(job.checkpoint_interval.count());
    const double cycle = interval + static_cast<double>(job.checkpoint_cost.count());
    const double cycles = std::floor(elapsed / cycle);
    const double into_cycle = elapsed - cycles * cycle;
    return {cycles * interval + std::min(into_cycle, interval), cycles * interval};
  }

  double rate(const SimJob& job) const { return static_cast<double>(job.ranks) / job.requested_ranks; }
  double work_done(const SimJob& job, TimePoint when) const { return compute_wall(job, when).first * rate(job); }
  double committed_work(const SimJob& job, TimePoint when) const { return compute_wall(job, when).second * rate(job); }

  void begin_run(SimJob& job, int ranks, TimePoint now) {
    if (!figures_.first_start[job.row]) figures_.first_start[job.row] = now;
    job.running = true;
    ++job.generation;
    job.run_start = now;
    job.ranks = ranks;
    job.noticed_at.reset();
    push(policy::saturating_add(now, time_to_finish(job)).time_since_epoch().count(), SimEventKind::finish,
         static_cast<std::uint32_t>(&job - jobs_.data()), job.generation);
  }

  void notice(SimJob& job, const policy::NotifyAction& action, TimePoint now) {
    ++figures_.notices;
    const auto id = static_cast<std::uint32_t>(&job - jobs_.data());
    push(action.deadline.time_since_epoch().count(), SimEventKind::grace_expired, id, 0);
    if (!job.running) return;
    job.noticed_at = now;
    const TimePoint finish = policy::saturating_add(job.run_start, time_to_finish(job));
    const TimePoint snapshot_written = policy::saturating_add(now, job.checkpoint_cost);
    if (snapshot_written <= action.deadline && snapshot_written < finish) {
      ++job.generation;  // the natural finish will not happen
      push(snapshot_written.time_since_epoch().count(), SimEventKind::notice_exit, id, job.generation);
    }
  }

  void end_run(SimJob& job, TimePoint now, double saved_after, int exit_code) {
    const double held = static_cast<double>(job.ranks) * static_cast<double>((now - job.run_start).count());
    const double window_end = static_cast<double>(figures_.window.count());
    const double in_window =
        static_cast<double>(job.ranks) *
        std::max(0.0, std::min(static_cast<double>(now.time_since_epoch().count()), window_end) -
                          static_cast<double>(job.run_start.time_since_epoch().count()));
    if (job.preemptible) {
      figures_.tenant_used += in_window;
      figures_.tenant_held += held;
      const double useful = (saved_after - job.saved_work) * job.requested_ranks;
      const double lost =
          exit_code == kExitKilled ? (job.saved_work + work_done(job, now) - saved_after) * job.requested_ranks : 0.0;
      figures_.tenant_useful += useful;
      figures_.tenant_lost += lost;
      // The rest of the held time went to snapshots (periodic, and the one written on notice).
      figures_.tenant_checkpointing += std::max(0.0, held - useful - lost);
    } else {
      figures_.internal_used += in_window;
    }
    job.saved_work = saved_after;
    job.running = false;
    ++job.generation;
    if (exit_code == kExitFinished) {
      ++figures_.finished_jobs;
      figures_.makespan = std::max(figures_.makespan, now.time_since_epoch());
    }
    decide(now, policy::JobExitEvent{static_cast<std::uint32_t>(&job - jobs_.data()), exit_code});
  }

  policy::DecisionCore core_;
  const std::vector<TraceJob>& trace_;
  std::vector<SimJob> jobs_;
  std::priority_queue<SimEvent, std::vector<SimEvent>, LaterFirst> events_;
  std::set<std::int64_t> pending_ticks_;
  std::uint64_t next_sequence_ = 0;
  SimulationFigures figures_;
};

}  // namespace

policy::Policy scale_policy_to_slots(policy::Policy policy, int slots) {
  if (slots == policy.slots) return policy;
  for (policy::Tenant& tenant : policy.tenants) {
    const double scaled = static_cast<double>(tenant.slot_quota) * slots / policy.slots;
    tenant.slot_quota = std::clamp(static_cast<int>(std::llround(scaled)), 1, slots);
  }
  policy.slots = slots;
  return policy;
}

SimulationFigures simulate(const policy::Policy& policy, const std::vector<TraceJob>& trace, int slots,
                           const std::vector<bool>* include) {
  return Simulator(policy, trace, slots, include).run();
}

}  // namespace lull::simulator
