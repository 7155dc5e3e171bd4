#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

#include "mpi_job.h"

extern char** environ;

namespace lull::bench {

namespace {

std::runtime_error system_error(const std::string& call, int error) {
  return std::runtime_error(call + ": " + std::strerror(error));
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> entries;
  auto add = [&](const std::string& entry) { entries[entry.substr(0, entry.find('='))] = entry; };
  for (char** e = environ; *e != nullptr; ++e) add(*e);
  for (const auto& entry : extra) add(entry);
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries) out.push_back(entry);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                           LineHandler on_line)
    : on_line_(std::move(on_line)) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw system_error("pipe2", errno);
  if (::pipe2(err, O_CLOEXEC) != 0) throw system_error("pipe2", errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = merged_environment(extra_env);
  auto arg_pointers = pointers(args);
  auto env_pointers = pointers(env);
  const int rc = ::posix_spawnp(&pid_, arg_pointers[0], &actions, nullptr, arg_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  if (rc != 0) {
    pid_ = -1;
    throw system_error("posix_spawnp " + argv.front(), rc);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void ChildProcess::kill(int signal) const noexcept {
  if (pid_ > 0) ::kill(pid_, signal);
}

void ChildProcess::read_from(int& fd, Stream stream, std::string& pending, double now) {
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    if (!pending.empty()) on_line_(stream, pending, now);
    pending.clear();
    ::close(fd);
    fd = -1;
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
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    const double left = until - now_seconds();
    if (left <= 0) return true;
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
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
