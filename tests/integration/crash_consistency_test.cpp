// Crash consistency with real processes and real SIGKILL.
//
// RandomKills: tests/tools/crash_writer loops over steps (4 simulated ranks,
//   ~4.5 MiB a step, keep=2) in ONE directory and is killed with SIGKILL at
//   seeded random delays (the seed is printed; LULL_CRASH_SEED replays one,
//   LULL_CRASH_KILLS changes the count), 60 times. After each kill the
//   directory must open (SnapshotStore::open_latest, full verification)
//   without passing over a torn snapshot, to a step at least as new as the
//   last "committed" line the writer printed, with every byte equal to the
//   formula of that step, and verify() must be clean. The next run resumes
//   over the debris of the killed one.
// DieAtOperation.DiesBeforeEveryFileSystemOperation: crash_writer --die-at-op N kills
//   itself (KillingFileSystem) just before its N-th file-system operation,
//   for every N of one write+commit (including retention): every point of
//   the protocol, e.g. between the rename and the directory fsync. After
//   each death the restarted writer must commit over the debris.
// DeathAfterTheRenameOpensTheNewSnapshot: dying anywhere between the rename
//   of the pending directory into step-3 and the LATEST update must leave
//   step 3 as what open_latest() gives (it is committed and whole).
// Leftovers*: a pending snapshot of a live writer process survives
//   remove_leftovers(); once that process is killed, it is removed.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lull/checkpoint.h"
#include "support/crash_spec.h"
#include "support/gtest_helpers.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

#ifndef LULL_CRASH_WRITER
#error "LULL_CRASH_WRITER must name the crash_writer executable"
#endif

