#include "report/report_command.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/process_spawn.h"
#include "posix/signal_name.h"

// Where the script lives, set by launcher/CMakeLists.txt:
//   LULL_REPORT_SCRIPT_FROM_BINDIR  the installed script relative to the
//                                   installed binary's directory
//   LULL_REPORT_SCRIPT_SOURCE       the source tree's copy (build tree runs)
#ifndef LULL_REPORT_SCRIPT_FROM_BINDIR
#error "LULL_REPORT_SCRIPT_FROM_BINDIR must be defined (launcher/CMakeLists.txt)"
#endif
#ifndef LULL_REPORT_SCRIPT_SOURCE
#error "LULL_REPORT_SCRIPT_SOURCE must be defined (launcher/CMakeLists.txt)"
#endif

namespace lull::cli {

namespace {

constexpr const char* kInstallHint = "install python3-matplotlib (scripts/install-deps.sh does)";
constexpr const char* kSystemPython = "/usr/bin/python3";

// The installed copy next to this binary wins over the source tree's, so an
// installed lull never runs a script from a checkout it was built from.
std::filesystem::path find_script() {
  std::vector<std::filesystem::path> candidates;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(self.parent_path() / LULL_REPORT_SCRIPT_FROM_BINDIR);
  candidates.emplace_back(LULL_REPORT_SCRIPT_SOURCE);
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.lexically_normal();
  }
  std::string tried;
  for (const auto& candidate : candidates) {
    if (!tried.empty()) tried += ", ";
    tried += candidate.lexically_normal().native();
  }
  throw Error(ErrorCode::not_found, "lull report's drawing script is missing", {},
              "tried " + tried,
              "reinstall lull (cmake --install puts it in share/lull/)");
}

}  // namespace

CLI::App* add_report_command(CLI::App& app, ReportOptions& options) {
  CLI::App* command = app.add_subcommand(
      "report", "Draw the node arbiter's events file as a timeline of its slots (needs python3-matplotlib)");
  command->add_option("EVENTS", options.events, "The events file the arbiter writes (JSON lines)")->required();
  command->add_option("-o,--output", options.output, "The picture to write (FILE.png)")->required();
  command->add_option("--title", options.title, "The picture's title (default: the events file's name)");
  return command;
}

int run_report(const ReportOptions& options) {
  const std::string script = find_script().string();
  // Debian's python3-matplotlib is installed for /usr/bin/python3; a python3
  // earlier on PATH (pyenv, a virtualenv) may well not have it.
  const bool system_python = ::access(kSystemPython, X_OK) == 0;
  const std::string python = system_python ? kSystemPython : "python3";

  std::vector<std::string> arguments{python, script, options.events.string(), "-o", options.output.string()};
  if (options.title) {
    arguments.emplace_back("--title");
    arguments.push_back(*options.title);
  }
  SpawnRequest request;
  request.argv = std::move(arguments);
  request.search_path = !system_python;
  const SpawnResult spawned = spawn_process(request);
  if (!spawned.started() && spawned.failure.error == ENOENT) {
    throw Error(ErrorCode::not_found, "lull report needs python3 with matplotlib", "exec",
                "no /usr/bin/python3 and no python3 on PATH", kInstallHint);
  }
  if (!spawned.started()) throw errno_error(spawned.failure.error, "exec", python);

  const pid_t pid = spawned.pid;
  int status = 0;
  while (::waitpid(pid, &status, 0) == -1) {
    if (errno != EINTR) throw_errno("waitpid", python);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  throw Error(ErrorCode::internal, python + " " + script + " died of " + posix::signal_name(WTERMSIG(status)));
}

}  // namespace lull::cli
