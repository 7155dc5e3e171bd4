#include "support/test_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/process_spawn.h"

namespace lull::test {

ScratchDir::ScratchDir(std::string_view label) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("lull-" + std::string(label) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  if (std::getenv("LULL_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ChildProcess::ChildProcess(std::vector<std::string> argv) : command_(fmt::format("{}", fmt::join(argv, " "))) {
  Pipe out = make_pipe("the child's stdout");
  Pipe err = make_pipe("the child's stderr");
  Pipe in = make_pipe("the child's stdin");
  SpawnRequest request;
  request.argv = std::move(argv);
  request.in = ChildStream::descriptor(in.read.get());
  request.out = ChildStream::descriptor(out.write.get());
  request.err = ChildStream::descriptor(err.write.get());
  const SpawnResult spawned = spawn_process(request);
  if (!spawned.started()) throw std::system_error(spawned.failure.error, std::generic_category(), "exec " + command_);
  pid_ = spawned.pid;
  out_fd_ = std::move(out.read);
  err_fd_ = std::move(err.read);
  in_fd_ = std::move(in.write);
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

void ChildProcess::kill(int signal) noexcept {
  if (!reaped_ && pid_ > 0) ::kill(pid_, signal);
}

void ChildProcess::close_stdin() noexcept { in_fd_.reset(); }

int ChildProcess::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{out_fd_.get(), POLLIN, 0}, {err_fd_.get(), POLLIN, 0}};
  if (!out_fd_.valid() && !err_fd_.valid()) return -1;
  const int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (ready <= 0) return 0;
  int got = 0;
  char buffer[65536];
  UniqueFd* sources[2] = {&out_fd_, &err_fd_};
  std::string* sinks[2] = {&out_, &err_};
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
    if (n > 0) {
      sinks[i]->append(buffer, static_cast<std::size_t>(n));
      got = 1;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      sources[i]->reset();
      got = 1;
    }
  }
  return got;
}

bool ChildProcess::wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout) {
  return wait_for_output(out_, needle, timeout);
}

bool ChildProcess::wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
  return wait_for_output(err_, needle, timeout);
}

bool ChildProcess::wait_for_output(const std::string& output, std::string_view needle,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (output.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (pump(std::min(left, std::chrono::milliseconds(50))) < 0) return output.find(needle) != std::string::npos;
  }
  return true;
}

void ChildProcess::pump_for(std::chrono::microseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    if (left.count() < 1000) {  // poll() has millisecond resolution
      std::this_thread::sleep_for(left);
      return;
    }
    if (pump(std::chrono::duration_cast<std::chrono::milliseconds>(left)) < 0) {
      std::this_thread::sleep_until(deadline);
      return;
    }
  }
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (reaped_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &status_, WNOHANG);
    if (done == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      err_ += "\n[test harness: killed after timeout]\n";
      break;
    }
    pump(std::chrono::milliseconds(20));
  }
  reaped_ = true;
  close_stdin();
  // Drain until EOF; stop early if a grandchild keeps the pipes open.
  while (pump(std::chrono::milliseconds(200)) > 0) {
  }
  return status_;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  }
  return "status " + std::to_string(status);
}

bool exited_ok(int status) noexcept { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

bool killed_by(int status, int signal) noexcept { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }

ChildOutcome run_in_child(const std::function<std::string()>& body, std::chrono::milliseconds timeout) {
  Pipe report_pipe = make_pipe("the child's report");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    report_pipe.read.reset();
    std::string report;
    try {
      report = body();
    } catch (const std::exception& e) {
      report = std::string("threw: ") + e.what();
    } catch (...) {
      report = "threw a non-std exception";
    }
    for (std::size_t done = 0; done < report.size();) {
      const ssize_t n = ::write(report_pipe.write.get(), report.data() + done, report.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);  // no atexit handlers or destructors of the parent's state
  }
  report_pipe.write.reset();
  ChildOutcome outcome;
  outcome.finished = true;
  const auto deadline = start + timeout;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{report_pipe.read.get(), POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      outcome.finished = false;
      ::kill(pid, SIGKILL);
      break;
    }
    const ssize_t n = ::read(report_pipe.read.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    outcome.report.append(buffer, static_cast<std::size_t>(n));
  }
  report_pipe.read.reset();
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.peak_rss_kib = usage.ru_maxrss;
  if (outcome.finished && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    outcome.report += " [the child " + describe_status(status) + "]";
  }
  return outcome;
}

}  // namespace lull::test
