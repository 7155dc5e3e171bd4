#pragma once
// `lull report EVENTS -o FILE.png [--title T]`: a picture of a node's slots
// over time, drawn from the node arbiter's events file (JSON lines, see the
// docs/arbiter.md, "A node's timeline") — who ran where, preemption notices, checkpoints,
// resumes — and a per-job summary on stdout.
//
// The drawing is matplotlib's, in launcher/src/report/timeline.py: this command
// finds that script (installed: <prefix>/share/lull/timeline.py, found from
// the binary's own location; build tree: the source tree's copy) and runs it
// with /usr/bin/python3, or python3 from PATH when that does not exist. The
// script reads the events, reports malformed lines with their line numbers
// and writes the picture; its exit code is the command's.

#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace lull::cli {

struct ReportOptions {
  std::filesystem::path events;
  std::filesystem::path output;
  std::optional<std::string> title;
};

// Registers the subcommand; `options` must outlive parsing.
CLI::App* add_report_command(CLI::App& app, ReportOptions& options);

// Runs the script and returns its exit code (0 picture written, 1 bad events
// file or matplotlib missing, with the reason on stderr). Throws lull::Error
// when the script or python3 cannot be found or started, or python3 dies of
// a signal.
int run_report(const ReportOptions& options);

}  // namespace lull::cli
