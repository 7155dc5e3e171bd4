#pragma once
// The arbiter's metrics in the Prometheus text exposition format (0.0.4), for
// a node exporter's textfile collector (the server writes it atomically to
// its --metrics-file, a *.prom file). Pure.
//
//   lull_arbiter_slots                                   gauge    the node's slots
//   lull_arbiter_slots_busy{class}                       gauge    slots held by running/draining jobs
//   lull_arbiter_jobs{state}                             gauge    running | draining | waiting
//   lull_arbiter_draining                                gauge    1 while `lull drain` is in effect
//   lull_arbiter_jobs_submitted_total{class}             counter  (also _started, _resumed,
//                                                                 _finished, _failed, _cancelled, _rejected)
//   lull_arbiter_preemptions_total{class}                counter  preemption notices sent
//   lull_arbiter_kills_total{class}                      counter  SIGKILLs (grace expired, cancelled)
//   lull_arbiter_work_lost_seconds_total{class}          counter  wall seconds of runs since their last
//                                                                 committed snapshot, for runs that did not finish
//   lull_arbiter_notice_to_exit_seconds                  histogram notice sent -> lull run exited

#include <string>

#include "node_ledger.h"

namespace lull::arbiter {

std::string metrics_text(const NodeLedger& ledger, bool draining);

}  // namespace lull::arbiter
