// The pure parts of `lull run`: exit-code rules, the environment handed to
// the ranks, the default job name, the private notice location.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "lull/base/error.h"
#include "lull/base/notice_file.h"
#include "posix/process_tree.h"
#include "run/notice_location.h"
#include "run/run_environment.h"
#include "run/run_outcome.h"
#include "support/test_process.h"

namespace lull::run {
namespace {

SupervisorOutcome exited(int code, bool escalated = false) {
  SupervisorOutcome o;
  o.wait_status = (code & 0xff) << 8;  // what WEXITSTATUS decodes
  o.notice_sent = escalated;
  o.escalated = escalated;
  EXPECT_TRUE(WIFEXITED(o.wait_status));
  EXPECT_EQ(WEXITSTATUS(o.wait_status), code);
  return o;
}

SupervisorOutcome killed(int signal, bool escalated) {
  SupervisorOutcome o;
  o.wait_status = signal;  // what WTERMSIG decodes
  o.notice_sent = escalated;
  o.escalated = escalated;
  EXPECT_TRUE(WIFSIGNALED(o.wait_status));
  return o;
}

TEST(RunExitCode, FinishedIsZeroEvenAfterANotice) {
  EXPECT_EQ(judge_run(exited(0), std::nullopt, "train").exit_code, 0);
  SupervisorOutcome after_notice = exited(0);
  after_notice.notice_sent = true;
  EXPECT_EQ(judge_run(after_notice, 42, "train").exit_code, 0);
}

TEST(RunExitCode, ChildsOwnCodeIsKept) {
  EXPECT_EQ(judge_run(exited(3), std::nullopt, "train").exit_code, 3);
  // A failure without escalation stays a failure, snapshot or not.
  EXPECT_EQ(judge_run(exited(3), 42, "train").exit_code, 3);
  EXPECT_EQ(judge_run(killed(SIGSEGV, false), 42, "train").exit_code, 128 + SIGSEGV);
}

TEST(RunExitCode, SeventyFiveFromTheChildIsResumable) {
  const RunVerdict v = judge_run(exited(75), std::nullopt, "mpirun");
  EXPECT_EQ(v.exit_code, 75);
  EXPECT_NE(v.meaning.find("preempted"), std::string::npos);
}

TEST(RunExitCode, EscalationIsResumableOnlyWithACommittedSnapshot) {
  EXPECT_EQ(judge_run(killed(SIGKILL, true), std::nullopt, "train").exit_code, 137);
  EXPECT_EQ(judge_run(killed(SIGTERM, true), std::nullopt, "train").exit_code, 143);
  EXPECT_EQ(judge_run(exited(1, true), std::nullopt, "mpirun").exit_code, 1);  // mpirun after SIGTERM
  const RunVerdict v = judge_run(killed(SIGKILL, true), 42, "train");
  EXPECT_EQ(v.exit_code, 75);
  EXPECT_NE(v.meaning.find("step 42"), std::string::npos) << v.meaning;
  EXPECT_EQ(judge_run(exited(1, true), 42, "mpirun").exit_code, 75);
}

// The notice's own SIGUSR1 killed COMMAND (mpirun, as it exited).
SupervisorOutcome killed_by_the_notice_signal(NoticeAcknowledgements taken) {
  SupervisorOutcome o = killed(SIGUSR1, false);
  o.notice_sent = true;
  o.notice_signalled = true;
  o.notice_taken = taken;
  return o;
}

TEST(RunExitCode, KilledByTheNoticeSignalAfterTheRanksStoppedIsResumable) {
  const SupervisorOutcome everyone = killed_by_the_notice_signal({4, 4, 269});
  EXPECT_TRUE(judged_by_snapshot(everyone));
  RunVerdict v = judge_run(everyone, 269, "mpirun");
  EXPECT_EQ(v.exit_code, 75);
  EXPECT_EQ(v.meaning,
            "preempted; mpirun was killed by SIGUSR1, the notice's own signal, after every rank (4) had taken the "
            "notice; resumable from snapshot step 269");
  // Every rank stopped on the previous snapshot (no time for a new one).
  EXPECT_EQ(judge_run(everyone, 200, "mpirun").exit_code, 75);
  // Some acknowledgements seen (others on a node whose writes are not
  // visible yet), and a snapshot at or after the step they took it at.
  const SupervisorOutcome some = killed_by_the_notice_signal({4, 1, 269});
  v = judge_run(some, 269, "mpirun");
  EXPECT_EQ(v.exit_code, 75);
  EXPECT_NE(v.meaning.find("1 of 4 rank(s) had taken the notice at step 269"), std::string::npos) << v.meaning;
}

TEST(RunExitCode, KilledByTheNoticeSignalWithoutProofOfACleanStopIsAFailure) {
  // A snapshot older than the step the notice was taken at, and not every rank.
  RunVerdict v = judge_run(killed_by_the_notice_signal({4, 1, 269}), 200, "mpirun");
  EXPECT_EQ(v.exit_code, 128 + SIGUSR1);
  EXPECT_EQ(v.meaning,
            "failed: mpirun was killed by SIGUSR1, the notice's own signal, and no rank acknowledged the notice at or "
            "before snapshot step 200, the newest committed one");
  // No acknowledgement at all.
  EXPECT_EQ(judge_run(killed_by_the_notice_signal({}), 200, "mpirun").exit_code, 128 + SIGUSR1);
  // No snapshot.
  v = judge_run(killed_by_the_notice_signal({4, 4, 269}), std::nullopt, "mpirun");
  EXPECT_EQ(v.exit_code, 128 + SIGUSR1);
  EXPECT_NE(v.meaning.find("no committed snapshot"), std::string::npos) << v.meaning;
  // A SIGUSR1 that was not lull run's notice (forwarded from someone else).
  SupervisorOutcome forwarded = killed_by_the_notice_signal({4, 4, 269});
  forwarded.notice_signalled = false;
  EXPECT_FALSE(judged_by_snapshot(forwarded));
  EXPECT_EQ(judge_run(forwarded, 269, "mpirun").exit_code, 128 + SIGUSR1);
  // Another signal after the notice.
  SupervisorOutcome segv = killed_by_the_notice_signal({4, 4, 269});
  segv.wait_status = SIGSEGV;
  EXPECT_FALSE(judged_by_snapshot(segv));
  EXPECT_EQ(judge_run(segv, 269, "mpirun").exit_code, 128 + SIGSEGV);
}

// torchrun reports workers that exited 75 as a failure (exit 1): after
// the ranks took the notice and committed, the job is still resumable.
TEST(RunExitCode, ALauncherFailingAfterTheRanksStoppedForTheNoticeIsResumable) {
  SupervisorOutcome torchrun = exited(1);
  torchrun.notice_sent = true;
  torchrun.notice_signal = SIGTERM;
  torchrun.notice_taken = {2, 2, 7};
  EXPECT_TRUE(judged_by_snapshot(torchrun));
  RunVerdict v = judge_run(torchrun, 7, "torchrun");
  EXPECT_EQ(v.exit_code, 75);
  EXPECT_EQ(v.meaning,
            "preempted; torchrun exited with 1 after every rank (2) had taken the notice; resumable from snapshot "
            "step 7");
  // No snapshot, or none at or after the step the one rank seen took it at: a failure.
  EXPECT_EQ(judge_run(torchrun, std::nullopt, "torchrun").exit_code, 1);
  torchrun.notice_taken = {2, 1, 7};
  EXPECT_EQ(judge_run(torchrun, 5, "torchrun").exit_code, 1);
  // No rank took the notice: the launcher's failure is the job's.
  torchrun.notice_taken = {};
  EXPECT_FALSE(judged_by_snapshot(torchrun));
  EXPECT_EQ(judge_run(torchrun, 7, "torchrun").exit_code, 1);
  // Killed by the notice signal it was sent (SIGTERM here), after every rank took the notice.
  SupervisorOutcome term = killed(SIGTERM, false);
  term.notice_sent = true;
  term.notice_signalled = true;
  term.notice_signal = SIGTERM;
  term.notice_taken = {2, 2, 7};
  EXPECT_EQ(judge_run(term, 7, "launcher").exit_code, 75);
}

TEST(RunExitCode, ExecFailures) {
  SupervisorOutcome missing;
  missing.exec_error = ENOENT;
  const RunVerdict v = judge_run(missing, std::nullopt, "./trian");
  EXPECT_EQ(v.exit_code, 127);
  EXPECT_EQ(v.meaning, "cannot execute ./trian: No such file or directory");
  SupervisorOutcome denied;
  denied.exec_error = EACCES;
  EXPECT_EQ(judge_run(denied, std::nullopt, "./train").exit_code, 126);
}

TEST(RunEnvironment, DefaultJobName) {
  EXPECT_EQ(default_job_name(std::nullopt), "job");
  EXPECT_EQ(default_job_name(std::filesystem::path("/ckpt/resnet")), "resnet");
  EXPECT_EQ(default_job_name(std::filesystem::path("/ckpt/resnet/")), "resnet");
  EXPECT_EQ(default_job_name(std::filesystem::path("/")), "job");
}

TEST(RunEnvironment, OursReplaceInheritedOthersPassThrough) {
  RunSettings s;
  s.job = "llm";
  s.ckpt_dir = "/ckpt/llm";
  s.grace_seconds = 12.5;
  s.every_steps = 100;
  const char* inherited[] = {"PATH=/usr/bin", "LULL_JOB=stale", "LULL_EVERY_SECONDS=9", "X=a=b", nullptr};
  const auto env = child_environment(s, "/ckpt/llm/.lull-run-abc/notice.json", inherited);
  auto has = [&](const std::string& entry) { return std::find(env.begin(), env.end(), entry) != env.end(); };
  EXPECT_TRUE(has("PATH=/usr/bin"));
  EXPECT_TRUE(has("X=a=b"));
  EXPECT_TRUE(has("LULL_JOB=llm"));
  EXPECT_FALSE(has("LULL_JOB=stale"));
  EXPECT_TRUE(has("LULL_CKPT_DIR=/ckpt/llm"));
  EXPECT_TRUE(has("LULL_GRACE_SECONDS=12.5"));
  EXPECT_TRUE(has("LULL_EVERY_STEPS=100"));
  EXPECT_TRUE(has("LULL_EVERY_SECONDS=9"));  // not set by lull run: the inherited one stays
  EXPECT_TRUE(has("LULL_NOTICE_FILE=/ckpt/llm/.lull-run-abc/notice.json"));
  const auto is_job = [](const std::string& e) { return e.rfind("LULL_JOB=", 0) == 0; };
  EXPECT_EQ(std::count_if(env.begin(), env.end(), is_job), 1);
}

TEST(RunEnvironment, MpirunSigkillDelayDefaultsToZeroUnlessTheUserSetIt) {
  RunSettings s;
  s.job = "llm";
  const char* plain[] = {"PATH=/usr/bin", nullptr};
  auto env = child_environment(s, "/n.json", plain);
  EXPECT_NE(std::find(env.begin(), env.end(), "OMPI_MCA_odls_base_sigkill_timeout=0"), env.end());
  const char* user_set[] = {"OMPI_MCA_odls_base_sigkill_timeout=3", nullptr};
  env = child_environment(s, "/n.json", user_set);
  EXPECT_NE(std::find(env.begin(), env.end(), "OMPI_MCA_odls_base_sigkill_timeout=3"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "OMPI_MCA_odls_base_sigkill_timeout=0"), env.end());
}

TEST(RunEnvironment, NoticeSignalNamesAndWhatTheRanksAreTold) {
  EXPECT_EQ(parse_notice_signal("USR1"), SIGUSR1);
  EXPECT_EQ(parse_notice_signal("sigusr1"), SIGUSR1);
  EXPECT_EQ(parse_notice_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_notice_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_notice_signal("none"), 0);
  for (const char* bad : {"KILL", "", "USR2", "15", "SIG"}) {
    EXPECT_THROW(parse_notice_signal(bad), Error) << bad;
  }
  RunSettings s;
  s.job = "llm";
  const char* plain[] = {"PATH=/usr/bin", nullptr};
  auto env = child_environment(s, "/n.json", plain);
  EXPECT_EQ(std::find_if(env.begin(), env.end(), [](const std::string& e) { return e.rfind("LULL_NOTICE_SIGNALS=", 0) == 0; }),
            env.end());
  s.notice_signal = SIGTERM;
  env = child_environment(s, "/n.json", plain);
  EXPECT_NE(std::find(env.begin(), env.end(), "LULL_NOTICE_SIGNALS=USR1,TERM"), env.end());
  const char* user_set[] = {"LULL_NOTICE_SIGNALS=TERM", nullptr};
  env = child_environment(s, "/n.json", user_set);
  EXPECT_NE(std::find(env.begin(), env.end(), "LULL_NOTICE_SIGNALS=TERM"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "LULL_NOTICE_SIGNALS=USR1,TERM"), env.end());
}

TEST(RunEnvironment, SnapshotDirectoryIsMadeAbsoluteAndPrivate) {
  test::ScratchDir scratch("run-env");
  RunSettings s;
  s.job = "j";
  s.ckpt_dir = scratch.path() / "a" / "b" / ".." / "job";
  prepare_run_settings(s);
  EXPECT_EQ(*s.ckpt_dir, scratch.path() / "a" / "job");
  s.ckpt_dir = (scratch.path() / "a" / "job").string() + "/";
  prepare_run_settings(s);
  EXPECT_EQ(s.ckpt_dir->string(), (scratch.path() / "a" / "job").string()) << "no trailing slash";
  struct stat st {};
  ASSERT_EQ(::stat(s.ckpt_dir->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  std::filesystem::create_directory(scratch.path() / "open");
  std::filesystem::permissions(scratch.path() / "open", std::filesystem::perms::all);
  s.ckpt_dir = scratch.path() / "open";
  EXPECT_THROW(prepare_run_settings(s), Error);
  s.ckpt_dir = scratch.path() / "a" / "job";
  s.job = "../up";
  EXPECT_THROW(prepare_run_settings(s), Error);
}

TEST(NoticeLocation, FreshPrivateAndRemoved) {
  test::ScratchDir scratch("run-notice");
  std::filesystem::path first_dir;
  {
    NoticeLocation first(scratch.path());
    NoticeLocation second(scratch.path());
    first_dir = first.dir();
    EXPECT_NE(first.file(), second.file());
    EXPECT_EQ(first.dir().parent_path(), scratch.path());
    EXPECT_FALSE(std::filesystem::exists(first.file()));
    struct stat st {};
    ASSERT_EQ(::stat(first.dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    PreemptionNotice notice;
    notice.deadline_unix = 1;
    write_notice_file(first.file(), notice);
  }
  EXPECT_FALSE(std::filesystem::exists(first_dir));
  EXPECT_TRUE(std::filesystem::is_empty(scratch.path()));
}

// ---- what lull run reads from /proc before it signals ----

TEST(ProcessTree, TakesDefaultActionReadsTheHandlerAndIgnoreMasks) {
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGUSR2, nullptr, &old), 0);
  struct sigaction with_default {};
  with_default.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGUSR2, &with_default, nullptr), 0);
  EXPECT_TRUE(posix::takes_default_action(::getpid(), SIGUSR2));
  struct sigaction handled {};
  handled.sa_handler = [](int) {};
  ASSERT_EQ(::sigaction(SIGUSR2, &handled, nullptr), 0);
  EXPECT_FALSE(posix::takes_default_action(::getpid(), SIGUSR2));
  struct sigaction ignored {};
  ignored.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR2, &ignored, nullptr), 0);
  EXPECT_FALSE(posix::takes_default_action(::getpid(), SIGUSR2));
  ASSERT_EQ(::sigaction(SIGUSR2, &old, nullptr), 0);
  EXPECT_FALSE(posix::takes_default_action(-5, SIGUSR2)) << "a process that is gone takes nothing";
  EXPECT_FALSE(posix::takes_default_action(::getpid(), 0));
  EXPECT_FALSE(posix::takes_default_action(::getpid(), 65));
}