namespace lull::test {
namespace {

using std::chrono::milliseconds;

const char* const kCrashWriter = LULL_CRASH_WRITER;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr ? std::strtoull(text, nullptr, 10) : fallback;
}

// Steps of the "committed <step>" lines in `out`.
std::vector<std::uint64_t> committed_lines(const std::string& out) {
  std::vector<std::uint64_t> steps;
  std::istringstream in(out);
  std::string word;
  while (in >> word) {
    if (word == "committed") {
      std::uint64_t step = 0;
      if (in >> step) steps.push_back(step);
    }
  }
  return steps;
}

// Opens the directory as a restarted job would and checks the snapshot it
// gets. Returns its step (0 when none is committed).
std::uint64_t check_directory(const std::filesystem::path& dir, const SnapshotSpec& spec, std::uint64_t at_least,
                              std::uint64_t at_most, const std::string& context) {
  SCOPED_TRACE(context);
  StoreOptions options;
  options.create = false;
  std::vector<RejectedSnapshot> rejected;
  try {
    const SnapshotStore store(dir, options);
    SnapshotReader reader = store.open_latest(Verification::full, &rejected);
    for (const auto& r : rejected) {
      ADD_FAILURE() << "a torn or corrupt snapshot is visible: step " << r.step << ": " << r.reason
                    << "\ndirectory: " << joined(names_in(dir));
    }
    const std::uint64_t step = reader.step();
    EXPECT_GE(step, at_least) << "the writer printed \"committed " << at_least << "\" but the latest is " << step;
    EXPECT_LE(step, at_most);
    EXPECT_EQ(reader.world_size(), kCrashWorld);
    const VerifyReport report = reader.verify();
    for (const auto& p : report.problems) ADD_FAILURE() << "verify: " << p.describe();
    const auto problems = check_snapshot(reader, spec, step);
    EXPECT_TRUE(problems.empty()) << "step " << step << ":\n" << join_lines(problems);
    return step;
  } catch (const Error& e) {
    for (const auto& r : rejected) ADD_FAILURE() << "rejected step " << r.step << ": " << r.reason;
    if (e.code() == ErrorCode::not_found && at_least == 0 && rejected.empty()) return 0;  // nothing committed yet
    ADD_FAILURE() << "open_latest failed: " << error_code_name(e.code()) << ": " << e.what()
                  << "\ndirectory: " << (std::filesystem::exists(dir) ? joined(names_in(dir)) : "(missing)");
    return 0;
  }
}

void expect_no_leftovers(const std::filesystem::path& dir, std::size_t max_snapshots) {
  std::size_t snapshots = 0;
  for (const auto& name : names_in(dir)) {
    if (name.rfind("step-", 0) == 0) ++snapshots;
    EXPECT_TRUE(name.rfind(".pending", 0) != 0 && name.rfind(".trash", 0) != 0)
        << "leftover " << name << " after a clean commit; directory: " << joined(names_in(dir));
  }
  EXPECT_LE(snapshots, max_snapshots) << joined(names_in(dir));
}

TEST(CrashConsistency, RandomKills) {
  ScratchDir scratch("crash-random");
  const auto dir = scratch.path() / "job";
  const SnapshotSpec spec = crash_spec(1024);
  const std::uint64_t seed = env_number("LULL_CRASH_SEED", std::random_device{}());
  const std::uint64_t kills = env_number("LULL_CRASH_KILLS", 60);
  std::cout << "[ seed     ] LULL_CRASH_SEED=" << seed << " (set it to replay these kill times)" << std::endl;
  std::mt19937_64 rng(seed);

  // Calibration: how long a start and a step take on this machine.
  std::uint64_t last_committed = 0;
  auto started = std::chrono::steady_clock::now();
  {
    ChildProcess writer({kCrashWriter, "--dir", dir.string(), "--steps", "2"});
    const int status = writer.wait();
    ASSERT_TRUE(exited_ok(status)) << describe_status(status) << "\n" << writer.err();
    last_committed = committed_lines(writer.out()).back();
  }
  const auto two_steps = std::chrono::steady_clock::now() - started;
  const auto window = std::chrono::duration_cast<std::chrono::microseconds>(two_steps * 3 / 2);
  std::cout << "[ timing   ] start + 2 steps took "
            << std::chrono::duration_cast<milliseconds>(two_steps).count() << " ms; kills within the first "
            << window.count() / 1000 << " ms of each run" << std::endl;
  check_directory(dir, spec, last_committed, last_committed, "after calibration");

  std::uint64_t killed_mid_step = 0;
  for (std::uint64_t i = 0; i < kills && !HasFailure(); ++i) {
    std::uniform_int_distribution<std::int64_t> delay_us(0, window.count());
    const auto delay = std::chrono::microseconds(delay_us(rng));
    ChildProcess writer({kCrashWriter, "--dir", dir.string(), "--steps", "0"});
    writer.pump_for(delay);
    writer.kill(SIGKILL);
    const int status = writer.wait();
    const auto lines = committed_lines(writer.out());
    if (!lines.empty()) last_committed = std::max(last_committed, lines.back());
    if (!killed_by(status, SIGKILL)) {
      ADD_FAILURE() << "run " << i << " ended by itself: " << describe_status(status) << "\n" << writer.err();
    }
    const std::string context = "kill " + std::to_string(i) + " after " + std::to_string(delay.count()) +
                                " us (seed " + std::to_string(seed) + "); last committed line " +
                                std::to_string(last_committed) + "; stderr: " + writer.err();
    const std::uint64_t step = check_directory(dir, spec, last_committed, last_committed + 1, context);
    if (step > last_committed) ++killed_mid_step;  // killed after the commit point, before the print
    last_committed = std::max(last_committed, step);
  }
  std::cout << "[ kills    ] " << kills << " kills, newest step " << last_committed << "; " << killed_mid_step
            << " kills landed after a commit point but before its line was printed" << std::endl;

  // A clean run over all that debris commits and leaves nothing behind.
  ChildProcess writer({kCrashWriter, "--dir", dir.string(), "--steps", "1"});
  const int status = writer.wait();
  ASSERT_TRUE(exited_ok(status)) << describe_status(status) << "\n" << writer.err();
  check_directory(dir, spec, last_committed + 1, last_committed + 1, "clean run after the kills");
  expect_no_leftovers(dir, kCrashKeep);
}

// Steps 1 and 2 committed by crash_writer (small tensors); each test run
// works on a fresh copy and writes step 3, whose commit also retires step 1.
class DieAtOperation : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kRows = 8;  // small: the writer runs a few hundred times

