#include "lull/base/process_spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "lull/base/errno_error.h"

extern char** environ;

namespace lull {

namespace {

// Everything the child needs, as plain pointers and numbers made before fork.
struct ChildPlan {
  const SpawnRequest& request;
  char* const* argv;
  char* const* envp;
  pid_t parent;
  int report_fd;
};

std::vector<char*> pointers_to(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// The child's side: async-signal-safe calls only, no allocation.

[[noreturn]] void report_and_exit(int report_fd, SpawnFailure::Step step, int error) {
  const SpawnFailure failure{step, error};
  [[maybe_unused]] const ssize_t ignored = ::write(report_fd, &failure, sizeof failure);
  ::_exit(127);
}

// 0, or the errno of what failed.
int redirect(const ChildStream& stream, int target) {
  switch (stream.kind) {
    case ChildStream::Kind::inherited:
      return 0;
    case ChildStream::Kind::dev_null: {
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd < 0) return errno;
      if (null_fd != target) {
        if (::dup2(null_fd, target) < 0) return errno;
        ::close(null_fd);
      }
      return 0;
    }
    case ChildStream::Kind::descriptor:
      // dup2 onto itself would keep close-on-exec: clear it instead.
      if (stream.fd == target) return ::fcntl(target, F_SETFD, 0) < 0 ? errno : 0;
      return ::dup2(stream.fd, target) < 0 ? errno : 0;
  }
  return 0;
}

[[noreturn]] void become_program(const ChildPlan& plan) {
  const SpawnRequest& request = plan.request;
  using Step = SpawnFailure::Step;
  if (request.group == SpawnRequest::Group::new_group && ::setpgid(0, 0) != 0) {
    report_and_exit(plan.report_fd, Step::process_group, errno);
  }
  if (request.group == SpawnRequest::Group::new_session && ::setsid() < 0) {
    report_and_exit(plan.report_fd, Step::process_group, errno);
  }
  if (request.parent_death_signal != 0) {
    ::prctl(PR_SET_PDEATHSIG, request.parent_death_signal);
    if (::getppid() != plan.parent) ::_exit(127);  // the parent died before prctl took effect
  }
  const ChildStream* streams[] = {&request.in, &request.out, &request.err};
  for (int target = 0; target < 3; ++target) {
    if (const int error = redirect(*streams[target], target); error != 0) {
      report_and_exit(plan.report_fd, Step::stream, error);
    }
  }
  if (request.signals) {
    for (const auto& disposition : request.signals->dispositions) {
      ::sigaction(disposition.number, &disposition.action, nullptr);
    }
    ::sigprocmask(SIG_SETMASK, &request.signals->mask, nullptr);
  }
  if (const auto& identity = request.identity;
      identity && (::setgroups(identity->groups.size(), identity->groups.data()) != 0 ||
                   ::setgid(identity->gid) != 0 || ::setuid(identity->uid) != 0)) {
    report_and_exit(plan.report_fd, Step::identity, errno);
  }
  if (!request.working_directory.empty() && ::chdir(request.working_directory.c_str()) != 0) {
    report_and_exit(plan.report_fd, Step::working_directory, errno);
  }
  if (request.search_path) {
    ::execvpe(plan.argv[0], plan.argv, plan.envp);
  } else {
    ::execve(plan.argv[0], plan.argv, plan.envp);
  }
  report_and_exit(plan.report_fd, Step::exec, errno);
}

}  // namespace

ChildSignals ChildSignals::defaults(std::initializer_list<int> numbers) {
  ChildSignals signals;
  ::sigemptyset(&signals.mask);
  for (int number : numbers) {
    Disposition disposition{number, {}};
    disposition.action.sa_handler = SIG_DFL;
    ::sigemptyset(&disposition.action.sa_mask);
    signals.dispositions.push_back(disposition);
  }
  return signals;
}

SpawnResult spawn_process(const SpawnRequest& request) {
  const std::string& description = request.description.empty() ? request.argv.front() : request.description;
  const std::vector<char*> argv = pointers_to(request.argv);
  const std::vector<char*> envp = request.environment ? pointers_to(*request.environment) : std::vector<char*>{};
  Pipe report = make_pipe("the exec status pipe of " + description);
  const ChildPlan plan{request, argv.data(), request.environment ? envp.data() : environ, ::getpid(),
                       report.write.get()};

  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork", description);
  if (pid == 0) become_program(plan);

  report.write.reset();
  // EACCES: the child has already exec'd (and set its group itself); ESRCH:
  // it has already exited. Both are fine.
  if (request.group == SpawnRequest::Group::new_group) ::setpgid(pid, pid);
  SpawnFailure failure;
  ssize_t n = 0;
  do {
    n = ::read(report.read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof failure)) return {pid, {}};  // EOF: the program runs

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {-1, failure};
}

Pipe make_pipe(const std::string& what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2", what);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<std::string> environment_with(const std::vector<std::string>& overrides) {
  const auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
  for (const auto& override_entry : overrides) {
    const std::string name = name_of(override_entry);
    bool replaced = false;
    for (auto& entry : environment) {
      if (name_of(entry) == name) {
        entry = override_entry;
        replaced = true;
      }
    }
    if (!replaced) environment.push_back(override_entry);
  }
  return environment;
}

}  // namespace lull
