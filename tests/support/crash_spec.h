#pragma once
// What tests/tools/crash_writer writes at every step, shared with the test
// that kills it (tests/integration/crash_consistency_test.cpp).

#include "support/snapshot_spec.h"

namespace lull::test {

inline constexpr int kCrashWorld = 4;  // simulated ranks per snapshot
inline constexpr int kCrashKeep = 2;   // retention of crash_writer's commits

// `big_rows` rows of 1024 f32 in the largest tensor: 1024 rows = 4 MiB, so
// writes take a measurable time; the deterministic test uses a few rows.
SnapshotSpec crash_spec(std::uint64_t big_rows);

}  // namespace lull::test