  DieAtOperation() : scratch_("crash-ops"), spec_(crash_spec(kRows)) {}

  void SetUp() override {
    base_ = scratch_.path() / "base";
    ChildProcess writer(writer_args(base_, {"--steps", "2"}));
    const int status = writer.wait();
    ASSERT_TRUE(exited_ok(status)) << describe_status(status) << "\n" << writer.err();
  }

  std::vector<std::string> writer_args(const std::filesystem::path& dir, std::vector<std::string> extra) const {
    std::vector<std::string> args = {kCrashWriter, "--dir", dir.string(), "--big-rows", std::to_string(kRows)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::filesystem::path fresh_copy(const std::string& name) const {
    const auto dir = scratch_.path() / name;
    std::filesystem::copy(base_, dir, std::filesystem::copy_options::recursive);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    return dir;
  }

  // The operations of one write+commit of step 3: "fs op <n>: <what>" lines.
  std::vector<std::string> trace() const {
    const auto dir = fresh_copy("trace");
    ChildProcess writer(writer_args(dir, {"--steps", "1", "--count-ops", "--trace-ops"}));
    const int status = writer.wait();
    EXPECT_TRUE(exited_ok(status)) << describe_status(status) << "\n" << writer.err();
    std::filesystem::remove_all(dir);
    std::vector<std::string> ops;
    std::istringstream in(writer.err());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("fs op ", 0) == 0) ops.push_back(line);
    }
    return ops;
  }

  // Index (1-based) of the first traced operation containing all `parts`.
  static std::uint64_t find_op(const std::vector<std::string>& ops, std::initializer_list<std::string_view> parts) {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      bool all = true;
      for (auto part : parts) all = all && ops[i].find(part) != std::string::npos;
      if (all) return i + 1;
    }
    return 0;
  }

  // Runs the writer until it kills itself before operation n.
  std::filesystem::path die_before(std::uint64_t n, std::uint64_t total, std::string& where) const {
    const auto dir = fresh_copy("op-" + std::to_string(n));
    ChildProcess writer(writer_args(dir, {"--steps", "1", "--die-at-op", std::to_string(n)}));
    const int status = writer.wait();
    const auto at = writer.err().find("KillingFileSystem:");
    where = at == std::string::npos ? writer.err() : writer.err().substr(at);
    if (n <= total) {
      EXPECT_TRUE(killed_by(status, SIGKILL)) << "op " << n << ": " << describe_status(status) << "\n" << writer.err();
    } else {
      EXPECT_TRUE(exited_ok(status)) << "op " << n << " is past the last one: " << describe_status(status) << "\n"
                                     << writer.err();
    }
    return dir;
  }

  ScratchDir scratch_;
  SnapshotSpec spec_;
  std::filesystem::path base_;
};

TEST_F(DieAtOperation, DiesBeforeEveryFileSystemOperation) {
  const auto ops = trace();
  const std::uint64_t total = ops.size();
  ASSERT_GT(total, 0u);
  std::cout << "[ ops      ] resuming, writing and committing step 3 makes " << total
            << " file-system operations:\n" << joined(ops) << std::endl;

  for (std::uint64_t n = 1; n <= total + 1; ++n) {
    std::string where;
    const auto dir = die_before(n, total, where);
    const std::string context = "died before op " + std::to_string(n) + ": " + where;
    const std::uint64_t step = check_directory(dir, spec_, 2, 3, context);

    // Recovery: the job restarts (resuming from what open_latest() gives,
    // so it may commit step 3 again), commits over the debris and cleans up.
    ChildProcess next(writer_args(dir, {"--steps", "1"}));
    const int next_status = next.wait();
    EXPECT_TRUE(exited_ok(next_status)) << "restart after dying before op " << n << " (" << where
                                        << "): " << describe_status(next_status) << "\n" << next.err();
    check_directory(dir, spec_, step + 1, step + 1, "restart after " + context);
    expect_no_leftovers(dir, kCrashKeep);
    std::filesystem::remove_all(dir);
  }
}

