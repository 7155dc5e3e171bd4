#pragma once
// One repetition of a write/read comparison, every method treated alike.
// For each method, in the given order:
//   barrier, time the write (durable when it returns), barrier;
//   drop the page cache of its files (posix_fadvise DONTNEED after the
//   fsync), record how many pages are still cached (mincore);
//   barrier, time the read, barrier; check every byte read (untimed);
//   delete its files.
// Each write thus starts right after a state-sized deletion (the previous
// method's, or the previous repetition's), so every method finds the machine
// alike: on this VM a 1 GiB dd+fsync took ~5 s when nothing had just been
// deleted and ~0.9 s right after a 1 GiB file was, the time going to the
// page-cache copy inside write() (perf: copy_folio_from_iter_atomic), i.e.
// to memory the hypervisor takes back when free (virtio-balloon free page
// reporting) rather than to the disk. Times are wall clock on rank 0 between
// barriers, so they cover the slowest rank. Collective.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint_method.h"

namespace lull::bench {

// JSON, complete on rank 0:
//   {method: {"write_s", "read_s", "write_cpu_s", "read_cpu_s" (CPU seconds,
//             user + system, summed over ranks), "write_parts": {part: max over ranks},
//             "read_parts": {...}, "cached_after_write", "cached_before_read"}}
nlohmann::json run_interleaved_rep(const MpiJob& job, const Workload& workload, RankState& state,
                                   const std::vector<std::unique_ptr<CheckpointMethod>>& methods);

// Writes this rank's `bytes` of zeros to a scratch file in `dir` and deletes
// it unsynced (no disk I/O to speak of), before the first measured method.
// Without it the first method of a process ran up to 5x slower than the
// same method later: filling the state had just taken all recently freed
// memory, and page-cache pages then had to come from memory the hypervisor
// had taken back. Collective.
void prime_page_cache(const MpiJob& job, const std::filesystem::path& dir, std::uint64_t bytes);

}  // namespace lull::bench