// ---- acknowledgements beside the notice file ----

TEST(NoticeAcknowledgements, CountDistinctRanksOfOneWorld) {
  test::ScratchDir scratch("run-ack");
  const std::filesystem::path notice = scratch.path() / "notice.json";
  EXPECT_FALSE(read_notice_acknowledgements(notice).from_every_rank());
  EXPECT_EQ(read_notice_acknowledgements(notice).world_size, 0);
  acknowledge_notice(notice, {2, 4, 269});
  acknowledge_notice(notice, {2, 4, 269});  // again: still one rank
  acknowledge_notice(notice, {0, 4, 268});
  NoticeAcknowledgements taken = read_notice_acknowledgements(notice);
  EXPECT_EQ(taken.world_size, 4);
  EXPECT_EQ(taken.ranks, 2);
  EXPECT_EQ(taken.first_step, 268u);
  EXPECT_FALSE(taken.from_every_rank());
  EXPECT_TRUE(std::filesystem::exists(scratch.path() / "notice.json.taken-2-of-4-at-269"));
  acknowledge_notice(notice, {1, 4, 269});
  acknowledge_notice(notice, {3, 4, 269});
  EXPECT_TRUE(read_notice_acknowledgements(notice).from_every_rank());
  // Another notice file's acknowledgements are not this one's.
  EXPECT_EQ(read_notice_acknowledgements(scratch.path() / "other.json").ranks, 0);
}

