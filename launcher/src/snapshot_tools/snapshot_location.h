#pragma once
// What a PATH given to `lull inspect` / `lull verify` names.
//
// A job's snapshot directory holds step-<N>/ snapshots (and LATEST); one
// snapshot is a step-<N>/ directory or its root.h5. The commands accept both
// and behave accordingly.

#include <filesystem>

namespace lull::snapshot_tools {

enum class LocationKind {
  job_directory,  // a SnapshotStore directory: step-*/, LATEST, ...
  snapshot,       // one committed snapshot: its directory or its root file
};

struct SnapshotLocation {
  LocationKind kind = LocationKind::job_directory;
  std::filesystem::path path;
};

// Classifies `path` by looking at it (never throws for a missing path: the
// store or the reader then reports it as not found, in their own words).
// A regular file, a *.h5 name, a directory named step-* or one holding
// root.h5 is a snapshot; any other directory is a job directory.
SnapshotLocation locate_snapshot(const std::filesystem::path& path);

}  // namespace lull::snapshot_tools
