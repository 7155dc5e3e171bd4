// `lull run`'s exit codes without signals, the settings it hands the job
// through the environment, a fresh notice file per run, and its errors.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lull_run_harness.h"

namespace lull::test {
namespace {

// ---- exit codes without signals -------------------------------------------------

TEST(LullRun, ExitCodesOfTheChildPassThrough) {
  for (const auto& [flags, expected] : std::vector<std::pair<std::vector<std::string>, int>>{
           {{"--exit", "0"}, 0}, {{"--exit", "3"}, 3}, {{"--exit", "75"}, 75}, {{"--raise", "14"}, 128 + 14}}) {
    ScratchDir scratch("run-exit");
    ChildProcess run(run_args({}, fake(scratch.path(), flags)));
    const int status = run.wait(20s);
    EXPECT_EQ(exit_code(status), expected) << describe_status(status) << "\n" << context(run, scratch.path());
  }
}

// ---- environment and notice file -------------------------------------------------

TEST(LullRun, SettingsReachTheCommandThroughTheEnvironment) {
  ScratchDir scratch("run-env");
  const fs::path ckpt = scratch.path() / "jobs" / "resnet";
  ChildProcess run(run_args({"--ckpt-dir", (scratch.path() / "jobs" / "x" / ".." / "resnet/").string(), "--grace",
                             "12.5", "--every-steps", "7", "--every-seconds", "2.5"},
                            fake(scratch.path(), {"--exit", "0"})));
  ASSERT_EQ(exit_code(run.wait(20s)), 0) << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_JOB="), "resnet");  // the directory's name
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_CKPT_DIR="), ckpt.string());
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_GRACE_SECONDS="), "12.5");
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_EVERY_STEPS="), "7");
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_EVERY_SECONDS="), "2.5");
  const auto notice = report_value(scratch.path(), 0, "env LULL_NOTICE_FILE=");
  ASSERT_TRUE(notice);
  EXPECT_EQ(fs::path(*notice).parent_path().parent_path(), ckpt);
  EXPECT_EQ(fs::path(*notice).filename(), "notice.json");
  struct stat st {};
  ASSERT_EQ(::stat(ckpt.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "the snapshot directory must be created private";
  EXPECT_TRUE(leaves_no_notice_directory(ckpt));
}

TEST(LullRun, SettingsComeFromLullRunsOwnEnvironmentWhenNotGiven) {
  ScratchDir scratch("run-env-inherited");
  const fs::path ckpt = scratch.path() / "ckpt";
  ChildProcess run({"/usr/bin/env", "LULL_JOB=from-env", "LULL_CKPT_DIR=" + ckpt.string(), "LULL_GRACE_SECONDS=4",
                    kLull, "run", "--", kFakeRank, "--report", scratch.path().string(), "--exit", "0"});
  ASSERT_EQ(exit_code(run.wait(20s)), 0) << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_JOB="), "from-env");
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_CKPT_DIR="), ckpt.string());
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_GRACE_SECONDS="), "4");
  EXPECT_TRUE(fs::is_directory(ckpt));
}

TEST(LullRun, EveryRunHasAFreshNoticeFileNoStaleOneIsSeen) {
  ScratchDir scratch("run-stale");
  const fs::path ckpt = scratch.path() / "ckpt";
  fs::create_directories(ckpt);
  fs::permissions(ckpt, fs::perms::owner_all, fs::perm_options::replace);
  // What a lull run killed with SIGKILL would leave behind: a notice whose
  // deadline has long passed. No later run may ever read it.
  const fs::path stale = ckpt / ".lull-run-STALE0" / "notice.json";
  fs::create_directories(stale.parent_path());
  std::ofstream(stale) << R"({"deadline_unix": 1, "grace_seconds": 1})";
  std::vector<std::string> paths;
  for (int i = 0; i < 2; ++i) {
    const fs::path reports = scratch.path() / ("r" + std::to_string(i));
    fs::create_directories(reports);
    ChildProcess run(run_args({"--ckpt-dir", ckpt.string()}, fake(reports)));
    ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, reports);
    EXPECT_EQ(report_value(reports, 0, "notice_file_at_start "), "absent") << "run " << i;
    paths.push_back(report_value(reports, 0, "env LULL_NOTICE_FILE=").value_or(""));
    EXPECT_NE(paths.back(), stale.string());
    run.kill(SIGTERM);
    EXPECT_EQ(exit_code(run.wait(20s)), 75) << context(run, reports);
    const auto notice = seen_notice(reports, 0);
    ASSERT_TRUE(notice) << context(run, reports);
    EXPECT_GT(notice->deadline, unix_now()) << "a stale notice was read";
    EXPECT_FALSE(fs::exists(fs::path(paths.back()).parent_path())) << "the run's notice directory was left behind";
  }
  EXPECT_NE(paths[0], paths[1]);
  EXPECT_TRUE(fs::exists(stale)) << "lull run removes only its own notice directory";
}

// ---- errors -------------------------------------------------------------------

TEST(LullRun, MissingProgramExits127WithAClearMessage) {
  {
    ChildProcess run({kLull, "run", "--", "/nonexistent/train", "--steps", "5"});
    EXPECT_EQ(exit_code(run.wait(20s)), 127) << run.err();
    EXPECT_NE(run.err().find("lull run: cannot execute /nonexistent/train: No such file or directory"),
              std::string::npos)
        << run.err();
  }
  {
    ChildProcess run({kLull, "run", "lull-no-such-program-xyz"});  // looked up in PATH, no "--"
    EXPECT_EQ(exit_code(run.wait(20s)), 127) << run.err();
    EXPECT_NE(run.err().find("lull run: cannot execute lull-no-such-program-xyz: No such file or directory"),
              std::string::npos)
        << run.err();
  }
  {
    ScratchDir scratch("run-noexec");
    const fs::path script = scratch.path() / "train.sh";
    std::ofstream(script) << "#!/bin/sh\nexit 0\n";
    fs::permissions(script, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    ChildProcess run({kLull, "run", "--", script.string()});
    EXPECT_EQ(exit_code(run.wait(20s)), 126) << run.err();
    EXPECT_NE(run.err().find("lull run: cannot execute " + script.string() + ": Permission denied"), std::string::npos)
        << run.err();
  }
}

TEST(LullRun, BadJobNameIsACommandLineError) {
  ChildProcess run({kLull, "run", "--job", "a/b", "--", "/bin/true"});
  EXPECT_EQ(exit_code(run.wait(20s)), 2) << run.err();
  EXPECT_NE(run.err().find("job name \"a/b\""), std::string::npos) << run.err();
  ChildProcess from_env({"/usr/bin/env", "LULL_JOB=..", kLull, "run", "--", "/bin/true"});
  EXPECT_EQ(exit_code(from_env.wait(20s)), 2) << from_env.err();
  EXPECT_NE(from_env.err().find("job name"), std::string::npos) << from_env.err();
}

TEST(LullRun, EverySecondsTakesAutoAndRefusesOtherWords) {
  ScratchDir scratch("run-every-auto");
  ChildProcess run(run_args({"--ckpt-dir", (scratch.path() / "ckpt").string(), "--every-seconds", "auto"},
                            fake(scratch.path(), {"--exit", "0"})));
  ASSERT_EQ(exit_code(run.wait(20s)), 0) << context(run, scratch.path());
  EXPECT_EQ(report_value(scratch.path(), 0, "env LULL_EVERY_SECONDS="), "auto");
  for (const char* bad : {"sometimes", "-1", "1e999"}) {
    ChildProcess refused({kLull, "run", "--every-seconds", bad, "--", "/bin/true"});
    EXPECT_EQ(exit_code(refused.wait(20s)), 2) << refused.err();
    EXPECT_NE(refused.err().find("--every-seconds \"" + std::string(bad) + "\" is not a number of seconds >= 0 or auto"),
              std::string::npos)
        << refused.err();
  }
}

TEST(LullRun, WorldWritableSnapshotDirectoryIsRefused) {
  ScratchDir scratch("run-open");
  const fs::path ckpt = scratch.path() / "ckpt";
  fs::create_directories(ckpt);
  fs::permissions(ckpt, fs::perms::all, fs::perm_options::replace);
  ChildProcess run({kLull, "run", "--ckpt-dir", ckpt.string(), "--", "/bin/true"});
  EXPECT_EQ(exit_code(run.wait(20s)), 1) << run.err();
  EXPECT_NE(run.err().find("world-writable"), std::string::npos) << run.err();
}

TEST(LullRun, MissingCommandIsACommandLineError) {
  ChildProcess run({kLull, "run", "--grace", "5"});
  EXPECT_EQ(exit_code(run.wait(20s)), 2) << run.err();
  EXPECT_NE(run.err().find("COMMAND"), std::string::npos) << run.err();
}

}  // namespace
}  // namespace lull::test
