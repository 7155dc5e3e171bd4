// layout_bench — which physical layout for a snapshot: lull's per-rank shard
// files (joined by the root file's virtual datasets) or ONE shared file
// written by all ranks with parallel HDF5 (MPI-IO)?
//
//   mpirun -np N layout_bench [--reps 3] [--dir D] [--json-out F]
//
// Same tensor mix and bytes as checkpoint_bench; every method written durably
// (fsync), pages dropped before each read, methods interleaved per repetition
// with a rotating order.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "checkpoint_method.h"
#include "interleaved_rep.h"
#include "lull/base/log.h"
#include "mpi_job.h"
#include "shared_file_method.h"
#include "workload.h"

namespace lull::bench {
namespace {

constexpr double kGB = 1e9;

struct Options {
  std::string dir;
  int reps = 3;
  int first_rep = 0;
  std::uint64_t total_mib = 1024;
  std::string json_out;
  bool collective = true;
  bool prime = true;
};

std::vector<std::unique_ptr<CheckpointMethod>> methods_for(const MpiJob& job, const std::filesystem::path& rep_dir,
                                                           int rep, bool collective) {
  std::vector<std::unique_ptr<CheckpointMethod>> all;
  all.push_back(make_lull_method(job, rep_dir / "lull"));
  all.push_back(make_shared_file_method(job, rep_dir / "independent", TransferMode::independent));
  if (collective) all.push_back(make_shared_file_method(job, rep_dir / "collective", TransferMode::collective));
  // Rotate who goes first from one repetition to the next.
  std::vector<std::unique_ptr<CheckpointMethod>> ordered;
  const std::size_t n = all.size();
  for (std::size_t i = 0; i < n; ++i) ordered.push_back(std::move(all[(i + static_cast<std::size_t>(rep)) % n]));
  return ordered;
}

void run(const MpiJob& job, const Options& opt) {
  const Workload workload = make_workload(job.size(), opt.total_mib);
  RankState state = make_rank_state(workload, job.rank());
  const double total = static_cast<double>(workload.total_bytes());
  if (job.rank() == 0) {
    std::printf("layout_bench: %d rank(s), %.3f GiB in %zu tensors; per-rank shard files (lull) vs one shared "
                "parallel-HDF5 file\n",
                job.size(), total / (1024.0 * 1024 * 1024), workload.tensors.size());
  }
  if (opt.prime) prime_page_cache(job, opt.dir, workload.rank_bytes(job.rank()));
  for (int k = opt.first_rep; k < opt.first_rep + opt.reps; ++k) {
    const std::filesystem::path rep_dir =
        std::filesystem::path(opt.dir) / ("layout-np" + std::to_string(job.size()) + "-rep" + std::to_string(k));
    const auto methods = methods_for(job, rep_dir, k, opt.collective);
    nlohmann::json result = run_interleaved_rep(job, workload, state, methods);
    if (job.rank() != 0) continue;
    std::filesystem::remove_all(rep_dir);
    nlohmann::json order = nlohmann::json::array();
    for (const auto& m : methods) order.push_back(m->name());
    if (!opt.json_out.empty()) {
      std::ofstream out(opt.json_out, std::ios::app);
      out << nlohmann::json{{"kind", "layout"},
                            {"ranks", job.size()},
                            {"rep", k},
                            {"order", order},
                            {"total_bytes", workload.total_bytes()},
                            {"tensors", workload.tensors.size()},
                            {"methods", result}}
                 .dump()
          << '\n';
    }
    std::printf("  np=%d rep %d:", job.size(), k);
    for (const auto& m : methods) {
      const auto& r = result[m->name()];
      std::printf(" %s write %.3f read %.3f GB/s;", m->name().c_str(), total / r["write_s"].get<double>() / kGB,
                  total / r["read_s"].get<double>() / kGB);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
}

int main_checked(int argc, char** argv) {
  CLI::App app{"snapshot layout comparison: per-rank shard files vs one parallel-HDF5 file"};
  Options opt;
  const char* env = std::getenv("LULL_BENCH_DIR");
  opt.dir = env != nullptr && *env != '\0' ? env : "lull-bench-work";
  bool quick = false;
  bool no_collective = false;
  app.add_option("--dir", opt.dir, "work directory (default $LULL_BENCH_DIR or ./lull-bench-work)");
  app.add_option("--reps", opt.reps, "repetitions")->check(CLI::PositiveNumber);
  app.add_option("--first-rep", opt.first_rep, "index of the first repetition (rotates the order)");
  app.add_option("--total-mib", opt.total_mib, "size of the mix in MiB");
  app.add_option("--json-out", opt.json_out, "append one JSON line per repetition here");
  app.add_flag("--no-collective", no_collective, "skip the collective-transfer variant");
  app.add_flag("--quick", quick, "one repetition");
  bool no_prime = false;
  app.add_flag("--no-prime", no_prime, "skip the untimed scratch write+delete before the first measured method");
  CLI11_PARSE(app, argc, argv);
  if (quick) opt.reps = 1;
  opt.collective = !no_collective;
  opt.prime = !no_prime;

  log::set_level(log::Level::warn);
  MpiJob job(&argc, &argv);
  try {
    run(job, opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "layout_bench: rank %d: %s\n", job.rank(), e.what());
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
    std::fprintf(stderr, "layout_bench: %s\n", e.what());
    return 1;
  }
}
