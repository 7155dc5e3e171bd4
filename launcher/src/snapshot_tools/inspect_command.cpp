#include "snapshot_tools/inspect_command.h"

#include "lull/base/exit_codes.h"
#include "snapshot_tools/inspect_report.h"

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

int run_inspect(const InspectOptions& options, std::ostream& out) {
  const snapshot_tools::InspectReport report = snapshot_tools::inspect(options.path, !options.no_verify);
  if (options.json) {
    snapshot_tools::print_json(report, out);
  } else {
    snapshot_tools::print_text(report, out);
  }
  return report.checksums == snapshot_tools::ChecksumStatus::failed ? kExitFailure : kExitOk;
}

}  // namespace lull::cli
