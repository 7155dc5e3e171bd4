#pragma once
// A policy compiled for Slurm's own scheduler (`lull policy export --slurm`,
// docs/slurm.md): slurm.conf lines that make Slurm preempt the way the
// policy says, and a job script (`lull-sbatch`) that submits a tenant's job
// so that the preemption reaches `lull run` as a notice and an exit 75 is
// requeued.
//
// What maps: each class becomes a partition over Nodes=ALL, its priority a
// PriorityTier (the priority itself when it fits Slurm's 0..65533, else the
// class's rank), preemptible classes PreemptMode=REQUEUE with GraceTime =
// grace, the others PreemptMode=OFF; the preemptible classes' shared
// min_runtime becomes PreemptExemptTime; a class's grace and
// checkpoint_interval become the job's `--signal=B:TERM@grace`, `lull run
// --grace` and `--every-seconds`. What Slurm cannot do (victim order, the
// lull's idle time, preemption limits, quotas, ...) is listed in `lost`.
// Pure: no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lull/policy/policy.h"
#include "lull/policy/policy_loader.h"

namespace lull::policy {

struct SlurmExport {
  std::string slurm_conf;         // slurm.conf lines: preemption settings and one partition per class
  std::string job_script;         // bash: lull-sbatch TENANT CKPT_DIR [SBATCH_OPTION...] -- COMMAND...
  std::vector<std::string> lost;  // "FIELD: what Slurm does instead", one per policy setting it cannot keep
};

struct SlurmExportResult {
  std::optional<SlurmExport> exported;  // set exactly when `issues` is empty
  std::vector<PolicyIssue> issues;      // settings Slurm cannot hold as they are (field and why)
};

// Compiles `policy` (read from `source`, named in issues and in the files'
// headers; `text`, its TOML, gives each issue its line and column:
// locate_policy_keys). `lull_program`: the path the job script runs `lull
// run` from.
SlurmExportResult export_to_slurm(const Policy& policy, const std::string& source, std::string_view text,
                                  const std::string& lull_program);

}  // namespace lull::policy
