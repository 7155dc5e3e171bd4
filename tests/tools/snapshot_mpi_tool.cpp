// snapshot_mpi_tool — the snapshot store under a real mpirun.
//
//   mpirun -np W snapshot_mpi_tool write --dir D --steps N [--fresh] [--keep K]
//       every rank writes its shards of each step with SnapshotWriter; the
//       reports travel to rank 0 as ShardReport::to_json() strings (MPI_Gather
//       of the sizes, MPI_Gatherv of the bytes); rank 0 commits.
//   mpirun -np R snapshot_mpi_tool read --dir D --expect-step S --expect-world W
//       every rank opens the latest snapshot, reads its NEW shard of every
//       tensor by global coordinates (R may differ from the W that wrote
//       it), a box crossing the old shard boundaries, and the blobs of the
//       old ranks it takes over; rank 0 also reads everything whole and runs
//       verify().
//   mpirun -np W snapshot_mpi_tool fail-commit --dir D --failing-rank F
//       a commit with rank F's report failed, then one with it missing: both
//       must throw Error(incomplete) naming F and leave the latest snapshot
//       as it was; then a good commit must succeed.
//   snapshot_mpi_tool describe --dir D          (no MPI)
//       JSON: the latest snapshot's root file, step, world size, and every
//       tensor and blob with the seed of its content (for check_h5py.py).
//
// Content is tests/support/pattern.h of the step. Exit status 0 when every
// rank found what it expected; 1 with a message naming the rank and the
// difference otherwise; 2 on bad usage.

#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "lull/checkpoint.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"

namespace {

using lull::test::SnapshotSpec;

// Sharded along every dimension position, every dtype, a 1 MiB tensor, a
// replicated tensor and a replicated 0-d scalar. Every split dimension and
// every dimension a reader splits along holds at least 4 elements.
SnapshotSpec mpi_spec() {
  using lull::DType;
  SnapshotSpec spec;
  spec.tensors = {
      {"w.f32.rows", DType::f32, {37, 6}, 0},
      {"w.f64.cols", DType::f64, {5, 43, 4}, 1},
      {"w.i32.last", DType::i32, {4, 6, 29}, 2},
      {"emb.bf16", DType::bf16, {64, 33}, 0},
      {"h.f16", DType::f16, {10, 50}, 1},
      {"q.i8", DType::i8, {9, 13}, 1},
      {"tok.u8", DType::u8, {101}, 0},
      {"ids.i64", DType::i64, {7, 9, 11, 5}, 3},
      {"mask.bool", DType::boolean, {19, 7}, 0},
      {"big.f32", DType::f32, {256, 1024}, 0},
      {"rep.f32", DType::f32, {3, 5}, -1},
      {"scalar.i64", DType::i64, {}, -1},
  };
  spec.blobs = {{"rng", 16}, {"cursor", 8}};
  return spec;
}

struct Args {
  std::string mode;
  std::string dir;
  std::uint64_t steps = 1;
  int keep = 2;
  bool fresh = false;
  std::uint64_t expect_step = 0;
  int expect_world = 0;
  int failing_rank = 1;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "snapshot_mpi_tool: " << why
            << "\nusage: snapshot_mpi_tool write|read|fail-commit|describe --dir D [--steps N] [--keep K] "
               "[--fresh] [--expect-step S] [--expect-world W] [--failing-rank F]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  if (argc < 2) usage("no mode");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(std::string(arg) + " wants a value");
      return argv[++i];
    };
    if (arg == "--dir") a.dir = value();
    else if (arg == "--steps") a.steps = std::stoull(value());
    else if (arg == "--keep") a.keep = std::stoi(value());
    else if (arg == "--fresh") a.fresh = true;
    else if (arg == "--expect-step") a.expect_step = std::stoull(value());
    else if (arg == "--expect-world") a.expect_world = std::stoi(value());
    else if (arg == "--failing-rank") a.failing_rank = std::stoi(value());
    else usage("unknown argument " + std::string(arg));
  }
  if (a.dir.empty()) usage("--dir is required");
  return a;
}

