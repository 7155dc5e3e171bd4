// `lull run` as a real process with real signals: a notice (SIGTERM, SIGINT,
// SIGHUP) becomes the notice file and SIGUSR1 to the job, which exits 75;
// and the SIGUSR1 never turns a clean preemption into a failure. The child
// is fake_rank, which reports what it saw to a file per rank.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lull_run_harness.h"

namespace lull::test {
namespace {

// ---- the preemption path -----------------------------------------------------

TEST(LullRun, SigtermBecomesNoticeFileThenSigusr1AndExit75) {
  ScratchDir scratch("run-notice");
  const fs::path ckpt = scratch.path() / "ckpt";
  ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "30"}, fake(scratch.path())));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  const double sent = unix_now();
  const auto start = Clock::now();
  run.kill(SIGTERM);
  const int status = run.wait(40s);
  const double ended = unix_now();
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_LT(seconds_since(start), 15.0) << "lull run must not wait for the 30 s deadline once the job is gone";

  // The notice file was there when SIGUSR1 arrived, with the right deadline.
  EXPECT_EQ(report_value(scratch.path(), 0, "notice_file_at_start "), "absent");
  EXPECT_TRUE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGUSR1)));
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGTERM))) << "SIGTERM forwarded";
  const auto notice = seen_notice(scratch.path(), 0);
  ASSERT_TRUE(notice) << context(run, scratch.path());
  EXPECT_DOUBLE_EQ(notice->grace, 30.0);
  EXPECT_GE(notice->issued, sent - 0.001) << "issued before the request";  // reported to the millisecond
  EXPECT_LE(notice->issued, ended + 0.001) << "issued after lull run ended";
  EXPECT_NEAR(notice->deadline, notice->issued + 30.0, 0.01);

  // One line per event, and the private notice directory is gone.
  EXPECT_NE(run.err().find("started pid"), std::string::npos) << run.err();
  EXPECT_NE(run.err().find("preemption notice sent"), std::string::npos) << run.err();
  EXPECT_NE(run.err().find("exit 75: preempted"), std::string::npos) << run.err();
  EXPECT_TRUE(leaves_no_notice_directory(ckpt));
}

TEST(LullRun, SigintAndSighupAreNoticesToo) {
  for (int signal : {SIGINT, SIGHUP}) {
    ScratchDir scratch("run-sigint");
    ChildProcess run(run_args({"--grace", "10"}, fake(scratch.path(), {"--notice-exit", "0"})));
    ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
    run.kill(signal);
    const int status = run.wait(20s);
    // The job finished inside the grace period with 0: finished, not preempted.
    EXPECT_EQ(exit_code(status), 0) << describe_status(status) << "\n" << context(run, scratch.path());
    EXPECT_TRUE(seen_notice(scratch.path(), 0)) << "signal " << signal << "\n" << context(run, scratch.path());
  }
}

TEST(LullRun, TheJobDoesNotOutliveALullRunKilledWithSigkill) {
  ScratchDir scratch("run-pdeathsig");
  // A supervisor killed with SIGKILL cannot remove its notice directory:
  // keep it in the scratch directory.
  const fs::path ckpt = scratch.path() / "ckpt";
  ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "30"}, fake(scratch.path())));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  const pid_t rank = ready_pid(run.out(), 0);
  ASSERT_GT(rank, 0);
  run.kill(SIGKILL);
  EXPECT_TRUE(killed_by(run.wait(20s), SIGKILL));
  EXPECT_TRUE(wait_until_gone(rank, 20s)) << "COMMAND kept running without its supervisor";
  EXPECT_TRUE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGTERM)) || !process_exists(rank));
}

