#include "snapshot_tools/verify_command.h"

#include <optional>
#include <string>
#include <vector>

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_store.h"
#include "snapshot_tools/snapshot_location.h"

namespace lull::cli {

CLI::App* add_verify_command(CLI::App& app, VerifyOptions& options) {
  CLI::App* command = app.add_subcommand(
      "verify", "Check a snapshot's structure and every checksum; exit 0 only when valid");
  command->add_option("PATH", options.path,
                      "A job's snapshot directory (checks the snapshot a restore tries first), "
                      "or one snapshot (step-* directory or root.h5)")
      ->required();
  command->add_flag("--all", options.all,
                    "For a job directory: check every committed snapshot, not only the newest");
  command->add_option("--job", options.job,
                      "Also require that job NAME wrote it (the snapshot's \"job\" metadata), as a restore of "
                      "NAME does")
      ->type_name("NAME");
  return command;
}

namespace {

// Verifies an open snapshot; prints the "ok:" line or the problems.
// `where` is appended to the lines ("" or " (<dir>)").
bool verify_reader(SnapshotReader& reader, const std::string& where, std::ostream& out,
                   std::ostream& err) {
  const VerifyReport report = reader.verify();
  if (report.ok()) {
    out << "ok: step " << reader.step() << ", " << reader.tensors().size()
        << (reader.tensors().size() == 1 ? " tensor, " : " tensors, ") << report.bytes_checked
        << " bytes verified" << where << "\n";
    return true;
  }
  err << "lull: step " << reader.step() << where << " failed verification ("
      << report.problems.size() << (report.problems.size() == 1 ? " problem):\n" : " problems):\n");
  for (const auto& problem : report.problems) err << "  - " << problem.describe() << "\n";
  return false;
}

// Prints the failure of a snapshot that could not even be opened (missing or
// truncated files, bad manifest: the structure check throws or rejects).
void print_structure_failure(std::uint64_t step, const std::string& where, const std::string& reason,
                             std::ostream& err) {
  err << "lull: step " << step << where << " failed verification:\n  - " << reason << "\n";
}

// Without --all: the snapshot a restore tries first (open_latest's first
// choice, whatever its rule), so "ok" means a restore will use it.
int verify_preferred(const SnapshotStore& store, std::size_t committed_count, const std::string& job,
                     std::ostream& out, std::ostream& err) {
  std::vector<RejectedSnapshot> rejected;
  std::optional<SnapshotReader> preferred;
  try {
    preferred.emplace(store.open_latest(Verification::structure, &rejected, job));
  } catch (const Error&) {
    if (rejected.empty()) throw;  // nothing usable and nothing rejected: not a snapshot problem
  }
  bool ok = false;
  if (rejected.empty()) {
    ok = verify_reader(*preferred, " (" + preferred->dir().string() + ")", out, err);
  } else {
    const RejectedSnapshot& first = rejected.front();
    print_structure_failure(first.step, "", first.reason, err);
  }
  if (!ok && committed_count > 1) {
    err << "lull: " << committed_count - 1
        << " other committed snapshot(s) not checked; a restore falls back to the newest valid one "
           "(lull verify --all "
        << store.dir().string() << " checks them all)\n";
  }
  return ok ? kExitOk : kExitFailure;
}

int verify_every_snapshot(const SnapshotStore& store, const std::vector<SnapshotEntry>& snapshots,
                          const std::string& job, std::ostream& out, std::ostream& err) {
  std::size_t failures = 0;
  for (const SnapshotEntry& entry : snapshots) {
    const std::string where = " (" + entry.path.string() + ")";
    try {
      SnapshotReader reader = store.open_step(entry.step, Verification::structure, job);
      if (!verify_reader(reader, where, out, err)) ++failures;
    } catch (const Error& error) {
      print_structure_failure(entry.step, where, error.what(), err);
      ++failures;
    }
  }
  return failures == 0 ? kExitOk : kExitFailure;
}

int verify_job_directory(const std::filesystem::path& dir, bool all, const std::string& job,
                         std::ostream& out, std::ostream& err) {
  StoreOptions store_options;
  store_options.create = false;
  const SnapshotStore store(dir, store_options);
  const std::vector<SnapshotEntry> snapshots = store.committed();
  if (snapshots.empty()) {
    throw Error(ErrorCode::not_found, "no committed snapshot in " + dir.string());
  }
  return all ? verify_every_snapshot(store, snapshots, job, out, err)
             : verify_preferred(store, snapshots.size(), job, out, err);
}

}  // namespace

int run_verify(const VerifyOptions& options, std::ostream& out, std::ostream& err) {
  const snapshot_tools::SnapshotLocation location = snapshot_tools::locate_snapshot(options.path);
  if (location.kind == snapshot_tools::LocationKind::job_directory) {
    return verify_job_directory(location.path, options.all, options.job, out, err);
  }
  SnapshotReader reader = SnapshotReader::open(location.path);
  if (!options.job.empty()) reader.check_job(options.job);
  return verify_reader(reader, "", out, err) ? kExitOk : kExitFailure;
}

}  // namespace lull::cli
