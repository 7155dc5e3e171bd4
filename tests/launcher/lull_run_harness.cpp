#include "lull_run_harness.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "lull/checkpoint.h"
#include "support/snapshot_spec.h"

namespace lull::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kLull = LULL_BIN;
const std::string kFakeRank = FAKE_RANK;
const std::string kMpirun = LULL_MPIEXEC;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(RunClock::time_point start) { return std::chrono::duration<double>(RunClock::now() - start).count(); }

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
  const auto deadline = RunClock::now() + timeout;
  while (RunClock::now() < deadline) {
    if (report_value(dir, rank, prefix)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

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
  const auto deadline = RunClock::now() + timeout;
  while (process_exists(pid)) {
    if (RunClock::now() > deadline) return false;
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

std::vector<std::string> fake(const fs::path& report_dir, std::vector<std::string> flags) {
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

}  // namespace lull::test