struct Mpi {
  int rank = 0;
  int size = 1;
};

void complain(const Mpi& mpi, const std::string& what) {
  std::fprintf(stderr, "snapshot_mpi_tool rank %d/%d: %s\n", mpi.rank, mpi.size, what.c_str());
  std::fflush(stderr);
}

// True on every rank when every rank passes true.
bool all_ok(bool ok) {
  int mine = ok ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

// Rank 0 receives every rank's report (as JSON) in rank order.
std::vector<lull::ShardReport> gather_reports(const Mpi& mpi, const lull::ShardReport& mine) {
  const std::string json = mine.to_json();
  int size = static_cast<int>(json.size());
  std::vector<int> sizes(static_cast<std::size_t>(mpi.size));
  MPI_Gather(&size, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> displacements(static_cast<std::size_t>(mpi.size));
  int total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    displacements[r] = total;
    total += sizes[r];
  }
  std::string all(mpi.rank == 0 ? static_cast<std::size_t>(total) : 0, '\0');
  MPI_Gatherv(json.data(), size, MPI_CHAR, all.data(), sizes.data(), displacements.data(), MPI_CHAR, 0,
              MPI_COMM_WORLD);
  std::vector<lull::ShardReport> reports;
  if (mpi.rank == 0) {
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      reports.push_back(lull::ShardReport::from_json(
          std::string_view(all).substr(static_cast<std::size_t>(displacements[r]), static_cast<std::size_t>(sizes[r]))));
    }
  }
  return reports;
}

lull::ShardReport write_my_shard(const Mpi& mpi, const lull::SnapshotStore& store, const SnapshotSpec& spec,
                                 std::uint64_t step) {
  try {
    lull::SnapshotWriter writer = store.writer(step, mpi.rank, mpi.size);
    lull::test::write_rank(writer, spec, step, mpi.rank, mpi.size);
    return writer.finish();
  } catch (const std::exception& e) {
    complain(mpi, "writing step " + std::to_string(step) + " failed: " + e.what());
    return lull::ShardReport::failure(step, mpi.rank, mpi.size, e.what());
  }
}

std::uint64_t newest_committed(const lull::SnapshotStore& store) {
  const auto committed = store.committed();
  return committed.empty() ? 0 : committed.front().step;
}

