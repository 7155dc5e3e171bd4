// checkpoint_bench — lull's snapshot store beside the storage limit.
//
//   checkpoint_bench plan --ranks N          the tensor mix as JSON (no MPI; for peers.py)
//   mpirun -np N checkpoint_bench io         write+read ~1 GiB with lull and with plain
//                                            write()+fsync(), interleaved, per repetition
//   mpirun -np 1 checkpoint_bench commit     commit time of 1,000 tensors of 1 KiB
//
// Every figure is measured in this run. Rank 0 prints a line per repetition and
// appends one JSON object per line to --json-out (scripts/bench.sh assembles
// them with the Python peers' into build/bench/checkpoint.json).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "checkpoint_method.h"
#include "interleaved_rep.h"
#include "lull/base/log.h"
#include "lull/checkpoint.h"
#include "mpi_job.h"
#include "workload.h"

namespace lull::bench {
namespace {

constexpr double kGB = 1e9;

struct IoOptions {
  std::string dir;
  int reps = 5;
  int first_rep = 0;
  std::uint64_t total_mib = 1024;
  std::string json_out;
  bool prime = true;
};

struct CommitOptions {
  std::string dir;
  int reps = 9;
  int tensors = 1000;
  std::uint64_t tensor_bytes = 1024;
  std::string json_out;
};

std::string default_dir() {
  const char* env = std::getenv("LULL_BENCH_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("lull-bench-work");
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void append_json_line(const std::string& file, const nlohmann::json& record) {
  if (file.empty()) return;
  std::ofstream out(file, std::ios::app);
  out << record.dump() << '\n';
  if (!out) throw std::runtime_error("cannot append to " + file);
}

void run_io(const MpiJob& job, const IoOptions& opt) {
  const Workload workload = make_workload(job.size(), opt.total_mib);
  RankState state = make_rank_state(workload, job.rank());
  const double total = static_cast<double>(workload.total_bytes());
  if (job.rank() == 0) {
    std::printf("checkpoint_bench io: %d rank(s), %.3f GiB in %zu tensors (4 KiB..%.0f MiB), dir %s\n", job.size(),
                total / (1024.0 * 1024 * 1024), workload.tensors.size(),
                static_cast<double>(workload.tensors.front().bytes) / (1024.0 * 1024), opt.dir.c_str());
    std::printf("page cache: posix_fadvise(DONTNEED) on every file after its fsync, before its read\n");
  }
  if (opt.prime) prime_page_cache(job, opt.dir, workload.rank_bytes(job.rank()));
  std::vector<double> write_ratio, read_ratio;
  for (int k = opt.first_rep; k < opt.first_rep + opt.reps; ++k) {
    const std::filesystem::path rep_dir =
        std::filesystem::path(opt.dir) / ("io-np" + std::to_string(job.size()) + "-rep" + std::to_string(k));
    std::vector<std::unique_ptr<CheckpointMethod>> methods;
    // Alternate who goes first: the disk's state after one write colours the next.
    if (k % 2 == 0) {
      methods.push_back(make_lull_method(job, rep_dir / "lull"));
      methods.push_back(make_posix_method(job, rep_dir / "limit"));
    } else {
      methods.push_back(make_posix_method(job, rep_dir / "limit"));
      methods.push_back(make_lull_method(job, rep_dir / "lull"));
    }
    nlohmann::json result = run_interleaved_rep(job, workload, state, methods);
    if (job.rank() == 0) {
      std::filesystem::remove_all(rep_dir);
      nlohmann::json record = {{"kind", "io"},
                               {"ranks", job.size()},
                               {"rep", k},
                               {"order", {methods[0]->name(), methods[1]->name()}},
                               {"total_bytes", workload.total_bytes()},
                               {"tensors", workload.tensors.size()},
                               {"methods", result}};
      append_json_line(opt.json_out, record);
      const auto& lull = result["lull"];
      const auto& limit = result["limit"];
      const double lw = total / lull["write_s"].get<double>() / kGB;
      const double mw = total / limit["write_s"].get<double>() / kGB;
      const double lr = total / lull["read_s"].get<double>() / kGB;
      const double mr = total / limit["read_s"].get<double>() / kGB;
      write_ratio.push_back(lw / mw);
      read_ratio.push_back(lr / mr);
      std::printf("  np=%d rep %d (%s first): write GB/s lull %.3f limit %.3f = %.2fx | read GB/s lull %.3f limit %.3f = %.2fx"
                  " | lull write: tensors %.3fs finish %.3fs commit %.3fs; read: open %.3fs read %.3fs\n",
                  job.size(), k, methods[0]->name().c_str(), lw, mw, lw / mw, lr, mr, lr / mr,
                  lull["write_parts"]["write_tensor"].get<double>(), lull["write_parts"]["finish"].get<double>(),
                  lull["write_parts"]["commit"].get<double>(), lull["read_parts"]["open"].get<double>(),
                  lull["read_parts"]["read"].get<double>());
      std::fflush(stdout);
    }
  }
  if (job.rank() == 0 && opt.reps > 1) {
    std::printf("  np=%d median of %d: lull/limit write %.2fx, read %.2fx\n", job.size(), opt.reps,
                median(write_ratio), median(read_ratio));
  }
}

void run_commit(const MpiJob& job, const CommitOptions& opt) {
  if (job.size() != 1) throw std::runtime_error("commit: run with one rank");
  const std::filesystem::path dir = std::filesystem::path(opt.dir) / "commit";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir.parent_path());
  SnapshotStore store(dir);
  const std::uint64_t elements = opt.tensor_bytes / dtype_size(DType::f32);
  std::vector<float> data(elements);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i) * 0.5f;
  std::vector<std::string> names;
  for (int i = 0; i < opt.tensors; ++i) names.push_back("layer" + std::to_string(i) + ".bias");

  nlohmann::json samples = nlohmann::json::array();
  std::vector<float> back(elements);
  std::vector<double> write_s, commit_s, open_s, read_s;
  std::printf("checkpoint_bench commit: %d tensors of %llu B, 1 rank, %d reps, dir %s\n", opt.tensors,
              static_cast<unsigned long long>(opt.tensor_bytes), opt.reps, dir.c_str());
  for (int k = 0; k < opt.reps; ++k) {
    const auto step = static_cast<std::uint64_t>(k + 1);
    const double t0 = now_seconds();
    SnapshotWriter writer = store.writer(step, 0, 1);
    for (const auto& name : names) writer.write_tensor(name, DType::f32, {elements}, {0}, {elements}, data.data());
    const ShardReport report = writer.finish();
    const double t1 = now_seconds();
    const CommitResult result = store.commit(step, {report});
    const double t2 = now_seconds();
    // Per-tensor cost of reading back (pages still cached: metadata-bound).
    SnapshotReader reader = store.open_step(step, Verification::structure);
    const double t3 = now_seconds();
    for (const auto& name : names) reader.read(name, DType::f32, {0}, {elements}, back.data());
    const double t4 = now_seconds();
    write_s.push_back(t1 - t0);
    commit_s.push_back(t2 - t1);
    open_s.push_back(t3 - t2);
    read_s.push_back(t4 - t3);
    samples.push_back({{"write_finish_s", t1 - t0},
                       {"commit_s", t2 - t1},
                       {"commit_reported_s", result.seconds},
                       {"open_s", t3 - t2},
                       {"read_cached_s", t4 - t3},
                       {"removed_steps", result.removed_steps.size()}});
    std::printf("  rep %d: write+finish %.1f ms, commit %.1f ms (retention removed %zu); open %.1f ms, read all "
                "(cached) %.1f ms\n",
                k, (t1 - t0) * 1e3, (t2 - t1) * 1e3, result.removed_steps.size(), (t3 - t2) * 1e3, (t4 - t3) * 1e3);
  }
  std::printf("  median: write+finish %.1f ms, commit %.1f ms, open %.1f ms, read all (cached) %.1f ms\n",
              median(write_s) * 1e3, median(commit_s) * 1e3, median(open_s) * 1e3, median(read_s) * 1e3);
  append_json_line(opt.json_out, {{"kind", "commit"},
                                  {"tensors", opt.tensors},
                                  {"tensor_bytes", opt.tensor_bytes},
                                  {"samples", samples}});
  std::filesystem::remove_all(dir);
}

int main_checked(int argc, char** argv) {
  CLI::App app{"lull snapshot store benchmark"};
  app.require_subcommand(1);

  int plan_ranks = 1;
  std::uint64_t plan_mib = 1024;
  auto* plan = app.add_subcommand("plan", "print the tensor mix for N ranks as JSON (no MPI)");
  plan->add_option("--ranks", plan_ranks, "ranks")->check(CLI::Range(1, 1024));
  plan->add_option("--total-mib", plan_mib, "size of the mix");

  IoOptions io_opt;
  io_opt.dir = default_dir();
  bool io_quick = false;
  auto* io = app.add_subcommand("io", "write and read the mix with lull and the limit (under mpirun)");
  io->add_option("--dir", io_opt.dir, "work directory (default $LULL_BENCH_DIR or ./lull-bench-work)");
  io->add_option("--reps", io_opt.reps, "repetitions")->check(CLI::PositiveNumber);
  io->add_option("--first-rep", io_opt.first_rep, "index of the first repetition (sets who goes first)");
  io->add_option("--total-mib", io_opt.total_mib, "size of the mix in MiB");
  io->add_option("--json-out", io_opt.json_out, "append one JSON line per repetition here");
  io->add_flag("--quick", io_quick, "two repetitions");
  bool io_no_prime = false;
  io->add_flag("--no-prime", io_no_prime,
               "skip the untimed scratch write+delete before the first measured method");

  CommitOptions commit_opt;
  commit_opt.dir = default_dir();
  auto* commit = app.add_subcommand("commit", "time commit of many small tensors (1 rank)");
  commit->add_option("--dir", commit_opt.dir, "work directory");
  commit->add_option("--reps", commit_opt.reps, "repetitions")->check(CLI::PositiveNumber);
  commit->add_option("--tensors", commit_opt.tensors, "tensors per snapshot")->check(CLI::PositiveNumber);
  commit->add_option("--tensor-bytes", commit_opt.tensor_bytes, "bytes per tensor (multiple of 4)");
  commit->add_option("--json-out", commit_opt.json_out, "append the JSON record here");

  CLI11_PARSE(app, argc, argv);

  if (plan->parsed()) {
    std::cout << make_workload(plan_ranks, plan_mib).to_json() << '\n';
    return 0;
  }
  if (io_quick) io_opt.reps = 2;
  io_opt.prime = !io_no_prime;
  log::set_level(log::Level::warn);
  MpiJob job(&argc, &argv);
  try {
    if (io->parsed()) run_io(job, io_opt);
    if (commit->parsed()) run_commit(job, commit_opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "checkpoint_bench: rank %d: %s\n", job.rank(), e.what());
    job.abort(1);
  }
  return 0;
}

}  // namespace
}  // namespace lull::bench

int main(int argc, char** argv) {
  try {
    return lull::bench::main_checked(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "checkpoint_bench: %s\n", e.what());
    return 1;
  }
}
