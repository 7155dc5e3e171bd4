// write_snapshot — the snapshot store used by a real multi-rank MPI program.
//
//   mpirun -np 4 build/bin/write_snapshot --dir /tmp/ckpt --step 100
//   mpirun -np 2 build/bin/write_snapshot --dir /tmp/ckpt --read
//
// Write mode: every rank writes its shard of a few global tensors and its own
// RNG blob (no communication), the ranks' reports are gathered on rank 0 as
// JSON, and rank 0 commits the snapshot atomically. Read mode: every rank
// opens the newest valid snapshot (falling back past a corrupt one), reads
// ITS part of each tensor by global coordinates — whatever number of ranks
// wrote it — and checks every value. Exit 0 when all ranks succeeded, 1
// otherwise, 2 for a bad command line.
//
// The state (all values are exact functions of the step, so any reader can
// check them):
//   model.weight     f32  [1024, 256]  sharded along dim 0 (rows)
//   model.embedding  bf16 [512, 64]    sharded along dim 1 (columns)
//   model.bias       f32  [256]        replicated: every rank holds it whole
//   /ranks/<r>/rng   32 bytes per rank (rank-local, like an RNG state)
//   metadata         example, written_by (ranks)
//
// This is the runtime's job in a later issue; the example shows the store's
// contract on its own: writing needs no MPI, only the commit needs every
// rank's report.
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lull/base/log.h"
#include "lull/checkpoint.h"

namespace {

constexpr std::uint64_t kWeightRows = 1024;
constexpr std::uint64_t kWeightCols = 256;
constexpr std::uint64_t kEmbeddingRows = 512;
constexpr std::uint64_t kEmbeddingCols = 64;
constexpr std::size_t kRngBytes = 32;

struct Options {
  std::string dir;
  std::uint64_t step = 1;
  bool read = false;
  int keep = 2;
};

// --- the state, as exact functions of (step, coordinates) -----------------

// Exactly representable in f32: (i*256 + j)/2 < 2^17, plus a small step.
float weight_value(std::uint64_t step, std::uint64_t i, std::uint64_t j) {
  return static_cast<float>(i * kWeightCols + j) * 0.5f + static_cast<float>(step % 1000);
}

float bias_value(std::uint64_t step, std::uint64_t j) {
  return static_cast<float>(j) * 0.25f - static_cast<float>(step % 1000);
}

// bf16 is the upper half of an f32; small integers are exact in it.
std::uint16_t embedding_bits(std::uint64_t step, std::uint64_t i, std::uint64_t j) {
  const auto value = static_cast<float>((i + 3 * j + step) % 200);
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<std::uint16_t>(bits >> 16);
}

// splitmix64: stands in for a real RNG state of `rank` at `step`.
std::vector<std::byte> rng_state(std::uint64_t step, int rank) {
  std::uint64_t x = step * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(rank);
  std::vector<std::byte> bytes(kRngBytes);
  for (std::size_t i = 0; i < kRngBytes; i += sizeof(std::uint64_t)) {
    x += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    std::memcpy(bytes.data() + i, &z, sizeof z);
  }
  return bytes;
}

// --- sharding ---------------------------------------------------------------

struct Range {
  std::uint64_t begin = 0;
  std::uint64_t count = 0;
};

// Rank `rank`'s contiguous part of `total` items split over `ranks` (the
// first total % ranks ranks get one more).
Range split(std::uint64_t total, int rank, int ranks) {
  const auto n = static_cast<std::uint64_t>(ranks);
  const auto r = static_cast<std::uint64_t>(rank);
  const std::uint64_t base = total / n;
  const std::uint64_t extra = total % n;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

// --- MPI helpers -------------------------------------------------------------

// Gathers one string per rank on rank 0 (in rank order); other ranks get {}.
std::vector<std::string> gather_strings(const std::string& mine, MPI_Comm comm) {
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int my_length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank == 0 ? static_cast<std::size_t>(size) : 0);
  MPI_Gather(&my_length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);

  std::vector<int> displacements(lengths.size());
  std::string all;
  if (rank == 0) {
    int total = 0;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      displacements[r] = total;
      total += lengths[r];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(mine.data(), my_length, MPI_CHAR, all.data(), lengths.data(), displacements.data(),
              MPI_CHAR, 0, comm);

  std::vector<std::string> out;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    out.push_back(all.substr(static_cast<std::size_t>(displacements[r]),
                             static_cast<std::size_t>(lengths[r])));
  }
  return out;
}

// True when every rank passed `ok`.
bool all_ranks(bool ok, MPI_Comm comm) {
  int mine = ok ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, comm);
  return all == 1;
}

