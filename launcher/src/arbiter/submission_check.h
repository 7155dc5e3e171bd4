#pragma once
// The arbiter's checks of a submission, done with the submitter's identity
// (SO_PEERCRED) before anything is recorded. Each problem names the field:
//   tenant: unknown tenant "x" (known: acme, globex)
//   class: tenant "acme" is of class "reserved", not "spot"
//   program: "/opt/train" does not exist
//   ckpt_dir: "/ckpt/x" is world-writable
// Rank counts against quotas and the node are the decision core's to judge
// (its RejectAction carries the reason).

#include <sys/types.h>

#include <optional>
#include <string>

#include "job_spec.h"
#include "lull/policy/policy.h"

namespace lull::arbiter {

// Checks `spec` (its uid/gid are the submitter's): names valid and known, the
// class the tenant's, 1 <= ranks, PROGRAM an absolute path to a regular file
// the submitter may execute, the snapshot directory an absolute path that is
// a directory the submitter owns and that is not world-writable, or that does
// not exist yet under a directory the submitter may write to. Returns the
// first problem, or nullopt. Reads the file system; never throws.
std::optional<std::string> check_submission(const JobSpec& spec, const policy::Policy& policy);

}  // namespace lull::arbiter
