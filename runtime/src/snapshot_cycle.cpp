#include "snapshot_cycle.h"

#include <exception>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/error.h"
#include "lull/base/log.h"
#include "rank_consensus.h"

namespace lull::detail {

namespace {

ShardReport write_part(const SnapshotStore& store, std::uint64_t step, int rank, int size,
                       const StateRegistry& registry, const std::string& job) {
  try {
    SnapshotWriter writer = store.writer(step, rank, size);
    registry.write_to(writer);
    writer.set_metadata(kJobMetadataKey, job);
    return writer.finish();
  } catch (const std::exception& e) {
    // Anything (a full disk, a blob callback that threw): this rank's
    // failure goes to the committer like any report, so no rank is left
    // waiting and the commit names this rank.
    log::error("writing this rank's part of snapshot step " + std::to_string(step) + " failed: " + e.what());
    return ShardReport::failure(step, rank, size, e.what());
  }
}

}  // namespace

CheckpointOutcome SnapshotCycle::checkpoint(std::uint64_t step, const StateRegistry& registry,
                                            const std::string& job) {
  const auto start = clock_.steady_now();
  const int rank = comm_.rank();
  const std::string json = write_part(store_, step, rank, comm_.size(), registry, job).to_json();
  auto gathered = comm_.gather_bytes(std::as_bytes(std::span(json)), 0);

  CheckpointOutcome outcome;
  outcome.step = step;
  std::int64_t committed_bytes_plus_one = 0;  // 0: the commit failed
  if (rank == 0) {
    try {
      std::vector<ShardReport> reports;
      reports.reserve(gathered.size());
      for (const auto& bytes : gathered) {
        reports.push_back(ShardReport::from_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()}));
      }
      committed_bytes_plus_one = static_cast<std::int64_t>(store_.commit(step, reports).bytes) + 1;
    } catch (const std::exception& e) {
      outcome.error = e.what();
    }
  }
  committed_bytes_plus_one = share_from(comm_, 0, committed_bytes_plus_one);
  outcome.committed = committed_bytes_plus_one > 0;
  if (outcome.committed) outcome.bytes = static_cast<std::uint64_t>(committed_bytes_plus_one - 1);
  if (!outcome.committed && outcome.error.empty()) outcome.error = "the commit failed (rank 0 logged why)";
  outcome.seconds = clock_.seconds_since(start);
  return outcome;
}

std::optional<RestoreOutcome> SnapshotCycle::restore(const StateRegistry& registry, const std::string& job) {
  const int rank = comm_.rank();
  std::vector<SnapshotEntry> candidates;
  if (rank == 0) candidates = store_.committed();

  std::string first_failure;
  std::vector<std::uint64_t> rejected;
  for (std::size_t i = 0;; ++i) {
    const std::int64_t proposal =
        share_from(comm_, 0, i < candidates.size() ? static_cast<std::int64_t>(candidates[i].step) : -1);
    if (proposal < 0) break;
    const auto step = static_cast<std::uint64_t>(proposal);

    RestoreOutcome outcome;
    std::string failure;
    // Whatever goes wrong here (a lull::Error, a program's blob loader
    // throwing, memory) must reach all_ranks() below as this rank's
    // failure: a rank that left now would leave the others in a collective.
    try {
      SnapshotReader reader = store_.open_step(step, Verification::structure, job);
      outcome.step = step;
      outcome.written_by = reader.world_size();
      outcome.bytes = reader.total_bytes();
      // Rank-local state is the same rank's at the same world size; at
      // another, no old rank's is this rank's by right (the program reads
      // what it needs through Runtime::restored_blob).
      const bool same_world = reader.world_size() == comm_.size();
      registry.read_from(reader, same_world ? std::optional<int>(rank) : std::nullopt);
      outcome.reader.emplace(std::move(reader));
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an exception that is not a std::exception";
    }
    if (!failure.empty()) log::warn("snapshot step " + std::to_string(step) + " is unusable on this rank: " + failure);
    if (all_ranks(comm_, failure.empty())) return outcome;
    if (first_failure.empty()) {
      first_failure = failure.empty() ? "on another rank" : "rank " + std::to_string(rank) + ": " + failure;
    }
    rejected.push_back(step);
    if (rank == 0) log::warn("not resuming from snapshot step " + std::to_string(step) + "; trying an older one");
  }
  if (rejected.empty()) return std::nullopt;
  throw Error(ErrorCode::corrupt,
              "no usable snapshot in " + store_.dir().string() + " (tried steps " +
                  fmt::to_string(fmt::join(rejected, ", ")) + "); first failure: " +
                  first_failure,
              {}, {}, "move the snapshot directory away to start over, or restore the program configuration it was written with");
}

}  // namespace lull::detail
