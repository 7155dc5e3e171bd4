// `lull run` escalating a notice the job ignores (SIGTERM, then SIGKILL at
// the deadline) and judging how the job ended from its snapshots; repeated
// requests; signals it forwards as they are.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "lull_run_harness.h"

namespace lull::test {
namespace {

// ---- escalation -----------------------------------------------------------------

// lull run with half a second of grace over a job that ignores the notice,
// sent SIGTERM once the job is up: how it ended and what it said.
struct Escalated {
  int status = -1;
  std::string err;
  std::string explained;  // the status and the run's context, for a failure message
};

Escalated escalate_a_job_ignoring_the_notice(const fs::path& ckpt, const fs::path& reports) {
  ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "0.5"}, fake(reports, {"--ignore-notice"})));
  EXPECT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, reports);
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  return {status, run.err(), describe_status(status) + "\n" + context(run, reports)};
}

TEST(LullRun, IgnoredNoticeEscalatesSigtermThenSigkillAndLeavesNothingBehind) {
  ScratchDir scratch("run-escalate");
  ChildProcess run(run_args({"--grace", "1", "--kill-after", "1"},
                            fake(scratch.path(), {"--ignore-notice", "--ignore-term", "--spawn-orphan"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  const pid_t rank = ready_pid(run.out(), 0);
  const auto orphan_text = report_value(scratch.path(), 0, "orphan ");
  ASSERT_TRUE(orphan_text) << context(run, scratch.path());
  const pid_t orphan = static_cast<pid_t>(std::stoi(*orphan_text));
  ASSERT_TRUE(process_exists(orphan));

  const auto start = Clock::now();
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  const double took = seconds_since(start);
  // Killed by the SIGKILL, no snapshot: 128 + 9.
  EXPECT_EQ(exit_code(status), 128 + SIGKILL) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_GE(took, 1.9) << "escalated before grace + kill-after";
  // Slack for a loaded machine, yet below the 6 s the default --kill-after would take.
  EXPECT_LT(took, 5.5) << "escalation too late";
  EXPECT_TRUE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGTERM)))
      << "the escalation's SIGTERM never reached the rank\n" << context(run, scratch.path());
  EXPECT_FALSE(process_group_exists(rank)) << "the job's process group survived lull run";
  EXPECT_FALSE(process_exists(orphan)) << "a process that left the group survived lull run";
  EXPECT_NE(run.err().find("grace period over: SIGTERM"), std::string::npos) << run.err();
  EXPECT_NE(run.err().find("SIGKILL to the job"), std::string::npos) << run.err();
  EXPECT_NE(run.err().find("no committed snapshot"), std::string::npos) << run.err();
}

TEST(LullRun, EscalationWithoutSnapshotGivesTheChildsSignalCode) {
  ScratchDir scratch("run-escalate-nosnap");
  const fs::path ckpt = scratch.path() / "ckpt";
  const Escalated run = escalate_a_job_ignoring_the_notice(ckpt, scratch.path());
  EXPECT_EQ(exit_code(run.status), 128 + SIGTERM) << run.explained;
}

TEST(LullRun, EscalationWithACommittedSnapshotIsResumable) {
  ScratchDir scratch("run-escalate-snap");
  const fs::path ckpt = scratch.path() / "ckpt";
  commit_snapshot_of_step(ckpt, 7, "ckpt");  // lull run's job: the directory's name
  const Escalated run = escalate_a_job_ignoring_the_notice(ckpt, scratch.path());
  EXPECT_EQ(exit_code(run.status), 75) << run.explained;
  EXPECT_NE(run.err.find("resumable from snapshot step 7"), std::string::npos) << run.err;
}

TEST(LullRun, EscalationWithATornSnapshotDirectoryIsNotResumable) {
  ScratchDir scratch("run-escalate-torn");
  const fs::path ckpt = scratch.path() / "ckpt";
  fs::create_directories(ckpt / "step-000000000007");  // a name, not a snapshot
  fs::permissions(ckpt, fs::perms::owner_all, fs::perm_options::replace);
  const Escalated run = escalate_a_job_ignoring_the_notice(ckpt, scratch.path());
  EXPECT_EQ(exit_code(run.status), 128 + SIGTERM) << run.explained;
}

// A FIFO planted where the newest snapshot's root file should be: judging
// the escalated job, lull run must not open it (it used to block there for
// ever, deaf to SIGTERM) and must pass over it to the snapshot before.
TEST(LullRun, EscalationWithAFifoInTheSnapshotDirectoryEndsPromptly) {
  for (const bool older_snapshot : {true, false}) {
    SCOPED_TRACE(older_snapshot ? "with an older snapshot" : "with nothing else");
    ScratchDir scratch("run-escalate-fifo");
    const fs::path ckpt = scratch.path() / "ckpt";
    if (older_snapshot) commit_snapshot_of_step(ckpt, 7, "ckpt");
    fs::create_directories(ckpt / "step-000000000009");
    fs::permissions(ckpt, fs::perms::owner_all, fs::perm_options::replace);
    ASSERT_EQ(::mkfifo((ckpt / "step-000000000009" / "root.h5").c_str(), 0600), 0);
    ChildProcess run(run_args({"--ckpt-dir", ckpt.string(), "--grace", "0.5", "--kill-after", "1"},
                              fake(scratch.path(), {"--ignore-notice"})));
    ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
    const auto signalled = Clock::now();
    run.kill(SIGTERM);
    const int status = run.wait(30s);
    const double took = std::chrono::duration<double>(Clock::now() - signalled).count();
    EXPECT_LT(took, 15.0) << "lull run took " << took << " s after its job ended\n" << context(run, scratch.path());
    if (older_snapshot) {
      EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
      EXPECT_NE(run.err().find("resumable from snapshot step 7"), std::string::npos) << run.err();
    } else {
      EXPECT_EQ(exit_code(status), 128 + SIGTERM) << describe_status(status) << "\n" << context(run, scratch.path());
    }
    EXPECT_NE(run.err().find("is a FIFO"), std::string::npos) << "the FIFO is not named\n" << run.err();
  }
}

TEST(LullRun, SecondRequestIsLoggedThirdStopsTheJobNow) {
  ScratchDir scratch("run-third");
  ChildProcess run(run_args({"--grace", "30", "--kill-after", "1"}, fake(scratch.path(), {"--ignore-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  const auto start = Clock::now();
  run.kill(SIGTERM);
  ASSERT_TRUE(wait_for_report(scratch.path(), 0, "notice deadline=", 20s)) << context(run, scratch.path());
  run.kill(SIGINT);
  // Standard signals do not queue: let lull run read this one before the next.
  EXPECT_TRUE(run.wait_for_stderr("SIGINT from pid " + std::to_string(::getpid()) + " again", 20s)) << run.err();
  EXPECT_FALSE(report_value(scratch.path(), 0, "signal " + std::to_string(SIGTERM))) << "second request escalated";
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 128 + SIGTERM) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_LT(seconds_since(start), 25.0) << "the third request did not stop the job before the 30 s deadline";
  EXPECT_NE(run.err().find("a third time: stopping the job now"), std::string::npos) << run.err();
}

TEST(LullRun, ForwardsSigusr2AsItIs) {
  ScratchDir scratch("run-usr2");
  ChildProcess run(run_args({}, fake(scratch.path())));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGUSR2);
  EXPECT_TRUE(wait_for_report(scratch.path(), 0, "signal " + std::to_string(SIGUSR2), 20s))
      << context(run, scratch.path());
  EXPECT_FALSE(report_value(scratch.path(), 0, "notice ")) << "SIGUSR2 is not a notice";
  run.kill(SIGTERM);
  EXPECT_EQ(exit_code(run.wait(20s)), 75) << context(run, scratch.path());
}

}  // namespace
}  // namespace lull::test
