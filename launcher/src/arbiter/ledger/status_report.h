#pragma once
// What `lull status` shows: the node and the jobs, as the arbiter answers the
// status request. Pure (reads the ledger only).
//
//   {"node": {"slots", "free_slots", "lull_slots", "busy_slots",
//             "busy_by_class": {class: n}, "running_jobs", "waiting_jobs", "draining"},
//    "jobs": [{"job", "tenant", "class", "uid", "state", "waiting_for", "ranks",
//              "slots", "run", "preemptions", "step", "pid", "submitted", "started",
//              "program", "args", "ckpt_dir", "log"}],           (by id)
//    "ended": [{"job", "tenant", "class", "uid", "outcome", "exit_code", "step",
//               "reason", "runs", "ended"}]}                    (oldest first)
// Times are Unix seconds. A viewer that does not see all (not root, not the
// arbiter's owner) gets only the jobs of its uid.

#include <sys/types.h>

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "node_ledger.h"

namespace lull::arbiter {

nlohmann::json status_report(const NodeLedger& ledger, uid_t viewer, bool sees_all, bool draining,
                             const std::function<std::filesystem::path(JobId)>& log_of);

}  // namespace lull::arbiter
