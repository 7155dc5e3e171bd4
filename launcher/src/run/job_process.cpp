#include "run/job_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "lull/base/errno_error.h"
#include "posix/argv_pointers.h"

namespace lull::run {

namespace {

// Between fork and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void become_job(char* const* argv, char* const* envp, const posix::SignalInbox& inbox,
                             pid_t supervisor, bool stdin_is_terminal, int report_fd) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != supervisor) ::_exit(127);  // lull run died before prctl took effect
  if (stdin_is_terminal) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDIN_FILENO);
      if (null_fd != STDIN_FILENO) ::close(null_fd);
    }
  }
  inbox.restore_in_child();
  ::execvpe(argv[0], argv, envp);
  const int err = errno;
  [[maybe_unused]] ssize_t ignored = ::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

StartedJob start_job(const JobLaunch& launch, const posix::SignalInbox& inbox) {
  std::vector<char*> argv = posix::as_argv(launch.command);
  std::vector<char*> envp = posix::as_argv(launch.environment);
  const bool stdin_is_terminal = ::isatty(STDIN_FILENO) == 1;
  const pid_t supervisor = ::getpid();

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw_errno("pipe2", "exec status pipe");
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw errno_error(err, "fork", launch.command.front());
  }
  if (pid == 0) become_job(argv.data(), envp.data(), inbox, supervisor, stdin_is_terminal, report[1]);

  ::close(report[1]);
  // EACCES: the child has already exec'd (and set its group itself); ESRCH:
  // it has already exited. Both are fine.
  ::setpgid(pid, pid);
  int exec_error = 0;
  ssize_t n = 0;
  do {
    n = ::read(report[0], &exec_error, sizeof exec_error);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n != static_cast<ssize_t>(sizeof exec_error)) return {pid, 0};  // EOF: exec succeeded

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {-1, exec_error};
}

}  // namespace lull::run