// Rank 0 prints one line per rank, in rank order.
void print_in_rank_order(const std::string& line, MPI_Comm comm) {
  for (const auto& each : gather_strings(line, comm)) std::cout << each << "\n";
  std::cout.flush();
}

// --- write mode ---------------------------------------------------------------

// This rank's shard, written and fsync'd; the report says what and where.
lull::ShardReport write_shard(const lull::SnapshotStore& store, std::uint64_t step, int rank,
                              int ranks) {
  lull::SnapshotWriter writer = store.writer(step, rank, ranks);

  const Range rows = split(kWeightRows, rank, ranks);
  std::vector<float> weight(rows.count * kWeightCols);
  for (std::uint64_t i = 0; i < rows.count; ++i) {
    for (std::uint64_t j = 0; j < kWeightCols; ++j) {
      weight[i * kWeightCols + j] = weight_value(step, rows.begin + i, j);
    }
  }
  writer.write_tensor("model.weight", lull::DType::f32, {kWeightRows, kWeightCols},
                      {rows.begin, 0}, {rows.count, kWeightCols}, weight.data());

  const Range cols = split(kEmbeddingCols, rank, ranks);
  std::vector<std::uint16_t> embedding(kEmbeddingRows * cols.count);
  for (std::uint64_t i = 0; i < kEmbeddingRows; ++i) {
    for (std::uint64_t j = 0; j < cols.count; ++j) {
      embedding[i * cols.count + j] = embedding_bits(step, i, cols.begin + j);
    }
  }
  writer.write_tensor("model.embedding", lull::DType::bf16, {kEmbeddingRows, kEmbeddingCols},
                      {0, cols.begin}, {kEmbeddingRows, cols.count}, embedding.data());

  std::vector<float> bias(kWeightCols);
  for (std::uint64_t j = 0; j < kWeightCols; ++j) bias[j] = bias_value(step, j);
  writer.write_replicated("model.bias", lull::DType::f32, {kWeightCols}, bias.data());

  writer.write_blob("rng", rng_state(step, rank));
  writer.set_metadata("example", "write_snapshot");
  writer.set_metadata("written_by", std::to_string(ranks) + " ranks");
  return writer.finish();
}

