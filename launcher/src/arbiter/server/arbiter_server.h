#pragma once
// `lull arbiter`: the node arbiter's daemon. One per node (and state
// directory): it holds the policy's decision core, takes requests on its Unix
// socket, starts and signals jobs through a JobLauncher, journals everything
// before acting on it, writes the events file and the metrics file.
//
// State directory (created 0750, refused when group- or world-writable or
// not owned by the arbiter's user):
//   journal.jsonl    the durable record (arbiter_journal.h), 0600
//   arbiter.lock     flock'd while an arbiter runs on the directory
//   arbiter.sock     the socket (unless --socket), 0660
//   events.jsonl     the events file (unless --events-file), 0640
//   lull.prom        the metrics file (unless --metrics-file), 0644
//   jobs/<id>.log    each job's output (lull run's, mpirun's, the ranks')
//
// The loop (epoll; single-threaded): the socket's clients, SIGTERM/SIGINT
// (signalfd: the arbiter stops and its jobs keep running, to be adopted by
// the next arbiter), each run's pidfd, and time: the core's next tick, grace
// deadlines and, about once a second, each running job's snapshot directory.
// Clients are served without blocking, within the limits of
// connection_limits.h (client_connections.h); each request is answered by
// request_handler.h, and what it and time call for is journaled and carried
// out by ledger_driver.h, which also watches the runs.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "connection_limits.h"

namespace lull::arbiter {

struct ArbiterSettings {
  std::filesystem::path policy_file;
  std::optional<int> slots;                // default: the policy's [node] slots
  std::filesystem::path state_dir = "/var/lib/lull";
  std::filesystem::path socket;            // default: <state_dir>/arbiter.sock
  std::optional<std::string> socket_group; // default: the arbiter's group
  std::filesystem::path events_file;       // default: <state_dir>/events.jsonl
  std::filesystem::path metrics_file;      // default: <state_dir>/lull.prom
  std::string mpirun = "mpirun";
  std::size_t max_clients = kDefaultMaxClients;  // connections at once (connection_limits.h)
};

// Runs the arbiter until SIGTERM/SIGINT (returns 0; jobs keep running) or
// until a drain has ended (0). Throws lull::Error when it cannot start
// (state directory, policy, journal, socket) or cannot journal.
int run_arbiter(const ArbiterSettings& settings);

}  // namespace lull::arbiter
