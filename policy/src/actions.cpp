#include "lull/policy/actions.h"

#include <type_traits>
#include <utility>

#include "core_state.h"

namespace lull::policy {

namespace {

// "[0-3,8,10-11]": ascending slot ids in ranges.
std::string slot_ranges(const std::vector<SlotId>& slots) {
  std::string out = "[";
  for (std::size_t i = 0; i < slots.size();) {
    std::size_t end = i;
    while (end + 1 < slots.size() && slots[end + 1] == slots[end] + 1) ++end;
    if (i > 0) out += ",";
    out += std::to_string(slots[i]);
    if (end > i) out += "-" + std::to_string(slots[end]);
    i = end + 1;
  }
  return out + "]";
}

std::string at(TimePoint time) { return format_duration(time.time_since_epoch()); }

}  // namespace

[[gnu::noinline]] void emit(Decision& out, Action action) { out.actions.push_back(std::move(action)); }

std::string_view wait_reason_name(WaitReason reason) noexcept {
  switch (reason) {
    case WaitReason::queued_behind: return "queued_behind";
    case WaitReason::tenant_quota: return "tenant_quota";
    case WaitReason::no_free_slots: return "no_free_slots";
    case WaitReason::lull_not_begun: return "lull_not_begun";
    case WaitReason::held_for_other_job: return "held_for_other_job";
    case WaitReason::victims_draining: return "victims_draining";
    case WaitReason::victims_protected: return "victims_protected";
    case WaitReason::preemption_limit: return "preemption_limit";
  }
  return "unknown";
}

std::string_view kill_reason_name(KillReason reason) noexcept {
  switch (reason) {
    case KillReason::grace_expired: return "grace_expired";
    case KillReason::cancelled: return "cancelled";
  }
  return "unknown";
}

std::string describe(const Action& action) {
  return std::visit(
      [](const auto& a) -> std::string {
        using A = std::decay_t<decltype(a)>;
        const std::string job = "job " + std::to_string(a.job);
        if constexpr (std::is_same_v<A, StartAction>) {
          return "start " + job + " on " + std::to_string(a.slots.size()) + " slots " + slot_ranges(a.slots);
        } else if constexpr (std::is_same_v<A, ResumeAction>) {
          return "resume " + job + " on " + std::to_string(a.slots.size()) + " slots " + slot_ranges(a.slots) +
                 " (ran on " + std::to_string(a.previous_ranks) + ")";
        } else if constexpr (std::is_same_v<A, NotifyAction>) {
          return "notify " + job + " (deadline " + at(a.deadline) + ", " +
                 (a.slots_removed ? std::string("its slots leave the node") : "for job " + std::to_string(a.preempted_for)) +
                 ")";
        } else if constexpr (std::is_same_v<A, KillAction>) {
          return "kill " + job + " (" + std::string(kill_reason_name(a.reason)) + ")";
        } else if constexpr (std::is_same_v<A, WaitAction>) {
          std::string out = "wait " + job + ": " + std::string(wait_reason_name(a.reason));
          if (!a.detail.empty()) out += " (" + a.detail + ")";
          if (a.until) out += " until " + at(*a.until);
          return out;
        } else {
          return "reject " + job + ": " + a.reason;
        }
      },
      action);
}

}  // namespace lull::policy
