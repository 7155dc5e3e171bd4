#pragma once
// `lull verify PATH [--all] [--job NAME]`: is a snapshot valid, every byte of it?
//
// For one snapshot (step-* directory or root.h5): checks its structure and
// every checksum. For a job's snapshot directory: the snapshot a restore
// tries first (SnapshotStore::open_latest's first choice: the newest), or
// with --all every committed one. Each valid snapshot prints one line on `out`:
//   ok: step N, X tensors, Y bytes verified
// (followed by the snapshot directory when PATH was a job directory); each
// invalid one prints its reasons on `err`. With --job, a snapshot written by
// another job (metadata "job") is invalid too, as a restore of NAME judges it.

#include <filesystem>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace lull::cli {

struct VerifyOptions {
  std::filesystem::path path;
  bool all = false;
  std::string job;  // --job: required writer; empty: not checked
};

// Registers the subcommand; `options` must outlive parsing.
CLI::App* add_verify_command(CLI::App& app, VerifyOptions& options);

// kExitOk when every snapshot checked is valid, kExitFailure otherwise.
// Throws lull::Error when PATH cannot be opened at all (a single snapshot
// that is missing or not a snapshot; a job directory that is missing or has
// no committed snapshot).
int run_verify(const VerifyOptions& options, std::ostream& out, std::ostream& err);

}  // namespace lull::cli
