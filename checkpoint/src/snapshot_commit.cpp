#include "lull/checkpoint/snapshot_commit.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hdf5_error.h"
#include "layout.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "manifest.h"
#include "pending_lock.h"
#include "root_file.h"
#include "snapshot_directory.h"
#include "tiling.h"

namespace lull {

using namespace detail;

namespace {

std::string rank_list(const std::vector<int>& ranks) {
  const auto shown = ranks.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(ranks.size(), 16));
  return fmt::format("{}{}", fmt::join(ranks.begin(), shown, ", "), ranks.size() > 16 ? ", ..." : "");
}

// Every rank reported once, for this step, successfully. Returns reports
// indexed by rank.
std::vector<const ShardReport*> check_reports(std::uint64_t step, const std::vector<ShardReport>& reports) {
  if (reports.empty()) throw Error(ErrorCode::incomplete, "commit of step " + std::to_string(step) + ": no reports");
  const int world = reports.front().world_size;
  if (world < 1) throw Error(ErrorCode::invalid_argument, "shard report with world size " + std::to_string(world));
  std::vector<const ShardReport*> by_rank(static_cast<std::size_t>(world), nullptr);
  std::vector<std::string> failures;
  for (const auto& r : reports) {
    if (r.world_size != world || r.rank < 0 || r.rank >= world) {
      throw Error(ErrorCode::invalid_argument, "shard report of rank " + std::to_string(r.rank) + " says world size " +
                                                   std::to_string(r.world_size) + ", others " + std::to_string(world));
    }
    if (r.step != step) {
      throw Error(ErrorCode::invalid_argument, "shard report of rank " + std::to_string(r.rank) + " is for step " +
                                                   std::to_string(r.step) + ", not " + std::to_string(step));
    }
    auto& slot = by_rank[static_cast<std::size_t>(r.rank)];
    if (slot != nullptr) throw Error(ErrorCode::invalid_argument, "two reports from rank " + std::to_string(r.rank));
    slot = &r;
    if (!r.ok()) failures.push_back("rank " + std::to_string(r.rank) + ": " + r.error);
  }
  std::vector<int> missing;
  for (int rank = 0; rank < world; ++rank) {
    if (by_rank[static_cast<std::size_t>(rank)] == nullptr) missing.push_back(rank);
  }
  if (!missing.empty() || !failures.empty()) {
    std::vector<std::string> problems;
    if (!missing.empty()) problems.push_back("no report from rank(s) " + rank_list(missing));
    problems.insert(problems.end(), failures.begin(), failures.end());
    throw Error(ErrorCode::incomplete,
                fmt::format("snapshot of step {} not committed: {}", step, fmt::join(problems, "; ")), {}, {},
                "the previous snapshot stays the latest");
  }
  return by_rank;
}

void check_inside_file(const ShardReport& r, const std::string& object, std::uint64_t offset, std::uint64_t bytes) {
  if (offset != 0 && (offset > r.file_bytes || bytes > r.file_bytes - offset)) {
    throw Error(ErrorCode::invalid_argument, "rank " + std::to_string(r.rank) + " reports " + object + " at bytes [" +
                                                 std::to_string(offset) + ", +" + std::to_string(bytes) +
                                                 ") of a shard file of " + std::to_string(r.file_bytes) + " bytes");
  }
}

Manifest build_manifest(std::uint64_t step, const std::vector<const ShardReport*>& by_rank) {
  Manifest m;
  m.step = step;
  m.world_size = static_cast<int>(by_rank.size());
  m.created_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  m.metadata = by_rank.front()->metadata;
  std::map<std::string, TensorEntry> tensors;
  for (const ShardReport* r : by_rank) {
    if (!r->file.empty()) m.files.push_back({r->rank, r->file, r->file_bytes});
    for (const auto& t : r->tensors) {
      auto [it, fresh] = tensors.try_emplace(t.name);
      TensorEntry& entry = it->second;
      if (fresh) {
        entry.name = t.name;
        entry.dtype = t.dtype;
        entry.shape = t.global_shape;
      } else if (entry.dtype != t.dtype || entry.shape != t.global_shape) {
        throw Error(ErrorCode::invalid_argument,
                    "tensor \"" + t.name + "\": rank " + std::to_string(r->rank) + " wrote " +
                        std::string(dtype_name(t.dtype)) + " " + describe(Box{Shape(t.global_shape.size(), 0), t.global_shape}) +
                        ", another rank " + std::string(dtype_name(entry.dtype)) + " " +
                        describe(Box{Shape(entry.shape.size(), 0), entry.shape}));
      }
      check_inside_file(*r, "tensor \"" + t.name + "\"", t.file_offset, t.bytes);
      entry.shards.push_back({r->rank, Box{t.offset, t.extent}, t.bytes, t.checksum, t.file_offset});
    }
    for (const auto& b : r->blobs) {
      check_inside_file(*r, "blob \"" + b.name + "\"", b.file_offset, b.bytes);
      m.blobs.push_back({r->rank, b.name, b.bytes, b.checksum, b.file_offset});
    }
  }
  for (auto& [name, entry] : tensors) {
    std::vector<Box> boxes;
    for (const auto& s : entry.shards) boxes.push_back(s.box);
    if (auto problem = tiling_problem(entry.shape, boxes); !problem.empty()) {
      throw Error(ErrorCode::invalid_argument, "tensor \"" + name + "\" is not tiled by its shards: " + problem);
    }
    std::erase_if(entry.shards, [](const ShardEntry& s) { return s.bytes == 0; });
    m.tensors.push_back(std::move(entry));
  }
  return m;
}

// The shard files are there with the sizes the ranks saw after fsync, and
// nothing else is (a larger earlier attempt may have left shard files).
void tidy_pending(FileSystem& fs, const std::filesystem::path& pending, const Manifest& m) {
  std::set<std::string> expected{std::string(kLockFile)};
  for (const auto& f : m.files) {
    expected.insert(f.name);
    auto size = fs.open_file(pending / f.name, false)->size();
    if (size != f.bytes) {
      throw Error(ErrorCode::incomplete, "shard file " + (pending / f.name).string() + " of rank " +
                                             std::to_string(f.rank) + " has " + std::to_string(size) +
                                             " bytes, its rank reported " + std::to_string(f.bytes));
    }
  }
  for (const auto& name : fs.list_dir(pending)) {
    if (!expected.contains(name)) fs.remove_all(pending / name);
  }
}

std::vector<std::uint64_t> apply_retention(FileSystem& fs, const std::filesystem::path& dir, std::uint64_t step,
                                           int keep) {
  std::vector<std::uint64_t> removed;
  int kept_older = 0;
  for (const auto& e : list_snapshots(fs, dir)) {
    if (e.step >= step) continue;  // newer ones stay (or went before the commit point)
    if (kept_older < keep - 1) {
      ++kept_older;
      continue;
    }
    remove_snapshot_dir(fs, dir, e.path.filename().string());
    removed.push_back(e.step);
  }
  return removed;
}

// Removes a pending directory that will never commit. Never throws: the
// commit's own error is the one to report.
void discard_pending(FileSystem& fs, const std::filesystem::path& pending) noexcept {
  try {
    fs.remove_all(pending);
  } catch (const std::exception& e) {
    log::warn("could not remove " + pending.string() + " (removed by the next commit): " + e.what());
  }
}

std::uint64_t payload_bytes(const Manifest& m) {
  std::uint64_t bytes = 0;
  for (const auto& t : m.tensors) {
    for (const auto& s : t.shards) bytes += s.bytes;
  }
  for (const auto& b : m.blobs) bytes += b.bytes;
  return bytes;
}

}  // namespace

