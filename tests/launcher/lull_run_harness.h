#pragma once
// What the `lull run` process tests share: the paths of lull, fake_rank and
// mpirun, the argv of a run, and readers of the per-rank reports fake_rank
// writes (see fake_rank.cpp) and of /proc.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/test_process.h"

namespace lull::test {

// What every lull run test file writes with: 10s, fs::path, Clock::now().
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using RunClock = std::chrono::steady_clock;
using Clock = RunClock;

extern const std::string kLull;
extern const std::string kFakeRank;
extern const std::string kMpirun;

double unix_now();
double seconds_since(RunClock::time_point start);

// Rank `rank`'s report lines, and the same indented for a failure message.
std::vector<std::string> report_lines(const std::filesystem::path& dir, int rank);
std::string report_text(const std::filesystem::path& dir, int rank);
// The first report line starting with `prefix`, without it.
std::optional<std::string> report_value(const std::filesystem::path& dir, int rank, const std::string& prefix);
bool wait_for_report(const std::filesystem::path& dir, int rank, const std::string& prefix,
                     std::chrono::milliseconds timeout);

// The notice a rank reported ("notice deadline=D grace=G issued=I").
struct SeenNotice {
  double deadline = 0;
  double grace = 0;
  double issued = 0;
};
std::optional<SeenNotice> seen_notice(const std::filesystem::path& dir, int rank);

// Alive: exists and is not a zombie (whoever adopted it may be slow to reap).
bool process_exists(pid_t pid);
bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout);
bool process_group_exists(pid_t pgid);

// The pid in "ready rank=R pid=P" on the child's stdout; -1 when absent.
pid_t ready_pid(const std::string& out, int rank);

// lull run LULL_OPTIONS -- COMMAND, and fake_rank reporting to `report_dir`.
std::vector<std::string> run_args(std::vector<std::string> lull_options, std::vector<std::string> command);
std::vector<std::string> fake(const std::filesystem::path& report_dir, std::vector<std::string> flags = {});

// WEXITSTATUS, or -1 when the process did not exit.
int exit_code(int status);
// The command, its output and rank 0's report, for a failure message.
std::string context(const ChildProcess& p, const std::filesystem::path& reports);
// No .lull-run-* notice directory is left in `ckpt`.
bool leaves_no_notice_directory(const std::filesystem::path& ckpt);
// A snapshot of job `job`, as its runtime writes it (the job's name in its metadata).
void commit_snapshot_of_step(const std::filesystem::path& dir, std::uint64_t step, const std::string& job);

}  // namespace lull::test