TEST(NoticeAcknowledgements, MalformedNamesAndOutOfRangeRanksAreIgnoredOrRefused) {
  test::ScratchDir scratch("run-ack-bad");
  const std::filesystem::path notice = scratch.path() / "notice.json";
  for (const char* name : {"notice.json.taken-4-of-4-at-1", "notice.json.taken--1-of-4-at-1",
                           "notice.json.taken-0-of-0-at-1", "notice.json.taken-0-of-1-at-", "notice.json.taken-0-of-1",
                           "notice.json.taken-0-of-1-at-1x", "notice.json.taken-99999999999-of-1-at-1",
                           "notice.json.taken-0-of-1-at-99999999999999999999999", "notice.jsontaken-0-of-1-at-1"}) {
    std::ofstream(scratch.path() / name) << "";
  }
  EXPECT_EQ(read_notice_acknowledgements(notice).ranks, 0);
  EXPECT_THROW(acknowledge_notice(notice, {4, 4, 1}), Error);
  EXPECT_THROW(acknowledge_notice(notice, {-1, 4, 1}), Error);
  EXPECT_THROW(acknowledge_notice(notice, {0, 0, 1}), Error);
  // Ranks reporting other world sizes: only the largest counts.
  acknowledge_notice(notice, {0, 1, 5});
  acknowledge_notice(notice, {0, 2, 5});
  const NoticeAcknowledgements taken = read_notice_acknowledgements(notice);
  EXPECT_EQ(taken.world_size, 2);
  EXPECT_EQ(taken.ranks, 1);
  EXPECT_FALSE(taken.from_every_rank());
  // A directory that cannot be listed has none.
  EXPECT_EQ(read_notice_acknowledgements("/nonexistent/notice.json").ranks, 0);
}

