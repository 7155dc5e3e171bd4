#pragma once
// Telling one process apart from a later one with the same pid, and watching
// a process that is not our child (Linux /proc and pidfd).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "lull/base/unique_fd.h"

namespace lull::arbiter {

// The start time of `pid` (field 22 of /proc/<pid>/stat, clock ticks since
// boot), or nullopt when there is no such process (or only a zombie is left).
// A pid with the same start time is the same process. Never throws.
std::optional<std::uint64_t> process_start_ticks(pid_t pid) noexcept;

// A pidfd for `pid` (pidfd_open): readable once the process has ended.
// Invalid when the process is gone. Never throws.
UniqueFd open_pidfd(pid_t pid) noexcept;

// The first live process whose command line holds `argument` as one of its
// words (a unique path such as an exit file), or nullopt. Scans /proc; never throws.
std::optional<pid_t> find_process_with_argument(const std::string& argument) noexcept;

}  // namespace lull::arbiter
