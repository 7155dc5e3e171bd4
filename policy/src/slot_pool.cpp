#include "slot_pool.h"

#include <algorithm>

#include "lull/base/error.h"

namespace lull::policy {

SlotPool::SlotPool(int slots, Duration idle_before_lull)
    : idle_before_lull_(idle_before_lull), active_count_(slots), held_(static_cast<std::size_t>(slots), false) {
  // Popped from the back: the lowest ids are handed out first.
  for (SlotId slot = slots - 1; slot >= 0; --slot) lull_.push_back(slot);
}

void SlotPool::advance(TimePoint now) {
  while (!cooling_.empty() && cooling_.front().lull_at <= now) {
    lull_.push_back(cooling_.front().slot);
    cooling_.pop_front();
  }
}

std::optional<TimePoint> SlotPool::next_lull_start() const {
  if (cooling_.empty()) return std::nullopt;
  return cooling_.front().lull_at;
}

std::vector<SlotId> SlotPool::take(int count, bool lull_only) {
  if (count < 0 || count > (lull_only ? in_lull() : free())) {
    throw Error(ErrorCode::internal, "slot pool: asked for " + std::to_string(count) + " slots, " +
                                         std::to_string(lull_only ? in_lull() : free()) + " available");
  }
  std::vector<SlotId> taken;
  taken.reserve(static_cast<std::size_t>(count));
  while (static_cast<int>(taken.size()) < count && !lull_only && !cooling_.empty()) {
    taken.push_back(cooling_.back().slot);
    cooling_.pop_back();
  }
  while (static_cast<int>(taken.size()) < count) {
    taken.push_back(lull_.back());
    lull_.pop_back();
  }
  for (SlotId slot : taken) held_[static_cast<std::size_t>(slot)] = true;
  std::sort(taken.begin(), taken.end());
  return taken;
}

void SlotPool::give_back(const std::vector<SlotId>& slots, bool stays_in_lull, TimePoint now) {
  for (SlotId slot : slots) {
    held_[static_cast<std::size_t>(slot)] = false;
    if (is_leaving(slot)) continue;
    if (stays_in_lull || idle_before_lull_.count() == 0) {
      lull_.push_back(slot);
    } else {
      cooling_.push_back({saturating_add(now, idle_before_lull_), slot});
    }
  }
}

void SlotPool::resize(int slots, TimePoint now) {
  if (slots > static_cast<int>(held_.size())) held_.resize(static_cast<std::size_t>(slots), false);
  if (slots < active_count_) {
    auto leaving = [slots](SlotId slot) { return slot >= slots; };
    lull_.erase(std::remove_if(lull_.begin(), lull_.end(), leaving), lull_.end());
    cooling_.erase(std::remove_if(cooling_.begin(), cooling_.end(),
                                  [&](const CoolingSlot& cooling) { return leaving(cooling.slot); }),
                   cooling_.end());
  }
  for (SlotId slot = active_count_; slot < slots; ++slot) {
    // A busy slot that was leaving simply stays; it comes back free with its job's exit.
    if (held_[static_cast<std::size_t>(slot)]) continue;
    if (idle_before_lull_.count() == 0) {
      lull_.push_back(slot);
    } else {
      cooling_.push_back({saturating_add(now, idle_before_lull_), slot});
    }
  }
  active_count_ = slots;
}

}  // namespace lull::policy
