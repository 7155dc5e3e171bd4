#pragma once
// JobSpec — what was submitted: everything needed to run a job again after
// a preemption or an arbiter restart. Recorded in the journal with the submit.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lull {
class JsonFields;
}

namespace lull::arbiter {

// The most ranks a job may ask for (and `lull submit --ranks` accepts).
inline constexpr int kMaxRanks = 1 << 20;
// The longest path a job's program, snapshot directory or working
// directory may have (PATH_MAX, its terminating NUL left out).
inline constexpr std::size_t kMaxPathBytes = 4095;

// The largest uid or gid: uid_t(-1) means "no change" to setresuid(2).
inline constexpr uid_t kMaxUserId = static_cast<uid_t>(-2);

struct JobSpec {
  std::string tenant;
  std::string job_class;
  int ranks = 1;      // 1..kMaxRanks
  int min_ranks = 0;  // 0: = ranks
  int max_ranks = 0;  // 0: = ranks
  std::string program;            // absolute path, checked executable at submit
  std::vector<std::string> args;  // after PROGRAM
  std::string ckpt_dir;           // absolute; the job's snapshot directory
  std::string cwd;                // the submitter's working directory (absolute)
  uid_t uid = 0;                  // the submitter (SO_PEERCRED): the job runs as them
  gid_t gid = 0;
};

nlohmann::json to_json(const JobSpec& spec);
// The fields every JobSpec is read from (a journal record, a submit
// request), all but uid and gid, which the caller sets: the journal records
// them, a request may not choose them. "args" may be absent (none).
// Throws JsonFields' Error for a missing, mistyped or out-of-range field.
JobSpec job_spec_without_identity(const JsonFields& fields);
// Throws lull::Error(corrupt) when a field is missing, of the wrong type or
// out of range, or when spec_text_problem() finds one.
JobSpec job_spec_from_json(const nlohmann::json& value);

// What is wrong with the spec's text fields, naming the field, or nullopt:
// program, ckpt_dir and cwd must be absolute, normal (no "//", "." or ".."
// component, no trailing "/") and free of control characters, at most
// kMaxPathBytes long; no argument may hold a NUL (execve would cut it
// there). Names (tenant, class) are the policy's to judge. Pure.
std::optional<std::string> spec_text_problem(const JobSpec& spec);

}  // namespace lull::arbiter
