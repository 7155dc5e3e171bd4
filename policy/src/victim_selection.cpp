#include "victim_selection.h"

#include <algorithm>
#include <limits>

namespace lull::policy {

namespace {

// <0 when a is the better victim under `criterion`, >0 when b is, 0 on a tie.
int compare(const VictimCandidate& a, const VictimCandidate& b, VictimCriterion criterion) {
  auto three_way = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (criterion) {
    case VictimCriterion::least_work_lost: return three_way(a.work_lost, b.work_lost);
    case VictimCriterion::lowest_priority: return three_way(a.priority, b.priority);
    case VictimCriterion::newest: return three_way(b.started_at, a.started_at);
    case VictimCriterion::oldest: return three_way(a.started_at, b.started_at);
    case VictimCriterion::fewest_slots: return three_way(a.ranks, b.ranks);
    case VictimCriterion::most_slots: return three_way(b.ranks, a.ranks);
  }
  return 0;
}

}  // namespace

std::int64_t estimate_work_lost(int ranks, TimePoint started_at, Duration checkpoint_interval, TimePoint now) {
  Duration since_snapshot = saturating_elapsed(started_at, now);
  if (checkpoint_interval.count() > 0) since_snapshot %= checkpoint_interval;
  std::int64_t slot_milliseconds = 0;
  if (__builtin_mul_overflow(static_cast<std::int64_t>(ranks), since_snapshot.count(), &slot_milliseconds)) {
    // Only without periodic snapshots, after 29 years on 10M slots (or event times far apart): such victims tie.
    return (ranks < 0) != (since_snapshot.count() < 0) ? std::numeric_limits<std::int64_t>::min()
                                                       : std::numeric_limits<std::int64_t>::max();
  }
  return slot_milliseconds;
}

std::vector<VictimCandidate> choose_victims(std::vector<VictimCandidate> candidates, int needed,
                                            const std::vector<VictimCriterion>& order) {
  std::int64_t available = 0;
  for (const VictimCandidate& candidate : candidates) available += candidate.ranks;
  if (available < needed || needed <= 0) return {};

  std::sort(candidates.begin(), candidates.end(), [&](const VictimCandidate& a, const VictimCandidate& b) {
    for (VictimCriterion criterion : order) {
      if (const int result = compare(a, b, criterion); result != 0) return result < 0;
    }
    return a.job < b.job;
  });
  std::vector<VictimCandidate> chosen;
  std::int64_t covered = 0;
  for (const VictimCandidate& candidate : candidates) {
    if (covered >= needed) break;
    chosen.push_back(candidate);
    covered += candidate.ranks;
  }
  // Spare, least preferred first, every victim the others cover without.
  for (std::size_t i = chosen.size(); i-- > 0;) {
    if (covered - chosen[i].ranks >= needed) {
      covered -= chosen[i].ranks;
      chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return chosen;
}

}  // namespace lull::policy
