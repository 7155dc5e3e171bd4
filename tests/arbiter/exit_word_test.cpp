// The word a run leaves about its end (its exit file) is removed only once
// that end is durably in the journal: an arbiter killed between reading it
// and journaling the end finds it again after its restart, so a finished run
// is never taken for a lost one. A real LedgerDriver, journal and event
// files; the launcher stands in for `lull run` (a pipe is the run's pidfd).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ledger_driver.h"
#include "lull/base/error.h"
#include "ledger_test_support.h"
#include "support/test_process.h"

namespace lull::arbiter {
namespace {

class RecordingLauncher final : public JobLauncher {
 public:
  explicit RecordingLauncher(std::filesystem::path journal) : journal_(std::move(journal)) {}

  ActiveRun launch(const RunRequest& request) override {
    int ends[2];
    if (::pipe(ends) != 0) throw Error(ErrorCode::io, "pipe");
    ActiveRun run;
    run.job = request.job;
    run.run = request.run;
    run.process.pid = 4242;
    run.is_child = false;
    run.watch = UniqueFd(ends[0]);
    end_of_run_ = UniqueFd(ends[1]);
    return run;
  }
  std::optional<ActiveRun> adopt(const RunRequest&, const std::optional<ProcessRef>&) override { return std::nullopt; }
  std::optional<RunEnd> ended_while_away(const RunRequest&) override { return std::nullopt; }
  void send_notice(const ActiveRun&) override {}
  void kill(const ActiveRun&) override {}
  RunEnd collect(ActiveRun&) override {
    calls.push_back("collect");
    return {0, "finished"};
  }
  void exit_journaled(const RunRequest& request) noexcept override {
    calls.push_back("exit_journaled job " + std::to_string(request.job) + " run " + std::to_string(request.run));
    std::ifstream in(journal_);
    std::stringstream text;
    text << in.rdbuf();
    journal_at_exit_journaled = text.str();
  }

  // The run ends: its pidfd becomes readable.
  void end_run() { end_of_run_ = UniqueFd(); }

  std::vector<std::string> calls;
  std::string journal_at_exit_journaled;

 private:
  std::filesystem::path journal_;
  UniqueFd end_of_run_;
};

TEST(ExitWord, IsRemovedOnlyOnceTheRunsEndIsInTheJournal) {
  lull::test::ScratchDir scratch("exit-word");
  const std::filesystem::path journal = scratch.path() / "journal.jsonl";
  RecordingLauncher launcher(journal);
  EventLog events(scratch.path() / "events.jsonl");
  LedgerDriver driver(journal, test::test_header(), launcher, events);

  driver.record(SubmitRecord{1, test::spec_of("guest", 2)});
  ASSERT_EQ(driver.watched_runs(), 1u) << "the job was started";
  launcher.end_run();
  driver.reap();

  ASSERT_EQ(launcher.calls, (std::vector<std::string>{"collect", "exit_journaled job 1 run 1"}));
  // When the word may go, the journal already holds the end it told.
  std::istringstream lines(launcher.journal_at_exit_journaled);
  std::string line;
  bool exit_journaled = false;
  while (std::getline(lines, line)) {
    if (line.find("\"r\":\"exit\"") == std::string::npos) continue;
    exit_journaled = true;
    EXPECT_NE(line.find("\"meaning\":\"finished\""), std::string::npos) << line;
  }
  EXPECT_TRUE(exit_journaled) << "the exit was not journaled before its word went:\n"
                              << launcher.journal_at_exit_journaled;
  EXPECT_EQ(driver.watched_runs(), 0u);
}

}  // namespace
}  // namespace lull::arbiter
