// `lull policy check` and `lull simulate` as real processes.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "lull/base/file_system.h"
#include "small_node_policy.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

const std::string kLull = LULL_BIN;
const std::string kExamplePolicy = LULL_EXAMPLE_POLICY;
const std::string kExampleTrace = LULL_EXAMPLE_TRACE;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CommandResult lull(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::minutes(2)) {
  args.insert(args.begin(), kLull);
  ChildProcess child(args);
  child.close_stdin();
  const int status = child.wait(timeout);
  CommandResult run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = child.out();
  run.err = child.err();
  return run;
}

std::string write_file(const ScratchDir& dir, const std::string& name, const std::string& text) {
  const std::string path = (dir.path() / name).string();
  std::ofstream(path) << text;
  return path;
}

// Paths given where a file is expected that are no regular file, each with
// why it is refused: a FIFO without a writer (made in `dir`), /dev/zero and
// a directory.
std::vector<std::pair<std::string, std::string>> not_regular_files(const ScratchDir& dir) {
  const std::string fifo = (dir.path() / "fifo").string();
  EXPECT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  return {{fifo, "it is a FIFO, not a regular file"},
          {"/dev/zero", "it is a character device, not a regular file"},
          {dir.path().string(), "it is a directory, not a regular file"}};
}

TEST(PolicyCheck, AValidFileGetsASummary) {
  const CommandResult run = lull({"policy", "check", kExamplePolicy});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(": valid"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("64 slots; a lull begins after 10s idle"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("spot      priority 10"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("globex    class spot, quota 64 slots"), std::string::npos) << run.out;
}

TEST(PolicyCheck, AnInvalidFileGetsEveryErrorWithLineAndColumn) {
  ScratchDir dir("policy-check");
  std::string text = kSmallNodePolicy;
  text.replace(text.find("slots = 4\nidle"), 9, "slots = -1");
  text.replace(text.find("\"2m\""), 4, "\"2 minutes\"");
  text.replace(text.find("class = \"spot\""), 14, "class = \"spto\"");
  const std::string path = write_file(dir, "bad.toml", text);
  const CommandResult run = lull({"policy", "check", path});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_NE(run.err.find(path + ":2:9: node.slots: -1 is out of range"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(path + ":10:9: classes.spot.grace: \"2 minutes\" is not a duration (use 30s, 5m, 1h)"),
            std::string::npos) << run.err;
  EXPECT_NE(run.err.find(path + ":16:9: tenants.guest.class: no class \"spto\""), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("3 problems"), std::string::npos) << run.err;
}

TEST(PolicyCheck, AnUnknownKeyIsAnError) {
  ScratchDir dir("policy-check");
  std::string text = kSmallNodePolicy;
  text.replace(text.find("checkpoint_interval"), 19, "checkpoint_intervall");
  const CommandResult run = lull({"policy", "check", write_file(dir, "typo.toml", text)});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(":11:1: classes.spot.checkpoint_intervall: unknown key \"checkpoint_intervall\" (did you mean "
                         "\"checkpoint_interval\"?)"),
            std::string::npos) << run.err;
}

// The crash the issue found: an 80 KB file whose table header has 40,000
// parts overflowed toml++'s stack (SIGSEGV). Refused before parsing, with
// the position.
TEST(PolicyCheck, ADeeplyNestedFileIsAnErrorNotACrash) {
  ScratchDir dir("policy-check");
  std::string header = "[a";
  for (int i = 1; i < 40'000; ++i) header += ".a";
  const std::string path = write_file(dir, "nested.toml", "[node]\nslots = 4\n" + header + "]\n");
  const CommandResult run = lull({"policy", "check", path}, std::chrono::seconds(60));
  EXPECT_EQ(run.exit_code, 1) << "killed by a signal or timed out when -1; " << run.err;
  EXPECT_NE(run.err.find(path + ":3:33: TOML nesting: deeper than 16 levels"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("1 problem"), std::string::npos) << run.err;
}

// A FIFO (no writer) and /dev/zero hung `lull policy check` and `lull
// arbiter`; a directory was read as an empty policy ("node: missing").
TEST(PolicyCheck, AFifoDevZeroOrADirectoryIsRefusedByName) {
  ScratchDir dir("policy-check");
  for (const auto& [path, why] : not_regular_files(dir)) {
    const CommandResult run = lull({"policy", "check", path}, std::chrono::seconds(60));
    EXPECT_EQ(run.exit_code, 1) << path << ": -1 means it hung and was killed; " << run.err;
    EXPECT_NE(run.err.find(path + ": cannot read the policy file: " + why), std::string::npos) << run.err;
    // simulate reads its policy through the same loader.
    const CommandResult simulate = lull({"simulate", "--policy", path, "--trace", kExampleTrace}, std::chrono::seconds(60));
    EXPECT_EQ(simulate.exit_code, 1) << path << ": " << simulate.err;
    EXPECT_NE(simulate.err.find(why), std::string::npos) << simulate.err;
    // So does the arbiter, which keeps the text for its journal (CLI11 refuses a directory itself).
    if (path == dir.path().string()) continue;
    const CommandResult arbiter =
        lull({"arbiter", "--policy", path, "--state-dir", (dir.path() / "state").string()}, std::chrono::seconds(60));
    EXPECT_EQ(arbiter.exit_code, 1) << path << ": " << arbiter.err;
    EXPECT_NE(arbiter.err.find("cannot read the policy file " + path + " (" + why + ")"), std::string::npos)
        << arbiter.err;
  }
}

TEST(PolicyCheck, ADurationPastItsRangeIsAnErrorWithTheRange) {
  ScratchDir dir("policy-check");
  std::string text = kSmallNodePolicy;
  text.replace(text.find("\"2m\""), 4, "\"9223372036854775807ms\"");
  const std::string path = write_file(dir, "huge.toml", text);
  const CommandResult run = lull({"policy", "check", path});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(path + ":10:9: classes.spot.grace: \"9223372036854775807ms\" is out of range (0s..1d)"),
            std::string::npos) << run.err;
}

// Every duration and count of the policy at its maximum, and a trace at the
// trace limits (the longest work on 1 of the node's ranks, the costliest
// snapshots): the figures stay figures (the issue saw 24066740098199.9%).
TEST(Simulate, EveryFieldAtItsMaximumGivesSaneFigures) {
  ScratchDir dir("simulate");
  const std::string policy = write_file(dir, "policy.toml", R"([node]
slots = 10000000
idle_before_lull = "30d"
[scheduling]
reserve_after = "30d"
[resume]
fewer_ranks = true
more_ranks = true
[classes.internal]
priority = 1000000
preemptible = false
checkpoint_interval = "30d"
[classes.spot]
priority = 999999
preemptible = true
grace = "1d"
min_runtime = "30d"
checkpoint_interval = "30d"
max_preemptions_per_hour = 3600
[tenants.lab]
class = "internal"
slots = 10000000
[tenants.guest]
class = "spot"
slots = 10000000
)");
  const std::string trace = write_file(dir, "trace.csv",
                                       "submit,class,tenant,ranks,min_ranks,max_ranks,duration,checkpoint_cost\n"
                                       "0s,spot,guest,8,1,8,3650d,3650d\n"
                                       "0s,spot,guest,4,1,8,3650d,1ms\n"
                                       "3650d,internal,lab,8,8,8,3650d,3650d\n"
                                       "3650d,spot,guest,1,1,8,1ms,3650d\n");
  const CommandResult run = lull({"simulate", "--policy", policy, "--trace", trace, "--slots", "8"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::cout << run.out;
  // Every percentage is a share: 0.0% to 100.0%; no nan, inf or negative figure.
  const std::regex percentage(R"(([^ (]*)%)");
  int shares = 0;
  for (auto match = std::sregex_iterator(run.out.begin(), run.out.end(), percentage); match != std::sregex_iterator();
       ++match, ++shares) {
    const std::string figure = (*match)[1];
    ASSERT_TRUE(std::regex_match(figure, std::regex(R"([0-9]+\.[0-9])"))) << figure << "%\n" << run.out;
    EXPECT_LE(std::stod(figure), 100.0) << run.out;
  }
  EXPECT_EQ(shares, 5) << run.out;
  EXPECT_FALSE(std::regex_search(run.out, std::regex(R"(\b(nan|inf)\b| -[0-9])"))) << run.out;
  EXPECT_NE(run.out.find("4 jobs (1 internal, 3 tenant) on 8 slots"), std::string::npos) << run.out;
}

// The trace is read as the policy is: a FIFO without a writer and /dev/zero
// hung `lull simulate` in std::ifstream.
TEST(Simulate, AFifoDevZeroOrADirectoryAsTheTraceIsRefusedByName) {
  ScratchDir dir("simulate");
  for (const auto& [path, why] : not_regular_files(dir)) {
    const CommandResult run =
        lull({"simulate", "--policy", kExamplePolicy, "--trace", path}, std::chrono::seconds(60));
    EXPECT_EQ(run.exit_code, 1) << path << ": -1 means it hung and was killed; " << run.err;
    EXPECT_NE(run.err.find("cannot read the trace " + path + " (" + why + ")"), std::string::npos) << run.err;
  }
}

TEST(Simulate, ATraceTimePastTheLimitIsRefusedWithTheRange) {
  ScratchDir dir("simulate");
  const std::string policy = write_file(dir, "policy.toml", kSmallNodePolicy);
  for (const std::string& bad : {std::string("9223372036854775807"), std::string("3651d")}) {
    const std::string trace = write_file(dir, "trace.csv",
                                         "submit,class,tenant,ranks,duration,checkpoint_cost\n"
                                         "0s,spot,guest,4,2h,1m\n"
                                         "1h,spot,guest,4," + bad + ",1m\n");
    const CommandResult run = lull({"simulate", "--policy", policy, "--trace", trace});
    EXPECT_EQ(run.exit_code, 1) << run.out;
    EXPECT_NE(run.err.find("trace.csv:3: duration: \"" + bad + "\" is out of range (0s..3650d)"), std::string::npos)
        << run.err;
  }
}

// One tenant job (4 ranks, 2 h of compute, 1 min snapshots every 10 min) and
// one internal job at 1 h that needs the whole node for 30 min:
//   at 1h the tenant has 55 min of compute (five 11-min cycles, 5 min into
//   the sixth); noticed, it writes a snapshot in 1 min (grace 2 min) and exits
//   75 at 1h1m, losing nothing; the internal job starts 1 min late; the tenant
//   resumes at 1h31m with 65 min left (+6 snapshots) and ends at 2h42m.
//   Useful 4 x 120 min = 8.0 slot-hours of 4 x (61 + 71) min = 8.8 held: 90.9%.
TEST(Simulate, SmallTraceFiguresMatchTheHandComputation) {
  ScratchDir dir("simulate");
  const std::string policy = write_file(dir, "policy.toml", kSmallNodePolicy);
  const std::string trace = write_file(dir, "trace.csv",
                                       "submit,class,tenant,ranks,duration,checkpoint_cost\n"
                                       "0s,spot,guest,4,2h,1m\n"
                                       "1h,internal,lab,4,30m,0s\n");
  const CommandResult run = lull({"simulate", "--policy", policy, "--trace", trace});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("2 jobs (1 internal, 1 tenant) on 4 slots"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("all jobs done at 2h42m"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("surplus          100.0% of the window"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("tenants used     100.0% of that surplus"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("mean 1m, p99 1m, max 1m; 1 of 1 internal jobs started later"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("preemptions      1 notices, 0 killed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("tenant work lost 0.0 slot-hours"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("tenant goodput   90.9% (useful compute 8.0 slot-hours of 8.8 slot-hours held"),
            std::string::npos) << run.out;
  EXPECT_NE(run.out.find("2 finished, 0 rejected, 0 unfinished"), std::string::npos) << run.out;
}

// The same, but snapshots take 3 min, longer than the 2 min grace: the
// tenant (13-min cycles: four done by 52 min) is killed at 1h2m and loses the
// 10 min computed since its last snapshot at 40 min of compute (4 x 10 min = 0.7 slot-hours).
TEST(Simulate, ASnapshotThatDoesNotFitInTheGraceLosesWork) {
  ScratchDir dir("simulate");
  const std::string policy = write_file(dir, "policy.toml", kSmallNodePolicy);
  const std::string trace = write_file(dir, "trace.csv",
                                       "submit,class,tenant,ranks,duration,checkpoint_cost\n"
                                       "0s,spot,guest,4,2h,3m\n"
                                       "1h,internal,lab,4,30m,0s\n");
  const CommandResult run = lull({"simulate", "--policy", policy, "--trace", trace});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("1 notices, 1 killed at the deadline"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("mean 2m, p99 2m, max 2m"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("tenant work lost 0.7 slot-hours"), std::string::npos) << run.out;
}

TEST(Simulate, TheExampleTraceRuns) {
  const CommandResult run = lull({"simulate", "--policy", kExamplePolicy, "--trace", kExampleTrace});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("tenants used"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("0 rejected, 0 unfinished"), std::string::npos) << run.out;
}

TEST(Simulate, ABadTraceNamesItsLine) {
  ScratchDir dir("simulate");
  const std::string trace = write_file(dir, "trace.csv",
                                       "submit,class,tenant,ranks,duration,checkpoint_cost\n"
                                       "0s,spot,globex,4,2h,1m\n"
                                       "1h,spot,globex,four,2h,1m\n");
  const CommandResult run = lull({"simulate", "--policy", kExamplePolicy, "--trace", trace});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("trace.csv:3: ranks: \"four\" is not a positive integer"), std::string::npos) << run.err;
}

// 100,000 jobs on 10,000 slots, generated then replayed (twice: with and
// without tenants). The issue asks for well under a minute on 2 cores.
TEST(Simulate, TenThousandSlotsAndAHundredThousandJobsWellUnderAMinute) {
  ScratchDir dir("simulate-scale");
  const std::string trace = (dir.path() / "trace.csv").string();
  const CommandResult generated = lull({"simulate", "--policy", kExamplePolicy, "--generate", trace, "--jobs", "100000",
                              "--slots", "10000", "--seed", "3"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  const auto start = std::chrono::steady_clock::now();
  const CommandResult run = lull({"simulate", "--policy", kExamplePolicy, "--trace", trace, "--slots", "10000"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::cout << run.out << "simulate wall time: " << seconds << " s\n";
  EXPECT_NE(run.out.find("100000 jobs"), std::string::npos);
  EXPECT_LT(seconds, 30.0);
}

// `lull policy export --slurm`: the files as a site gets them (what they say is
// slurm_export_test.cpp's; tests/slurm runs them on a real cluster).
TEST(PolicyExport, WritesTheSlurmConfAndAnExecutableJobScriptBesideIt) {
  ScratchDir dir("policy-export");
  const std::string policy = write_file(dir, "small.toml", kSmallNodePolicy);
  const std::string conf = (dir.path() / "partitions.conf").string();
  const CommandResult run = lull({"policy", "export", policy, "--slurm", conf});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("wrote " + conf), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("not kept: victims.order"), std::string::npos) << run.out;
  const std::string conf_text = FileSystem::posix().read_file(conf);
  EXPECT_NE(conf_text.find("PartitionName=spot Nodes=ALL PriorityTier=10 PreemptMode=REQUEUE GraceTime=120"),
            std::string::npos)
      << conf_text;

  const std::string script = (dir.path() / "lull-sbatch").string();
  struct stat status {};
  ASSERT_EQ(::stat(script.c_str(), &status), 0) << std::strerror(errno);
  EXPECT_EQ(status.st_mode & 07777, 0755u);
  // The script itself, run: a tenant the policy does not have is refused before sbatch.
  ChildProcess job_script({script, "nobody", "/tmp/ckpt", "--", "true"});
  job_script.close_stdin();
  const int exit_status = job_script.wait(std::chrono::seconds(30));
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 2) << job_script.err();
  EXPECT_NE(job_script.err().find("no tenant \"nobody\" in the policy (tenants: guest, lab)"), std::string::npos)
      << job_script.err();
}

TEST(PolicyExport, APolicySlurmCannotHoldWritesNothing) {
  ScratchDir dir("policy-export");
  std::string text = kSmallNodePolicy;
  text.replace(text.find("\"2m\""), 4, "\"90500ms\"");
  const std::string policy = write_file(dir, "bad.toml", text);
  const std::string conf = (dir.path() / "partitions.conf").string();
  const std::string script = (dir.path() / "submit").string();
  const CommandResult run = lull({"policy", "export", policy, "--slurm", conf, "--job-script", script});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(policy + ":10:9: classes.spot.grace: 1m30s500ms is not a whole number of seconds"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("1 problem, nothing written"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(conf));
  EXPECT_FALSE(std::filesystem::exists(script));
}

}  // namespace
}  // namespace lull::test
