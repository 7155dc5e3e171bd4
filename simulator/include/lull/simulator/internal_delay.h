#pragma once
// What tenants cost the internal jobs: the trace simulated twice, with every
// job and with the internal jobs alone (internal_rows() as simulate()'s
// include mask), and each internal job's first start compared. The delay is
// measured, not guessed. Pure.

#include <cstddef>
#include <vector>

#include "lull/policy/policy.h"
#include "lull/simulator/job_trace.h"
#include "lull/simulator/simulation.h"

namespace lull::simulator {

// For each row of `trace`: true when its class is not preemptible (an
// internal job); false for a tenant's row or a class the policy lacks.
std::vector<bool> internal_rows(const policy::Policy& policy, const std::vector<TraceJob>& trace);

struct InternalDelay {
  std::size_t compared = 0;  // internal jobs that started in both runs
  std::size_t delayed = 0;   // of those, the ones that started later beside tenants
  // Over the compared jobs (0 when none); a job that started earlier beside
  // tenants counts as not delayed (0), never as a negative delay.
  policy::Duration mean{0}, p99{0}, max{0};
};

// `with_tenants` and `alone` are simulate()'s figures of the same trace,
// without and with `internal` as its include mask.
InternalDelay internal_delay(const SimulationFigures& with_tenants, const SimulationFigures& alone,
                             const std::vector<bool>& internal);

}  // namespace lull::simulator