// ---- ready markers beside the notice file ----

TEST(NoticeReadiness, CountDistinctReadyRanksOfOneWorld) {
  test::ScratchDir scratch("run-ready");
  const std::filesystem::path notice = scratch.path() / "notice.json";
  EXPECT_FALSE(read_notice_readiness(notice).from_every_rank());
  EXPECT_EQ(read_notice_readiness(notice).world_size, 0);
  mark_ready_for_notice(notice, 1, 2);
  mark_ready_for_notice(notice, 1, 2);  // again: still one rank
  EXPECT_TRUE(std::filesystem::exists(scratch.path() / "notice.json.ready-1-of-2"));
  NoticeReadiness ready = read_notice_readiness(notice);
  EXPECT_EQ(ready.world_size, 2);
  EXPECT_EQ(ready.ranks, 1);
  EXPECT_FALSE(ready.from_every_rank());
  // Acknowledgements are not ready markers, nor the other way round.
  acknowledge_notice(notice, {0, 2, 3});
  EXPECT_FALSE(read_notice_readiness(notice).from_every_rank());
  EXPECT_EQ(read_notice_acknowledgements(notice).ranks, 1);
  mark_ready_for_notice(notice, 0, 2);
  EXPECT_TRUE(read_notice_readiness(notice).from_every_rank());
  EXPECT_EQ(read_notice_readiness(scratch.path() / "other.json").ranks, 0);
}

TEST(NoticeReadiness, MalformedNamesAndOutOfRangeRanksAreIgnoredOrRefused) {
  test::ScratchDir scratch("run-ready-bad");
  const std::filesystem::path notice = scratch.path() / "notice.json";
  for (const char* name : {"notice.json.ready-2-of-2", "notice.json.ready--1-of-2", "notice.json.ready-0-of-0",
                           "notice.json.ready-0-of-1-at-3", "notice.json.ready-0-of-", "notice.json.ready-0-of-1x",
                           "notice.json.ready-99999999999-of-1", "notice.jsonready-0-of-1"}) {
    std::ofstream(scratch.path() / name) << "";
  }
  EXPECT_EQ(read_notice_readiness(notice).ranks, 0);
  EXPECT_THROW(mark_ready_for_notice(notice, 2, 2), Error);
  EXPECT_THROW(mark_ready_for_notice(notice, -1, 2), Error);
  EXPECT_THROW(mark_ready_for_notice(notice, 0, 0), Error);
  EXPECT_EQ(read_notice_readiness("/nonexistent/notice.json").ranks, 0);
}

}  // namespace
}  // namespace lull::run
