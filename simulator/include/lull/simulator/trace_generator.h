#pragma once
// Synthetic job traces for `lull simulate --generate`: internal (frontier)
// jobs in daily waves that leave lulls, and a steady stream of tenant jobs
// that want more than the surplus. Deterministic for a given seed (its own
// generator arithmetic, not the standard library's distributions).
//
// Internal jobs use the tenants of non-preemptible classes and take 1/16 to
// 1/4 of the node for 30 minutes to 8 hours; tenant jobs use the tenants of
// preemptible classes, 1 to slots/8 ranks (powers of two, at most 64), 10
// minutes to 6 hours, checkpoint costs of 10 s to 4 min, and may resume on
// half to twice their ranks. The window is sized so internal jobs use about
// `internal_load` of the node and tenant jobs ask for about `tenant_load`.

#include <cstdint>
#include <vector>

#include "lull/policy/policy.h"
#include "lull/simulator/job_trace.h"

namespace lull::simulator {

struct TraceShape {
  int jobs = 1000;
  int slots = 0;  // 0: the policy's
  std::uint64_t seed = 1;
  double internal_load = 0.6;
  double tenant_load = 0.5;
};

// Throws lull::Error(invalid_argument) when the policy has no tenant of a
// preemptible class or none of a non-preemptible one, or the shape is out of range.
std::vector<TraceJob> generate_trace(const policy::Policy& policy, const TraceShape& shape);

}  // namespace lull::simulator
