#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "lull/base/process_spawn.h"
#include "mpi_job.h"

namespace lull::bench {

namespace {

std::runtime_error system_error(const std::string& call, int error) {
  return std::runtime_error(call + ": " + std::strerror(error));
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                           LineHandler on_line)
    : on_line_(std::move(on_line)) {
  Pipe out = make_pipe("the stdout of " + argv.front());
  Pipe err = make_pipe("the stderr of " + argv.front());
  SpawnRequest request;
  request.argv = argv;
  request.search_path = true;
  request.environment = environment_with(extra_env);
  request.out = ChildStream::descriptor(out.write.get());
  request.err = ChildStream::descriptor(err.write.get());
  const SpawnResult spawned = spawn_process(request);
  if (!spawned.started()) throw system_error("exec " + argv.front(), spawned.failure.error);
  pid_ = spawned.pid;
  out_fd_ = std::move(out.read);
  err_fd_ = std::move(err.read);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::kill(int signal) const noexcept {
  if (pid_ > 0) ::kill(pid_, signal);
}

void ChildProcess::read_from(UniqueFd& fd, Stream stream, std::string& pending, double now) {
  char buffer[4096];
  const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    if (!pending.empty()) on_line_(stream, pending, now);
    pending.clear();
    fd.reset();
    return;
  }
  pending.append(buffer, static_cast<std::size_t>(n));
  std::size_t newline;
  while ((newline = pending.find('\n')) != std::string::npos) {
    on_line_(stream, pending.substr(0, newline), now);
    pending.erase(0, newline + 1);
  }
}

bool ChildProcess::pump(double seconds) {
  const double until = now_seconds() + seconds;
  while (out_fd_.valid() || err_fd_.valid()) {
    const double left = until - now_seconds();
    if (left <= 0) return true;
    pollfd fds[2] = {{out_fd_.get(), POLLIN, 0}, {err_fd_.get(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::ceil(left * 1000)));
    if (ready < 0 && errno != EINTR) throw system_error("poll", errno);
    if (ready <= 0) continue;
    const double now = now_seconds();
    if (fds[0].revents != 0) read_from(out_fd_, Stream::out, out_pending_, now);
    if (fds[1].revents != 0) read_from(err_fd_, Stream::err, err_pending_, now);
  }
  return false;
}

int ChildProcess::wait(double& exited_at) {
  while (pump(3600)) {
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw system_error("waitpid", errno);
  }
  exited_at = now_seconds();
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace lull::bench
