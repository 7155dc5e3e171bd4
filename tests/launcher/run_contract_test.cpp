// The pure parts of `lull run`: exit-code rules, the environment handed to
// the ranks, the default job name, the private notice location.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <gtest/gtest.h>

#include "lull/base/error.h"
#include "lull/base/notice_file.h"
#include "notice_location.h"
#include "run_environment.h"
#include "run_outcome.h"
#include "support/test_process.h"

namespace lull::cli {
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

}  // namespace
}  // namespace lull::cli
