#pragma once
// JobSpec — what was submitted: everything needed to run a job again after
// a preemption or an arbiter restart. Recorded in the journal with the submit.

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lull::arbiter {

struct JobSpec {
  std::string tenant;
  std::string job_class;
  int ranks = 1;
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
// Throws lull::Error(corrupt) when a field is missing or of the wrong type.
JobSpec job_spec_from_json(const nlohmann::json& value);

}  // namespace lull::arbiter
