#pragma once
// The preemption notice file: how `lull run` tells the ranks of a job that
// it is being preempted and by when it must be gone.
//
// `lull run` writes it (atomically and durably: lull/base/atomic_file.h)
// before it sends any signal, and puts its path in the environment variable
// LULL_NOTICE_FILE of the job. The runtime reads it when it sees the signal
// (or finds the file while polling, from the moment it is built: a notice
// that came while the rank was still starting waits there). Content, one
// JSON object:
//   {"deadline_unix": 1795338826.25, "grace_seconds": 30.0,
//    "reason": "SIGTERM to lull run", "issued_unix": 1795338796.25}
// The deadline is wall-clock (system_clock) seconds since the epoch: the
// moment after which the job may be killed. Every number is finite and
// between 0 and kMaxNoticeSeconds (so deadline_unix * 1000 is an exact
// int64 of milliseconds); a notice file is at most kMaxNoticeFileBytes.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace lull {

inline constexpr const char* kNoticeFileEnv = "LULL_NOTICE_FILE";
inline constexpr double kMaxNoticeSeconds = 1e11;  // about the year 5138
inline constexpr std::size_t kMaxNoticeFileBytes = 64 * 1024;

struct PreemptionNotice {
  double deadline_unix = 0;  // seconds since the epoch
  double grace_seconds = 0;
  double issued_unix = 0;
  std::string reason;
};

// Now on the clock notices are written in: system_clock seconds since the epoch.
double unix_time_now() noexcept;

// Writes `notice` to `path` with write_file_atomically(), mode 0600. Throws lull::Error.
void write_notice_file(const std::filesystem::path& path, const PreemptionNotice& notice);

// Parses the content of a notice file; `source` names it in messages.
// Throws Error(invalid_argument) naming the source and the field when it is
// malformed or a number is out of range. Pure.
PreemptionNotice parse_notice(std::string_view text, std::string_view source);

// Reads the notice at `path`: nullopt when there is no file; throws
// Error(invalid_argument) naming the file and field when it is malformed,
// not a regular file (never blocks on a FIFO) or too large.
std::optional<PreemptionNotice> read_notice_file(const std::filesystem::path& path);

// ---- ready markers: which ranks can take the notice's signal ---------------
//
// A rank whose handlers for the notice signals are installed and that polls
// the notice file (the Runtime, once built) leaves an empty file beside it,
//   <notice file>.ready-<rank>-of-<world size>
// (e.g. notice.json.ready-3-of-4). `lull run` sends its signal only once
// every rank has: until then a signal could reach a rank that would die of
// it or be interrupted in a system call it cannot restart (Python's
// `import torch`, MPI_Init, a TCP rendezvous), and the file alone carries
// the notice. Like the acknowledgements below, everything is in the name.

struct NoticeReadiness {
  int world_size = 0;  // as the ranks reported it (0: none)
  int ranks = 0;       // distinct ranks that are ready

  bool from_every_rank() const noexcept { return world_size > 0 && ranks == world_size; }
};

// Leaves rank `rank`'s ready marker beside `notice_file` (which need not
// exist). Throws the errno mapper's Error; a rank outside [0, world_size) is
// Error(invalid_argument).
void mark_ready_for_notice(const std::filesystem::path& notice_file, int rank, int world_size);

// The ready markers beside `notice_file`; names that do not parse are
// ignored, and of different world sizes only the largest counts. Never throws.
NoticeReadiness read_notice_readiness(const std::filesystem::path& notice_file) noexcept;

// ---- acknowledgements: which ranks have taken the notice -------------------
//
// A rank that acts on a notice leaves an empty file beside the notice file,
//   <notice file>.taken-<rank>-of-<world size>-at-<step>
// (e.g. notice.json.taken-3-of-4-at-269), before it checkpoints and exits.
// `lull run` reads them to know that every rank has the notice, so that it
// holds back its SIGUSR1 (a signal reaching mpirun as it exits kills it), and
// to judge a job whose launcher died of that signal anyway. Everything is in
// the name, so a reader opens no file and cannot see a half-written one.

struct NoticeTaken {
  int rank = 0;
  int world_size = 1;
  std::uint64_t step = 0;  // the step the rank had completed when it took the notice
};

// What the acknowledgements beside a notice file say.
struct NoticeAcknowledgements {
  int world_size = 0;                       // as the ranks reported it (0: none)
  int ranks = 0;                            // distinct ranks that took the notice
  std::optional<std::uint64_t> first_step;  // the earliest step a rank took it at

  bool from_every_rank() const noexcept { return world_size > 0 && ranks == world_size; }
};

// Leaves rank `taken.rank`'s acknowledgement beside `notice_file` (which
// need not exist). Throws the errno mapper's Error; `taken` out of range
// (rank outside [0, world_size)) is Error(invalid_argument).
void acknowledge_notice(const std::filesystem::path& notice_file, const NoticeTaken& taken);

// The acknowledgements beside `notice_file`. Names that do not parse are
// ignored; should the ranks report different world sizes, only those of the
// largest count. Never throws: a directory that cannot be read has none.
NoticeAcknowledgements read_notice_acknowledgements(const std::filesystem::path& notice_file) noexcept;

}  // namespace lull