int run_write(const Options& options, int rank, int ranks, MPI_Comm comm) {
  lull::StoreOptions store_options;
  store_options.keep = options.keep;

  // Rank 0 creates the directory first, so no two ranks race to create it,
  // and, as the one that commits, holds its writer lock until it is done: a
  // second job on the same directory stops here.
  std::string setup_error;
  std::optional<lull::SnapshotStore> committer;
  if (rank == 0) {
    try {
      lull::StoreOptions locking = store_options;
      locking.lock_as_job = "write_snapshot";
      committer.emplace(options.dir, locking);
    } catch (const lull::Error& error) {
      setup_error = error.what();
    }
  }
  if (!all_ranks(setup_error.empty(), comm)) {
    if (rank == 0) std::cerr << "write_snapshot: " << setup_error << "\n";
    return 1;
  }
  const lull::SnapshotStore store = committer ? *committer : lull::SnapshotStore(options.dir, store_options);

  // A failure on one rank becomes a failed report, so the commit names it
  // instead of waiting for a shard that will never come.
  lull::ShardReport report;
  try {
    report = write_shard(store, options.step, rank, ranks);
  } catch (const lull::Error& error) {
    report = lull::ShardReport::failure(options.step, rank, ranks, error.what());
  }
  std::ostringstream line;
  line << "  rank " << rank << "/" << ranks << ": wrote " << report.file << " ("
       << report.file_bytes << " bytes, " << report.tensors.size() << " tensor pieces, "
       << report.blobs.size() << " blob)" << (report.ok() ? "" : ", FAILED: " + report.error);
  print_in_rank_order(line.str(), comm);

  const std::vector<std::string> reports_json = gather_strings(report.to_json(), comm);
  bool committed = true;
  if (rank == 0) {
    try {
      std::vector<lull::ShardReport> reports;
      for (const auto& json : reports_json) reports.push_back(lull::ShardReport::from_json(json));
      const lull::CommitResult result = store.commit(options.step, reports);
      std::cout << "committed step " << result.step << ": " << result.root_file.string() << " ("
                << result.bytes << " bytes, " << result.seconds * 1000.0 << " ms)";
      if (!result.removed_steps.empty()) {
        std::cout << "; retention removed step";
        for (auto removed : result.removed_steps) std::cout << " " << removed;
      }
      std::cout << std::endl;
    } catch (const lull::Error& error) {
      std::cerr << "write_snapshot: commit of step " << options.step << " failed: " << error.what()
                << std::endl;
      committed = false;
    }
  }
  return all_ranks(committed, comm) ? 0 : 1;
}

// --- read mode ----------------------------------------------------------------

// Reads and checks this rank's part of every tensor, and the RNG blobs of
// the writer ranks it takes over (old rank r goes to new rank r % ranks).
// Returns a one-line summary; throws on the first wrong value.
std::string read_and_check(lull::SnapshotReader& reader, int rank, int ranks) {
  const std::uint64_t step = reader.step();
  std::ostringstream line;
  line << "  rank " << rank << "/" << ranks << ":";

  const Range rows = split(kWeightRows, rank, ranks);
  std::vector<float> weight(rows.count * kWeightCols);
  reader.read("model.weight", lull::DType::f32, {rows.begin, 0}, {rows.count, kWeightCols},
              weight.data());
  for (std::uint64_t i = 0; i < rows.count; ++i) {
    for (std::uint64_t j = 0; j < kWeightCols; ++j) {
      if (weight[i * kWeightCols + j] != weight_value(step, rows.begin + i, j)) {
        throw lull::Error(lull::ErrorCode::corrupt, "model.weight[" + std::to_string(rows.begin + i) +
                                                        ", " + std::to_string(j) + "] is wrong");
      }
    }
  }
  line << " model.weight rows [" << rows.begin << ", " << rows.begin + rows.count << ")";

  const Range cols = split(kEmbeddingCols, rank, ranks);
  std::vector<std::uint16_t> embedding(kEmbeddingRows * cols.count);
  reader.read("model.embedding", lull::DType::bf16, {0, cols.begin}, {kEmbeddingRows, cols.count},
              embedding.data());
  for (std::uint64_t i = 0; i < kEmbeddingRows; ++i) {
    for (std::uint64_t j = 0; j < cols.count; ++j) {
      if (embedding[i * cols.count + j] != embedding_bits(step, i, cols.begin + j)) {
        throw lull::Error(lull::ErrorCode::corrupt, "model.embedding[" + std::to_string(i) + ", " +
                                                        std::to_string(cols.begin + j) + "] is wrong");
      }
    }
  }
  line << ", model.embedding cols [" << cols.begin << ", " << cols.begin + cols.count << ")";

  std::vector<float> bias(kWeightCols);
  reader.read_all("model.bias", lull::DType::f32, bias.data());
  for (std::uint64_t j = 0; j < kWeightCols; ++j) {
    if (bias[j] != bias_value(step, j)) {
      throw lull::Error(lull::ErrorCode::corrupt, "model.bias[" + std::to_string(j) + "] is wrong");
    }
  }
  line << ", model.bias";

  line << ", rng of old rank(s)";
  for (int old_rank = rank; old_rank < reader.world_size(); old_rank += ranks) {
    if (reader.read_blob(old_rank, "rng") != rng_state(step, old_rank)) {
      throw lull::Error(lull::ErrorCode::corrupt, "rng blob of rank " + std::to_string(old_rank) +
                                                      " is wrong");
    }
    line << " " << old_rank;
  }
  line << ": all values ok";
  return line.str();
}

