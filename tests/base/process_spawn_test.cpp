// spawn_process (base/src/process_spawn.cpp) on real programs: what the
// child gets (streams, environment, directory, process group, signal mask,
// user) is read back from the child itself, and a failure before the
// program runs comes back as its step and errno with the child reaped.
#include "lull/base/process_spawn.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>

#include "support/test_process.h"

namespace lull {
namespace {

// Runs `request` with stdout into a pipe; returns what it wrote once it
// exited 0 (a failure is reported by gtest).
std::string output_of(SpawnRequest request) {
  Pipe out = make_pipe("the child's stdout");
  request.out = ChildStream::descriptor(out.write.get());
  const SpawnResult spawned = spawn_process(request);
  out.write.reset();
  EXPECT_TRUE(spawned.started()) << "step " << static_cast<int>(spawned.failure.step) << ", errno "
                                 << spawned.failure.error;
  if (!spawned.started()) return {};
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out.read.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  EXPECT_EQ(::waitpid(spawned.pid, &status, 0), spawned.pid);
  EXPECT_TRUE(test::exited_ok(status)) << test::describe_status(status) << "\n" << text;
  return text;
}

SpawnRequest shell(const std::string& script) {
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", script};
  return request;
}

// True when `pid` is no child of ours any more (reaped), not a zombie left behind.
bool reaped(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD; }

TEST(ProcessSpawn, TheChildGetsItsStreamsEnvironmentAndDirectory) {
  test::ScratchDir dir("spawn");
  SpawnRequest request = shell("echo \"$GREETING\"; pwd -P; readlink /proc/self/fd/0");
  request.environment = environment_with({"GREETING=hello from the child"});
  request.working_directory = dir.path().string();
  request.in = ChildStream::dev_null();
  EXPECT_EQ(output_of(request),
            "hello from the child\n" + std::filesystem::canonical(dir.path()).string() + "\n/dev/null\n");
}

TEST(ProcessSpawn, ThePathIsSearchedOnlyWhenAsked) {
  SpawnRequest request;
  request.argv = {"sh", "-c", "echo found"};
  request.search_path = true;
  EXPECT_EQ(output_of(request), "found\n");

  request.search_path = false;  // "sh" is then a path relative to this directory, which has none
  const SpawnResult spawned = spawn_process(request);
  EXPECT_FALSE(spawned.started());
  EXPECT_EQ(spawned.failure.step, SpawnFailure::Step::exec);
  EXPECT_EQ(spawned.failure.error, ENOENT);
}

TEST(ProcessSpawn, AFailureBeforeTheProgramIsTheStepAndItsErrnoWithTheChildReaped) {
  SpawnRequest request = shell("exit 0");
  request.working_directory = "/nonexistent/lull-spawn-test";
  const SpawnResult no_directory = spawn_process(request);
  EXPECT_FALSE(no_directory.started());
  EXPECT_EQ(no_directory.failure.step, SpawnFailure::Step::working_directory);
  EXPECT_EQ(no_directory.failure.error, ENOENT);

  request = shell("exit 0");
  request.out = ChildStream::descriptor(1000);  // not open
  const SpawnResult bad_stream = spawn_process(request);
  EXPECT_EQ(bad_stream.failure.step, SpawnFailure::Step::stream);
  EXPECT_EQ(bad_stream.failure.error, EBADF);

  // Nothing is left to reap: waitpid(-1) finds no child of this test at all.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ProcessSpawn, ANewProcessGroupIsInPlaceWhenSpawnReturns) {
  SpawnRequest request = shell("read line");  // waits for its stdin to close
  Pipe in = make_pipe("the child's stdin");
  request.in = ChildStream::descriptor(in.read.get());
  request.group = SpawnRequest::Group::new_group;
  const SpawnResult spawned = spawn_process(request);
  ASSERT_TRUE(spawned.started());
  EXPECT_EQ(::getpgid(spawned.pid), spawned.pid);
  EXPECT_NE(::getpgid(spawned.pid), ::getpgrp());
  in.write.reset();
  int status = 0;
  ASSERT_EQ(::waitpid(spawned.pid, &status, 0), spawned.pid);
  EXPECT_TRUE(reaped(spawned.pid));
}

// The blocked signals of the program `request` runs (grep reading its own
// /proc/self/status), as the kernel's mask: bit N-1 is signal N.
std::uint64_t blocked_signals_of(SpawnRequest request) {
  request.argv = {"grep", "SigBlk", "/proc/self/status"};
  request.search_path = true;
  const std::string line = output_of(request);  // "SigBlk:\t0000000000000200\n"
  EXPECT_EQ(line.rfind("SigBlk:\t", 0), 0u) << line;
  return line.size() > 8 ? std::stoull(line.substr(8), nullptr, 16) : ~std::uint64_t{0};
}

TEST(ProcessSpawn, TheSignalMaskIsTheRequestsOrInherited) {
  sigset_t usr1, previous;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &previous), 0);
  const std::uint64_t inherited = blocked_signals_of({});
  SpawnRequest reset;
  reset.signals = ChildSignals::defaults({SIGUSR1});
  const std::uint64_t after_reset = blocked_signals_of(reset);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  const std::uint64_t usr1_bit = std::uint64_t{1} << (SIGUSR1 - 1);
  EXPECT_EQ(inherited & usr1_bit, usr1_bit) << std::hex << inherited;
  EXPECT_EQ(after_reset, 0u) << std::hex << after_reset;
}

TEST(ProcessSpawn, TheChildBecomesTheUserAsked) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing the user needs root";
  SpawnRequest request = shell("id -u; id -g; id -G");
  request.identity = ChildIdentity{65534, 65534, {65534}};
  EXPECT_EQ(output_of(request), "65534\n65534\n65534\n");
}

TEST(ProcessSpawn, EnvironmentWithReplacesAndAdds) {
  ASSERT_EQ(::setenv("LULL_SPAWN_TEST", "old", 1), 0);
  const auto environment = environment_with({"LULL_SPAWN_TEST=new", "LULL_SPAWN_TEST_ADDED=1"});
  ::unsetenv("LULL_SPAWN_TEST");
  EXPECT_EQ(std::count(environment.begin(), environment.end(), "LULL_SPAWN_TEST=new"), 1);
  EXPECT_EQ(std::count(environment.begin(), environment.end(), "LULL_SPAWN_TEST=old"), 0);
  EXPECT_EQ(std::count(environment.begin(), environment.end(), "LULL_SPAWN_TEST_ADDED=1"), 1);
}

}  // namespace
}  // namespace lull
