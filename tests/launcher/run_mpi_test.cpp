// `lull run` over a real mpirun with two fake_ranks: the notice reaches
// both ranks, and the race of the held SIGUSR1 with ranks that exit 75.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lull_run_harness.h"

namespace lull::test {
namespace {

// ---- under a real mpirun ------------------------------------------------------

class LullRunMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    // The fake ranks exit independently of each other (no runtime makes them
    // stop together): give the last one mpirun's usual second, overriding
    // lull run's default of 0.
    ::setenv("OMPI_MCA_odls_base_sigkill_timeout", "1", 0);
  }
};

TEST_F(LullRunMpi, NoticeReachesBothRanksThroughMpirunAndTheJobExits75) {
  ScratchDir scratch("run-mpi");
  const fs::path ckpt = scratch.path() / "ckpt";
  ChildProcess run(run_args({"--job", "mpi-job", "--ckpt-dir", ckpt.string(), "--grace", "20", "--every-steps", "5"},
                            {kMpirun, "-np", "2", kFakeRank, "--report", scratch.path().string()}));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 30s)) << context(run, scratch.path());
  ASSERT_TRUE(run.wait_for_stdout("ready rank=1", 30s)) << context(run, scratch.path());
  const double sent = unix_now();
  run.kill(SIGTERM);
  const int status = run.wait(40s);
  const double ended = unix_now();
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank) + "\n" + report_text(scratch.path(), rank));
    EXPECT_TRUE(report_value(scratch.path(), rank, "signal " + std::to_string(SIGUSR1)));
    EXPECT_FALSE(report_value(scratch.path(), rank, "signal " + std::to_string(SIGTERM)));
    const auto notice = seen_notice(scratch.path(), rank);
    ASSERT_TRUE(notice);
    EXPECT_GE(notice->issued, sent - 0.001);  // reported to the millisecond
    EXPECT_LE(notice->issued, ended + 0.001);
    EXPECT_NEAR(notice->deadline, notice->issued + 20.0, 0.01);
    EXPECT_EQ(report_value(scratch.path(), rank, "env LULL_JOB="), "mpi-job");
    EXPECT_EQ(report_value(scratch.path(), rank, "env LULL_CKPT_DIR="), ckpt.string());
    EXPECT_EQ(report_value(scratch.path(), rank, "env LULL_GRACE_SECONDS="), "20");
    EXPECT_EQ(report_value(scratch.path(), rank, "env LULL_EVERY_STEPS="), "5");
    EXPECT_EQ(report_value(scratch.path(), rank, "exit "), "75");
  }
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_NOTICE_FILE="),
            report_value(scratch.path(), 1, "env LULL_NOTICE_FILE="));
  EXPECT_TRUE(leaves_no_notice_directory(ckpt));
}

// The real race: two ranks take the notice from the file and exit 75 right
// around the moment lull run's held SIGUSR1 is due (the ranks mark
// themselves ready 1.5 s after they start), so that mpirun may be exiting
// then. Every run must be a clean 75, never "mpirun was killed by SIGUSR1":
// with acknowledgements, and without (then only lull run's look at mpirun's
// handler protects it).
TEST_F(LullRunMpi, RanksExitingAsTheHeldSignalIsDueNeverMakeItAFailure) {
  ::setenv("OMPI_MCA_odls_base_sigkill_timeout", "0", 1);  // lull run's own default: mpirun exits at once
  for (const bool acknowledged : {false, true}) {
    for (const double offset : {-0.05, 0.0, 0.03, 0.06, 0.1, 0.15}) {
      ScratchDir scratch("run-mpi-race");
      char exit_at[32];
      std::snprintf(exit_at, sizeof exit_at, "%.3f", unix_now() + 1.5 + offset);
      std::vector<std::string> command{kMpirun,         "-np",       "2", kFakeRank, "--report", scratch.path().string(),
                                       "--poll-notice", "--exit-at", exit_at, "--ready-after-ms", "1500"};
      if (acknowledged) command.insert(command.end(), {"--acknowledge", "2"});
      ChildProcess run(run_args({"--grace", "20"}, command));
      ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 30s)) << context(run, scratch.path());
      ASSERT_TRUE(run.wait_for_stdout("ready rank=1", 30s)) << context(run, scratch.path());
      run.kill(SIGTERM);
      const int status = run.wait(40s);
      EXPECT_EQ(exit_code(status), 75) << (acknowledged ? "acknowledged" : "not acknowledged") << ", ranks exiting "
                                       << offset << " s from the held signal's moment: " << describe_status(status)
                                       << "\n" << context(run, scratch.path());
    }
  }
  ::setenv("OMPI_MCA_odls_base_sigkill_timeout", "1", 1);
}

// Ranks without a SIGUSR1 handler (still loading their libraries, or
// programs that only read the notice file): mpirun would forward the signal
// and kill them. lull run never sends it; the file carries the notice.
TEST_F(LullRunMpi, RanksWithoutAHandlerAreNeverSentTheSignal) {
  ScratchDir scratch("run-mpi-nohandler");
  ChildProcess run(run_args({"--grace", "20"}, {kMpirun, "-np", "2", kFakeRank, "--report", scratch.path().string(),
                                                "--poll-notice", "--no-usr1-handler", "--checkpoint-ms", "2500"}));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 30s)) << context(run, scratch.path());
  ASSERT_TRUE(run.wait_for_stdout("ready rank=1", 30s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(40s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(report_value(scratch.path(), rank, "exit "), "75") << report_text(scratch.path(), rank);
  }
  EXPECT_NE(run.err().find("SIGUSR1 held: pid"), std::string::npos) << run.err();
}

TEST_F(LullRunMpi, RanksThatIgnoreTheNoticeAreKilledNoneLeftBehind) {
  ScratchDir scratch("run-mpi-kill");
  ChildProcess run(run_args({"--grace", "1", "--kill-after", "1.5"},
                            {kMpirun, "-np", "2", kFakeRank, "--report", scratch.path().string(), "--ignore-notice",
                             "--ignore-term"}));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 30s)) << context(run, scratch.path());
  ASSERT_TRUE(run.wait_for_stdout("ready rank=1", 30s)) << context(run, scratch.path());
  const pid_t ranks[2] = {ready_pid(run.out(), 0), ready_pid(run.out(), 1)};
  ASSERT_GT(ranks[0], 0);
  ASSERT_GT(ranks[1], 0);
  const auto start = Clock::now();
  run.kill(SIGTERM);
  const int status = run.wait(40s);
  const double took = seconds_since(start);
  const int code = exit_code(status);
  EXPECT_NE(code, 0) << context(run, scratch.path());
  EXPECT_NE(code, 75) << "no snapshot: not resumable\n" << context(run, scratch.path());
  EXPECT_LT(took, 1.0 + 1.5 + 6.0) << "grace, kill-after and a loaded machine's slack\n" << context(run, scratch.path());
  for (pid_t rank : ranks) {
    EXPECT_FALSE(process_exists(rank)) << "rank pid " << rank << " survived lull run\n" << context(run, scratch.path());
  }
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE(report_value(scratch.path(), rank, "signal " + std::to_string(SIGUSR1)));
  }
}

}  // namespace
}  // namespace lull::test