// The window the issue names: after the rename of the pending directory to
// step-3 and before the directory fsync / the LATEST update. Step 3 is then
// committed (its directory exists under its final name, whole), so opening
// the directory must give it: "the newest fully committed snapshot".
TEST_F(DieAtOperation, DeathAfterTheRenameOpensTheNewSnapshot) {
  const auto ops = trace();
  const std::uint64_t renamed = find_op(ops, {"rename(", ".pending", "-> ", "step-000000000003)"});
  const std::uint64_t exchanged = find_op(ops, {"exchange(", "step-000000000003"});
  const std::uint64_t commit_point = renamed != 0 ? renamed : exchanged;
  ASSERT_NE(commit_point, 0u) << "no rename into step-...3 in the trace:\n" << joined(ops);
  const std::uint64_t latest_updated = find_op(ops, {"rename(", "LATEST"});
  const std::uint64_t last = latest_updated != 0 ? latest_updated : commit_point + 1;
  for (std::uint64_t n = commit_point + 1; n <= last; ++n) {
    std::string where;
    const auto dir = die_before(n, ops.size(), where);
    SCOPED_TRACE("died before op " + std::to_string(n) + ": " + where);
    const SnapshotStore store(dir);
    ASSERT_FALSE(store.committed().empty());
    EXPECT_EQ(store.committed().front().step, 3u) << joined(names_in(dir));
    std::vector<RejectedSnapshot> rejected;
    EXPECT_EQ(store.open_latest(Verification::full, &rejected).step(), 3u)
        << "step-3 is in place and whole, but open_latest() gives an older snapshot; directory: "
        << joined(names_in(dir)) << "; LATEST: " << read_whole_file(dir / "LATEST");
    EXPECT_TRUE(rejected.empty());
    std::filesystem::remove_all(dir);
  }
}

TEST(CrashConsistency, LeftoversOfALiveWriterSurviveAndOfADeadOneGo) {
  ScratchDir scratch("crash-leftovers");
  const auto dir = scratch.path() / "job";
  {
    ChildProcess writer({kCrashWriter, "--dir", dir.string(), "--steps", "1", "--big-rows", "8"});
    ASSERT_TRUE(exited_ok(writer.wait())) << writer.err();
  }
  const SnapshotStore store(dir);
  auto pending = [&] {
    std::vector<std::string> names;
    for (const auto& name : names_in(dir)) {
      if (name.rfind(".pending", 0) == 0) names.push_back(name);
    }
    return names;
  };
  ASSERT_TRUE(pending().empty());

  ChildProcess holder({kCrashWriter, "--dir", dir.string(), "--hold", "--big-rows", "8"});
  ASSERT_TRUE(holder.wait_for_stdout("holding", milliseconds(30000))) << holder.err();
  const auto live = pending();
  ASSERT_EQ(live.size(), 1u) << "expected one pending directory of the live writer: " << joined(names_in(dir));

  // Cleanup by another process (this one) and by a commit must leave it.
  const auto removed = store.remove_leftovers();
  EXPECT_TRUE(std::find(removed.begin(), removed.end(), live[0]) == removed.end())
      << "remove_leftovers() removed the pending snapshot of a live writer";
  EXPECT_EQ(pending(), live);
  {
    ChildProcess writer({kCrashWriter, "--dir", dir.string(), "--steps", "1", "--big-rows", "8"});
    ASSERT_TRUE(exited_ok(writer.wait())) << writer.err();
  }
  EXPECT_EQ(pending(), live) << "a commit's cleanup removed the pending snapshot of a live writer";

  // Once the writer is dead its pending snapshot is debris.
  holder.kill(SIGKILL);
  holder.wait();
  const auto removed_after = store.remove_leftovers();
  EXPECT_TRUE(std::find(removed_after.begin(), removed_after.end(), live[0]) != removed_after.end())
      << "removed: " << joined(removed_after);
  EXPECT_TRUE(pending().empty()) << joined(names_in(dir));
  EXPECT_EQ(store.open_latest().step(), 2u);
}

}  // namespace
}  // namespace lull::test
