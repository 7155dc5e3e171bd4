#pragma once
// The preemption policy: who may preempt whom, how gently, how often, and
// how much of the node each tenant may hold. Read from TOML by
// policy_loader.h (the file format is in docs/policy.md, "The policy file");
// every Policy that loader returns is valid: names checked, references
// resolved, numbers within the limits below. Plain data, freely copyable.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lull/policy/duration.h"

namespace lull::policy {

// The range of every number a policy file may hold (the loader refuses the
// rest with the range; docs/policy.md lists them). Sums of such values and of
// event times never overflow in the decision core (it saturates).
inline constexpr int kMaxNodeSlots = 10'000'000;  // node.slots, tenants.*.slots: 1..this
inline constexpr int kMaxPriority = 1'000'000;    // classes.*.priority: 0..this
inline constexpr int kMaxPreemptionsPerHour = 3600;
inline constexpr Duration kMaxGrace = std::chrono::hours(24);  // classes.*.grace: 0s..1d
// node.idle_before_lull, scheduling.reserve_after, classes.*.min_runtime and
// classes.*.checkpoint_interval: 0s..30d.
inline constexpr Duration kMaxPolicyDuration = std::chrono::hours(24 * 30);
// The longest interval of checkpoint_interval = "auto" (the runtime's bound).
inline constexpr Duration kAutoCheckpointIntervalBound = std::chrono::hours(1);

// A kind of job. Higher priority wins: a waiting job may preempt running jobs
// of preemptible classes with strictly lower priority.
struct JobClass {
  std::string name;
  int priority = 0;
  bool preemptible = false;
  // Between the preemption notice and the kill (the job checkpoints and exits 75 in it).
  Duration grace{0};
  // A job of this class is not preempted before it has run this long since
  // its last start or resume (anti-thrash).
  Duration min_runtime{0};
  // How often such a job commits a periodic snapshot (0: only on notice). The
  // decision core uses it to estimate the work a preemption would lose.
  Duration checkpoint_interval{0};
  // checkpoint_interval = "auto": the jobs choose their interval themselves
  // (lull run --every-seconds auto: Young/Daly from their measured checkpoint
  // cost and the class's observed time between notices). checkpoint_interval
  // then holds that interval's bound, kAutoCheckpointIntervalBound, for the
  // estimates of the core and the simulator.
  bool checkpoint_interval_auto = false;
  // At most this many preemptions of one job in any 60 minutes; nullopt: no limit.
  std::optional<int> max_preemptions_per_hour;
};

// Who submits jobs. Every job belongs to a tenant; its class is the tenant's.
struct Tenant {
  std::string name;
  std::size_t class_index = 0;  // into Policy::classes
  int slot_quota = 0;           // slots its jobs may hold at once (running or draining)
};

// One key of the victim order, compared in the order the policy lists them.
enum class VictimCriterion {
  least_work_lost,  // fewest slot-milliseconds since the last periodic snapshot (estimated)
  lowest_priority,  // lowest class priority first
  newest,           // most recently (re)started first
  oldest,           // longest running first
  fewest_slots,     // smallest job first
  most_slots,       // largest job first
};

// "least_work_lost", ...: the spelling used in the policy file.
std::string_view victim_criterion_name(VictimCriterion criterion) noexcept;
std::optional<VictimCriterion> victim_criterion_from_name(std::string_view name) noexcept;
// Every criterion, in declaration order (for error messages and docs).
const std::vector<VictimCriterion>& all_victim_criteria();

struct Policy {
  // [node]
  int slots = 0;
  // A slot released by a non-preemptible job (or newly added) must stay idle
  // this long before a preemptible job may start on it: a lull begins.
  Duration idle_before_lull{0};
  // [scheduling] A waiting job that has waited this long holds back jobs of
  // its own priority queued after it, so a large job is not starved by
  // smaller ones (higher-priority waiting jobs always hold back lower ones).
  Duration reserve_after{std::chrono::hours(1)};
  // [resume] A preempted job may resume on fewer ranks (down to its
  // min_ranks) / more ranks (up to its max_ranks) than it last ran on.
  bool resume_on_fewer_ranks = false;
  bool resume_on_more_ranks = false;
  // [victims] order: how victims are ranked, first key first.
  std::vector<VictimCriterion> victim_order;
  // [classes.*], sorted by name; [tenants.*], sorted by name.
  std::vector<JobClass> classes;
  std::vector<Tenant> tenants;

  // Lookups by name; nullptr when there is none. O(log n).
  const JobClass* find_class(std::string_view name) const noexcept;
  const Tenant* find_tenant(std::string_view name) const noexcept;
  const JobClass& class_of(const Tenant& tenant) const { return classes.at(tenant.class_index); }
};

// The victim order used when the policy file does not set one.
std::vector<VictimCriterion> default_victim_order();

}  // namespace lull::policy
