#pragma once
// Names inside a job's snapshot directory (see snapshot_store.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lull/base/atomic_file.h"

namespace lull::detail {

inline constexpr std::string_view kRootFile = "root.h5";
inline constexpr std::string_view kLatestFile = "LATEST";
inline constexpr std::string_view kLockFile = ".lock";            // in a pending directory
inline constexpr std::string_view kWriterLockFile = ".writer.lock";  // in the snapshot directory
inline constexpr std::string_view kPendingPrefix = ".pending-";
inline constexpr std::string_view kTrashPrefix = ".trash-";
// A file still being written: shard files and root.h5 before their rename,
// and LATEST's temporary file (write_file_atomically's suffix).
inline constexpr std::string_view kPartialSuffix = kAtomicWriteSuffix;

// "step-000000000042"
std::string snapshot_dir_name(std::uint64_t step);
// ".pending-step-000000000042"
std::string pending_dir_name(std::uint64_t step);
// "shard-00003.h5"
std::string shard_file_name(int rank);
// The step of a committed snapshot directory name exactly as
// snapshot_dir_name() spells it; nullopt for any other name.
std::optional<std::uint64_t> parse_snapshot_dir_name(std::string_view name) noexcept;
// A fresh name for a directory being deleted: ".trash-<name>-<pid>-<counter>".
std::string trash_name(std::string_view name);

}  // namespace lull::detail