int run_read(const Options& options, int rank, int ranks, MPI_Comm comm) {
  std::string line;
  bool ok = true;
  std::uint64_t step = 0;
  try {
    lull::StoreOptions store_options;
    store_options.create = false;
    const lull::SnapshotStore store(options.dir, store_options);
    std::vector<lull::RejectedSnapshot> rejected;
    lull::SnapshotReader reader = store.open_latest(lull::Verification::full, &rejected);
    step = reader.step();
    if (rank == 0) {
      for (const auto& r : rejected) {
        std::cout << "skipped step " << r.step << " (" << r.reason << ")\n";
      }
      std::cout << "reading step " << step << " (written by " << reader.world_size()
                << " ranks) with " << ranks << " ranks from " << reader.root_file().string()
                << std::endl;
    }
    line = read_and_check(reader, rank, ranks);
  } catch (const lull::Error& error) {
    line = "  rank " + std::to_string(rank) + "/" + std::to_string(ranks) + ": FAILED: " + error.what();
    ok = false;
  }
  // Every rank must have picked the same snapshot.
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  const std::uint64_t mine = ok ? step : 0;
  MPI_Allreduce(&mine, &low, 1, MPI_UINT64_T, MPI_MIN, comm);
  MPI_Allreduce(&mine, &high, 1, MPI_UINT64_T, MPI_MAX, comm);
  print_in_rank_order(line, comm);
  ok = all_ranks(ok, comm);
  if (ok && low != high) {
    if (rank == 0) std::cerr << "write_snapshot: ranks opened different steps\n";
    ok = false;
  }
  return ok ? 0 : 1;
}

// --- command line -------------------------------------------------------------

void usage(std::ostream& out) {
  out << "usage: write_snapshot --dir DIR [--step N] [--keep K]   write and commit snapshot N\n"
         "       write_snapshot --dir DIR --read                    read back the newest valid one\n";
}

bool parse_number(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return false;
  value = std::strtoull(std::string(text).c_str(), nullptr, 10);
  return true;
}

// Returns false (after printing why) on a bad command line.
bool parse_options(int argc, char** argv, Options& options) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool has_value = i + 1 < args.size();
    std::uint64_t number = 0;
    if (arg == "--read") {
      options.read = true;
    } else if (arg == "--dir" && has_value) {
      options.dir = args[++i];
    } else if (arg == "--step" && has_value && parse_number(args[i + 1], number)) {
      options.step = number;
      ++i;
    } else if (arg == "--keep" && has_value && parse_number(args[i + 1], number) && number >= 1) {
      options.keep = static_cast<int>(std::min<std::uint64_t>(number, 1000));
      ++i;
    } else {
      std::cerr << "write_snapshot: bad argument '" << arg << "'\n";
      return false;
    }
  }
  if (options.dir.empty()) {
    std::cerr << "write_snapshot: --dir is required\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);

  lull::log::set_identity("write_snapshot", rank);

  Options options;
  int code = 2;
  if (parse_options(argc, argv, options)) {
    try {
      code = options.read ? run_read(options, rank, ranks, MPI_COMM_WORLD)
                          : run_write(options, rank, ranks, MPI_COMM_WORLD);
    } catch (const std::exception& error) {
      // Unexpected: one rank cannot continue the collectives; stop them all.
      std::cerr << "write_snapshot: rank " << rank << ": " << error.what() << std::endl;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  } else if (rank == 0) {
    usage(std::cerr);
  }
  MPI_Finalize();
  return code;
}