CommitResult commit_snapshot(const std::filesystem::path& dir, std::uint64_t step,
                             const std::vector<ShardReport>& reports, const CommitOptions& options) {
  quiet_hdf5();
  const auto start = std::chrono::steady_clock::now();
  FileSystem& fs = FileSystem::or_posix(options.fs);
  if (options.keep < 1) throw Error(ErrorCode::invalid_argument, "keep must be at least 1");
  const auto pending = dir / pending_dir_name(step);
  const auto final_dir = dir / snapshot_dir_name(step);
  const bool ours = options.writer_lock != nullptr && options.writer_lock->held();
  if (auto holder = ours ? std::nullopt : WriterLock::holder(dir)) {
    throw Error(ErrorCode::in_use,
                "snapshot of step " + std::to_string(step) + " not committed: " + dir.string() + " belongs to " +
                    holder->describe(),
                {}, {}, "one snapshot directory has one live job at a time");
  }

  Manifest manifest;
  try {
    manifest = build_manifest(step, check_reports(step, reports));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::incomplete) discard_pending(fs, pending);  // nothing in it will ever commit
    throw;
  }

  // Until the commit point a failure leaves nothing behind: the pending
  // directory (every rank's shard, the root file) is removed, so a full
  // disk gets its space back and the previous snapshot stays the latest.
  std::vector<std::uint64_t> abandoned;
  bool swapped = false;  // the same step was committed before; its old directory is now at `pending`
  try {
    PendingLock lock = PendingLock::shared(pending);
    if (!lock.still_linked()) {
      throw Error(ErrorCode::incomplete, "pending snapshot " + pending.string() + " was removed before its commit");
    }
    tidy_pending(fs, pending, manifest);

    const auto root_partial = pending / (std::string(kRootFile) + std::string(kPartialSuffix));
    write_root_file(fs, root_partial, options.file_mode, manifest);
    fs.set_mode(root_partial, options.file_mode);
    fs.sync_file(root_partial);
    fs.rename(root_partial, pending / kRootFile);
    lock.release();
    fs.remove_all(pending / kLockFile);
    fs.sync_dir(pending);

    // Steps newer than this one go only when the caller rolls back on
    // purpose; readers try the newest step first, so they go before the
    // commit point.
    for (const auto& e : list_snapshots(fs, dir)) {
      if (!options.discard_newer || e.step <= step) break;
      remove_snapshot_dir(fs, dir, e.path.filename().string());
      abandoned.push_back(e.step);
    }

    // The commit point: the directory appears under its final name whole.
    if (fs.exists(final_dir)) {
      // Same step committed before (a resumed job reaching it again): swap
      // atomically, then drop the old one.
      fs.exchange(pending, final_dir);
      swapped = true;
      fs.sync_dir(dir);
    } else {
      fs.rename(pending, final_dir);
      fs.sync_dir(dir);
    }
  } catch (...) {
    discard_pending(fs, pending);
    throw;
  }

  // Committed and durable. What follows is housekeeping: a failure there is
  // reported in the result, never as a failed commit.
  CommitResult result;
  const auto housekeeping = [&](const char* what, auto&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      result.warnings.push_back(std::string(what) + ": " + e.what());
      log::warn("snapshot step " + std::to_string(step) + " is committed, but " + what + " failed: " + e.what());
    }
  };
  if (swapped) {
    housekeeping("removing the replaced snapshot", [&] { remove_snapshot_dir(fs, dir, pending.filename().string()); });
  }
  housekeeping("updating LATEST", [&] { write_latest(fs, dir, step, options.file_mode); });
  result.step = step;
  result.path = final_dir;
  result.root_file = final_dir / kRootFile;
  result.bytes = payload_bytes(manifest);
  housekeeping("retention", [&] { result.removed_steps = apply_retention(fs, dir, step, options.keep); });
  result.removed_steps.insert(result.removed_steps.begin(), abandoned.begin(), abandoned.end());
  housekeeping("removing leftovers", [&] { remove_leftovers(fs, dir); });
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::debug("committed snapshot step " + std::to_string(step) + " at " + final_dir.string());
  return result;
}

}  // namespace lull