TEST(LullRun, NoticeFollowedByFailureKeepsTheFailureCode) {
  ScratchDir scratch("run-notice-fail");
  ChildProcess run(run_args({"--grace", "10"}, fake(scratch.path(), {"--notice-exit", "3"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 3) << describe_status(status) << "\n" << context(run, scratch.path());
}

// ---- the notice's SIGUSR1 never turns a clean preemption into a failure ----------
//
// lull run holds its SIGUSR1 while the job is young (1.5 s). Meanwhile the
// ranks may take the notice from the file, commit and exit 75 — and mpirun,
// exiting, has restored SIGUSR1's default action: the held-back signal would
// kill it ("mpirun was killed by SIGUSR1", exit 138, for a resumable job).

// A job that takes the notice from the file and has no SIGUSR1 handler
// through the held-off moment (mpirun as it exits) must never get SIGUSR1.
TEST(LullRunNoticeSignal, IsNotSentToACommandWithoutAHandler) {
  ScratchDir scratch("run-usr1-nohandler");
  ChildProcess run(run_args({"--grace", "20"},
                            fake(scratch.path(), {"--poll-notice", "--no-usr1-handler", "--checkpoint-ms", "2500"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "exit "), "75") << context(run, scratch.path());
  EXPECT_NE(run.err().find("SIGUSR1 held: pid"), std::string::npos) << run.err();
}

// Once every rank has acknowledged the notice beside the file, the signal
// is not needed: lull run does not send it, handler or not.
TEST(LullRunNoticeSignal, IsNotSentOnceEveryRankHasTakenTheNotice) {
  // Needs the notice to come while the job is young (the signal held back);
  // on a machine too loaded to start a process in a second, try again.
  for (int attempt = 1;; ++attempt) {
    ScratchDir scratch("run-usr1-acked");
    const auto spawned = Clock::now();
    ChildProcess run(run_args({"--grace", "20"}, fake(scratch.path(), {"--poll-notice", "--acknowledge", "1", "--step",
                                                                        "12", "--checkpoint-ms", "2500"})));
    ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
    run.kill(SIGTERM);
    if (seconds_since(spawned) > 0.6) {
      if (attempt < 5) continue;
      GTEST_SKIP() << "the machine took over 0.6 s to start lull run and a process, 5 times: the notice never "
                      "came while the job was young enough";
    }
    const int status = run.wait(20s);
    EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
    EXPECT_EQ(report_value(scratch.path(), 0, "acknowledged "), "0 of 1 at 12") << context(run, scratch.path());
    EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGUSR1)))
        << "SIGUSR1 sent after every rank had taken the notice\n" << context(run, scratch.path());
    EXPECT_NE(run.err().find("every rank (1) has taken the notice from the file: no SIGUSR1 sent"), std::string::npos)
        << run.err();
    return;
  }
}

// The launcher died of the notice's SIGUSR1 anyway (it restored the default
// action just after lull run saw its handler) after the ranks had committed
// the snapshot of the step they took the notice at: resumable.
TEST(LullRunNoticeSignal, ALauncherKilledByItAfterTheRanksCommittedIsResumable) {
  ScratchDir scratch("run-usr1-killed");
  const fs::path ckpt = scratch.path() / "ckpt";
  commit_snapshot_of_step(ckpt, 5, "ckpt");  // an older one, before the notice
  ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "20"},
                            fake(scratch.path(), {"--poll-notice", "--acknowledge", "2", "--step", "7", "--commit-step",
                                                  "7", "--die-of-notice-signal", "--checkpoint-ms", "10000"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(30s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "committed "), "7") << context(run, scratch.path());
  EXPECT_TRUE(report_value(scratch.path(), 0, "dying of SIGUSR1")) << context(run, scratch.path());
  EXPECT_NE(run.err().find("killed by SIGUSR1, the notice's own signal, after 1 of 2 rank(s) had taken the notice "
                           "at step 7; resumable from snapshot step 7"),
            std::string::npos)
      << run.err();
}

// ... but not when nothing shows that the ranks stopped for the notice: the
// newest snapshot predates the step they took it at, or none acknowledged it.
TEST(LullRunNoticeSignal, ALauncherKilledByItBeforeTheRanksStoppedIsAFailure) {
  for (const std::vector<std::string>& acknowledgement :
       std::vector<std::vector<std::string>>{{"--acknowledge", "2", "--step", "7"}, {}}) {
    ScratchDir scratch("run-usr1-failed");
    const fs::path ckpt = scratch.path() / "ckpt";
    commit_snapshot_of_step(ckpt, 5, "ckpt");
    std::vector<std::string> flags{"--poll-notice", "--die-of-notice-signal", "--checkpoint-ms", "10000"};
    flags.insert(flags.end(), acknowledgement.begin(), acknowledgement.end());
    ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "20"}, fake(scratch.path(), flags)));
    ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
    run.kill(SIGTERM);
    const int status = run.wait(30s);
    EXPECT_EQ(exit_code(status), 128 + SIGUSR1) << describe_status(status) << "\n" << context(run, scratch.path());
    EXPECT_NE(run.err().find("failed: " + kFakeRank + " was killed by SIGUSR1, the notice's own signal, and no rank "
                             "acknowledged the notice at or before snapshot step 5"),
              std::string::npos)
        << run.err();
  }
}

}  // namespace
}  // namespace lull::test
