#include "snapshot_directory.h"

#include <algorithm>
#include <chrono>

#include "layout.h"
#include "lull/base/atomic_file.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "pending_lock.h"

namespace lull::detail {

namespace {

// A pending directory without a lock file is still being created for this
// long; after it, it is a leftover.
constexpr std::chrono::seconds kUnlockedPendingGrace{60};

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s).substr(0, prefix.size()) == prefix;
}

bool older_than(FileSystem& fs, const std::filesystem::path& path, std::chrono::seconds age) {
  const FileStatus status = fs.status(path);
  return status.kind != FileKind::missing && std::chrono::system_clock::now() - status.modified > age;
}

}  // namespace

std::vector<SnapshotEntry> list_snapshots(FileSystem& fs, const std::filesystem::path& dir) {
  std::vector<SnapshotEntry> out;
  for (const auto& name : fs.list_dir(dir)) {
    if (auto step = parse_snapshot_dir_name(name)) out.push_back({*step, dir / name});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step > b.step; });
  return out;
}

std::optional<std::uint64_t> read_latest(FileSystem& fs, const std::filesystem::path& dir) {
  std::string text;
  try {
    text = fs.read_file(dir / kLatestFile);
  } catch (const Error&) {
    return std::nullopt;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return parse_snapshot_dir_name(text);
}

std::vector<SnapshotEntry> snapshots_in_preference_order(FileSystem& fs, const std::filesystem::path& dir) {
  // A step-* directory exists only once its snapshot is complete and synced
  // (it is renamed from .pending-* last), so the newest one wins even when a
  // crash came before LATEST was updated. LATEST is a hint for other tools.
  return list_snapshots(fs, dir);
}

void write_latest(FileSystem& fs, const std::filesystem::path& dir, std::uint64_t step, mode_t mode) {
  write_file_atomically(fs, dir / kLatestFile, snapshot_dir_name(step) + "\n", mode);
}

void make_dirs(FileSystem& fs, const std::filesystem::path& dir, mode_t mode) {
  if (dir.has_parent_path() && dir.parent_path() != dir && !fs.exists(dir.parent_path())) {
    make_dirs(fs, dir.parent_path(), mode);
  }
  fs.make_dir(dir, mode);
}

void remove_snapshot_dir(FileSystem& fs, const std::filesystem::path& dir, const std::string& name) {
  auto trash = dir / trash_name(name);
  fs.rename(dir / name, trash);
  fs.remove_all(trash);
}

std::vector<std::string> remove_leftovers(FileSystem& fs, const std::filesystem::path& dir) {
  std::vector<std::string> removed;
  for (const auto& name : fs.list_dir(dir)) {
    auto path = dir / name;
    if (starts_with(name, kTrashPrefix)) {
      fs.remove_all(path);
      removed.push_back(name);
    } else if (starts_with(name, kPendingPrefix)) {
      if (fs.exists(path / kLockFile)) {
        PendingLock lock = PendingLock::try_exclusive(path);
        if (!lock.held()) continue;  // a live writer or committer is at work there
        fs.remove_all(path);
      } else {
        if (!older_than(fs, path, kUnlockedPendingGrace)) continue;  // still being created
        fs.remove_all(path);
      }
      removed.push_back(name);
    }
  }
  for (const auto& name : removed) log::debug("removed leftover " + (dir / name).string());
  return removed;
}

}  // namespace lull::detail
