// `lull run` as a real process with real signals: a notice (SIGTERM, SIGINT,
// SIGHUP) becomes the notice file and SIGUSR1 to the job, which exits 75;
// and the SIGUSR1 never turns a clean preemption into a failure. The child
// is fake_rank, which reports what it saw to a file per rank.
#include <signal.h>

#include <algorithm>
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

// ---- the notice's signal waits until every rank is ready for it --------------------
//
// A signal that reaches a rank still starting (Python's `import torch`,
// MPI_Init) kills it, or interrupts a system call it cannot restart. The
// Runtime marks its rank ready beside the notice file once its handlers are
// installed; until every rank has, the notice file alone carries the notice.

// However long the rank takes to get ready, the signal comes after, never before.
TEST(LullRunNoticeSignal, IsHeldUntilEveryRankIsReady) {
  ScratchDir scratch("run-usr1-ready");
  ChildProcess run(run_args({"--grace", "20"}, fake(scratch.path(), {"--ready-after-ms", "1500"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(30s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  const std::vector<std::string> lines = report_lines(scratch.path(), 0);
  const auto marking = std::find(lines.begin(), lines.end(), "marking ready");
  const auto signalled = std::find(lines.begin(), lines.end(), "signal " + std::to_string(SIGUSR1));
  ASSERT_NE(marking, lines.end()) << context(run, scratch.path());
  ASSERT_NE(signalled, lines.end()) << "the notice's signal never came\n" << context(run, scratch.path());
  EXPECT_LT(marking, signalled) << "the signal came before the rank was ready\n" << context(run, scratch.path());
  EXPECT_NE(run.err().find("SIGUSR1 held: no rank has marked itself ready for it yet"), std::string::npos)
      << run.err();
  EXPECT_NE(run.err().find("SIGUSR1 sent to pid"), std::string::npos) << run.err();
}

// A program that never marks itself ready (it does not use the runtime)
// gets the notice through the file alone.
TEST(LullRunNoticeSignal, ARankNeverReadyGetsTheFileAlone) {
  ScratchDir scratch("run-usr1-never");
  ChildProcess run(run_args({"--grace", "20"}, fake(scratch.path(), {"--never-ready", "--poll-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(30s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_TRUE(seen_notice(scratch.path(), 0)) << context(run, scratch.path());
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGUSR1))) << context(run, scratch.path());
}

// A job that takes the notice from the file and has no SIGUSR1 handler
// (mpirun as it exits) must never get SIGUSR1, ready marker or not.
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
// is not needed: lull run does not send it, even once the ranks are ready.
TEST(LullRunNoticeSignal, IsNotSentOnceEveryRankHasTakenTheNotice) {
  ScratchDir scratch("run-usr1-acked");
  ChildProcess run(run_args({"--grace", "20"}, fake(scratch.path(), {"--poll-notice", "--acknowledge", "1", "--step",
                                                                      "12", "--ready-after-ms", "1000",
                                                                      "--checkpoint-ms", "2500"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "acknowledged "), "0 of 1 at 12") << context(run, scratch.path());
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGUSR1)))
      << "SIGUSR1 sent after every rank had taken the notice\n" << context(run, scratch.path());
  EXPECT_NE(run.err().find("every rank (1) has taken the notice from the file: no SIGUSR1 sent"), std::string::npos)
      << run.err();
}

// ---- --notice-signal: the signal that suits the launcher, or none -----------------

TEST(LullRunNoticeSignal, NoneSendsNoSignalTheFileCarriesTheNotice) {
  ScratchDir scratch("run-signal-none");
  ChildProcess run(run_args({"--grace", "20", "--notice-signal", "none"}, fake(scratch.path(), {"--poll-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_TRUE(seen_notice(scratch.path(), 0)) << context(run, scratch.path());
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGUSR1))) << context(run, scratch.path());
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGTERM))) << context(run, scratch.path());
  EXPECT_NE(run.err().find("no signal, --notice-signal none"), std::string::npos) << run.err();
}

TEST(LullRunNoticeSignal, TermIsSentInsteadAndTheRanksAreToldItIsTheNotice) {
  ScratchDir scratch("run-signal-term");
  ChildProcess run(run_args({"--grace", "20", "--notice-signal", "sigterm"}, fake(scratch.path(), {"--term-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_TRUE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGTERM))) << context(run, scratch.path());
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGUSR1))) << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_NOTICE_SIGNALS="), "USR1,TERM") << context(run, scratch.path());
  EXPECT_NE(run.err().find("SIGTERM sent to pid"), std::string::npos) << run.err();
}

TEST(LullRunNoticeSignal, AnUnknownSignalIsACommandLineError) {
  ScratchDir scratch("run-signal-bad");
  ChildProcess run(run_args({"--notice-signal", "KILL"}, fake(scratch.path())));
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 2) << describe_status(status) << "\n" << run.err();
  EXPECT_NE(run.err().find("notice signal \"KILL\" is not one of USR1, TERM, none"), std::string::npos) << run.err();
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

// ---- a launcher like torchrun ------------------------------------------------------
//
// torchrun_like.py starts two workers as torchrun does (RANK, WORLD_SIZE,
// ...), forwards SIGTERM to them, dies of SIGUSR1 and reports workers that
// exited 75 as a failure (exit 1). Whatever --notice-signal says, the
// preempted job ends 75: the ranks acknowledged the notice and committed.
TEST(LullRunTorchrunStyle, APreemptedJobExits75WhateverTheNoticeSignal) {
  for (const std::string signal : {"TERM", "none", "USR1"}) {
    SCOPED_TRACE("--notice-signal " + signal);
    ScratchDir scratch("run-torchrun");
    const fs::path ckpt = scratch.path() / "ckpt";
    ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "20", "--notice-signal", signal},
                              {LULL_TEST_PYTHON, TORCHRUN_LIKE, "--nproc", "2", "--", kFakeRank, "--report",
                               scratch.path().string(), "--poll-notice", "--term-notice", "--acknowledge", "2",
                               "--step", "7", "--commit-step", "7", "--checkpoint-ms", "300"}));
    ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 20s)) << context(run, scratch.path());
    ASSERT_TRUE(run.wait_for_stdout("ready rank=1", 20s)) << context(run, scratch.path());
    run.kill(SIGTERM);
    const int status = run.wait(30s);
    EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
    EXPECT_NE(run.err().find("torchrun_like: workers exited [75, 75]"), std::string::npos) << run.err();
    EXPECT_NE(run.err().find("after every rank (2) had taken the notice; resumable from snapshot step 7"),
              std::string::npos)
        << run.err();
    for (int rank = 0; rank < 2; ++rank) {
      EXPECT_EQ(report_value(scratch.path(), rank, "exit "), "75") << report_text(scratch.path(), rank);
      EXPECT_FALSE(report_value(scratch.path(), rank, "signal " + std::to_string(SIGUSR1)))
          << report_text(scratch.path(), rank);
    }
  }
}

}  // namespace
}  // namespace lull::test
