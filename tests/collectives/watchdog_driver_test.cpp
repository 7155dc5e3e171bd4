// The watchdog on real processes: runs watchdog_job under a real mpirun and
// checks the exit code, the time it took and what the ranks logged.
//
// The hang cases prove the watchdog path: no process dies, so mpirun has no
// reason to end the job; only the ranks' watchdogs can, with exit code 70.
// With one rank the only rank is stuck inside the hook, outside lull's
// polling loop: there only the watchdog thread can notice. The kill case
// checks the other promise: whoever ends the job (mpirun noticing the dead
// rank, or the survivors' watchdog), it ends, well within the timeout.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "lull/base/process_spawn.h"
#include "lull/collectives/communicator.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kTimeout = 2.0;  // LULL_COLLECTIVE_TIMEOUT for the job
constexpr double kMargin = 8.0;   // mpirun start and teardown on 2 shared cores

struct Outcome {
  int status = -1;  // raw wait status
  std::string output;
  double seconds = 0;
  bool killed_by_test = false;
};

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, '|')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// mpirun -n ranks <preflags> watchdog_job <postflags> args..., output of all
// ranks (stdout + stderr) collected; the whole process group is SIGKILLed
// after `limit` seconds so that this test itself never hangs.
Outcome run_job(int ranks, const std::vector<std::string>& args, double limit = 40) {
  std::vector<std::string> argv = {LULL_MPIEXEC, LULL_MPIEXEC_NUMPROC_FLAG, std::to_string(ranks)};
  for (const std::string& f : split_list(LULL_MPIEXEC_PREFLAGS)) argv.push_back(f);
  argv.push_back(LULL_WATCHDOG_JOB);
  for (const std::string& f : split_list(LULL_MPIEXEC_POSTFLAGS)) argv.push_back(f);
  argv.insert(argv.end(), args.begin(), args.end());

  lull::Pipe output = lull::make_pipe("the job's output");
  lull::SpawnRequest request;
  request.argv = argv;
  request.search_path = true;
  request.environment =
      lull::environment_with({std::string(lull::kCollectiveTimeoutEnv) + "=2", "LULL_LOG_LEVEL=info"});
  request.group = lull::SpawnRequest::Group::new_group;
  request.out = lull::ChildStream::descriptor(output.write.get());
  request.err = lull::ChildStream::descriptor(output.write.get());
  auto start = Clock::now();
  const lull::SpawnResult spawned = lull::spawn_process(request);
  Outcome outcome;
  if (!spawned.started()) {
    outcome.output = "cannot start " + argv.front() + ": " + std::strerror(spawned.failure.error);
    return outcome;
  }
  const pid_t pid = spawned.pid;
  output.write.reset();
  auto deadline = start + std::chrono::duration<double>(limit);
  bool open = true;
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      kill(-pid, SIGKILL);
      outcome.killed_by_test = true;
      break;
    }
    pollfd p{output.read.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 200))) > 0) {
      char buf[4096];
      ssize_t n = read(output.read.get(), buf, sizeof buf);
      if (n > 0) outcome.output.append(buf, static_cast<std::size_t>(n));
      else open = false;
    }
  }
  waitpid(pid, &outcome.status, 0);
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  kill(-pid, SIGKILL);  // stragglers of the group, if any
  return outcome;
}

int exit_code(const Outcome& o) { return WIFEXITED(o.status) ? WEXITSTATUS(o.status) : -1; }

std::string explain(const Outcome& o) {
  std::ostringstream s;
  s << "status " << o.status << " (exit " << exit_code(o) << "), " << o.seconds << " s"
    << (o.killed_by_test ? ", killed by the time limit: a hang" : "") << "\n--- output ---\n"
    << o.output;
  return s.str();
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

void expect_watchdog_exit(const Outcome& o, int ranks) {
  EXPECT_FALSE(o.killed_by_test) << explain(o);
  EXPECT_EQ(exit_code(o), lull::kExitCollectiveTimeout) << explain(o);
  EXPECT_GE(o.seconds, kTimeout) << explain(o);
  EXPECT_LT(o.seconds, kTimeout + kMargin) << explain(o);
  // What was pending, on which rank, since when.
  EXPECT_TRUE(contains(o.output, "collective timeout: allreduce(f32 x 16, sum) #")) << explain(o);
  EXPECT_TRUE(contains(o.output, " of " + std::to_string(ranks) + ") still pending after ")) << explain(o);
  EXPECT_TRUE(contains(o.output, "waiting since 20")) << explain(o);
  EXPECT_TRUE(contains(o.output, "exiting with code 70")) << explain(o);
  EXPECT_TRUE(contains(o.output, "[lull job=watchdog_job rank=")) << explain(o);
}

TEST(WatchdogJob, FinishesNormally) {
  Outcome o = run_job(2, {"ok", "--steps", "5"});
  EXPECT_EQ(exit_code(o), 0) << explain(o);
  EXPECT_TRUE(contains(o.output, "job finished")) << explain(o);
}

TEST(WatchdogJob, OneRankHangingInsideACollectiveIsCaughtByTheWatchdogThread) {
  Outcome o = run_job(1, {"hang", "--rank", "0", "--at", "2"});
  expect_watchdog_exit(o, 1);
  EXPECT_TRUE(contains(o.output, "rank 0: injected hang")) << explain(o);
  EXPECT_TRUE(contains(o.output, "(mpi, rank 0 of 1)")) << explain(o);
}

TEST(WatchdogJob, APeerThatStopsMakesTheOthersExit70) {
  Outcome o = run_job(2, {"hang", "--rank", "1", "--at", "3"});
  expect_watchdog_exit(o, 2);
  // Rank 0 waited in its polling loop for the silent rank 1.
  EXPECT_TRUE(contains(o.output, "(mpi, rank 0 of 2)")) << explain(o);
}

TEST(WatchdogJob, APeerThatStopsMakesTheOthersExit70OnFourRanks) {
  Outcome o = run_job(4, {"hang", "--rank", "2", "--at", "1"});
  expect_watchdog_exit(o, 4);
}

TEST(WatchdogJob, ARankKilledWithSigkillNeverLeavesTheOthersHanging) {
  Outcome o = run_job(2, {"kill", "--rank", "1", "--at", "3", "--steps", "1000000"});
  EXPECT_FALSE(o.killed_by_test) << explain(o);
  EXPECT_NE(exit_code(o), 0) << explain(o);
  EXPECT_LT(o.seconds, kTimeout + kMargin) << explain(o);
  EXPECT_TRUE(contains(o.output, "SIGKILL to myself")) << explain(o);
  std::printf("ended by %s after %.2f s\n",
              contains(o.output, "collective timeout") ? "the survivors' watchdog" : "mpirun's teardown",
              o.seconds);
}

}  // namespace
