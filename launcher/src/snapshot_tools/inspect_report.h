#pragma once
// InspectReport — everything `lull inspect` shows about one snapshot (and,
// for a job directory, its siblings), how it is built, and its two
// renderings: text for people and JSON for scripts. Building it reads files;
// rendering does not.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_store.h"

namespace lull::snapshot_tools {

enum class ChecksumStatus {
  ok,           // every checksum matched
  failed,       // verify() found problems (listed)
  not_checked,  // --no-verify
};

// "ok", "failed", "not checked".
const char* checksum_status_name(ChecksumStatus status) noexcept;

struct InspectReport {
  // The snapshot shown.
  std::filesystem::path snapshot_dir;
  std::filesystem::path root_file;
  std::uint64_t step = 0;
  std::string job;  // the job that wrote it (metadata "job"); empty when not recorded
  int world_size = 0;
  std::int64_t created_unix = 0;
  std::uint64_t total_bytes = 0;
  std::vector<TensorInfo> tensors;
  std::vector<BlobInfo> blobs;
  std::map<std::string, std::string> metadata;
  ChecksumStatus checksums = ChecksumStatus::not_checked;
  std::vector<VerifyProblem> problems;

  // Set when PATH was a job directory: all committed snapshots (newest
  // first) and the newer ones passed over because they failed.
  std::optional<std::filesystem::path> job_dir;
  std::vector<SnapshotEntry> snapshots;
  std::vector<RejectedSnapshot> rejected;
};

// Fills the snapshot part of a report from an open reader (no verification).
InspectReport describe_snapshot(const SnapshotReader& reader);

// The report on `path`, a job's snapshot directory or one snapshot
// (locate_snapshot). For a job directory: its committed snapshots and the one
// a restore would use, the newest that passes (`verify`: every checksum,
// else the structure only), newer failing ones listed as rejected. For one
// snapshot: that snapshot, its checksums checked when `verify`. Throws
// lull::Error when nothing can be shown (missing, not a snapshot, no usable
// committed snapshot).
InspectReport inspect(const std::filesystem::path& path, bool verify);

void print_text(const InspectReport& report, std::ostream& out);

// One JSON object, pretty-printed, with a trailing newline.
void print_json(const InspectReport& report, std::ostream& out);

}  // namespace lull::snapshot_tools
