#pragma once
// The clients of the node arbiter, each one request on its Unix socket
// (arbiter/protocol/arbiter_protocol.h). The socket is --socket, else
// $LULL_ARBITER_SOCKET, else /var/lib/lull/arbiter.sock.
//
//   lull submit --tenant T --class C --ranks K [--min-ranks M] [--max-ranks X]
//               --ckpt-dir D [--json] -- PROGRAM ARGS...
//       prints "submitted job <id>" (--json: {"job": id}); PROGRAM is looked up
//       in PATH when it holds no '/', and made absolute.
//   lull status [--json]      the node and the caller's jobs (root: all)
//   lull cancel ID            a queued job is dropped, a running one killed
//   lull drain                root / the arbiter's user only
// Each returns 0, or throws lull::Error with the arbiter's message (which
// names the field at fault): `lull` prints it and exits 1.

#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lull::cli {

struct SubmitOptions {
  std::string socket;
  std::string tenant;
  std::string job_class;
  int ranks = 0;
  int min_ranks = 0;
  int max_ranks = 0;
  std::string ckpt_dir;
  bool json = false;
  std::vector<std::string> command;  // PROGRAM ARGS...
};

struct StatusOptions {
  std::string socket;
  bool json = false;
};

struct CancelOptions {
  std::string socket;
  unsigned long long job = 0;
};

struct DrainOptions {
  std::string socket;
};

CLI::App* add_submit_command(CLI::App& app, SubmitOptions& options);
CLI::App* add_status_command(CLI::App& app, StatusOptions& options);
CLI::App* add_cancel_command(CLI::App& app, CancelOptions& options);
CLI::App* add_drain_command(CLI::App& app, DrainOptions& options);

// The --socket option every client has (arbiter_socket_option.cpp).
CLI::Option* add_socket_option(CLI::App& command, std::string& socket);

int run_submit(const SubmitOptions& options, std::ostream& out);
int run_status(const StatusOptions& options, std::ostream& out);
int run_cancel(const CancelOptions& options, std::ostream& out);
int run_drain(const DrainOptions& options, std::ostream& out);

}  // namespace lull::cli
