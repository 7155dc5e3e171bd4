#include "lull/checkpoint/snapshot_store.h"

#include <sys/stat.h>

#include "hdf5_error.h"
#include "layout.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "snapshot_directory.h"

namespace lull {

using namespace detail;

namespace {

// `dir` is the user's own path: a symbolic link to the directory is theirs
// to make, so it is followed.
void check_directory(const std::filesystem::path& dir, bool create, FileSystem& fs) {
  const FileStatus status = fs.target_status(dir);
  if (status.kind == FileKind::missing) {
    if (!create) throw Error(ErrorCode::not_found, "snapshot directory " + dir.string() + " does not exist");
    make_dirs(fs, dir, 0700);
    return;
  }
  if (status.kind != FileKind::directory) {
    throw Error(ErrorCode::invalid_argument, dir.string() + " is not a directory");
  }
  if ((status.permissions & S_IWOTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.permissions & 07777));
    throw Error(ErrorCode::invalid_argument,
                "snapshot directory " + dir.string() + " is world-writable (mode " + mode +
                    "): other users could plant or replace snapshots",
                {}, {}, "use a directory of the job's own (lull creates it 0700), or chmod o-w it");
  }
}

// Opens one snapshot and checks it as asked; throws what is wrong.
SnapshotReader open_checked(FileSystem& fs, const SnapshotEntry& entry, Verification verification,
                            std::string_view job) {
  SnapshotReader reader = SnapshotReader::open(entry.path, &fs);
  if (!job.empty()) reader.check_job(job);
  if (verification == Verification::full) {
    VerifyReport report = reader.verify();
    if (!report.ok()) {
      std::string why = report.problems.front().describe();
      if (report.problems.size() > 1) why += " (and " + std::to_string(report.problems.size() - 1) + " more)";
      throw Error(ErrorCode::corrupt, "snapshot step " + std::to_string(entry.step) + " failed verification: " + why);
    }
  }
  return reader;
}

}  // namespace

SnapshotStore::SnapshotStore(std::filesystem::path dir, StoreOptions options)
    : dir_(std::move(dir)), options_(options) {
  if (options_.keep < 1) throw Error(ErrorCode::invalid_argument, "keep must be at least 1");
  check_directory(dir_, options_.create, fs());
  if (!options_.lock_as_job.empty()) {
    writer_lock_ = std::make_shared<const WriterLock>(WriterLock::acquire(dir_, options_.lock_as_job));
  }
}

std::vector<SnapshotEntry> SnapshotStore::committed() const {
  return list_snapshots(fs(), dir_);
}

SnapshotReader SnapshotStore::open_latest(Verification verification, std::vector<RejectedSnapshot>* rejected,
                                          std::string_view job) const {
  FileSystem& fs = this->fs();
  auto candidates = snapshots_in_preference_order(fs, dir_);
  std::string reasons;
  for (const auto& entry : candidates) {
    try {
      SnapshotReader reader = open_checked(fs, entry, verification, job);
      if (!reasons.empty()) log::warn("using snapshot step " + std::to_string(entry.step) + " instead");
      return reader;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt && e.code() != ErrorCode::not_found && e.code() != ErrorCode::hdf5) throw;
      log::warn("skipping snapshot step " + std::to_string(entry.step) + ": " + e.message() +
                "; trying the previous one");
      if (rejected != nullptr) rejected->push_back({entry.step, e.what()});
      reasons += "\n  step " + std::to_string(entry.step) + ": " + e.message();
    }
  }
  if (candidates.empty()) {
    throw Error(ErrorCode::not_found, "no committed snapshot in " + dir_.string());
  }
  throw Error(ErrorCode::not_found, "no usable snapshot in " + dir_.string() + ":" + reasons);
}

SnapshotReader SnapshotStore::open_step(std::uint64_t step, Verification verification, std::string_view job) const {
  FileSystem& fs = this->fs();
  auto path = dir_ / snapshot_dir_name(step);
  if (fs.status(path).kind == FileKind::missing) {
    throw Error(ErrorCode::not_found, "no committed snapshot of step " + std::to_string(step) + " in " + dir_.string());
  }
  return open_checked(fs, {step, path}, verification, job);
}

SnapshotWriter SnapshotStore::writer(std::uint64_t step, int rank, int world_size) const {
  WriterOptions options;
  options.fs = options_.fs;
  return SnapshotWriter(dir_, step, rank, world_size, options);
}

CommitResult SnapshotStore::commit(std::uint64_t step, const std::vector<ShardReport>& reports) const {
  CommitOptions options;
  options.keep = options_.keep;
  options.discard_newer = options_.discard_newer;
  options.fs = options_.fs;
  options.writer_lock = writer_lock_.get();
  return commit_snapshot(dir_, step, reports, options);
}

std::vector<std::string> SnapshotStore::remove_leftovers() const {
  return detail::remove_leftovers(fs(), dir_);
}

}  // namespace lull
