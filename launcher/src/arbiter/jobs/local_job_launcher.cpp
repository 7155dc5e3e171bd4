#include "local_job_launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/bounded_text.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/process_spawn.h"
#include "posix/process_tree.h"
#include "posix/signal_name.h"
#include "process_identity.h"
#include "run/run_environment.h"
#include "run/run_exit_file.h"
#include "snapshot_watch.h"

extern char** environ;

namespace lull::arbiter {

namespace {

// Who the child becomes, looked up before fork (getpwuid is not async-signal-safe).
struct Identity {
  std::optional<ChildIdentity> change;             // none: the arbiter's own user
  std::map<std::string, std::string> environment;  // HOME, USER, LOGNAME
};

Identity identity_of(const JobSpec& spec) {
  Identity identity;
  if (spec.uid == ::geteuid()) return identity;
  identity.change = ChildIdentity{spec.uid, spec.gid, {spec.gid}};
  if (const passwd* user = ::getpwuid(spec.uid)) {
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(user->pw_name, spec.gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      identity.change->groups = groups;
    }
    identity.environment = {{"HOME", user->pw_dir}, {"USER", user->pw_name}, {"LOGNAME", user->pw_name}};
  }
  return identity;
}

std::vector<std::string> job_environment(const RunRequest& request, const Identity& identity) {
  std::map<std::string, std::string> ours = identity.environment;
  ours["CUDA_VISIBLE_DEVICES"] = fmt::to_string(fmt::join(request.slots, ","));
  if (request.mean_seconds_between_notices) {
    ours["LULL_MEAN_SECONDS_BETWEEN_NOTICES"] = run::format_seconds(*request.mean_seconds_between_notices);
  }
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::string name = text.substr(0, text.find('='));
    if (ours.count(name) != 0) continue;
    if (name.rfind("LULL_", 0) == 0 && name != "LULL_LOG_LEVEL") continue;
    environment.push_back(text);
  }
  for (const auto& [name, value] : ours) environment.push_back(name + "=" + value);
  return environment;
}

// The child, in its own session (signals to the arbiter's group do not reach
// it), reads nothing, writes to the job's log, starts with the default signal
// state, as the job's user, in the job's directory (never another: the job's
// relative paths mean the submitter's).
SpawnRequest run_process(const RunRequest& request, std::vector<std::string> command,
                         std::vector<std::string> environment, const Identity& identity, int log_fd) {
  SpawnRequest child;
  child.argv = std::move(command);
  child.environment = std::move(environment);
  child.group = SpawnRequest::Group::new_session;
  child.in = ChildStream::dev_null();
  child.out = ChildStream::descriptor(log_fd);
  child.err = ChildStream::descriptor(log_fd);
  child.signals = ChildSignals::defaults({SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2});
  child.identity = identity.change;
  child.working_directory = request.spec->cwd;
  child.description = "lull run for job " + std::to_string(request.job);
  return child;
}

Error child_error(const SpawnFailure& failure, const JobSpec& spec, const std::string& program) {
  const std::string as = " as uid " + std::to_string(spec.uid);
  switch (failure.step) {
    case SpawnFailure::Step::identity:
      return errno_error(failure.error, "setuid",
                         "uid " + std::to_string(spec.uid) + ", gid " + std::to_string(spec.gid));
    case SpawnFailure::Step::working_directory:
      return errno_error(failure.error, "chdir", "the job's working directory " + quoted_text(spec.cwd) + as);
    case SpawnFailure::Step::process_group:
      return errno_error(failure.error, "setsid", program + as);
    case SpawnFailure::Step::stream:
      return errno_error(failure.error, "dup2", "the standard streams of " + program + as);
    case SpawnFailure::Step::exec:
      break;
  }
  return errno_error(failure.error, "exec", program + as);
}

int pidfd_signal(const ActiveRun& run, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, run.watch.get(), signal, nullptr, 0));
}

}  // namespace

LocalJobLauncher::LocalJobLauncher(LocalLauncherSettings settings) : settings_(std::move(settings)) {}

std::filesystem::path LocalJobLauncher::exit_file_of(const RunRequest& request) {
  return std::filesystem::path(request.spec->ckpt_dir) /
         (".lull-exit-" + std::to_string(request.job) + "-" + std::to_string(request.run) + ".json");
}

std::filesystem::path LocalJobLauncher::log_file_of(JobId job) const {
  return settings_.log_dir / (std::to_string(job) + ".log");
}

