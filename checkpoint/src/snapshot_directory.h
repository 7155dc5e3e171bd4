#pragma once
// What is in a job's snapshot directory, and the steps that change it:
// shared by the committer, the store and the cleaner.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lull/base/file_system.h"
#include "lull/checkpoint/snapshot_store.h"

namespace lull::detail {

// Committed snapshots in the order a reader should try them: newest step
// first, whatever LATEST says (a crash between the rename and the LATEST
// update leaves LATEST one snapshot behind; a commit after a fallback
// removes the newer, abandoned steps before it updates LATEST).
std::vector<SnapshotEntry> snapshots_in_preference_order(FileSystem& fs, const std::filesystem::path& dir);

// All committed snapshots, newest step first.
std::vector<SnapshotEntry> list_snapshots(FileSystem& fs, const std::filesystem::path& dir);

// The step LATEST names, if it exists and parses.
std::optional<std::uint64_t> read_latest(FileSystem& fs, const std::filesystem::path& dir);

// Points LATEST at `step` atomically and durably (write_file_atomically).
void write_latest(FileSystem& fs, const std::filesystem::path& dir, std::uint64_t step, mode_t mode);

// Creates `dir` with `mode`, and its missing parents with the same mode.
void make_dirs(FileSystem& fs, const std::filesystem::path& dir, mode_t mode);

// Deletes a directory so that it is never seen half-deleted: rename to
// .trash-*, then remove.
void remove_snapshot_dir(FileSystem& fs, const std::filesystem::path& dir, const std::string& name);

// See SnapshotStore::remove_leftovers().
std::vector<std::string> remove_leftovers(FileSystem& fs, const std::filesystem::path& dir);

}  // namespace lull::detail
