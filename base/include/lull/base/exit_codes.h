#pragma once
// The exit-code contract of training programs and `lull run` (README,
// "Exit codes"): 0 finished; 75 (EX_TEMPFAIL) stopped for preemption and
// resumable from a committed snapshot; anything else is a failure.

namespace lull {

inline constexpr int kExitFinished = 0;
inline constexpr int kExitPreempted = 75;
// A failure: the final snapshot (finish()), or a preemption snapshot with no
// earlier snapshot to fall back on, could not be committed (a full disk, an
// I/O error). The job's log says what failed and what a rerun does.
// EX_IOERR of sysexits.h.
inline constexpr int kExitSnapshotFailed = 74;

}  // namespace lull
