#pragma once
// The node's slots: which are free, which of the free ones are in a lull, and
// which are leaving the node (SlotsChanged shrank it).
//
// Free slots are "cooling" from the moment a non-preemptible job (or the node
// itself) gives them back until node.idle_before_lull has passed, then "in a
// lull". Preemptible jobs take only slots in a lull; others take the most
// recently cooled first, so long-idle slots stay with the tenants.

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "lull/policy/actions.h"
#include "lull/policy/duration.h"

namespace lull::policy {

class SlotPool {
 public:
  SlotPool(int slots, Duration idle_before_lull);

  int size() const noexcept { return active_count_; }
  int cooling() const noexcept { return static_cast<int>(cooling_.size()); }
  int in_lull() const noexcept { return static_cast<int>(lull_.size()); }
  int free() const noexcept { return cooling() + in_lull(); }

  // Moves cooled-down slots into the lull. Call before looking at counts.
  void advance(TimePoint now);
  // When the next cooling slot enters the lull; nullopt when none is cooling.
  std::optional<TimePoint> next_lull_start() const;

  // Takes `count` slots, ascending. Preconditions: count <= in_lull() for
  // lull_only, count <= free() otherwise.
  std::vector<SlotId> take(int count, bool lull_only);
  // Gives slots back. `stays_in_lull`: they were used by a preemptible job.
  // Slots that are leaving the node are dropped.
  void give_back(const std::vector<SlotId>& slots, bool stays_in_lull, TimePoint now);

  // Grows or shrinks the node to `slots` (ids 0..slots-1). New slots start
  // cooling; free slots past the end are dropped at once, busy ones when given back.
  void resize(int slots, TimePoint now);
  bool is_leaving(SlotId slot) const { return slot >= active_count_; }

 private:
  struct CoolingSlot {
    TimePoint lull_at;
    SlotId slot;
  };
  Duration idle_before_lull_;
  int active_count_;
  std::vector<bool> held_;           // by slot id: given to a job and not back yet
  std::deque<CoolingSlot> cooling_;  // lull_at ascending
  std::vector<SlotId> lull_;         // unordered
};

}  // namespace lull::policy
