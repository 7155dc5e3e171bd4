#pragma once
// The arbiter's checks of a submission, done with the submitter's identity
// (SO_PEERCRED) before anything is recorded. Each problem names the field:
//   tenant: unknown tenant "x" (known: acme, globex)
//   class: tenant "acme" is of class "reserved", not "spot"
//   program: "/opt/train" does not exist
//   ckpt_dir: "/ckpt/x" is world-writable
//   cwd: "/home/a/gone" does not exist
// Rank counts against quotas and the node are the decision core's to judge
// (its RejectAction carries the reason). Values are echoed bounded
// (lull/base/bounded_text.h).

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "job_spec.h"
#include "lull/policy/events.h"
#include "lull/policy/policy.h"

namespace lull::arbiter {

// Checks `spec` (its uid/gid are the submitter's): names valid and known, the
// class the tenant's, 1 <= ranks, its paths and arguments well-formed
// (spec_text_problem()), PROGRAM a regular file the submitter may execute,
// the snapshot directory a directory the submitter owns and that is not
// world-writable, or that does not exist yet under a directory the
// submitter may write to, and the working directory a directory the
// submitter may enter. Returns the first problem, or nullopt. Reads the file
// system; never throws.
std::optional<std::string> check_submission(const JobSpec& spec, const policy::Policy& policy);

// A snapshot directory holds one job at a time: refuses `spec`'s when it is
// the snapshot directory of a job in `live` (ids and snapshot directories
// of the jobs the arbiter knows: queued, running or waiting to resume), or
// lies inside one, or holds one. Directories are compared after resolving
// ".", "..", "//" and the symbolic links of the parts that exist. Returns
// the problem, or nullopt; never throws.
std::optional<std::string> check_snapshot_dir_free(
    const JobSpec& spec, const std::vector<std::pair<policy::JobId, std::string>>& live);

// Both checks, in this order: the first problem, or nullopt. Never throws.
std::optional<std::string> submission_problem(const JobSpec& spec, const policy::Policy& policy,
                                              const std::vector<std::pair<policy::JobId, std::string>>& live);

}  // namespace lull::arbiter
