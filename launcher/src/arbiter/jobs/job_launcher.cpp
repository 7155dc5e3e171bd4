#include "job_launcher.h"

namespace lull::arbiter {

RunRequest run_request_of(const NodeLedger& ledger, JobId job) {
  const LedgerJob& entry = ledger.jobs().at(job);
  RunRequest request;
  request.job = job;
  request.run = entry.run;
  request.spec = &entry.spec;
  request.slots = entry.slots;
  if (const policy::JobClass* job_class = ledger.policy().find_class(entry.spec.job_class)) {
    request.grace = job_class->grace;
    request.checkpoint_interval = job_class->checkpoint_interval;
    request.checkpoint_interval_auto = job_class->checkpoint_interval_auto;
  }
  if (const auto counters = ledger.counters().by_class.find(entry.spec.job_class);
      counters != ledger.counters().by_class.end()) {
    request.mean_seconds_between_notices = counters->second.mean_seconds_between_notices();
  }
  return request;
}

}  // namespace lull::arbiter
