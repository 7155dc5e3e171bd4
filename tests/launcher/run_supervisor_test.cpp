// `lull run` as a real process with real signals: the child is fake_rank
// (alone, or two of them under a real mpirun), which reports what it saw to
// a file per rank (see fake_rank.cpp).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lull/checkpoint.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kLull = LULL_BIN;
const std::string kFakeRank = FAKE_RANK;
const std::string kMpirun = LULL_MPIEXEC;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::vector<std::string> report_lines(const fs::path& dir, int rank) {
  std::ifstream in(dir / ("rank-" + std::to_string(rank) + ".txt"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string report_text(const fs::path& dir, int rank) {
  std::string text;
  for (const auto& line : report_lines(dir, rank)) text += "  " + line + "\n";
  return text;
}

// The first line starting with `prefix`, without it.
std::optional<std::string> report_value(const fs::path& dir, int rank, const std::string& prefix) {
  for (const auto& line : report_lines(dir, rank)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return std::nullopt;
}

bool wait_for_report(const fs::path& dir, int rank, const std::string& prefix, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (report_value(dir, rank, prefix)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

struct SeenNotice {
  double deadline = 0;
  double grace = 0;
  double issued = 0;
};

std::optional<SeenNotice> seen_notice(const fs::path& dir, int rank) {
  auto text = report_value(dir, rank, "notice deadline=");
  if (!text) return std::nullopt;
  SeenNotice n;
  if (std::sscanf(text->c_str(), "%lf grace=%lf issued=%lf", &n.deadline, &n.grace, &n.issued) != 3) {
    return std::nullopt;
  }
  return n;
}

// Alive: exists and is not a zombie (whoever adopted it may be slow to reap).
bool process_exists(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z' && text[close + 2] != 'X';
}

bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (process_exists(pid)) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}
bool process_group_exists(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

// "ready rank=R pid=P" on the child's stdout.
pid_t ready_pid(const std::string& out, int rank) {
  const std::string needle = "ready rank=" + std::to_string(rank) + " pid=";
  const auto at = out.find(needle);
  return at == std::string::npos ? -1 : static_cast<pid_t>(std::atoi(out.c_str() + at + needle.size()));
}

std::vector<std::string> run_args(std::vector<std::string> lull_options, std::vector<std::string> command) {
  std::vector<std::string> argv{kLull, "run"};
  argv.insert(argv.end(), lull_options.begin(), lull_options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> fake(const fs::path& report_dir, std::vector<std::string> flags = {}) {
  std::vector<std::string> argv{kFakeRank, "--report", report_dir.string()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

std::string context(const ChildProcess& p, const fs::path& reports) {
  return p.command() + "\n--- stdout\n" + p.out() + "--- stderr\n" + p.err() + "--- rank 0 report\n" +
         report_text(reports, 0);
}

bool leaves_no_notice_directory(const fs::path& ckpt) {
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    if (entry.path().filename().string().rfind(".lull-run-", 0) == 0) return false;
  }
  return true;
}

// A snapshot of job `job`, as its runtime writes it (the job's name in its metadata).
void commit_snapshot_of_step(const fs::path& dir, std::uint64_t step, const std::string& job) {
  SnapshotStore store(dir);
  SnapshotSpec spec;
  spec.tensors.push_back({"weights", DType::f32, Shape{16}, -1});
  SnapshotWriter writer = store.writer(step, 0, 1);
  write_rank(writer, spec, step, 0, 1);
  writer.set_metadata(kJobMetadataKey, job);
  store.commit(step, {writer.finish()});
}

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

// ---- escalation -----------------------------------------------------------------

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
  ChildProcess run(
      run_args({"--ckpt-dir", ckpt.string(), "--grace", "0.5"}, fake(scratch.path(), {"--ignore-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 128 + SIGTERM) << describe_status(status) << "\n" << context(run, scratch.path());
}

TEST(LullRun, EscalationWithACommittedSnapshotIsResumable) {
  ScratchDir scratch("run-escalate-snap");
  const fs::path ckpt = scratch.path() / "ckpt";
  commit_snapshot_of_step(ckpt, 7, "ckpt");  // lull run's job: the directory's name
  ChildProcess run(
      run_args({"--ckpt-dir", ckpt.string(), "--grace", "0.5"}, fake(scratch.path(), {"--ignore-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 75) << describe_status(status) << "\n" << context(run, scratch.path());
  EXPECT_NE(run.err().find("resumable from snapshot step 7"), std::string::npos) << run.err();
}

TEST(LullRun, EscalationWithATornSnapshotDirectoryIsNotResumable) {
  ScratchDir scratch("run-escalate-torn");
  const fs::path ckpt = scratch.path() / "ckpt";
  fs::create_directories(ckpt / "step-000000000007");  // a name, not a snapshot
  fs::permissions(ckpt, fs::perms::owner_all, fs::perm_options::replace);
  ChildProcess run(
      run_args({"--ckpt-dir", ckpt.string(), "--grace", "0.5"}, fake(scratch.path(), {"--ignore-notice"})));
  ASSERT_TRUE(run.wait_for_stdout("ready rank=0", 10s)) << context(run, scratch.path());
  run.kill(SIGTERM);
  const int status = run.wait(20s);
  EXPECT_EQ(exit_code(status), 128 + SIGTERM) << describe_status(status) << "\n" << context(run, scratch.path());
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
// around the moment lull run's held-back SIGUSR1 is due (the job 1.5 s
// old), so that mpirun may be exiting then. Every run must be a clean 75,
// never "mpirun was killed by SIGUSR1": with acknowledgements, and without
// (then only lull run's look at mpirun's handler protects it).
TEST_F(LullRunMpi, RanksExitingAsTheHeldSignalIsDueNeverMakeItAFailure) {
  ::setenv("OMPI_MCA_odls_base_sigkill_timeout", "0", 1);  // lull run's own default: mpirun exits at once
  for (const bool acknowledged : {false, true}) {
    for (const double offset : {-0.05, 0.0, 0.03, 0.06, 0.1, 0.15}) {
      ScratchDir scratch("run-mpi-race");
      char exit_at[32];
      std::snprintf(exit_at, sizeof exit_at, "%.3f", unix_now() + 1.5 + offset);
      std::vector<std::string> command{kMpirun,         "-np",       "2", kFakeRank, "--report", scratch.path().string(),
                                       "--poll-notice", "--exit-at", exit_at};
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
