#include "snapshot_tools/inspect_command.h"

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_store.h"
#include "snapshot_tools/inspect_report.h"
#include "snapshot_tools/snapshot_location.h"

namespace lull::cli {

CLI::App* add_inspect_command(CLI::App& app, InspectOptions& options) {
  CLI::App* command = app.add_subcommand(
      "inspect",
      "Show a snapshot: step, time, world size, tensors (dtype, global shape, bytes), "
      "blobs, total size and checksum status");
  command->add_option("PATH", options.path,
                      "A job's snapshot directory, or one snapshot (step-* directory or root.h5)")
      ->required();
  command->add_flag("--json", options.json,
                    "Print one JSON object (path, step, world_size, created, tensors, ...)");
  command->add_flag("--no-verify", options.no_verify,
                    "Check only the structure, not every checksum (fast: reads no tensor bytes)");
  return command;
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

int run_inspect(const InspectOptions& options, std::ostream& out) {
  const SnapshotLocation location = locate_snapshot(options.path);
  const bool verify = !options.no_verify;
  const InspectReport report = location.kind == LocationKind::job_directory
                                   ? inspect_job_directory(location.path, verify)
                                   : inspect_one_snapshot(location.path, verify);
  if (options.json) {
    print_json(report, out);
  } else {
    print_text(report, out);
  }
  return report.checksums == ChecksumStatus::failed ? kExitFailure : kExitOk;
}

}  // namespace lull::cli
