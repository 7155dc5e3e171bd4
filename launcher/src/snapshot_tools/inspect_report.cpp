// Building the report of `lull inspect`: what a snapshot or a job directory holds.
#include "snapshot_tools/inspect_report.h"

#include <utility>

#include "lull/base/error.h"
#include "snapshot_tools/snapshot_location.h"

namespace lull::snapshot_tools {

const char* checksum_status_name(ChecksumStatus status) noexcept {
  switch (status) {
    case ChecksumStatus::ok: return "ok";
    case ChecksumStatus::failed: return "failed";
    case ChecksumStatus::not_checked: return "not checked";
  }
  return "?";
}

InspectReport describe_snapshot(const SnapshotReader& reader) {
  InspectReport report;
  report.snapshot_dir = reader.dir();
  report.root_file = reader.root_file();
  report.step = reader.step();
  report.job = reader.job();
  report.world_size = reader.world_size();
  report.created_unix = reader.created_unix();
  report.total_bytes = reader.total_bytes();
  report.tensors = reader.tensors();
  report.blobs = reader.blobs();
  report.metadata = reader.metadata();
  return report;
}

namespace {

InspectReport inspect_job_directory(const std::filesystem::path& dir, bool verify) {
  StoreOptions store_options;
  store_options.create = false;
  const SnapshotStore store(dir, store_options);
  std::vector<SnapshotEntry> snapshots = store.committed();
  if (snapshots.empty()) {
    throw Error(ErrorCode::not_found, "no committed snapshot in " + dir.string());
  }
  std::vector<RejectedSnapshot> rejected;
  // open_latest(full) verifies every checksum and falls back past failures,
  // exactly as a restore does.
  const SnapshotReader reader =
      store.open_latest(verify ? Verification::full : Verification::structure, &rejected);
  InspectReport report = describe_snapshot(reader);
  report.checksums = verify ? ChecksumStatus::ok : ChecksumStatus::not_checked;
  report.job_dir = store.dir();
  report.snapshots = std::move(snapshots);
  report.rejected = std::move(rejected);
  return report;
}

InspectReport inspect_one_snapshot(const std::filesystem::path& path, bool verify) {
  SnapshotReader reader = SnapshotReader::open(path);
  InspectReport report = describe_snapshot(reader);
  if (verify) {
    VerifyReport verified = reader.verify();
    report.checksums = verified.ok() ? ChecksumStatus::ok : ChecksumStatus::failed;
    report.problems = std::move(verified.problems);
  }
  return report;
}

}  // namespace

InspectReport inspect(const std::filesystem::path& path, bool verify) {
  const SnapshotLocation location = locate_snapshot(path);
  return location.kind == LocationKind::job_directory ? inspect_job_directory(location.path, verify)
                                                      : inspect_one_snapshot(location.path, verify);
}

}  // namespace lull::snapshot_tools
