// `lull submit`: hands a job to the node arbiter (arbiter_client_commands.h).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "arbiter/protocol/arbiter_protocol.h"
#include "clients/arbiter_client_commands.h"
#include "lull/base/error.h"
#include "lull/base/exit_codes.h"

namespace lull::cli {

namespace {

// PROGRAM as the arbiter needs it: absolute. A bare name is looked up in PATH
// like a shell does; a relative path is taken from the current directory.
std::string absolute_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return std::filesystem::absolute(program).lexically_normal().string();
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate)) {
      return std::filesystem::absolute(candidate).lexically_normal().string();
    }
  }
  throw Error(ErrorCode::invalid_argument, "program: \"" + program + "\" is not found in PATH");
}

std::string absolute_dir(const std::string& dir) {
  std::string normal = std::filesystem::absolute(dir).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

}  // namespace

CLI::App* add_submit_command(CLI::App& app, SubmitOptions& options) {
  CLI::App* command = app.add_subcommand("submit", "Submit a job to the node arbiter");
  add_socket_option(*command, options.socket);
  command->add_option("--tenant", options.tenant, "Who the job is for (a tenant of the policy)")->required();
  command->add_option("--class", options.job_class, "The job's class (must be the tenant's)")->required();
  command->add_option("--ranks", options.ranks, "Ranks (slots) it asks for")->required()->check(CLI::Range(1, arbiter::kMaxRanks));
  command->add_option("--min-ranks", options.min_ranks, "Fewest ranks it may be resumed on (policy permitting)")
      ->check(CLI::Range(1, arbiter::kMaxRanks));
  command->add_option("--max-ranks", options.max_ranks, "Most ranks it may be resumed on (policy permitting)")
      ->check(CLI::Range(1, arbiter::kMaxRanks));
  command->add_option("--ckpt-dir", options.ckpt_dir,
                      "The job's snapshot directory: yours, not world-writable (created when missing)")
      ->required();
  command->add_flag("--json", options.json, "Print {\"job\": ID}");
  command->add_option("PROGRAM", options.command, "The training program and its arguments (after --)")->required();
  command->positionals_at_end();
  command->footer("The arbiter runs it as `lull run ... -- mpirun -np <granted> PROGRAM ARGS...`, as you, in the "
                  "current directory. Exit codes: 0 submitted, 1 refused (the reason names the field), 2 bad command line.");
  return command;
}

int run_submit(const SubmitOptions& options, std::ostream& out) {
  arbiter::JobSpec spec;
  spec.tenant = options.tenant;
  spec.job_class = options.job_class;
  spec.ranks = options.ranks;
  spec.min_ranks = options.min_ranks;
  spec.max_ranks = options.max_ranks;
  spec.ckpt_dir = absolute_dir(options.ckpt_dir);
  spec.program = absolute_program(options.command.front());
  spec.args.assign(options.command.begin() + 1, options.command.end());
  spec.cwd = std::filesystem::current_path().string();
  const nlohmann::json answer = arbiter::ask(arbiter::arbiter_socket_path(options.socket), arbiter::submit_request(spec));
  const auto job = answer.at("job").get<unsigned long long>();
  if (options.json) {
    out << nlohmann::json{{"job", job}}.dump() << "\n";
  } else {
    out << "submitted job " << job << "\n";
  }
  return kExitOk;
}

}  // namespace lull::cli
