#include "policy/policy_export_command.h"

#include <system_error>

#include "lull/base/atomic_file.h"
#include "lull/base/exit_codes.h"
#include "lull/base/file_system.h"
#include "lull/policy/policy_loader.h"
#include "lull/policy/slurm_export.h"

namespace lull::cli {

CLI::App* add_policy_export_command(CLI::App& app, PolicyExportOptions& options) {
  CLI::App* policy = app.get_subcommand("policy");
  CLI::App* command = policy->add_subcommand(
      "export", "Compile a policy for Slurm: slurm.conf lines and a job script (lull-sbatch); docs/slurm.md");
  command->add_option("FILE", options.file, "The policy file (TOML)")->required();
  command->add_option("--slurm", options.slurm_conf, "Write the slurm.conf lines here")->required();
  command->add_option("--job-script", options.job_script,
                      "Write the job script here (default: lull-sbatch beside the --slurm file)");
  return command;
}

namespace {

// The lull that runs this: the job script runs `lull run` from the same place.
std::filesystem::path this_program() {
  std::error_code error;
  std::filesystem::path path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path("lull") : path;
}

void print_issues(const std::vector<policy::PolicyIssue>& issues, const std::filesystem::path& file,
                  std::ostream& err) {
  for (const policy::PolicyIssue& issue : issues) err << issue.describe() << "\n";
  err << "lull: " << file.string() << ": " << issues.size() << (issues.size() == 1 ? " problem" : " problems")
      << (issues.empty() ? "" : ", nothing written") << "\n";
}

}  // namespace

int run_policy_export(const PolicyExportOptions& options, std::ostream& out, std::ostream& err) {
  const policy::PolicyLoadResult loaded = policy::load_policy_file(options.file);
  if (!loaded.policy) {
    print_issues(loaded.issues, options.file, err);
    return kExitFailure;
  }
  const policy::SlurmExportResult result =
      policy::export_to_slurm(*loaded.policy, options.file.string(), loaded.text, this_program().string());
  if (!result.exported) {
    print_issues(result.issues, options.file, err);
    return kExitFailure;
  }
  const std::filesystem::path job_script =
      options.job_script.value_or(options.slurm_conf.parent_path() / "lull-sbatch");
  FileSystem& fs = FileSystem::posix();
  write_file_atomically(fs, options.slurm_conf, result.exported->slurm_conf, 0644);
  write_file_atomically(fs, job_script, result.exported->job_script, 0755);
  out << "wrote " << options.slurm_conf.string() << " (slurm.conf lines: preemption, a partition per class)\n";
  out << "wrote " << job_script.string() << " (submits a tenant's job: lull-sbatch TENANT CKPT_DIR -- COMMAND...)\n";
  for (const std::string& line : result.exported->lost) out << "not kept: " << line << "\n";
  return kExitOk;
}

}  // namespace lull::cli
