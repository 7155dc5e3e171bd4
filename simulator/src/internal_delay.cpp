#include "lull/simulator/internal_delay.h"

#include <algorithm>

namespace lull::simulator {

using policy::Duration;

std::vector<bool> internal_rows(const policy::Policy& policy, const std::vector<TraceJob>& trace) {
  std::vector<bool> internal(trace.size(), false);
  for (std::size_t row = 0; row < trace.size(); ++row) {
    const policy::JobClass* job_class = policy.find_class(trace[row].job_class);
    internal[row] = job_class != nullptr && !job_class->preemptible;
  }
  return internal;
}

InternalDelay internal_delay(const SimulationFigures& with_tenants, const SimulationFigures& alone,
                             const std::vector<bool>& internal) {
  std::vector<Duration> delays;
  for (std::size_t row = 0; row < internal.size(); ++row) {
    if (!internal[row] || !with_tenants.first_start[row] || !alone.first_start[row]) continue;
    delays.push_back(std::max(Duration(0), *with_tenants.first_start[row] - *alone.first_start[row]));
  }
  InternalDelay figures;
  figures.compared = delays.size();
  if (delays.empty()) return figures;
  std::sort(delays.begin(), delays.end());
  // A sum of int64 delays may not fit one; a long double holds every int64 exactly.
  long double total = 0;
  for (Duration delay : delays) {
    total += static_cast<long double>(delay.count());
    if (delay.count() > 0) ++figures.delayed;
  }
  // Clamped to the delays' own range (rounding may not push it past the largest), so it fits.
  const long double mean = std::clamp(total / static_cast<long double>(delays.size()),
                                      static_cast<long double>(delays.front().count()),
                                      static_cast<long double>(delays.back().count()));
  figures.mean = Duration(static_cast<Duration::rep>(mean));
  figures.p99 = delays[std::min(delays.size() - 1, delays.size() * 99 / 100)];
  figures.max = delays.back();
  return figures;
}

}  // namespace lull::simulator