ActiveRun LocalJobLauncher::launch(const RunRequest& request) {
  const JobSpec& spec = *request.spec;
  const std::filesystem::path exit_file = exit_file_of(request);
  std::vector<std::string> command = {settings_.lull_program.string(), "run", "--job",
                                      spec.tenant + "-" + std::to_string(request.job), "--ckpt-dir", spec.ckpt_dir,
                                      "--grace", run::format_seconds(policy::to_seconds(request.grace))};
  if (request.checkpoint_interval_auto) {
    command.insert(command.end(), {"--every-seconds", "auto"});
  } else if (request.checkpoint_interval.count() > 0) {
    command.insert(command.end(), {"--every-seconds", run::format_seconds(policy::to_seconds(request.checkpoint_interval))});
  }
  command.insert(command.end(), {"--exit-file", exit_file.string(), "--", settings_.mpirun, "-np",
                                 std::to_string(request.slots.size()), spec.program});
  command.insert(command.end(), spec.args.begin(), spec.args.end());

  const Identity identity = identity_of(spec);

  const std::filesystem::path log_path = log_file_of(request.job);
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!log.valid()) throw_errno("open", log_path.string());
  if (identity.change && ::fchown(log.get(), spec.uid, spec.gid) != 0) throw_errno("fchown", log_path.string());
  const std::string banner = fmt::format("=== lull arbiter: job {} run {} on slots [{}]: {}\n", request.job,
                                         request.run, fmt::join(request.slots, ","), fmt::join(command, " "));
  [[maybe_unused]] const ssize_t written = ::write(log.get(), banner.data(), banner.size());

  const SpawnResult spawned =
      spawn_process(run_process(request, command, job_environment(request, identity), identity, log.get()));
  if (!spawned.started()) throw child_error(spawned.failure, spec, command.front());

  ActiveRun run;
  run.job = request.job;
  run.run = request.run;
  run.is_child = true;
  run.exit_file = exit_file;
  run.ckpt_dir = spec.ckpt_dir;
  run.uid = spec.uid;
  run.process.pid = spawned.pid;
  run.watch = open_pidfd(spawned.pid);
  run.process.start_ticks = process_start_ticks(spawned.pid).value_or(0);
  if (!run.watch.valid()) throw_errno("pidfd_open", "lull run of job " + std::to_string(request.job));
  return run;
}

std::optional<ActiveRun> LocalJobLauncher::adopt(const RunRequest& request, const std::optional<ProcessRef>& recorded) {
  const std::filesystem::path exit_file = exit_file_of(request);
  std::optional<ProcessRef> candidate;
  if (recorded && process_start_ticks(recorded->pid) == recorded->start_ticks) {
    candidate = recorded;
  } else if (const auto pid = find_process_with_argument(exit_file.string())) {
    if (const auto ticks = process_start_ticks(*pid)) candidate = ProcessRef{*pid, *ticks};
  }
  if (!candidate) return std::nullopt;
  ActiveRun run;
  run.job = request.job;
  run.run = request.run;
  run.process = *candidate;
  run.is_child = false;
  run.exit_file = exit_file;
  run.ckpt_dir = request.spec->ckpt_dir;
  run.uid = request.spec->uid;
  run.watch = open_pidfd(candidate->pid);
  // The pid could have been reused between the check and pidfd_open: check again.
  if (!run.watch.valid() || process_start_ticks(candidate->pid) != candidate->start_ticks) return std::nullopt;
  return run;
}

std::optional<RunEnd> LocalJobLauncher::ended_while_away(const RunRequest& request) {
  const std::filesystem::path exit_file = exit_file_of(request);
  try {
    const std::optional<run::RunExit> exit = run::read_exit_file(exit_file, request.spec->uid);
    if (!exit) return std::nullopt;
    return RunEnd{exit->exit_code, exit->meaning};
  } catch (const Error& e) {
    log::warn(std::string("job ") + std::to_string(request.job) + ": " + e.what());
    return std::nullopt;
  }
}

void LocalJobLauncher::exit_journaled(const RunRequest& request) noexcept {
  try {
    ::unlink(exit_file_of(request).c_str());
  } catch (...) {  // out of memory for the path: the file stays, named by its run, and is never read again
  }
}

void LocalJobLauncher::send_notice(const ActiveRun& run) {
  if (pidfd_signal(run, SIGTERM) != 0 && errno != ESRCH) {
    log::warn("job " + std::to_string(run.job) + ": cannot send SIGTERM: " + errno_error(errno, "pidfd_send_signal", "").detail());
  }
}

void LocalJobLauncher::kill(const ActiveRun& run) {
  std::vector<posix::ProcessInfo> processes;
  try {
    processes = posix::live_descendants(run.process.pid);
  } catch (const Error& e) {
    log::warn(std::string("job ") + std::to_string(run.job) + ": " + e.what());
  }
  // While lull run lives its process group cannot belong to anyone else.
  if (process_start_ticks(run.process.pid) == run.process.start_ticks) ::killpg(run.process.pid, SIGKILL);
  pidfd_signal(run, SIGKILL);
  posix::signal_each(processes, SIGKILL);
}

RunEnd LocalJobLauncher::collect(ActiveRun& run) {
  int status = 0;
  bool have_status = false;
  if (run.is_child) {
    pid_t reaped = 0;
    do {
      reaped = ::waitpid(run.process.pid, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    have_status = reaped == run.process.pid;
  }
  RunEnd end;
  std::optional<run::RunExit> exit;
  try {
    exit = run::read_exit_file(run.exit_file, run.uid);
  } catch (const Error& e) {
    log::warn(std::string("job ") + std::to_string(run.job) + ": " + e.what());
  }
  if (exit) return {exit->exit_code, exit->meaning};
  if (have_status && WIFEXITED(status)) return {WEXITSTATUS(status), "lull run exited with " + std::to_string(WEXITSTATUS(status))};
  if (have_status && WIFSIGNALED(status)) {
    return {128 + WTERMSIG(status), "lull run was killed by " + posix::signal_name(WTERMSIG(status))};
  }
  return lost_run_end(run.ckpt_dir);
}

}  // namespace lull::arbiter