std::uint64_t bcast(const Mpi&, std::uint64_t value) {
  MPI_Bcast(&value, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  return value;
}

int run_write(const Mpi& mpi, const Args& a) {
  if (a.fresh && mpi.rank == 0) std::filesystem::remove_all(a.dir);
  MPI_Barrier(MPI_COMM_WORLD);
  lull::StoreOptions options;
  options.keep = a.keep;
  const lull::SnapshotStore store(a.dir, options);  // every rank at once: creation must tolerate the race
  const SnapshotSpec spec = mpi_spec();
  std::uint64_t step = bcast(mpi, mpi.rank == 0 ? newest_committed(store) + 1 : 0);
  for (std::uint64_t done = 0; done < a.steps; ++done, ++step) {
    const auto reports = gather_reports(mpi, write_my_shard(mpi, store, spec, step));
    bool ok = true;
    if (mpi.rank == 0) {
      try {
        const auto result = store.commit(step, reports);
        std::printf("committed step %llu at %d ranks: %s (%llu bytes)\n", static_cast<unsigned long long>(step),
                    mpi.size, result.root_file.c_str(), static_cast<unsigned long long>(result.bytes));
        std::fflush(stdout);
      } catch (const std::exception& e) {
        complain(mpi, "commit of step " + std::to_string(step) + " failed: " + e.what());
        ok = false;
      }
    }
    if (!all_ok(ok)) return 1;
  }
  return 0;
}

int run_read(const Mpi& mpi, const Args& a) {
  const SnapshotSpec spec = mpi_spec();
  std::vector<std::string> problems;
  try {
    lull::StoreOptions options;
    options.create = false;
    const lull::SnapshotStore store(a.dir, options);
    std::vector<lull::RejectedSnapshot> rejected;
    lull::SnapshotReader reader = store.open_latest(lull::Verification::full, &rejected);
    for (const auto& r : rejected) {
      problems.push_back("open_latest rejected step " + std::to_string(r.step) + ": " + r.reason);
    }
    if (a.expect_step != 0 && reader.step() != a.expect_step) {
      problems.push_back("latest step is " + std::to_string(reader.step()) + ", expected " +
                         std::to_string(a.expect_step));
    }
    if (a.expect_world != 0 && reader.world_size() != a.expect_world) {
      problems.push_back("world_size is " + std::to_string(reader.world_size()) + ", expected " +
                         std::to_string(a.expect_world));
    }
    const std::uint64_t step = reader.step();
    for (auto& p : lull::test::check_resharded_part(reader, spec, step, mpi.rank, mpi.size)) problems.push_back(p);
    if (mpi.rank == 0) {
      for (auto& p : lull::test::check_snapshot(reader, spec, step)) problems.push_back(p);
      const auto report = reader.verify();
      for (const auto& p : report.problems) problems.push_back("verify: " + p.describe());
      if (reader.metadata().count("spec-step") == 0 || reader.metadata().at("spec-step") != std::to_string(step)) {
        problems.push_back("metadata spec-step missing or wrong");
      }
    }
  } catch (const std::exception& e) {
    problems.push_back(std::string("exception: ") + e.what());
  }
  for (const auto& p : problems) complain(mpi, p);
  const bool ok = all_ok(problems.empty());
  if (ok && mpi.rank == 0) {
    std::printf("read OK at %d ranks: step %llu written by %d ranks\n", mpi.size,
                static_cast<unsigned long long>(a.expect_step), a.expect_world);
  }
  return ok ? 0 : 1;
}

// Rank 0 commits `reports`, expecting Error(incomplete) naming `failing`.
bool expect_incomplete(const Mpi& mpi, const lull::SnapshotStore& store, std::uint64_t step,
                       const std::vector<lull::ShardReport>& reports, int failing, std::uint64_t previous,
                       const std::string& label) {
  try {
    store.commit(step, reports);
    complain(mpi, label + ": commit of step " + std::to_string(step) + " succeeded, expected Error(incomplete)");
    return false;
  } catch (const lull::Error& e) {
    bool ok = true;
    if (e.code() != lull::ErrorCode::incomplete) {
      complain(mpi, label + ": expected Error(incomplete), got " + lull::error_code_name(e.code()) + ": " + e.what());
      ok = false;
    }
    if (std::string(e.what()).find(std::to_string(failing)) == std::string::npos) {
      complain(mpi, label + ": the error does not name rank " + std::to_string(failing) + ": " + e.what());
      ok = false;
    }
    const std::uint64_t latest = newest_committed(store);
    if (latest != previous) {
      complain(mpi, label + ": newest committed step is " + std::to_string(latest) + ", expected " +
                        std::to_string(previous));
      ok = false;
    }
    if (store.open_latest().step() != previous) {
      complain(mpi, label + ": open_latest() does not give step " + std::to_string(previous));
      ok = false;
    }
    if (ok) std::printf("%s: Error(incomplete) as expected: %s\n", label.c_str(), e.what());
    return ok;
  }
}

int run_fail_commit(const Mpi& mpi, const Args& a) {
  if (mpi.rank == 0) std::filesystem::remove_all(a.dir);
  MPI_Barrier(MPI_COMM_WORLD);
  const lull::SnapshotStore store(a.dir);
  const SnapshotSpec spec = mpi_spec();
  bool ok = true;
  // Step 1 commits normally.
  {
    const auto reports = gather_reports(mpi, write_my_shard(mpi, store, spec, 1));
    if (mpi.rank == 0) {
      try {
        store.commit(1, reports);
      } catch (const std::exception& e) {
        complain(mpi, std::string("commit of step 1 failed: ") + e.what());
        ok = false;
      }
    }
    if (!all_ok(ok)) return 1;
  }
  // Step 2: the failing rank reports a failure.
  {
    lull::ShardReport mine = write_my_shard(mpi, store, spec, 2);
    if (mpi.rank == a.failing_rank) {
      mine = lull::ShardReport::failure(2, mpi.rank, mpi.size, "injected failure of rank " + std::to_string(mpi.rank));
    }
    const auto reports = gather_reports(mpi, mine);
    if (mpi.rank == 0) ok = expect_incomplete(mpi, store, 2, reports, a.failing_rank, 1, "failed report");
    if (!all_ok(ok)) return 1;
  }
  // Step 3: the failing rank's report never arrives.
  {
    auto reports = gather_reports(mpi, write_my_shard(mpi, store, spec, 3));
    if (mpi.rank == 0) {
      reports.erase(reports.begin() + a.failing_rank);
      ok = expect_incomplete(mpi, store, 3, reports, a.failing_rank, 1, "missing report");
    }
    if (!all_ok(ok)) return 1;
  }
  // Step 4 commits normally again and every byte is right.
  {
    const auto reports = gather_reports(mpi, write_my_shard(mpi, store, spec, 4));
    if (mpi.rank == 0) {
      try {
        store.commit(4, reports);
        lull::SnapshotReader reader = store.open_latest();
        for (auto& p : lull::test::check_snapshot(reader, spec, 4)) {
          complain(mpi, "after the failed commits: " + p);
          ok = false;
        }
      } catch (const std::exception& e) {
        complain(mpi, std::string("commit of step 4 after the failed ones failed: ") + e.what());
        ok = false;
      }
    }
    if (!all_ok(ok)) return 1;
  }
  return 0;
}

int run_describe(const Args& a) {
  lull::StoreOptions options;
  options.create = false;
  const lull::SnapshotStore store(a.dir, options);
  lull::SnapshotReader reader = store.open_latest();
  const SnapshotSpec spec = mpi_spec();
  nlohmann::json out;
  out["root_file"] = reader.root_file().string();
  out["dir"] = reader.dir().string();
  out["step"] = reader.step();
  out["world_size"] = reader.world_size();
  out["tensors"] = nlohmann::json::array();
  for (std::size_t t = 0; t < spec.tensors.size(); ++t) {
    const auto& tensor = spec.tensors[t];
    out["tensors"].push_back({{"name", tensor.name},
                              {"dtype", std::string(lull::dtype_name(tensor.dtype))},
                              {"shape", tensor.shape},
                              {"seed", lull::test::tensor_seed(reader.step(), t)}});
  }
  out["blobs"] = nlohmann::json::array();
  for (int rank = 0; rank < reader.world_size(); ++rank) {
    for (std::size_t b = 0; b < spec.blobs.size(); ++b) {
      out["blobs"].push_back({{"rank", rank},
                              {"name", spec.blobs[b].name},
                              {"bytes", spec.blobs[b].bytes + static_cast<std::size_t>(rank)},
                              {"seed", lull::test::blob_seed(reader.step(), rank, b)}});
    }
  }
  std::cout << out.dump(1) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.mode == "describe") {
    try {
      return run_describe(a);
    } catch (const std::exception& e) {
      std::cerr << "snapshot_mpi_tool describe: " << e.what() << "\n";
      return 1;
    }
  }
  if (a.mode != "write" && a.mode != "read" && a.mode != "fail-commit") usage("unknown mode " + a.mode);

  MPI_Init(&argc, &argv);
  Mpi mpi;
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi.size);
  int status = 1;
  try {
    if (a.mode == "write") status = run_write(mpi, a);
    else if (a.mode == "read") status = run_read(mpi, a);
    else status = run_fail_commit(mpi, a);
  } catch (const std::exception& e) {
    complain(mpi, std::string("unexpected exception: ") + e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return status;
}
