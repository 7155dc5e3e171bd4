#pragma once
// `lull inspect PATH [--json] [--no-verify]`: what a snapshot holds.
//
// PATH is a job's snapshot directory or one snapshot (its step-* directory or
// root.h5). For a job directory it lists the committed snapshots and shows
// the one a restore would use: the newest that passes verification (newer
// ones that fail are listed as rejected, with the reason). For one snapshot
// it shows that snapshot and its checksum status.

#include <filesystem>
#include <ostream>

#include <CLI/CLI.hpp>

namespace lull::cli {

struct InspectOptions {
  std::filesystem::path path;
  bool json = false;
  bool no_verify = false;
};

// Registers the subcommand; `options` must outlive parsing.
CLI::App* add_inspect_command(CLI::App& app, InspectOptions& options);

// Prints the report to `out`. Returns kExitOk, or kExitFailure when the
// snapshot shown fails its checksums (the report is printed all the same).
// Throws lull::Error when nothing can be shown (missing, not a snapshot, no
// usable committed snapshot).
int run_inspect(const InspectOptions& options, std::ostream& out);

}  // namespace lull::cli
